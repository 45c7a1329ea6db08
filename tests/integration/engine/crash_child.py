"""Run one mapping in a child process, for the crash tests (``L2C_FAULT_AT`` ends it at a named step).

Usage: ``python crash_child.py <erp url> <crm url> <secret> <tenant> <mapping> <full 0|1> <page size>``.
"""

from __future__ import annotations

import sys

from lead2cash.crm import seed
from lead2cash.erp.database import open_database
from lead2cash.integration.dataverse import DataverseSettings, SyncDataverseClient
from lead2cash.integration.engine import run_mapping


def main(erp_url: str, crm_url: str, secret: str, tenant: str, mapping: str, full: str, page_size: str) -> None:
    engine, sessions = open_database(erp_url, migrate=False)
    settings = DataverseSettings(
        url=crm_url, client_id=seed.INTEGRATION_CLIENT_ID, client_secret=secret, tenant_id=tenant, authority=crm_url,
        backoff_initial=0.02, backoff_max=0.2,
    )  # fmt: skip
    with SyncDataverseClient(settings) as client:
        run_mapping(sessions, client, mapping, full=full == "1", page_size=int(page_size))
    engine.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:])
