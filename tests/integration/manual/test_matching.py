"""Match-based coupling (C5) against a real CRM org: unique matches only, priority groups, case sensitivity,
blank values, rows already coupled, creating unmatched records, syncing after coupling, option labels."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from lead2cash.db import transaction
from lead2cash.erp.model.master import PaymentTerms
from lead2cash.integration import couplings
from lead2cash.integration.coupling_model import OptionCoupling
from lead2cash.integration.manual.coupling import set_up_coupling
from lead2cash.integration.manual.matching import match_based_coupling
from lead2cash.integration.mapping.model import FieldMapping, TableMapping
from lead2cash.integration.synclog import SyncJob
from lead2cash.jobs.model import Job


def _criteria(session, mapping: str, *rows: tuple[str, int, bool]) -> None:
    """Use exactly these (ERP field, priority, case-sensitive) rows of ``mapping`` for matching."""
    wanted = {field: (priority, case) for field, priority, case in rows}
    for row in session.get(TableMapping, mapping).field_mappings:
        row.use_for_matching = row.erp_field in wanted
        if row.erp_field in wanted:
            row.match_priority, row.case_sensitive_matching = wanted[row.erp_field]
    session.flush()


def _coupled_to(session, customer) -> object:
    found = couplings.by_erp_ids(session, "customer", [customer.id]).get(customer.id)
    return found.crm_id if found else None


def test_unique_match_per_priority_falls_back_on_ambiguity(erp_env, org, crm, tag, rows):
    alpha = org.account(f"Alpha {tag}", address1_city="Lyon")
    twin_a = org.account(f"Twin {tag}", address1_city=f"Oslo {tag}")
    org.account(f"Twin {tag}", address1_city="Bergen")
    with transaction(erp_env.sessions) as session:
        _criteria(session, "CUSTOMER", ("name", 0, False), ("city", 1, False))
        a = rows.customer(session, f"A{tag}", f"ALPHA {tag}")  # case-insensitive equality
        twin = rows.customer(session, f"T{tag}", f"Twin {tag}", city=f"oslo {tag}")  # name ambiguous → city
        lost = rows.customer(session, f"L{tag}", f"Twin {tag}", city="Nowhere")  # ambiguous, then no match
        report = match_based_coupling(session, crm, "CUSTOMER", create_new=False, sync_after=False)
        assert (report.coupled, report.unmatched, report.failed) == (2, 1, 1)
        assert _coupled_to(session, a) == alpha and _coupled_to(session, twin) == twin_a
        assert _coupled_to(session, lost) is None
        job = session.get(SyncJob, report.job_id)
        assert (job.type.value, job.coupled, job.failed) == ("Coupling", 2, 1)
        assert "unique match" in job.errors[0].message


def test_case_sensitive_blank_and_already_coupled_rows_do_not_match(erp_env, org, crm, tag, rows):
    taken = org.account(f"Taken {tag}")
    org.account(f"Exact {tag}")
    with transaction(erp_env.sessions) as session:
        _criteria(session, "CUSTOMER", ("name", 0, True), ("phone_no", 1, False))
        owner = rows.customer(session, f"O{tag}", "Owner")
        set_up_coupling(session, crm, "CUSTOMER", owner.id, crm_id=taken)
        other = rows.customer(session, f"X{tag}", f"Taken {tag}")
        wrong_case = rows.customer(session, f"W{tag}", f"EXACT {tag}")
        blank = rows.customer(session, f"B{tag}", "")
        report = match_based_coupling(
            session, crm, "CUSTOMER", erp_ids=[other.id, wrong_case.id, blank.id], create_new=False
        )
        assert (report.coupled, report.unmatched) == (0, 3)
        assert _coupled_to(session, other) is None and _coupled_to(session, owner) == taken


def test_currency_defaults_couple_by_iso_code_create_the_rest_and_sync_after(erp_env, crm, rows):
    with transaction(erp_env.sessions) as session:
        usd = rows.currency(session, "USD")
        nok = rows.currency(session, "NOK")
        report = match_based_coupling(session, crm, "CURRENCY")  # mapping defaults: create new, sync after
        assert report.coupled == 1 and report.unmatched == 1 and report.failed == 0
        assert couplings.by_erp_ids(session, "currency", [usd.id])
        create = session.get(Job, report.create_job_id)
        assert create.payload["erp_ids"] == [str(nok.id)] and create.payload["only_coupled"] is False
        sync = session.get(Job, report.sync_job_id)
        assert sync.payload == {"mapping": "CURRENCY", "direction": "To CRM", "erp_ids": [str(usd.id)],
                                "only_coupled": True}  # fmt: skip


def test_dependency_missing_fails_the_record_with_the_coupling_named(erp_env, org, crm, tag, rows):
    org.account(f"Dep {tag}")
    with transaction(erp_env.sessions) as session:
        _criteria(session, "CUSTOMER", ("name", 0, False))
        rows.currency(session, "SEK")
        customer = rows.customer(session, f"D{tag}", f"Dep {tag}", currency_code="SEK")
        report = match_based_coupling(session, crm, "CUSTOMER", create_new=False)
        assert report.coupled == 0 and report.failed == 1
        errors = session.get(SyncJob, report.job_id).errors
        assert "Currency SEK" in errors[0].message and errors[0].source_id == customer.id


def test_option_mapping_matches_codes_to_choice_labels(erp_env, crm):
    with transaction(erp_env.sessions) as session:
        for code in ("NET 30", "NET 45", "COD"):
            session.add(PaymentTerms(code=code, description=code, discount_pct=Decimal(0)))
        session.flush()
        report = match_based_coupling(session, crm, "PAYMENT TERMS")
        assert (report.coupled, report.failed, report.skipped) == (2, 0, 1)  # no COD choice: skipped (M14)
        coupled = dict(session.execute(select(OptionCoupling.erp_code, OptionCoupling.option_value)).all())
        assert coupled == {"NET 30": 1, "NET 45": 3}


def test_a_mapping_without_criteria_is_refused(erp_env, crm):
    from lead2cash.erp.errors import ValidationFailed

    with transaction(erp_env.sessions) as session:
        for row in session.scalars(select(FieldMapping).where(FieldMapping.table_mapping_name == "CONTACT")):
            row.use_for_matching = False
        with pytest.raises(ValidationFailed, match="no field marked"):
            match_based_coupling(session, crm, "CONTACT")


def test_statements_per_page_do_not_grow_with_the_number_of_records(erp_env, org, crm, tag, rows):
    from sqlalchemy import event

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def couple_batch(n: int, prefix: str) -> int:
        with transaction(erp_env.sessions) as session:
            _criteria(session, "CUSTOMER", ("name", 0, False))
            for i in range(n):
                rows.customer(session, f"{prefix}{tag}{i}", f"Bulk {prefix} {tag} {i}")
        org.admin.create_multiple("accounts", [{"name": f"Bulk {prefix} {tag} {i}", "customertypecode": 3}
                                               for i in range(n)])  # fmt: skip
        statements.clear()
        event.listen(erp_env.db.engine, "before_cursor_execute", count)
        try:
            with transaction(erp_env.sessions) as session:
                report = match_based_coupling(session, crm, "CUSTOMER", create_new=False, sync_after=False)
        finally:
            event.remove(erp_env.db.engine, "before_cursor_execute", count)
        assert report.coupled == n
        return len(statements)

    few, many = couple_batch(4, "S"), couple_batch(60, "M")
    assert many == few, (few, many)


def test_units_of_measure_match_unit_group_names_by_default(erp_env, org, crm, tag):
    from lead2cash.erp.model.items import UnitOfMeasure

    code = f"U{tag}"
    group = org.admin.create("uomschedules", {"name": f"Group {tag}", "baseuomname": code.lower()})
    with transaction(erp_env.sessions) as session:
        unit = UnitOfMeasure(code=code, description="unit")
        session.add(unit)
        session.flush()
        report = match_based_coupling(session, crm, "UNIT OF MEASURE", create_new=False, sync_after=False)
        assert report.coupled == 1
        assert str(couplings.by_erp_ids(session, "unit_of_measure", [unit.id])[unit.id].crm_id) == group
