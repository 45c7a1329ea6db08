"""REST routers of the integration, mounted on the ERP API by :mod:`lead2cash.server` (the ERP never imports them)."""
