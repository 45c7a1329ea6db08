"""Connection setup of the integration: where the CRM org is, how to sign in, and preparing the org.

- :mod:`.model` — the one ``connection_setup`` row (ERP database); the client secret encrypted (:mod:`.crypto`).
- :mod:`.service` — read and change the setup with its rules (options that exclude each other, users that
  must exist and hold a web service key), enable and disable.
- :mod:`.checks` — *Test connection*: each check reported on its own with a message saying what to fix.
- :mod:`.solution` — what the integration needs in the CRM (custom table, columns, alternate keys, change
  tracking, the integration user's roles) and its idempotent deployment with an administrator account.
- :mod:`.cli` — ``lead2cash setup …``; the REST API is in :mod:`lead2cash.integration.api.setup`.

This package is imported by the migration environment (through ``integration.schema``), so it imports
nothing heavy at package level.
"""
