"""Crash safety and CRM faults: kill the sync at each named step, resume, and compare both sides.

A child process runs the sync with ``L2C_FAULT_AT=<step>`` and dies there (``os._exit``); the test then
resumes in-process. Whatever the step: every ERP customer has exactly one account, no account exists twice,
and field values converged. The CRM server's fault switches (429 with Retry-After, 503, an answer lost
after the write was applied) must not duplicate anything either.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from lead2cash.crm.faults import FaultConfig
from lead2cash.erp.model import Customer
from lead2cash.erp.services import records
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.dataverse import DataverseError
from lead2cash.integration.engine.faults import EXIT_CODE, STEPS
from lead2cash.integration.mapping.enums import SyncResult

CHILD = Path(__file__).with_name("crash_child.py")
N = 25

pytestmark = pytest.mark.parametrize("erp_url", ["sqlite"], indirect=True)


def add_customers(engine, prefix: str = "X") -> None:
    with engine.sessions() as s, s.begin():
        for i in range(N):
            records.create(s, records.RecordType(Customer), {"no": f"{prefix}{i:03d}", "name": f"Name {i}"})


def run_child(engine, step: str, *, full: bool) -> int:
    env = {**os.environ, "L2C_FAULT_AT": step}
    org = engine.org
    mode = "1" if full else "0"
    args = [sys.executable, str(CHILD), engine.db.url, org.url, org.secret, org.tenant, "CUSTOMER", mode, "10"]
    return subprocess.run(args, env=env, timeout=120, capture_output=True).returncode


def assert_converged(engine, crm) -> None:
    accounts = crm.get("accounts", params={"$select": "accountid,name"}).json()["value"]
    names = Counter(a["name"] for a in accounts)
    with engine.sessions() as s:
        customers = {c.id: c.name for c in s.scalars(select(Customer))}
        couplings = list(s.scalars(select(Coupling).where(Coupling.erp_table == "customer")))
    assert len(couplings) == len(customers) == N
    assert len(accounts) == N and max(names.values()) == 1  # no duplicate CRM record
    by_id = {a["accountid"]: a["name"] for a in accounts}
    assert all(by_id[str(c.crm_id)] == customers[c.erp_id] for c in couplings)  # fields converged


@pytest.mark.parametrize("step", [s for s in STEPS if s != "after_crm_read"])
def test_crash_during_full_sync_then_resume(engine, crm, step):
    add_customers(engine)
    assert run_child(engine, step, full=True) == EXIT_CODE
    engine.run("CUSTOMER", full=True)
    assert_converged(engine, crm)


@pytest.mark.parametrize("step", ["after_crm_write", "before_erp_commit", "after_crm_read"])
def test_crash_during_incremental_sync_then_resume(engine, crm, step):
    add_customers(engine)
    engine.run("CUSTOMER", full=True)
    with engine.sessions() as s, s.begin():
        for customer in s.scalars(select(Customer).where(Customer.no < "X012")):
            records.update(s, customer, {"name": f"{customer.name} changed"})
    for account in crm.get("accounts", params={"$select": "accountid,name", "$top": "3",
                                               "$filter": "startswith(name,'Name 2')"}).json()["value"]:  # fmt: skip
        crm.patch(f"accounts({account['accountid']})", json={"telephone1": "from the CRM"}).raise_for_status()
    assert run_child(engine, step, full=False) == EXIT_CODE
    engine.run("CUSTOMER")
    assert_converged(engine, crm)
    with engine.sessions() as s:
        names = set(s.scalars(select(Customer.name)))
        phones = list(s.scalars(select(Customer.phone_no).where(Customer.phone_no == "from the CRM")))
    assert sum(n.endswith(" changed") for n in names) == 12
    assert len(phones) == 3


@pytest.mark.parametrize(
    "fault",
    [
        FaultConfig(throttle_next=3, throttle_retry_after=1),
        FaultConfig(fail_next=3),
        FaultConfig(timeout_next=2, methods=("POST",)),
        FaultConfig(timeout_fraction=0.3, fail_fraction=0.2, seed=7),
    ],
    ids=["429-retry-after", "503", "timeout-after-commit", "mixed"],
)
def test_crm_faults_complete_without_duplicates(engine, crm, fault):
    add_customers(engine)
    engine.org.server.app.state.l2c_faults.configure(fault)
    try:
        to_job, _ = engine.run("CUSTOMER", full=True, page_size=10)
    finally:
        engine.org.server.app.state.l2c_faults.configure(FaultConfig())
    assert to_job.failed == 0, [e.message for e in to_job.errors]
    assert_converged(engine, crm)


def test_crm_outage_mid_full_sync_keeps_finished_pages_and_resumes(engine, crm):
    """Pages are pipelined (the next one is decided while writes are in flight). When the CRM goes down for
    good in the middle, the pages written before stay committed, no page is half recorded (its records are
    all failed, retried on the next run, or not recorded at all), the run stops with the CRM's error, and
    the next run completes without duplicates."""
    add_customers(engine)
    faults = engine.org.server.app.state.l2c_faults
    original = engine.client.upsert_multiple
    calls = []

    def outage_from_third_page(entity_set, targets, *args, **kwargs):
        calls.append(len(targets))
        if len(calls) == 3:
            faults.configure(FaultConfig(fail_fraction=1.0))  # every request answered 503 from now on
        return original(entity_set, targets, *args, **kwargs)

    engine.client.upsert_multiple = outage_from_third_page
    try:
        with pytest.raises(DataverseError):
            engine.run("CUSTOMER", full=True, page_size=10)
    finally:
        del engine.client.upsert_multiple
        faults.configure(FaultConfig())
    accounts = {a["accountid"] for a in crm.get("accounts", params={"$select": "accountid"}).json()["value"]}
    with engine.sessions() as s:
        couplings = list(s.scalars(select(Coupling).where(Coupling.erp_table == "customer")))
    written = {str(c.crm_id) for c in couplings if c.last_to_crm_result is SyncResult.SUCCESS}
    failed = [c for c in couplings if c.last_to_crm_result is SyncResult.FAILURE]
    # whole pages written before the outage; the second page's write (or its read-back) may overlap the
    # third page's and meet the outage too: then that page is not recorded at all, or recorded as failed
    assert len(written) in (10, 20) and written <= accounts
    assert len(written) + len(failed) <= N and len(failed) % 5 == 0
    assert all(c.crm_version is None and c.last_error.startswith("Writing to the CRM failed") for c in failed)
    engine.run("CUSTOMER", full=True, page_size=10)
    assert_converged(engine, crm)
