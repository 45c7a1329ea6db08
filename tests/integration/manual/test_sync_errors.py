"""The coupled data synchronization errors page (R15) against a real CRM org: listing with the last error
and both sides' existence, retry, retry all, synchronize, delete couplings, restore and delete records."""

from __future__ import annotations

from lead2cash.db import transaction
from lead2cash.erp.model.master import Customer
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.couplings import couple
from lead2cash.integration.manual import sync_errors
from lead2cash.integration.mapping.enums import SyncResult
from lead2cash.jobs.model import Job


def _pair(session, org, rows, tag, i, *, skipped=False, failed=True):
    customer = rows.customer(session, f"E{tag}{i}", f"Err {i}")
    row = org.account(f"Err {tag} {i}")
    c = couple(session, "customer", customer.id, "account", row)
    c.erp_row_version, c.crm_version = customer.row_version, 1  # synchronized once
    c.skipped = skipped
    c.last_to_crm_result = SyncResult.FAILURE if failed else SyncResult.SUCCESS
    c.last_error = f"Salesperson X{i} is not coupled" if failed else None
    session.flush()
    return customer, row, c


def test_list_shows_failed_and_skipped_couplings_with_both_sides(erp_env, org, crm, tag, rows):
    with transaction(erp_env.sessions) as session:
        _, _, skipped = _pair(session, org, rows, tag, 1, skipped=True)
        _, gone_row, failed = _pair(session, org, rows, tag, 2)
        _pair(session, org, rows, tag, 3, failed=False)
    org.admin.delete("accounts", str(gone_row))
    with transaction(erp_env.sessions) as session:
        page = sync_errors.list_errors(session, crm)
    assert page["total"] == 2
    lines = {line["coupling_id"]: line for line in page["lines"]}
    assert lines[skipped.id]["skipped"] and lines[skipped.id]["crm_exists"] is True
    assert lines[failed.id]["crm_exists"] is False and lines[failed.id]["erp_exists"] is True
    assert lines[failed.id]["last_error"] == "Salesperson X2 is not coupled"
    assert lines[failed.id]["mapping"] == "CUSTOMER" and lines[failed.id]["erp_record"] == f"Customer E{tag}2"


def test_retry_retry_all_and_synchronize_unskip(erp_env, org, crm, tag, rows):
    with transaction(erp_env.sessions) as session:
        one = _pair(session, org, rows, tag, 1, skipped=True)[2]
        two = _pair(session, org, rows, tag, 2, skipped=True)[2]
        three = _pair(session, org, rows, tag, 3, skipped=True)[2]
        assert sync_errors.retry(session, [one.id]) == 1 and not one.skipped and two.skipped
        report = sync_errors.synchronize(session, [two.id])
        assert not two.skipped and report.done == 1
        job = session.get(Job, report.jobs[0])
        assert job.payload["direction"] == "To CRM" and job.payload["erp_ids"] == [str(two.erp_id)]
        assert sync_errors.retry_all(session, "CUSTOMER") == 1 and not three.skipped
        assert sync_errors.list_errors(session)["total"] == 3  # still failed, no longer skipped


def test_restore_recreates_the_missing_side_and_delete_records_removes_the_survivor(erp_env, org, crm, tag, rows):
    with transaction(erp_env.sessions) as session:
        _, gone_a, restore = _pair(session, org, rows, tag, 1)
        kept, gone_b, remove = _pair(session, org, rows, tag, 2)
        both, _, whole = _pair(session, org, rows, tag, 3)
    org.admin.delete("accounts", str(gone_a))
    org.admin.delete("accounts", str(gone_b))
    with transaction(erp_env.sessions) as session:
        report = sync_errors.restore_records(session, crm, [restore.id, whole.id])
        assert report.done == 1 and "both sides exist" in report.failed[0]
        job = session.get(Job, report.jobs[0])
        assert job.payload["only_coupled"] is False and job.payload["direction"] == "To CRM"
        assert session.get(Coupling, restore.id) is None
        deleted = sync_errors.delete_records(session, crm, [remove.id, whole.id])
        assert deleted.done == 1 and session.get(Customer, kept.id) is None
        assert session.get(Customer, both.id) is not None and session.get(Coupling, whole.id) is not None
        assert sync_errors.delete_couplings(session, [whole.id]) == 1


def test_delete_records_deletes_the_crm_row_when_the_erp_record_is_gone(erp_env, org, crm, tag, rows):
    with transaction(erp_env.sessions) as session:
        customer, row, c = _pair(session, org, rows, tag, 1)
        session.delete(customer)
    with transaction(erp_env.sessions) as session:
        assert sync_errors.delete_records(session, crm, [c.id]).done == 1
    assert crm.find("accounts", str(row)) is None


def test_a_counterpart_never_created_is_not_deleted_but_can_be_restored(erp_env, org, crm, tag, rows):
    with transaction(erp_env.sessions) as session:
        customer, row, c = _pair(session, org, rows, tag, 1)
        c.crm_version = None  # its first send failed: the CRM row the coupling names was never made
    org.admin.delete("accounts", str(row))
    with transaction(erp_env.sessions) as session:
        assert sync_errors.list_errors(session, crm)["lines"][0]["pending"] is True
        refused = sync_errors.delete_records(session, crm, [c.id])
        assert refused.done == 0 and "never created" in refused.failed[0]
        assert session.get(Customer, customer.id) is not None
        assert sync_errors.restore_records(session, crm, [c.id]).done == 1
