"""ERP service layer: the only code that changes ERP records (API, CLI and demo data go through it)."""
