"""Polling and evidence helpers shared by the job queue tests (a module of its own: ``conftest`` is not importable
by name once several test folders have one)."""

from __future__ import annotations

import time
from collections.abc import Callable

import job_test_handlers
import pytest
from sqlalchemy import select


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def effects(db, handler: str | None = None) -> list[dict]:
    query = select(job_test_handlers.effect).order_by(job_test_handlers.effect.c.id)
    if handler:
        query = query.where(job_test_handlers.effect.c.handler == handler)
    with db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
