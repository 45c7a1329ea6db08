"""Benchmark: initial synchronization CRM → ERP over HTTP on loopback (an org whose accounts the ERP lacks).

Starts a fresh local CRM org in its own process with ``--accounts`` customer accounts (owned by a seeded
salesperson, change tracking on as after the solution deployment) and a fresh ERP database (SQLite), then
runs the CUSTOMER mapping's CRM → ERP pass as a full synchronization: every account becomes an ERP customer
through the ERP's service layer (its validation and number series). Prints records/s, the CPU seconds of
the engine and of the CRM server, the engine's peak memory, and an idle run afterwards.
Example: ``python bench/sync_from_crm.py --accounts 20000``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).parent))

from lead2cash.crm import seed
from lead2cash.erp.database import open_database
from lead2cash.erp.model import Customer
from lead2cash.erp.services.setup import bootstrap
from lead2cash.integration.dataverse import DataverseSettings, SyncDataverseClient
from lead2cash.integration.engine import run_mapping
from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.engine.passes import pass_from_crm
from lead2cash.integration.mapping.defaults import use_default_setup
from sync_full import cpu_s, start_crm, track_changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--page", type=int, default=500)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="l2c-bench-from-crm-"))
    proc, url, secret = start_crm(tmp / "crm")
    try:
        track_changes(url, tmp / "crm")
        dv = DataverseSettings(url=url, authority=url, tenant_id="bench", client_id=seed.INTEGRATION_CLIENT_ID,
                               client_secret=secret, read_timeout=300)  # fmt: skip
        owner = f"/systemusers({seed.salesperson_id(seed.SALESPEOPLE[0][2])})"
        with SyncDataverseClient(dv) as client:
            rows = [{"accountid": str(uuid.uuid4()), "name": f"Account {i}", "address1_city": "Ghent",
                     "telephone1": str(i), "customertypecode": 3, "ownerid@odata.bind": owner}
                    for i in range(args.accounts)]  # fmt: skip
            for start in range(0, len(rows), 1000):
                client.create_multiple("accounts", rows[start : start + 1000])
            del rows
            _, sessions = open_database(f"sqlite:///{tmp / 'erp.db'}")
            with sessions() as s, s.begin():
                bootstrap(s)
                use_default_setup(s)
            ctx = SyncContext.open(sessions, client, page_size=args.page)
            run_mapping(sessions, client, "SALESPEOPLE", full=True, ctx=ctx)
            engine_cpu, crm_cpu = cpu_s(), cpu_s(proc.pid)
            started = time.perf_counter()
            pass_from_crm(ctx, "CUSTOMER", full=True)
            took = time.perf_counter() - started
            engine_cpu, crm_cpu = cpu_s() - engine_cpu, cpu_s(proc.pid) - crm_cpu
            with sessions() as s:
                customers = s.scalar(select(func.count()).select_from(Customer))
            started = time.perf_counter()
            run_mapping(sessions, client, "CUSTOMER", ctx=ctx)
            idle = time.perf_counter() - started
        out = {
            "accounts": args.accounts, "erp_customers": customers, "from_crm_s": round(took, 2),
            "records_per_s": round(args.accounts / took, 1), "engine_cpu_s": round(engine_cpu, 2),
            "crm_cpu_s": round(crm_cpu, 2), "idle_run_s": round(idle, 2),
            "engine_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }  # fmt: skip
        print(json.dumps(out), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
