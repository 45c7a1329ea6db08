"""Couplings: one-to-one enforced by the database and explained by the service, bulk look-ups per page,
uncoupling that keeps data, and dependency messages naming the missing coupling."""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from lead2cash.erp.model import Customer, CustomerPriceGroup, Item, PaymentTerms, Salesperson, SalesPrice
from lead2cash.erp.model.enums import SalesType
from lead2cash.integration import couplings
from lead2cash.integration.coupling_model import Coupling, OptionCoupling
from lead2cash.integration.couplings import CouplingError
from lead2cash.integration.mapping.defaults import use_default_setup
from lead2cash.integration.mapping.model import TableMapping


def guid() -> uuid.UUID:
    return uuid.uuid4()


@contextmanager
def statements(engine):
    """Count SQL statements sent to the database inside the block."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def customers(erp_db):
    """Ids of customers C0000..C1199."""
    with erp_db.sessions() as session, session.begin():
        rows = [Customer(no=f"C{n:04}", name=f"Customer {n}") for n in range(1200)]
        session.add_all(rows)
    return [c.id for c in rows]


def test_database_refuses_a_second_coupling_either_way(erp_db):
    erp_id, crm_id = guid(), guid()
    with erp_db.sessions() as session, session.begin():
        session.add(Coupling(erp_table="customer", erp_id=erp_id, crm_entity="account", crm_id=crm_id))
    for other in (
        Coupling(erp_table="customer", erp_id=erp_id, crm_entity="account", crm_id=guid()),
        Coupling(erp_table="customer", erp_id=guid(), crm_entity="account", crm_id=crm_id),
        Coupling(erp_table="item", erp_id=guid(), crm_entity="account", crm_id=crm_id),
    ):
        with erp_db.sessions() as session, pytest.raises(IntegrityError), session.begin():
            session.add(other)


def test_database_refuses_two_option_couplings_of_one_choice(erp_db):
    row = {"erp_table": "payment_terms", "crm_entity": "account", "crm_attribute": "paymenttermscode"}
    with erp_db.sessions() as session, session.begin():
        session.add(OptionCoupling(**row, erp_id=guid(), erp_code="30D", option_value=1))
    with erp_db.sessions() as session, pytest.raises(IntegrityError), session.begin():
        session.add(OptionCoupling(**row, erp_id=guid(), erp_code="14D", option_value=1))


def test_couple_explains_what_is_already_coupled(erp_db, customers):
    first, second = customers[:2]
    account, other_account = guid(), guid()
    with erp_db.sessions() as session, session.begin():
        couplings.couple(session, "customer", first, "account", account)
    with erp_db.sessions() as session, session.begin():
        again = couplings.couple(session, "customer", first, "account", account)  # same pair: kept as it is
        assert again.crm_id == account
        with pytest.raises(CouplingError, match=f"Customer C0000 is already coupled to account {other_account}"[:45]):
            couplings.couple(session, "customer", first, "account", other_account)
        with pytest.raises(CouplingError, match=f"account {account} is already coupled to Customer C0000"):
            couplings.couple(session, "customer", second, "account", account)
        with pytest.raises(CouplingError, match="only existing records can be coupled"):
            couplings.couple(session, "customer", guid(), "account", guid())
        with pytest.raises(CouplingError, match="coupled twice in one request"):
            couplings.couple_many(session, "customer", "account", [(second, guid()), (second, guid())])
    with erp_db.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Coupling)) == 1


def test_a_lost_race_is_reported_as_a_coupling_error(erp_db, customers, monkeypatch):
    account = guid()
    with erp_db.sessions() as session, session.begin():
        couplings.couple(session, "customer", customers[0], "account", account)
    # another worker's coupling is not visible to the check, only to the database's unique constraint
    monkeypatch.setattr(couplings, "_refuse_taken", lambda *_args: {})
    with erp_db.sessions() as session, session.begin():
        with pytest.raises(CouplingError, match="at the same time"):
            couplings.couple(session, "customer", customers[1], "account", account)
        couplings.couple(session, "customer", customers[2], "account", guid())  # the session is still usable
    with erp_db.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Coupling)) == 2


def test_bulk_coupling_and_look_ups_take_a_few_queries_per_page(erp_db, customers):
    pairs = [(erp_id, guid()) for erp_id in customers]
    with statements(erp_db.engine) as sent, erp_db.sessions() as session, session.begin():
        made = couplings.couple_many(session, "customer", "account", pairs)
    assert [(c.erp_id, c.crm_id) for c in made] == pairs
    assert len(sent) < 20, len(sent)  # 1,200 couplings: pages of 500, not one query per record

    crm_of = dict(pairs)
    with statements(erp_db.engine) as sent, erp_db.sessions() as session:
        unknown = guid()
        by_erp = couplings.by_erp_ids(session, "customer", [*customers, unknown])
        by_crm = couplings.by_crm_ids(session, "account", [*crm_of.values(), unknown])
        codes = couplings.crm_ids_for_codes(session, "customer", "no", ["C0001", "C1199", "NOPE", ""])
        back = couplings.codes_for_crm_ids(session, "customer", "no", "account", [crm_of[customers[5]], unknown])
    assert len(sent) <= 10, len(sent)
    assert len(by_erp) == len(by_crm) == 1200 and unknown not in by_erp and unknown not in by_crm
    assert by_erp[customers[7]].crm_id == crm_of[customers[7]]
    assert codes == {"C0001": crm_of[customers[1]], "C1199": crm_of[customers[1199]]}
    assert back == {crm_of[customers[5]]: "C0005"}


def test_uncoupling_keeps_the_data(erp_db, customers):
    pairs = [(erp_id, guid()) for erp_id in customers[:10]]
    with erp_db.sessions() as session, session.begin():
        couplings.couple_many(session, "customer", "account", pairs)
    with erp_db.sessions() as session, session.begin():
        assert couplings.uncouple_erp(session, "customer", customers[:3]) == 3
        assert couplings.uncouple_crm(session, "account", [pairs[3][1], guid()]) == 1
        use_default_setup(session, ["CUSTOMER"])
        assert couplings.uncouple_mapping(session, session.get(TableMapping, "CUSTOMER")) == 6
    with erp_db.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Coupling)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 1200


def test_a_coupling_left_by_a_deleted_record_does_not_block_its_crm_row(erp_db, customers):
    account = guid()
    with erp_db.sessions() as session, session.begin():
        couplings.couple(session, "customer", customers[0], "account", account)
    with erp_db.sessions() as session, session.begin():
        session.delete(session.get(Customer, customers[0]))
    with erp_db.sessions() as session, session.begin():
        couplings.couple(session, "customer", customers[1], "account", account)
    with erp_db.sessions() as session:
        assert [(c.erp_id, c.crm_id) for c in session.scalars(sa.select(Coupling))] == [(customers[1], account)]


def test_missing_dependency_couplings_are_named(erp_db):
    with erp_db.sessions() as session, session.begin():
        use_default_setup(session)
        session.add_all(
            [Salesperson(code="JR", name="Jo"), PaymentTerms(code="30D"), CustomerPriceGroup(code="RETAIL")]
        )
        session.flush()
        session.add_all(
            [
                Customer(no="10000", name="A", salesperson_code="JR", payment_terms_code="30D"),
                Customer(no="20000", name="B"),
                Item(no="1000", description="Bike"),
            ]
        )
        session.flush()
        session.add(
            SalesPrice(item_no="1000", sales_type=SalesType.CUSTOMER_PRICE_GROUP, sales_code="RETAIL", unit_price=5)
        )
    with erp_db.sessions() as session, session.begin():
        mapping = session.get(TableMapping, "CUSTOMER")
        records = session.scalars(sa.select(Customer).order_by(Customer.no)).all()
        problems = couplings.missing_references(session, mapping, records)
        # the payment terms 30D have no option coupling, but an option code never blocks (M14: left blank)
        assert [(p.record, p.field, p.code, p.mapping) for p in problems] == [
            ("Customer 10000", "salesperson_code", "JR", "SALESPEOPLE"),
        ]
        assert problems[0].message == (
            "Customer 10000: Salesperson JR (salesperson_code) is not coupled to a CRM row (mapping SALESPEOPLE). "
            "Couple or synchronize it first."
        )
        with pytest.raises(CouplingError, match="Salesperson JR"):
            couplings.require_references(session, mapping, records)

        salesperson = session.scalars(sa.select(Salesperson)).one()
        couplings.couple(session, "salesperson", salesperson.id, "systemuser", guid())
        session.flush()
        couplings.require_references(session, mapping, records)

        prices = session.get(TableMapping, "SALESPRC-PRODPRICE")
        price_problems = couplings.missing_references(session, prices, session.scalars(sa.select(SalesPrice)).all())
        assert {(p.table, p.code, p.mapping) for p in price_problems} == {
            ("customer_price_group", "RETAIL", "CUSTPRCGRP-PRICE"),
            ("item", "1000", "ITEM-PRODUCT"),
        }
