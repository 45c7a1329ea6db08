"""``lead2cash jobs …`` on the embedded runner: run an entry now in the foreground, see its log, edit it,
hold and resume it; unknown entries and jobs that are not dead are refused with a message."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from lead2cash.cli import app
from lead2cash.db import transaction
from lead2cash.jobs import EntrySpec
from lead2cash.jobs import scheduler as sched

pytestmark = pytest.mark.parametrize("erp_url", ["sqlite"], indirect=True)
WIDE = {"COLUMNS": "250"}


def jobs(db, *args):
    return CliRunner().invoke(app, ["jobs", *args, "--database-url", db.url], env=WIDE)


def test_entry_commands(jobs_db):
    with transaction(jobs_db.sessions) as session:
        sched.ensure_entry(session, EntrySpec("CUSTOMER", "test.record", {"tag": "cli"}))

    result = jobs(jobs_db, "run", "CUSTOMER", "--foreground")
    assert result.exit_code == 0, result.output
    assert "Ran 1 job(s)" in result.output
    log = jobs(jobs_db, "log", "CUSTOMER")
    assert "success" in log.output and "effect:cli" in log.output

    assert jobs(jobs_db, "edit", "CUSTOMER", "--interval", "5", "--max-attempts", "3").exit_code == 0
    with jobs_db.sessions() as session:
        entry = sched.entry_by_key(session, "CUSTOMER")
        assert (entry.interval_minutes, entry.max_attempts) == (5, 3)

    assert "On Hold" in jobs(jobs_db, "hold", "CUSTOMER").output
    listing = jobs(jobs_db, "list")
    assert "CUSTOMER" in listing.output and "On Hold" in listing.output
    assert "Ready" in jobs(jobs_db, "resume", "CUSTOMER").output


def test_unknown_targets_are_refused(jobs_db):
    unknown = jobs(jobs_db, "hold", "NO SUCH ENTRY")
    assert unknown.exit_code == 1 and "no job queue entry 'NO SUCH ENTRY'" in unknown.output
    not_dead = jobs(jobs_db, "run", "999")
    assert not_dead.exit_code == 1 and "not dead" in not_dead.output
