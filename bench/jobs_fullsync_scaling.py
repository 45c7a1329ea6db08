"""Benchmark: a real full synchronization run by 1 and then 2 procrastinate worker processes; prints JSON.

For each worker count (``--workers``, default ``1,2``) the run starts from nothing: a fresh PostgreSQL
schema (``L2C_TEST_POSTGRES_URL`` or ``postgresql+psycopg://postgres@127.0.0.1:5432/test``, dropped at the
end), a fresh CRM server as its own process on free loopback ports, the deterministic ERP demo data
(``--customers``, ``--persons``, ``--items``), the integration set up as the demo run does it (connection,
solution, default synchronization setup, salespeople coupled, enabled) and the full synchronization review
generated with the demo's choices. The review is started (``fullsync.start``: one job per line, each
waiting for the jobs of its dependencies, the recurring entries held), then N ``lead2cash worker --runner
procrastinate`` processes are launched, and the clock runs from their launch until every line's job has
ended. Workers get SIGTERM and are waited for; the CRM server is stopped, the schema dropped and the temporary
directory removed even when the run fails.

Per worker count the output gives the wall time, the span from the first line job starting to the last one
ending (worker start-up excluded), the records the lines wrote (inserted + modified + coupled, both
directions) and records/s; ``scaling_ratio`` = wall time with 1 worker / wall time with 2 (2.0 is perfect).
``critical_path_s`` is the longest chain of dependent lines (CUSTOMER then CONTACT with the demo data):
no number of workers finishes sooner, so ``jobs_span_s / critical_path_s`` bounds the possible gain.
Example: ``python bench/jobs_fullsync_scaling.py --customers 10000 --items 2000``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from lead2cash.config import get_settings
from lead2cash.crm import seed
from lead2cash.db import transaction
from lead2cash.demo import bootstrap
from lead2cash.demo.crm_process import CrmProcess
from lead2cash.erp.database import open_database
from lead2cash.erp.demo import DemoSize, generate
from lead2cash.integration import fullsync
from lead2cash.integration.manual.crm import open_crm
from lead2cash.integration.mapping.model import FieldMapping, TableMapping
from lead2cash.jobs.model import Job, JobStatus

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ENDED = (JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.CANCELLED)
WRITTEN = ("inserted", "modified", "coupled")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _psycopg(url: str):
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg") if parsed.drivername in ("postgresql", "postgres") else parsed


def _schema_url(base: str, schema: str) -> str:
    parsed = _psycopg(base)
    query = {**parsed.query, "options": f"-csearch_path={schema}"}
    return parsed.set(query=query).render_as_string(hide_password=False)


def _review_choices(sessions) -> None:
    """The demo's choices on the review page (see ``bootstrap.start_full_sync``)."""
    with transaction(sessions) as session:
        customer = session.get(TableMapping, "CUSTOMER")
        if customer is not None:
            customer.create_new_if_no_match = True
            customer.sync_after_bulk_coupling = True
            for row in session.scalars(select(FieldMapping).where(FieldMapping.table_mapping_name == "CUSTOMER")):
                row.use_for_matching = row.erp_field == "name"
                if row.erp_field in bootstrap.OPTION_FIELDS:
                    row.clear_value_on_failed_sync = True


def _start_workers(count: int, url: str, tmp: Path, concurrency: int) -> list[subprocess.Popen]:
    command = [str(Path(sys.executable).with_name("lead2cash")), "worker", "--runner", "procrastinate",
               "--database-url", url, "--concurrency", str(concurrency)]  # fmt: skip
    workers = []
    for i in range(count):
        with open(tmp / f"worker-{i}.log", "wb") as log:
            workers.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
    return workers


def _stop(processes: list[subprocess.Popen], timeout: float = 30.0) -> None:
    for proc in processes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in processes:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def _log_tail(tmp: Path, lines: int = 15) -> str:
    return "\n".join(
        f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        for path in sorted(tmp.glob("worker-*.log"))
    )


def _line_seconds(session, lines: list[dict]) -> dict[str, float]:
    """How long each line's job ran (lines without a job had nothing to do)."""
    out = {}
    for line in lines:
        job = session.get(Job, line["job_id"]) if line["job_id"] is not None else None
        if job is not None and job.started_at and job.finished_at:
            out[line["name"]] = round((job.finished_at - job.started_at).total_seconds(), 2)
    return out


def _written(line: dict, counters: tuple[str, ...] = WRITTEN) -> int:
    return sum((line[side]["counts"] or {}).get(c, 0) for side in ("to_crm", "from_crm") for c in counters)


def _critical_path(line_s: dict[str, float], deps: dict[str, list[str]]) -> float:
    """The longest chain of dependent lines: no number of workers can finish sooner."""
    memo: dict[str, float] = {}

    def finish(name: str) -> float:
        if name not in memo:
            memo[name] = line_s.get(name, 0.0) + max((finish(d) for d in deps.get(name, []) if d in deps), default=0.0)
        return memo[name]

    return round(max((finish(n) for n in deps), default=0.0), 2)


def one_run(workers: int, base: str, args) -> dict:
    admin = create_engine(_psycopg(base), pool_size=1)
    schema = f"l2c_bench_{uuid.uuid4().hex[:12]}"
    tmp = Path(tempfile.mkdtemp(prefix="l2c-bench-fullsync-"))
    crm = CrmProcess(tmp / "crm", "127.0.0.1", _free_port(), _free_port())
    procs: list[subprocess.Popen] = []
    engine = None
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = _schema_url(base, schema)
        crm.start()
        engine, sessions = open_database(url)
        # as many salespeople as the org has users to couple them to (a customer of an uncoupled one is refused)
        size = DemoSize(
            customers=args.customers,
            persons_per_customer=args.persons,
            items=args.items,
            salespeople=len(seed.SALESPEOPLE),
        )
        with transaction(sessions) as session:
            loaded = generate(session, size)
        creds = crm.credentials()
        access = bootstrap.CrmAccess(
            url=crm.url, cert=str(crm.cert), client_id=creds["integration_client_id"],
            client_secret=creds["integration_client_secret"], admin_username=creds["admin_username"],
            admin_password=creds["admin_password"],
        )  # fmt: skip
        bootstrap.connect(sessions, os.environ["L2C_SECRET_KEY"], access)
        _review_choices(sessions)
        with open_crm(sessions) as client:
            counts = fullsync.count_both_sides(sessions, client)
            with transaction(sessions) as session:
                fullsync.generate(session, client, counts=counts)
                started_lines = fullsync.start(session)
                job_ids = [j for j in (fullsync.queue_job_id(line) for line in started_lines) if j is not None]
        started = time.perf_counter()
        procs = _start_workers(workers, url, tmp, args.concurrency)
        deadline = started + args.timeout
        while True:
            with sessions() as session:
                open_jobs = session.scalar(select(Job.id).where(Job.id.in_(job_ids), Job.status.not_in(ENDED)).limit(1))
            if open_jobs is None:
                break
            if time.perf_counter() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError(f"full synchronization not finished after {args.timeout} s\n{_log_tail(tmp)}")
            time.sleep(args.poll)
        wall = time.perf_counter() - started
        with transaction(sessions) as session:
            lines = fullsync.progress(session)
            line_s = _line_seconds(session, lines)
            first, last = session.execute(
                select(func.min(Job.started_at), func.max(Job.finished_at)).where(Job.id.in_(job_ids))
            ).one()
        records = sum(_written(p) for p in lines)
        return {
            "workers": workers,
            "erp_rows_loaded": sum(loaded.values()),
            "lines": len(lines),
            "line_jobs": len(job_ids),
            "failed_lines": {p["name"]: p["job_error"] for p in lines if p["status"] != "Finished"},
            "records_written": records,
            "records_failed": sum(_written(p, ("failed",)) for p in lines),
            "records_skipped": sum(_written(p, ("skipped",)) for p in lines),
            "seconds": round(wall, 2),
            "jobs_span_s": round((last - first).total_seconds(), 2) if first and last else None,
            "records_per_s": round(records / wall, 1),
            "critical_path_s": _critical_path(line_s, {p["name"]: p["dependencies"] for p in lines}),
            "line_s": line_s,
            "line_records": {p["name"]: _written(p) for p in lines if _written(p)},
        }
    finally:
        _stop(procs)
        if engine is not None:
            engine.dispose()
        crm.stop()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--persons", type=int, default=2, help="contact persons per customer")
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--concurrency", type=int, default=1, help="jobs each worker runs at the same time")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds one run may take")
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between progress checks")
    args = parser.parse_args()
    base = os.environ.get("L2C_TEST_POSTGRES_URL") or DEFAULT_PG
    with tempfile.TemporaryDirectory(prefix="l2c-bench-data-") as data:
        # workers inherit these: the key decrypts the stored CRM client secret, nothing lands in ./data
        os.environ["L2C_SECRET_KEY"] = f"bench-{uuid.uuid4().hex}"
        os.environ["L2C_DATA_DIR"] = data
        get_settings.cache_clear()
        runs = [one_run(n, base, args) for n in (int(w) for w in args.workers.split(","))]
    by_workers = {r["workers"]: r for r in runs}
    out = {
        "bench": "jobs_fullsync_scaling",
        "customers": args.customers,
        "persons_per_customer": args.persons,
        "items": args.items,
        "worker_concurrency": args.concurrency,
        "runs": runs,
        "scaling_ratio": round(by_workers[1]["seconds"] / by_workers[2]["seconds"], 2)
        if 1 in by_workers and 2 in by_workers
        else None,
        "machine": f"{os.cpu_count()} cores shared by the CRM server (one process), the workers, PostgreSQL "
        "and this process",
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
