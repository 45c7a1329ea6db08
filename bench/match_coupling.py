"""Match-based coupling of customers to accounts that already exist in the CRM ("both sides have data").

For each size, N ERP customers and N CRM accounts with the same names (matched on the name, the common
"couple before the first synchronization" case) are coupled by ``match_in_steps`` against the local CRM
server over HTTPS on loopback. Reported per size: seconds, records coupled per second, CRM requests, ERP
statements, and the Python heap peak of the run (tracemalloc). The cost should grow linearly with N and
the ERP statements per 500-record page should stay constant.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

from sqlalchemy import event, insert, update

from lead2cash.config import Settings
from lead2cash.crm import seed
from lead2cash.crm.app import create_app
from lead2cash.crm.server import CrmServer
from lead2cash.crm.tls import ensure_certificate
from lead2cash.erp.database import open_database
from lead2cash.erp.model import Customer
from lead2cash.erp.services.setup import bootstrap
from lead2cash.erp.versioning import reserve_versions
from lead2cash.integration.dataverse import DataverseSettings, SyncDataverseClient
from lead2cash.integration.manual.matching import match_in_steps
from lead2cash.integration.mapping.defaults import use_default_setup
from lead2cash.integration.mapping.model import FieldMapping

SECRET = "bench-match-coupling-secret"


def one_size(n: int, crm: SyncDataverseClient, tmp: Path) -> dict:
    engine, sessions = open_database(f"sqlite:///{tmp / f'erp-{n}.db'}")
    tag = uuid.uuid4().hex[:6]
    with sessions() as s, s.begin():
        bootstrap(s)
        use_default_setup(s)
        s.execute(update(FieldMapping).where(FieldMapping.table_mapping_name == "CUSTOMER")
                  .values(use_for_matching=FieldMapping.erp_field == "name"))  # fmt: skip
        first = reserve_versions(s.connection(), n)
        s.execute(insert(Customer), [{"id": uuid.uuid4(), "no": f"M{i:07d}", "name": f"Match {tag} {i}",
                                      "row_version": first + i} for i in range(n)])  # fmt: skip
    crm.create_multiple("accounts", [{"name": f"Match {tag} {i}", "customertypecode": 3} for i in range(n)])
    statements = 0

    def count(*_args) -> None:
        nonlocal statements
        statements += 1

    sent_before = crm.client.transport.stats.sent
    event.listen(engine, "before_cursor_execute", count)
    tracemalloc.start()
    started = time.perf_counter()
    report = match_in_steps(sessions, crm, "CUSTOMER", create_new=False, sync_after=False)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    event.remove(engine, "before_cursor_execute", count)
    engine.dispose()
    return {
        "records": n,
        "coupled": report.coupled,
        "seconds": round(elapsed, 3),
        "records_per_s": round(n / elapsed, 1),
        "crm_requests": crm.client.transport.stats.sent - sent_before,
        "erp_statements": statements,
        "peak_heap_mb": round(peak / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        app = create_app(Settings(data_dir=tmp / "crm", secret_key="bench-signing-secret-0123456789"),
                         seed_options={"integration_secret": SECRET})  # fmt: skip
        cert, key = ensure_certificate(tmp / "tls")
        server = CrmServer(app, http_port=None, https_port=0, certfile=cert, keyfile=key).start_in_thread()
        url = server.url("https")
        settings = DataverseSettings(url=url, authority=url, client_id=seed.INTEGRATION_CLIENT_ID,
                                     client_secret=SECRET, tenant_id="bench", ca_bundle=str(cert))  # fmt: skip
        try:
            with SyncDataverseClient(settings) as crm:
                results = [one_size(n, crm, tmp) for n in args.sizes]
        finally:
            server.stop_thread()
    print(json.dumps({"bench": "match_coupling", "results": results}))


if __name__ == "__main__":
    main()
