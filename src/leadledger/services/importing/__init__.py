"""Importing CSV files (our format, HubSpot or Salesforce exports) into the ledger.

    import_csv(engine, kind, path, mapping=…, now=…) → ImportReport

A file is read in chunks; each chunk is validated with Polars, staged in a temporary table and
upserted set-based by its natural key, all in one transaction. Bad rows go to a reject file.
"""

from leadledger.services.importing.core import import_csv
from leadledger.services.importing.mapping import builtin_mappings, load_mapping
from leadledger.services.importing.report import ImportReport

__all__ = ["ImportReport", "builtin_mappings", "import_csv", "load_mapping"]
