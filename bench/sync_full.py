"""Benchmark: full initial synchronization ERP → CRM over HTTP on loopback, and incremental cost.

For each size in ``--customers`` (comma-separated), starts a fresh local CRM org in its own process
(``lead2cash crm serve``, HTTP on loopback) and a fresh ERP database (SQLite in a temporary directory),
loads that many customers (plus ``--contacts`` contacts and ``--items`` items), and reports:

* the ERP → CRM full synchronization of customers, contacts, the unit and items: records/s per table and in
  all, and the ratio to the *floor* — the very rows the engine wrote (every bulk write it made, recorded
  as it went) sent again by a bare bulk client with no sync logic to a second, fresh CRM org of the same
  kind (1.0 = as fast as the floor);
* an incremental run after ``--changes`` customers changed (its cost should follow the changes, not the
  table size: compare the sizes), and an idle run;
* peak memory (max RSS) of this process after the full synchronization (the engine; the CRM servers run
  apart).

With ``--throttled`` the CRM runs its service-protection limiter (Dataverse's budget, scaled to a short
window) and the client keeps the same request budget (60 requests per 3 s): the output adds the share of the
allowed request rate achieved and the share of requests rejected with 429 (goals: ≥ 0.90 and < 0.01).
Prints one JSON object per size. Examples: ``python bench/sync_full.py`` (5,000 customers);
``python bench/sync_full.py --customers 10000,50000 --changes 1000``;
``python bench/sync_full.py --customers 100000 --contacts 100000 --items 20000``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import resource
import shutil
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
#: the limiter's window budget at the scale used (60 requests in 3 s): a run may use it at once, on top of the rate
WINDOW_BUDGET = 60


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


def track_changes(url: str, data_dir: Path, tables: tuple[str, ...] = ("account", "contact", "product")) -> None:
    """Turn on change tracking for the synchronized tables, as the solution deployment does (S3), so the
    CRM → ERP passes read deltas instead of filtering by ``modifiedon``."""
    creds = json.loads((data_dir / "crm-credentials.json").read_text())
    form = {"grant_type": "password", "username": creds["admin_username"], "password": creds["admin_password"],
            "scope": f"{url}/.default"}  # fmt: skip
    token = httpx.post(f"{url}/bench/oauth2/v2.0/token", data=form).raise_for_status().json()["access_token"]
    for table in tables:
        httpx.put(f"{url}/api/data/v9.2/EntityDefinitions(LogicalName='{table}')", json={"ChangeTrackingEnabled": True},
                  headers={"Authorization": f"Bearer {token}"}).raise_for_status()  # fmt: skip


def load_erp(url: str, customers: int, contacts: int, items: int) -> None:
    """Bulk-load master data with proper row versions (as the ERP's bulk loaders do), in a child process so
    the rows built for loading do not count in the engine's peak memory."""
    child = multiprocessing.get_context("spawn").Process(target=_load, args=(url, customers, contacts, items))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"loading the ERP failed (exit code {child.exitcode})")


def _load(url: str, customers: int, contacts: int, items: int) -> None:
    _, sessions = open_database(url)
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


WRITES = ("upsert_multiple", "update_multiple", "create_multiple", "upsert", "update", "create")


class Recorder:
    """Records every write the engine makes (to a file, so it does not add to the engine's memory)."""

    def __init__(self, client, path: Path):
        self.client, self.path, self.file = client, path, None

    def __enter__(self) -> Recorder:
        self.file = self.path.open("w")
        for name in WRITES:
            original = getattr(self.client, name)

            def recording(*args, _original=original, _name=name):
                self.file.write(json.dumps([_name, *args]) + "\n")
                return _original(*args)

            setattr(self.client, name, recording)
        return self

    def __exit__(self, *exc) -> None:
        for name in WRITES:
            delattr(self.client, name)
        self.file.close()


def base_currency(client) -> str:
    return client.query("organizations", select=["_basecurrencyid_value"], top=1)[0]["_basecurrencyid_value"]


def cpu_s(pid: int | None = None) -> float:
    """CPU seconds (user + system) used so far by a process: this one, or the CRM server ``pid``."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def floor(dv: DataverseSettings, recorded: Path, engine_base_currency: str) -> float:
    """Seconds a bare client takes to send the recorded writes again, in the same order and chunks (to a fresh
    org, whose only difference is the id of its base currency)."""
    with SyncDataverseClient(dv) as client, recorded.open() as lines:
        own = base_currency(client)
        calls = [json.loads(line.replace(engine_base_currency, own)) for line in lines]
        started = time.perf_counter()
        for name, *args in calls:
            getattr(client, name)(*args)
        return time.perf_counter() - started


def one_size(customers: int, args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="l2c-bench-sync-"))
    proc, url, secret = start_crm(tmp / "crm", args.throttled)
    try:
        track_changes(url, tmp / "crm")
        budget = {"budget_requests": WINDOW_BUDGET, "budget_window": 3.0, "bulk_chunk_size": 10}
        pacing = budget if args.throttled else {}
        dv = DataverseSettings(url=url, authority=url, tenant_id="bench", client_id=seed.INTEGRATION_CLIENT_ID,
                               client_secret=secret, read_timeout=300, **pacing)  # fmt: skip
        url = f"sqlite:///{tmp / 'erp.db'}"
        load_erp(url, customers, args.contacts, args.items)
        _, sessions = open_database(url)
        out: dict = {"customers": customers, "contacts": args.contacts, "items": args.items, "page_size": args.page}
        recorded = tmp / "bulk-writes.jsonl"
        with SyncDataverseClient(dv) as client:
            ctx = SyncContext.open(sessions, client, page_size=args.page)
            run_mapping(sessions, client, "SALESPEOPLE", full=True, ctx=ctx)
            stats = client.client.transport.stats
            sent, throttled = stats.sent, stats.throttled
            to_crm_s = 0.0
            engine_cpu, crm_cpu = cpu_s(), cpu_s(proc.pid)
            with Recorder(client, recorded):
                for name, count in (("CUSTOMER", customers), ("CONTACT", args.contacts), ("UNIT OF MEASURE", 1),
                                    ("ITEM-PRODUCT", args.items)):  # fmt: skip
                    if count:
                        started = time.perf_counter()
                        pass_to_crm(ctx, name, full=True)
                        took = time.perf_counter() - started
                        to_crm_s += took
                        out[f"{name.lower().replace(' ', '_')}_per_s"] = round(count / took, 1)
            engine_cpu, crm_cpu = cpu_s() - engine_cpu, cpu_s(proc.pid) - crm_cpu
            records = customers + args.contacts + 1 + args.items
            out |= {"engine_cpu_s": round(engine_cpu, 2), "crm_cpu_s": round(crm_cpu, 2)}
            out |= {"records": records, "to_crm_s": round(to_crm_s, 2), "records_per_s": round(records / to_crm_s, 1)}
            out["engine_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
            if args.throttled:
                sent, throttled = stats.sent - sent, stats.throttled - throttled
                out |= {
                    "throttled_requests": sent,
                    # of the most the limiter admits in that time: the rate, plus one window's budget at the start
                    "achieved_rate_share": round(sent / (ALLOWED_RATE * to_crm_s + WINDOW_BUDGET), 3),
                    "rejected_share": round(throttled / max(sent, 1), 4),
                }
            else:
                floor_proc, floor_url, floor_secret = start_crm(tmp / "crm-floor")
                try:
                    floor_dv = dataclasses.replace(dv, url=floor_url, authority=floor_url, client_secret=floor_secret)
                    floor_cpu = cpu_s(floor_proc.pid)
                    floor_s = floor(floor_dv, recorded, base_currency(client))
                    out["floor_crm_cpu_s"] = round(cpu_s(floor_proc.pid) - floor_cpu, 2)
                finally:
                    floor_proc.terminate()
                    floor_proc.wait(timeout=30)
                out |= {"floor_s": round(floor_s, 2), "floor_records_per_s": round(records / floor_s, 1),
                        "ratio_to_floor": round(floor_s / to_crm_s, 3)}  # fmt: skip
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
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


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
