"""`leadledger audit`: the hygiene audit over the ledger or over a CRM export left where it is."""
