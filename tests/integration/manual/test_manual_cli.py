"""``lead2cash couple …`` and ``lead2cash fullsync …`` against a real CRM org (one per test) and the ERP
database file the commands open themselves."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from lead2cash.cli import app
from lead2cash.db import transaction
from lead2cash.erp.model.master import Customer
from lead2cash.erp.services import records
from lead2cash.integration import couplings

runner = CliRunner()


@pytest.fixture
def org(fresh_org):
    return fresh_org


def _cli(erp_env, *args: str):
    result = runner.invoke(app, [*args, "--database-url", erp_env.db.url], catch_exceptions=False)
    return result


def test_couple_set_errors_and_delete_from_the_command_line(erp_env, org, rows):
    row = org.account("Command Line Ltd")
    with transaction(erp_env.sessions) as session:
        customer = rows.customer(session, "CLI1", "Command Line")
    done = _cli(erp_env, "couple", "set", "CUSTOMER", "CLI1", "--crm-name", "Command Line Ltd", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["crm_id"] == str(row)
    taken = _cli(erp_env, "couple", "set", "CUSTOMER", "CLI1", "--crm-name", "Nobody")
    assert taken.exit_code == 1 and "no account is named 'Nobody'" in taken.output
    listing = _cli(erp_env, "couple", "errors")
    assert listing.exit_code == 0 and "0 coupling(s) need attention" in listing.output
    gone = _cli(erp_env, "couple", "delete", "CUSTOMER", "CLI1")
    assert gone.exit_code == 0 and "Deleted 1 coupling(s)" in gone.output
    with transaction(erp_env.sessions) as session:
        assert not couplings.by_erp_ids(session, "customer", [customer.id])
        assert session.get(Customer, customer.id) is not None


def test_fullsync_review_start_run_and_status(erp_env, crm):
    with transaction(erp_env.sessions) as session:
        for no in ("FS1", "FS2"):
            data = {"no": no, "name": f"Full {no}", "credit_limit_lcy": Decimal(1)}
            records.create(session, records.RecordType(Customer), data)
    not_yet = _cli(erp_env, "fullsync", "start")
    assert not_yet.exit_code == 1 and "fullsync review" in not_yet.output
    shown = _cli(erp_env, "fullsync", "review", "--json")
    assert shown.exit_code == 0, shown.output
    assert {p["name"]: p["recommendation"] for p in json.loads(shown.output)}["CUSTOMER"] == "Full synchronization"
    ran = _cli(erp_env, "fullsync", "start", "--run")
    assert ran.exit_code == 0, ran.output
    status = json.loads(_cli(erp_env, "fullsync", "status", "--json").output)
    lines = {p["name"]: p for p in status}
    assert lines["CUSTOMER"]["status"] == "Finished" and lines["CUSTOMER"]["to_crm"]["counts"]["inserted"] == 2
    assert {a["name"] for a in crm.query("accounts", select=["name"])} >= {"Full FS1", "Full FS2"}
