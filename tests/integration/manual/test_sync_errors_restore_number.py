"""*Restore records* on the coupled data synchronization errors page (R14, R15) over the ERP's REST API, against
a real CRM org: a customer deleted in the ERP while coupled comes back from its account under the number it
had (not a new one from the number series), coupled to the same account by the same coupling, and the next
scheduled run finds nothing to do."""

from __future__ import annotations

from sqlalchemy import select

import lead2cash.integration.manual.jobs  # noqa: F401  (registers the job handlers)
from lead2cash.db import transaction
from lead2cash.erp.model import NoSeries
from lead2cash.erp.model.master import Customer
from lead2cash.erp.services import records
from lead2cash.erp.services.setup import sales_setup
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.engine import run_mapping
from lead2cash.integration.synclog import SyncJob
from lead2cash.jobs.sqlite_runner import EmbeddedQueue

API = "/api/v1/integration"


def _new_customer(sessions, name: str) -> tuple[str, object]:
    with transaction(sessions) as session:
        customer = records.create(session, records.RecordType(Customer, "customer_nos"), {"name": name})
        return customer.no, customer.id


def test_restore_records_brings_a_deleted_customer_back_under_its_number(erp_env, crm, tag):
    sessions, client = erp_env.sessions, erp_env.client
    no, old_id = _new_customer(sessions, f"Restored {tag}")
    to_job = run_mapping(sessions, crm, "CUSTOMER", full=True)[0]
    with transaction(sessions) as session:
        coupling = session.scalars(select(Coupling).where(Coupling.erp_id == old_id)).one()
        coupling_id, account_id = coupling.id, coupling.crm_id
    assert crm.find("accounts", str(account_id))["name"] == f"Restored {tag}", to_job

    with transaction(sessions) as session:  # someone deletes the customer in the ERP
        records.delete(session, session.get(Customer, old_id))
    run_mapping(sessions, crm, "CUSTOMER")  # default policy: the deletion conflict fails the coupling
    page = client.get(f"{API}/synchronization-errors", params={"mapping": "CUSTOMER"}).json()
    line = next(x for x in page["lines"] if x["coupling_id"] == coupling_id)
    assert (line["erp_exists"], line["crm_exists"]) == (False, True)

    before = _last_customer_no(sessions)  # the CRM org may hold other tests' accounts, imported meanwhile
    restored = client.post(f"{API}/synchronization-errors/restore-records", json={"coupling_ids": [coupling_id]})
    assert restored.status_code == 200, restored.text
    assert restored.json()["done"] == 1 and restored.json()["failed"] == []
    EmbeddedQueue(sessions, workers=1).run_until_idle()

    with transaction(sessions) as session:
        customer = session.scalars(select(Customer).where(Customer.no == no)).one()
        assert customer.name == f"Restored {tag}" and customer.id != old_id
        coupling = session.get(Coupling, coupling_id)  # the same coupling, to the same account
        assert (coupling.erp_id, coupling.crm_id) == (customer.id, account_id)
        assert coupling.erp_row_version == customer.row_version
    assert crm.find("accounts", str(account_id))["name"] == f"Restored {tag}"
    page = client.get(f"{API}/synchronization-errors", params={"mapping": "CUSTOMER"}).json()
    assert coupling_id not in [x["coupling_id"] for x in page["lines"]]
    # the number series did not hand out a number for the restore: the next customer gets the one after
    assert _last_customer_no(sessions) == before
    next_no, _ = _new_customer(sessions, f"Next {tag}")
    assert next_no == _following(before)
    # converged: the next run fails nothing and creates no second account for the restored customer
    for job_id in run_mapping(sessions, crm, "CUSTOMER"):
        with transaction(sessions) as session:
            job = session.get(SyncJob, job_id)
            assert job.failed == 0, [e.message for e in job.errors]
    names = [a["name"] for a in crm.query("accounts", select=["name"], filter=f"name eq 'Restored {tag}'")]
    assert names == [f"Restored {tag}"]


def _last_customer_no(sessions) -> str:
    with transaction(sessions) as session:
        series = sales_setup(session).customer_nos
        return session.scalars(select(NoSeries.last_no_used).where(NoSeries.code == series)).one()


def _following(no: str) -> str:
    head = no.rstrip("0123456789")
    digits = no[len(head) :]
    return f"{head}{int(digits) + 1:0{len(digits)}d}"
