"""Benchmark: full initial synchronization ERP → CRM over HTTP on loopback, and incremental cost.

For each size in ``--customers`` (comma-separated), starts a fresh local CRM org in its own process
(``lead2cash crm serve``, HTTP on loopback) and a fresh ERP database (SQLite in a temporary directory),
loads that many customers (plus ``--contacts`` contacts and ``--items`` items), and reports:

* the ERP → CRM full synchronization: records/s, and the ratio to the *floor* — the same number of account
  rows sent by a bare ``UpsertMultiple`` client with no sync logic (1.0 = as fast as the floor);
* an incremental run after ``--changes`` customers changed (its cost should follow the changes, not the
  table size: compare the sizes), and an idle run;
* peak memory (max RSS) of this process (the engine; the CRM server runs apart).

With ``--throttled`` the CRM runs its service-protection limiter (Dataverse's budget, scaled to a short
window) and the client paces itself at 95 % of it: the output adds the share of the allowed request rate
achieved and the share of requests rejected with 429 (goals: ≥ 0.90 and < 0.01).
Prints one JSON object per size. Examples: ``python bench/sync_full.py`` (5,000 customers);
``python bench/sync_full.py --customers 10000,50000 --changes 1000``;
``python bench/sync_full.py --customers 100000 --contacts 100000 --items 20000``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import insert, select

from lead2cash.crm import seed
from lead2cash.erp.database import open_database
from lead2cash.erp.model import Contact, Customer, Item, UnitOfMeasure
from lead2cash.erp.model.enums import ContactType
from lead2cash.erp.services.setup import bootstrap
from lead2cash.erp.versioning import record_changes, reserve_versions
from lead2cash.integration.dataverse import DataverseSettings, SyncDataverseClient
from lead2cash.integration.engine import run_mapping
from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.engine.passes import pass_to_crm
from lead2cash.integration.mapping.defaults import use_default_setup


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: Dataverse's per-user budget (6,000 requests / 5 minutes); the server's limiter keeps this rate when scaled
ALLOWED_RATE = 6000 / 300


def start_crm(data_dir: Path, throttled: bool = False) -> tuple[subprocess.Popen, str, str]:
    port = _free_port()
    env = {**os.environ, "L2C_DATA_DIR": str(data_dir)}
    if throttled:  # the service-protection limiter, scaled down (same rate, a 3-second window)
        env |= {"L2C_CRM_LIMITS": "true", "L2C_CRM_LIMITS_SCALE": "0.01"}
    cmd = [str(Path(sys.executable).with_name("lead2cash")), "crm", "serve", "--no-https", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if (data_dir / "crm-credentials.json").exists() and httpx.get(url + "/api/data/v9.2/").status_code:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    secret = json.loads((data_dir / "crm-credentials.json").read_text())["integration_client_secret"]
    return proc, url, secret


def load_erp(sessions, customers: int, contacts: int, items: int) -> None:
    """Bulk-load master data with proper row versions (as the ERP's bulk loaders do)."""
    with sessions() as s, s.begin():
        bootstrap(s)
        use_default_setup(s)
        conn = s.connection()
        total = 1 + customers + contacts + items + (1 if contacts else 0)
        first = reserve_versions(conn, total)
        v = iter(range(first, first + total))
        rows = lambda model, values: conn.execute(insert(model), values) if values else None  # noqa: E731
        rows(UnitOfMeasure, [{"id": uuid.uuid4(), "code": "PCS", "description": "Pieces", "row_version": next(v)}])
        rows(Customer, [{"id": uuid.uuid4(), "no": f"B{i:07d}", "name": f"Bench customer {i}", "city": "Ghent",
                         "phone_no": str(i), "row_version": next(v)} for i in range(customers)])  # fmt: skip
        if contacts:
            rows(Contact, [{"id": uuid.uuid4(), "no": "KCOMP", "type": ContactType.COMPANY, "name": "Bench company",
                            "company_no": "KCOMP", "customer_no": "B0000000", "row_version": next(v)}])  # fmt: skip
            rows(Contact, [{"id": uuid.uuid4(), "no": f"K{i:07d}", "type": ContactType.PERSON, "company_no": "KCOMP",
                            "first_name": "Person", "surname": str(i), "row_version": next(v)}
                           for i in range(contacts)])  # fmt: skip
        rows(Item, [{"id": uuid.uuid4(), "no": f"I{i:07d}", "description": f"Item {i}", "base_unit_of_measure": "PCS",
                     "unit_price": Decimal("9.95"), "row_version": next(v)} for i in range(items)])  # fmt: skip
        record_changes(conn, "customer", Counter(inserted=customers), first, first + total - 1)


def floor(client, rows: int, page: int) -> float:
    targets = [{"accountid": str(uuid.uuid4()), "name": f"Floor {i}", "address1_city": "Ghent", "telephone1": str(i)}
               for i in range(rows)]  # fmt: skip
    started = time.perf_counter()
    for start in range(0, rows, page):
        client.upsert_multiple("accounts", targets[start : start + page])
    return time.perf_counter() - started


def one_size(customers: int, args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="l2c-bench-sync-"))
    proc, url, secret = start_crm(tmp / "crm", args.throttled)
    try:
        pacing = {"max_rate": ALLOWED_RATE * 0.95, "bulk_chunk_size": 10} if args.throttled else {}
        dv = DataverseSettings(url=url, authority=url, tenant_id="bench", client_id=seed.INTEGRATION_CLIENT_ID,
                               client_secret=secret, read_timeout=300, **pacing)  # fmt: skip
        _, sessions = open_database(f"sqlite:///{tmp / 'erp.db'}")
        load_erp(sessions, customers, args.contacts, args.items)
        out: dict = {"customers": customers, "contacts": args.contacts, "items": args.items, "page_size": args.page}
        with SyncDataverseClient(dv) as client:
            floor_s = floor(client, customers, args.page) if not args.throttled else 0.0
            ctx = SyncContext.open(sessions, client, page_size=args.page)
            run_mapping(sessions, client, "SALESPEOPLE", full=True, ctx=ctx)
            stats = client.client.transport.stats
            sent, throttled = stats.sent, stats.throttled
            started = time.perf_counter()
            pass_to_crm(ctx, "CUSTOMER", full=True)
            to_crm_s = time.perf_counter() - started
            if args.throttled:
                sent, throttled = stats.sent - sent, stats.throttled - throttled
                out |= {
                    "throttled_requests": sent,
                    "achieved_rate_share": round(sent / to_crm_s / ALLOWED_RATE, 3),
                    "rejected_share": round(throttled / max(sent, 1), 4),
                }
            out |= {
                "customers_to_crm_s": round(to_crm_s, 2),
                "customers_per_s": round(customers / to_crm_s, 1),
                "floor_per_s": round(customers / floor_s, 1) if floor_s else None,
                "ratio_to_floor": round(floor_s / to_crm_s, 3) if floor_s else None,
            }
            for name, count in (("CONTACT", args.contacts), ("UNIT OF MEASURE", 1), ("ITEM-PRODUCT", args.items)):
                if count:
                    started = time.perf_counter()
                    pass_to_crm(ctx, name, full=True)
                    out[f"{name.lower()}_per_s"] = round(count / (time.perf_counter() - started), 1)
            run_mapping(sessions, client, "CUSTOMER", ctx=ctx)  # settle the CRM → ERP side once
            with sessions() as s, s.begin():
                for customer in s.scalars(select(Customer).limit(args.changes)):
                    customer.city = "Brugge"
            started = time.perf_counter()
            run_mapping(sessions, client, "CUSTOMER", ctx=ctx)
            out["incremental_changes"] = args.changes
            out["incremental_s"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            run_mapping(sessions, client, "CUSTOMER", ctx=ctx)
            out["idle_run_s"] = round(time.perf_counter() - started, 2)
        out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", default="5000", help="comma-separated sizes, e.g. 10000,50000")
    parser.add_argument("--contacts", type=int, default=0)
    parser.add_argument("--items", type=int, default=0)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--page", type=int, default=500)
    parser.add_argument("--throttled", action="store_true", help="against the service-protection limiter")
    args = parser.parse_args()
    for size in (int(s) for s in args.customers.split(",")):
        print(json.dumps(one_size(size, args)), flush=True)


if __name__ == "__main__":
    main()
