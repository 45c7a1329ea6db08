"""Benchmark: full initial synchronization ERP → CRM over HTTP on loopback, and incremental cost.

Starts a local CRM org (HTTP, loopback) and an ERP database (SQLite in a temporary directory), loads
``--customers`` customers, then runs the CUSTOMER mapping's full synchronization and reports records/s, the
ratio to the floor (the same number of rows sent by a bare ``UpsertMultiple`` client with no sync logic)
and peak memory. Then changes ``--changes`` customers and times the incremental run (its cost should
depend on the changes, not on the table size: compare runs with different ``--customers``).
Prints one JSON object. Example: ``python bench/sync_full.py --customers 5000 --changes 1000``.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import select

from lead2cash.config import Settings
from lead2cash.crm import seed
from lead2cash.crm.app import create_app
from lead2cash.crm.server import CrmServer
from lead2cash.erp.database import open_database
from lead2cash.erp.model import Customer
from lead2cash.erp.services.setup import bootstrap
from lead2cash.integration.dataverse import DataverseSettings, SyncDataverseClient
from lead2cash.integration.engine import run_mapping
from lead2cash.integration.mapping.defaults import use_default_setup

SECRET = "bench-secret"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--page-size", type=int, default=500)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="l2c-bench-sync-"))
    app = create_app(Settings(data_dir=tmp / "crm", secret_key="bench-signing-secret-0123456789abcdef"),
                     seed_options={"integration_secret": SECRET, "admin_password": "bench-password"})  # fmt: skip
    server = CrmServer(app, http_port=0, https_port=None).start_in_thread()
    url = server.url("http")
    dv = DataverseSettings(url=url, authority=url, tenant_id="bench", client_id=seed.INTEGRATION_CLIENT_ID,
                           client_secret=SECRET)  # fmt: skip
    _, sessions = open_database(f"sqlite:///{tmp / 'erp.db'}")
    with sessions() as s, s.begin():
        bootstrap(s)
        use_default_setup(s)
        s.add_all(Customer(no=f"B{i:07d}", name=f"Bench customer {i}", city="Ghent", phone_no=str(i))
                  for i in range(args.customers))  # fmt: skip
    out: dict = {"customers": args.customers, "page_size": args.page_size}
    with SyncDataverseClient(dv) as client:
        # floor: the same rows, bare UpsertMultiple, no sync logic
        rows = [{"accountid": str(uuid.uuid4()), "name": f"Floor {i}", "address1_city": "Ghent", "telephone1": str(i)}
                for i in range(args.customers)]  # fmt: skip
        started = time.perf_counter()
        for start in range(0, len(rows), args.page_size):
            client.upsert_multiple("accounts", rows[start : start + args.page_size])
        floor = time.perf_counter() - started
        run_mapping(sessions, client, "SALESPEOPLE", full=True)
        started = time.perf_counter()
        run_mapping(sessions, client, "CUSTOMER", full=True, page_size=args.page_size)
        full = time.perf_counter() - started
        out |= {
            "full_sync_seconds": round(full, 2),
            "full_sync_records_per_s": round(args.customers / full, 1),
            "floor_records_per_s": round(args.customers / floor, 1),
            "ratio_to_floor": round(floor / full, 3),
        }
        with sessions() as s, s.begin():
            for customer in s.scalars(select(Customer).limit(args.changes)):
                customer.city = "Brugge"
        started = time.perf_counter()
        run_mapping(sessions, client, "CUSTOMER", page_size=args.page_size)
        out["incremental_changes"] = args.changes
        out["incremental_seconds"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        run_mapping(sessions, client, "CUSTOMER", page_size=args.page_size)
        out["idle_run_seconds"] = round(time.perf_counter() - started, 2)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    server.stop_thread()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
