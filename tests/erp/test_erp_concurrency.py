"""Row versions under concurrent writers: unique, increasing in commit order, and a reader that selects
``row_version > watermark`` while the writers run never misses a committed row.

The writers run at the same time as two threads of one process and as two separate processes (each with
its own engine and connection pool), on SQLite and — when configured — PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from erp_writer import SHARED, write
from sqlalchemy import func, select
from starlette.testclient import TestClient

from lead2cash.erp.model import Customer, Outbox, Salesperson
from lead2cash.erp.services import records
from lead2cash.erp.services.records import RecordType

WRITER = Path(__file__).with_name("erp_writer.py")
PER_WRITER = 40


class WatermarkReader(threading.Thread):
    """Polls ``row_version > watermark`` like an incremental sync and remembers every version it saw."""

    def __init__(self, engine):
        super().__init__(daemon=True)
        self.engine = engine
        self.watermark = 0
        self.seen: dict[str, set[int]] = {}
        self.polls = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def poll(self) -> None:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Salesperson.code, Salesperson.row_version)
                .where(Salesperson.row_version > self.watermark)
                .order_by(Salesperson.row_version)
            ).all()
        for code, version in rows:
            self.seen.setdefault(code, set()).add(version)
            self.watermark = max(self.watermark, version)
        self.polls += 1

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.poll()
        except BaseException as exc:  # reported by finish()
            self.error = exc

    def finish(self) -> None:
        self.stop.set()
        self.join(timeout=120)
        assert self.error is None, self.error
        self.poll()  # everything committed by now


def prepare(erp_db) -> None:
    with erp_db.sessions() as session, session.begin():
        records.create(session, RecordType(Salesperson), {"code": SHARED})


def check(erp_db, reader: WatermarkReader, results: dict[str, list[list]]) -> None:
    for prefix, committed in results.items():
        assert len(committed) == PER_WRITER, prefix
        versions = [v for _code, v in committed]
        assert versions == sorted(versions) and len(set(versions)) == len(versions), f"{prefix}: not increasing"
    if erp_db.is_postgres:
        # PostgreSQL queues waiters on the counter row fairly, so writers started together interleave. SQLite
        # lets one writer at a time hold the database and does not queue waiters: one writer may legitimately
        # finish before the other gets its first turn, so interleaving is not required there.
        a, b = ([v for _c, v in committed] for committed in results.values())
        assert min(a) < max(b) and min(b) < max(a), "the writers did not overlap, so nothing was tested"

    with erp_db.sessions() as session:
        stored = dict(session.execute(select(Salesperson.code, Salesperson.row_version)).all())
        outbox_versions = list(session.scalars(select(Outbox.row_version)))
        inserted = sum(
            e.payload["inserted"]
            for e in session.scalars(select(Outbox).where(Outbox.event_type == "salesperson.changed"))
        )
        count = session.scalar(select(func.count()).select_from(Salesperson))
    assert count == 1 + 2 * PER_WRITER
    assert len(set(stored.values())) == len(stored), "row versions are unique"
    assert len(set(outbox_versions)) == len(outbox_versions)
    assert inserted == count, "every insert has its outbox event"
    for committed in results.values():
        for code, version in committed:
            assert stored[code] == version

    missed = {code for code in stored if stored[code] not in reader.seen.get(code, set())}
    assert not missed, f"the watermark reader missed committed rows: {sorted(missed)}"
    assert reader.polls > 2


def test_two_threads_writing_at_once(erp_db):
    prepare(erp_db)
    reader = WatermarkReader(erp_db.engine)
    reader.start()
    barrier = threading.Barrier(2)
    results: dict[str, list] = {}
    errors: list[BaseException] = []

    def run(prefix: str) -> None:
        try:
            barrier.wait()
            results[prefix] = write(erp_db.sessions, prefix, PER_WRITER)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    reader.finish()
    assert not errors, errors
    check(erp_db, reader, results)


def test_two_processes_writing_at_once(erp_db, tmp_path):
    prepare(erp_db)
    go = tmp_path / "go"
    procs = {
        prefix: subprocess.Popen(
            [sys.executable, str(WRITER), erp_db.url, prefix, str(PER_WRITER), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for prefix in ("P", "Q")
    }
    try:
        for proc in procs.values():
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        reader = WatermarkReader(erp_db.engine)
        reader.start()
        go.touch()
        results = {}
        for prefix, proc in procs.items():
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            results[prefix] = json.loads(out.strip().splitlines()[-1])
        reader.finish()
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    check(erp_db, reader, results)


def test_concurrent_automatic_numbers_never_collide(erp_db):
    """Two writers taking customer numbers from one series at once get distinct, gapless numbers."""
    barrier = threading.Barrier(2)
    taken: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            barrier.wait()
            numbers = []
            for _ in range(15):
                with erp_db.sessions() as session, session.begin():
                    numbers.append(records.create(session, RecordType(Customer, "customer_nos"), {"name": name}).no)
            taken[name] = numbers
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    numbers = taken["A"] + taken["B"]
    assert sorted(numbers) == [f"C{n:05d}" for n in range(10, 40)]


def test_concurrent_conditional_updates_let_exactly_one_win(erp_app, erp_users):
    """Two clients PATCH the same record with the same If-Match at once: one succeeds, the other gets 412."""
    admin = {"Authorization": f"Bearer {erp_users['administrator']}"}
    with TestClient(erp_app, headers=admin) as setup:
        etag = setup.post("/api/v1/salespeople", json={"code": "JO"}).headers["ETag"]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def run(name: str) -> None:
        with TestClient(erp_app, headers=admin) as client:
            barrier.wait()
            answer = client.patch("/api/v1/salespeople/JO", json={"name": name}, headers={"If-Match": etag})
            statuses.append(answer.status_code)

    threads = [threading.Thread(target=run, args=(n,)) for n in ("Ann", "Bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(statuses) == [200, 412]
