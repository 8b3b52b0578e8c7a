"""Built-in training mappings (`leadledger train --mapping NAME`)."""
