"""Fixtures for the job queue tests: a queue on each runner, worker subprocesses, bounded polling.

``erp_db`` (tests/conftest.py) gives an ERP database on SQLite and, when configured, on PostgreSQL; the
queue follows the database (embedded runner on SQLite, procrastinate on PostgreSQL) with short leases and
ticks so failures are noticed within seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import job_test_handlers
import pytest

from lead2cash.jobs.runtime import QueueOptions, make_queue

HERE = Path(__file__).parent
FAST = QueueOptions(workers=2, lease_seconds=2.0, heartbeat_seconds=0.5, tick_seconds=0.2, poll_seconds=0.2)


@pytest.fixture
def jobs_db(erp_db):
    job_test_handlers.create_tables(erp_db.engine)
    return erp_db


@pytest.fixture
def make_jobs_queue(jobs_db):
    """Factory for queues on ``jobs_db`` (not started); all are stopped after the test."""
    queues = []

    def make(options: QueueOptions = FAST):
        queue = make_queue(jobs_db.engine, jobs_db.sessions, jobs_db.url, options=options)
        queues.append(queue)
        return queue

    yield make
    for queue in queues:
        queue.stop()


@pytest.fixture
def queue(make_jobs_queue):
    """A started queue on ``jobs_db`` running the test handlers."""
    q = make_jobs_queue()
    q.start()
    return q


class Worker:
    """A ``lead2cash worker`` subprocess on the test database."""

    def __init__(self, db, name: str, tmp: Path):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
        self.log = tmp / f"{name}.log"
        cmd = [
            str(Path(sys.executable).with_name("lead2cash")),
            "worker",
            "--database-url",
            db.url,
            "--import-module",
            "job_test_handlers",
            "--lease-seconds",
            "2",
            "--heartbeat-seconds",
            "0.5",
            "--tick-seconds",
            "0.2",
            "--poll-seconds",
            "0.2",
            "--concurrency",
            "1",
        ]
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT)

    def ready(self) -> bool:
        return "handling" in self.log.read_text()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def spawn_worker(jobs_db, tmp_path) -> Iterator[Callable[[str], Worker]]:
    workers: list[Worker] = []

    def spawn(name: str) -> Worker:
        worker = Worker(jobs_db, name, tmp_path)
        workers.append(worker)
        return worker

    yield spawn
    for worker in workers:
        worker.stop()
