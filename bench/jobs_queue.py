"""Job queue throughput of both runners; prints JSON.

- ``embedded``: claim + acknowledge of ``--jobs`` no-op jobs by the embedded runner on a fresh SQLite ERP
  database, with 1 and 2 worker threads (jobs/s). Every job goes through the whole lifecycle: one claim
  (``UPDATE … RETURNING``), its run-log row, the handler, the acknowledgement.
- ``procrastinate``: the same no-op jobs through procrastinate workers on PostgreSQL (jobs/s, from the
  first enqueue until the last job is acknowledged), when ``L2C_BENCH_POSTGRES_URL`` or
  ``L2C_TEST_POSTGRES_URL`` is set; runs in a schema of its own, dropped afterwards.
- ``scaling``: ``--lines`` jobs that each wait ``--line-ms`` (an I/O-bound stand-in for full
  synchronization lines, which wait on the CRM) run by 1 and then 2 procrastinate workers of one slot each;
  ``ratio`` = time with 1 worker / time with 2 workers (2.0 is perfect scaling).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from lead2cash.db import transaction
from lead2cash.erp.database import open_database
from lead2cash.jobs import JobSpec, register_handler, store
from lead2cash.jobs.model import Job, JobStatus
from lead2cash.jobs.runtime import QueueOptions, make_queue

register_handler("bench.noop", lambda ctx, payload: None)
register_handler("bench.wait", lambda ctx, payload: time.sleep(payload["ms"] / 1000))


def _fill(sessions, count: int, name: str = "bench.noop", payload: dict | None = None) -> None:
    with transaction(sessions) as session:
        for _ in range(count):
            store.enqueue(session, JobSpec(name, payload or {}))


def _unfinished(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Job).where(Job.status != JobStatus.SUCCEEDED))


def _drain(queue) -> None:
    while queue.run_one():
        pass


def bench_embedded(jobs: int) -> dict:
    result = {}
    for threads in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'erp.db'}"
            engine, sessions = open_database(url)
            queue = make_queue(engine, sessions, url, options=QueueOptions(workers=threads))
            _fill(sessions, jobs)
            started = time.perf_counter()
            workers = [threading.Thread(target=_drain, args=(queue,)) for _ in range(threads)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            elapsed = time.perf_counter() - started
            assert _unfinished(sessions) == 0
            engine.dispose()
        result[f"threads_{threads}_jobs_per_s"] = round(jobs / elapsed, 1)
    return result


def _pg_schema(base: str):
    admin = create_engine(make_url(base).set(drivername="postgresql+psycopg"))
    schema = f"l2c_bench_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).set(drivername="postgresql+psycopg")
    url = url.set(query={**url.query, "options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    return admin, schema, url


def _run_pg(url: str, count: int, workers: int, slots: int, name: str, payload: dict) -> float:
    engine, sessions = open_database(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE job CASCADE"))
    options = QueueOptions(workers=slots, tick_seconds=1.0, poll_seconds=0.5)
    queues = [make_queue(engine, sessions, url, options=options) for _ in range(workers)]
    for q in queues:
        q.start()
    time.sleep(1.0)  # workers up and listening before the clock starts
    started = time.perf_counter()
    ids = []
    with transaction(sessions) as session:
        for _ in range(count):
            ids.append(store.enqueue(session, JobSpec(name, payload))[0])
    queues[0]._dispatch(ids)
    while _unfinished(sessions):
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    for q in queues:
        q.stop()
    engine.dispose()
    return elapsed


def bench_postgres(base: str, jobs: int, lines: int, line_ms: int) -> dict:
    admin, schema, url = _pg_schema(base)
    try:
        result = {}
        for slots in (1, 4):
            elapsed = _run_pg(url, jobs, 1, slots, "bench.noop", {})
            result[f"worker_concurrency_{slots}_jobs_per_s"] = round(jobs / elapsed, 1)
        one = _run_pg(url, lines, 1, 1, "bench.wait", {"ms": line_ms})
        two = _run_pg(url, lines, 2, 1, "bench.wait", {"ms": line_ms})
        scaling = {"lines": lines, "line_ms": line_ms, "one_worker_s": round(one, 2), "two_workers_s": round(two, 2)}
        scaling["ratio"] = round(one / two, 2)
        return {"procrastinate": result, "scaling": scaling}
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("--line-ms", type=int, default=100)
    args = parser.parse_args()
    out: dict = {"bench": "jobs_queue", "jobs": args.jobs, "embedded": bench_embedded(args.jobs)}
    base = os.environ.get("L2C_BENCH_POSTGRES_URL") or os.environ.get("L2C_TEST_POSTGRES_URL")
    if base:
        out.update(bench_postgres(base, args.jobs, args.lines, args.line_ms))
    else:
        out["procrastinate"] = "skipped: set L2C_BENCH_POSTGRES_URL"
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
