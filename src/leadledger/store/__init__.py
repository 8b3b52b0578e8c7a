"""Storage: the SQLAlchemy schema, migrations, bulk loading and set-based queries."""
