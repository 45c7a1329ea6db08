"""A full synchronization started through the job queue with the recurring entries in place: every line runs
after the lines it depends on, each mapping's recurring entry is On Hold from the moment its line is queued
until the line ends, and the entries resume afterwards and run incrementally from where the lines ended."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lead2cash.db import transaction
from lead2cash.erp.model.master import Customer
from lead2cash.integration import engine as sync_engine
from lead2cash.integration import fullsync
from lead2cash.integration.manual.crm import open_crm
from lead2cash.jobs.model import EntryStatus, JobQueueEntry

pytestmark = pytest.mark.parametrize("erp_url", ["sqlite"], indirect=True)


def test_full_sync_chains_every_line_in_dependency_order_with_entries_held(wired, monkeypatch):
    with transaction(wired.sessions) as session:
        for i, name in enumerate(("Alder Works", "Birch Supply", "Cedar Retail")):
            session.add(Customer(no=f"FS{i}", name=name))
    order: list[str] = []
    held_while_running: dict[str, EntryStatus] = {}
    real = sync_engine.run_mapping

    def recording(sessions, client, name, **kw):
        if kw.get("full"):
            order.append(name)
            with sessions() as s:
                held_while_running[name] = s.scalar(select(JobQueueEntry.status).where(JobQueueEntry.key == name))
        return real(sessions, client, name, **kw)

    monkeypatch.setattr(sync_engine, "run_mapping", recording)
    with open_crm(wired.sessions) as crm:
        counts = fullsync.count_both_sides(wired.sessions, crm)
        with transaction(wired.sessions) as session:
            fullsync.generate(session, crm, counts=counts)
            started = fullsync.start(session)
            queued = [line.name for line in started if fullsync.queue_job_id(line) is not None]
            statuses = dict(session.execute(select(JobQueueEntry.key, JobQueueEntry.status)).all())
    assert {"SALESPEOPLE", "CURRENCY", "CUSTOMER"} <= set(queued)
    assert all(statuses[name] is EntryStatus.ON_HOLD for name in queued if name in statuses)

    wired.queue.run_until_idle(timeout=240)

    with transaction(wired.sessions) as session:
        lines = {p["name"]: p for p in fullsync.progress(session)}
        entries = {e.key: e for e in session.scalars(select(JobQueueEntry))}
        deps = {line.name: line.dependencies for line in fullsync.ordered(session)}
    assert {p["status"] for p in lines.values()} == {"Finished"}, {n: p["job_error"] for n, p in lines.items()}
    ran = [name for name in order if name in lines]
    for name in ran:  # every line ran after the lines it depends on that had work to do
        for dep in deps[name]:
            if dep in ran:
                assert ran.index(dep) < ran.index(name), (dep, name, ran)
    assert held_while_running and set(held_while_running.values()) <= {EntryStatus.ON_HOLD, None}
    assert lines["CUSTOMER"]["to_crm"]["counts"]["inserted"] == 3
    # the holds are gone: every entry is back to running on its own (and went idle or Ready again)
    assert EntryStatus.ON_HOLD not in {e.status for e in entries.values()}
    assert all(e.held_status is None for e in entries.values())
    names = {a["name"] for a in wired.org.admin.query("accounts", select=["name"])}
    assert {"Alder Works", "Birch Supply", "Cedar Retail"} <= names
