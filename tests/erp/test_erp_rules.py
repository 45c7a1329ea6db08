"""Master-data rules of the service layer: every refusal names the record, the field and the fix.

These run against the real database (SQLite, and PostgreSQL when configured) through the same service
functions the REST API uses, so a rule the database would also enforce is seen with the friendly message.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from lead2cash.erp import dateformula
from lead2cash.erp.errors import Conflict, ErpError, NotFound, ValidationFailed
from lead2cash.erp.model import (
    Contact,
    Currency,
    CurrencyExchangeRate,
    Customer,
    CustomerPriceGroup,
    GeneralSetup,
    Item,
    NoSeries,
    Opportunity,
    PaymentTerms,
    Resource,
    Salesperson,
    SalesPrice,
    SalesSetup,
    UnitOfMeasure,
)
from lead2cash.erp.services import noseries, records
from lead2cash.erp.services.records import RecordType
from lead2cash.erp.services.setup import general_setup, sales_setup

T = {
    model: RecordType(model, series)
    for model, series in [
        (Salesperson, None),
        (Currency, None),
        (CurrencyExchangeRate, None),
        (Customer, "customer_nos"),
        (CustomerPriceGroup, None),
        (Contact, "contact_nos"),
        (UnitOfMeasure, None),
        (Item, "item_nos"),
        (Resource, "resource_nos"),
        (SalesPrice, None),
        (Opportunity, "opportunity_nos"),
        (PaymentTerms, None),
        (NoSeries, None),
    ]
}


@pytest.fixture
def tx(erp_db):
    """Run one unit of work: ``tx(lambda s: ...)`` commits on success, rolls back on an error."""

    def run(work):
        with erp_db.sessions() as session, session.begin():
            return work(session)

    return run


def create(tx, model, **data):
    return tx(lambda s: records.create(s, T[model], data))


def refused(tx, work, error=ValidationFailed) -> ErpError:
    with pytest.raises(error) as caught:
        tx(work)
    return caught.value


def assert_names(err: ErpError, record: str, field: str, *fix_words: str) -> None:
    assert err.record == record
    assert err.field == field
    assert err.fix, "every refusal says how to fix it"
    for word in fix_words:
        assert word.lower() in err.fix.lower()
    body = err.as_dict()
    assert {"code", "message", "record", "field", "fix"} <= body.keys()


def test_unknown_salesperson_code_is_refused_naming_customer_field_and_fix(tx):
    err = refused(tx, lambda s: records.create(s, T[Customer], {"no": "C1", "salesperson_code": "ZZ"}))
    assert_names(err, "Customer C1", "salesperson_code", "salesperson", "ZZ")
    assert "'ZZ' does not exist as a salesperson" in err.message
    assert tx(lambda s: s.scalars(select(Customer)).all()) == [], "nothing is written when a rule refuses"


def test_unknown_reference_on_update_is_refused(tx):
    create(tx, Customer, no="C1", name="Adatum")
    err = refused(tx, lambda s: records.update(s, records.get(s, Customer, "C1"), {"payment_terms_code": "NOPE"}))
    assert_names(err, "Customer C1", "payment_terms_code", "payment terms")
    assert tx(lambda s: records.get(s, Customer, "C1").payment_terms_code) is None


def test_non_iso_currency_code_is_refused(tx):
    err = refused(tx, lambda s: records.create(s, T[Currency], {"code": "XYZ", "iso_code": "XYZ"}))
    assert_names(err, "Currency XYZ", "iso_code", "ISO 4217")
    assert "'XYZ' is not an ISO 4217 currency code" in err.message
    # a currency code of one's own is fine as long as no false ISO code is claimed
    assert create(tx, Currency, code="BITCOIN").iso_code == ""


def test_iso_currency_fills_in_iso_and_numeric_code(tx):
    usd = create(tx, Currency, code="USD")
    assert (usd.iso_code, usd.iso_numeric_code) == ("USD", "840")
    own = create(tx, Currency, code="DOLLAR", iso_code="USD")
    assert own.iso_code == "USD"


def test_local_currency_must_be_iso_and_has_no_exchange_rate(tx):
    err = refused(tx, lambda s: records.update(s, general_setup(s), {"lcy_code": "EURO"}))
    assert_names(err, "General setup ", "lcy_code", "ISO 4217")
    create(tx, Currency, code="EUR")
    err = refused(
        tx,
        lambda s: records.create(
            s,
            T[CurrencyExchangeRate],
            {"currency_code": "EUR", "starting_date": date(2026, 1, 1), "relational_exch_rate_amount": Decimal(1)},
        ),
    )
    assert err.field == "currency_code" and "local currency" in err.message


def test_exchange_rate_must_be_positive(tx):
    create(tx, Currency, code="USD")
    data = {"currency_code": "USD", "starting_date": date(2026, 1, 1), "relational_exch_rate_amount": Decimal(0)}
    err = refused(tx, lambda s: records.create(s, T[CurrencyExchangeRate], data))
    assert_names(err, "Currency exchange rate USD 2026-01-01", "relational_exch_rate_amount", "positive")
    data["relational_exch_rate_amount"] = Decimal("0.92345678")
    rate = create(tx, CurrencyExchangeRate, **data)
    assert rate.relational_exch_rate_amount == Decimal("0.92345678")


def test_blocked_customer_cannot_get_a_customer_price(tx):
    create(tx, UnitOfMeasure, code="PCS")
    create(tx, Item, no="1000", base_unit_of_measure="PCS")
    create(tx, Customer, no="C1", blocked="All")
    err = refused(
        tx,
        lambda s: records.create(
            s, T[SalesPrice], {"item_no": "1000", "sales_type": "Customer", "sales_code": "C1", "unit_price": 5}
        ),
    )
    assert_names(err, err.record, "sales_code", "unblock")
    assert "blocked" in err.message and err.record.startswith("Sales price 1000")


def test_blocked_customer_cannot_get_a_business_relation(tx):
    create(tx, Customer, no="C1", blocked="All")
    err = refused(tx, lambda s: records.create(s, T[Contact], {"no": "K1", "name": "Adatum", "customer_no": "C1"}))
    assert_names(err, "Contact K1", "customer_no", "unblock")
    # a customer blocked for invoicing only may still be related
    create(tx, Customer, no="C2", blocked="Invoice")
    assert create(tx, Contact, no="K2", name="Fabrikam", customer_no="C2").customer_no == "C2"


def test_unit_of_measure_in_use_cannot_be_deleted(tx):
    create(tx, UnitOfMeasure, code="PCS")
    create(tx, Item, no="1000", base_unit_of_measure="PCS")
    create(tx, Item, no="1001", base_unit_of_measure="PCS")
    err = refused(tx, lambda s: records.delete(s, records.get(s, UnitOfMeasure, "PCS")), Conflict)
    assert_names(err, "Unit of measure PCS", "base_unit_of_measure", "base_unit_of_measure")
    assert "item 1000 and 1 more" in err.message
    assert tx(lambda s: records.get(s, UnitOfMeasure, "PCS")).code == "PCS"
    tx(lambda s: records.update(s, records.get(s, Item, "1000"), {"base_unit_of_measure": None}))
    tx(lambda s: records.delete(s, records.get(s, Item, "1001")))
    tx(lambda s: records.delete(s, records.get(s, UnitOfMeasure, "PCS")))
    refused(tx, lambda s: records.get(s, UnitOfMeasure, "PCS"), NotFound)


@pytest.mark.parametrize("formula", ["14X", "1M+", "abc", "D14", "CM++1M"])
def test_bad_date_formula_is_refused(tx, formula):
    err = refused(tx, lambda s: records.create(s, T[PaymentTerms], {"code": "BAD", "due_date_calculation": formula}))
    assert_names(err, "Payment terms BAD", "due_date_calculation", "14D")
    assert "is not a date formula" in err.message


@pytest.mark.parametrize(
    ("formula", "start", "due"),
    [
        ("14D", date(2026, 1, 20), date(2026, 2, 3)),
        ("1M", date(2026, 1, 31), date(2026, 2, 28)),
        ("CM", date(2026, 2, 10), date(2026, 2, 28)),
        ("CM+1M", date(2026, 1, 15), date(2026, 2, 28)),
        ("-1W", date(2026, 1, 8), date(2026, 1, 1)),
        ("1Q", date(2026, 11, 30), date(2027, 2, 28)),
        ("1Y", date(2028, 2, 29), date(2029, 2, 28)),
    ],
)
def test_good_date_formulas_compute_the_due_date(tx, formula, start, due):
    create(tx, PaymentTerms, code="T", due_date_calculation=formula)
    assert dateformula.apply(formula, start) == due


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (Item, {"no": "1", "unit_price": Decimal("-0.01")}, "unit_price"),
        (Item, {"no": "1", "unit_cost": Decimal(-5)}, "unit_cost"),
        (Resource, {"no": "R1", "capacity": Decimal(-1)}, "capacity"),
        (Customer, {"no": "C1", "credit_limit_lcy": Decimal(-100)}, "credit_limit_lcy"),
        (Salesperson, {"code": "SP", "commission_pct": Decimal(-1)}, "commission_pct"),
    ],
)
def test_negative_amounts_are_refused(tx, model, data, field):
    err = refused(tx, lambda s: records.create(s, T[model], dict(data)))
    assert err.field == field and "must not be negative" in err.message
    assert "positive" in err.fix


def test_negative_sales_price_is_refused(tx):
    create(tx, Item, no="1000")
    create(tx, CustomerPriceGroup, code="RETAIL")
    data = {"item_no": "1000", "sales_code": "RETAIL", "unit_price": Decimal("-1")}
    err = refused(tx, lambda s: records.create(s, T[SalesPrice], data))
    assert err.field == "unit_price" and "must not be negative" in err.message
    data["unit_price"] = Decimal("9.99")
    assert create(tx, SalesPrice, **data).unit_price == Decimal("9.99")


def test_sales_price_sales_code_follows_sales_type(tx):
    create(tx, Item, no="1000")
    base = {"item_no": "1000", "unit_price": Decimal(1)}
    err = refused(tx, lambda s: records.create(s, T[SalesPrice], {**base, "sales_code": "NOGROUP"}))
    assert err.field == "sales_code" and "customer price group" in err.message
    err = refused(
        tx, lambda s: records.create(s, T[SalesPrice], {**base, "sales_type": "All Customers", "sales_code": "X"})
    )
    assert err.field == "sales_code" and "must be blank" in err.message
    err = refused(
        tx,
        lambda s: records.create(
            s,
            T[SalesPrice],
            {**base, "sales_type": "All Customers", "starting_date": date(2026, 2, 1), "ending_date": date(2026, 1, 1)},
        ),
    )
    assert err.field == "ending_date"
    assert create(tx, SalesPrice, **base, sales_type="All Customers").sales_code == ""


def test_company_contact_is_its_own_company(tx):
    company = create(tx, Contact, no="K1", name="Adatum")
    assert (company.company_no, company.company_name) == ("K1", "Adatum")
    err = refused(tx, lambda s: records.create(s, T[Contact], {"no": "K2", "name": "X", "company_no": "K1"}))
    assert_names(err, "Contact K2", "company_no", "blank")


def test_person_contact_takes_company_name_and_builds_its_name(tx):
    create(tx, Contact, no="K1", name="Adatum")
    person = create(tx, Contact, no="P1", type="Person", company_no="K1", first_name="Ann", surname="Lee")
    assert (person.company_name, person.name) == ("Adatum", "Ann Lee")
    create(tx, Contact, no="P2", type="Person", first_name="Bo")
    err = refused(tx, lambda s: records.create(s, T[Contact], {"no": "P3", "type": "Person", "company_no": "P2"}))
    assert_names(err, "Contact P3", "company_no", "Company")
    create(tx, Customer, no="C1")
    err = refused(tx, lambda s: records.create(s, T[Contact], {"no": "P4", "type": "Person", "customer_no": "C1"}))
    assert_names(err, "Contact P4", "customer_no", "company contact")


def test_customer_has_one_company_contact_and_its_primary_contact_belongs_to_it(tx):
    create(tx, Customer, no="C1", name="Adatum")
    create(tx, Customer, no="C2", name="Fabrikam")
    create(tx, Contact, no="K1", name="Adatum", customer_no="C1")
    create(tx, Contact, no="P1", type="Person", company_no="K1", name="Ann")
    create(tx, Contact, no="K2", name="Fabrikam", customer_no="C2")
    refused(tx, lambda s: records.create(s, T[Contact], {"no": "K3", "customer_no": "C1"}), Conflict)
    err = refused(tx, lambda s: records.update(s, records.get(s, Customer, "C2"), {"primary_contact_no": "P1"}))
    assert_names(err, "Customer C2", "primary_contact_no", "company contact")
    tx(lambda s: records.update(s, records.get(s, Customer, "C1"), {"primary_contact_no": "P1"}))
    assert tx(lambda s: records.get(s, Customer, "C1").primary_contact_no) == "P1"


def test_invalid_email_and_country_are_refused(tx):
    err = refused(tx, lambda s: records.create(s, T[Customer], {"no": "C1", "email": "not-an-address"}))
    assert_names(err, "Customer C1", "email", "name@example.com")
    err = refused(tx, lambda s: records.create(s, T[Contact], {"no": "K1", "country_region_code": "XX"}))
    assert_names(err, "Contact K1", "country_region_code", "two-letter")


def test_duplicate_key_is_a_conflict_naming_the_key(tx):
    create(tx, Salesperson, code="JO")
    err = refused(tx, lambda s: records.create(s, T[Salesperson], {"code": "JO"}), Conflict)
    assert_names(err, "Salesperson JO", "code", "another code")


def test_key_cannot_be_renamed(tx):
    create(tx, Salesperson, code="JO")
    err = refused(tx, lambda s: records.update(s, records.get(s, Salesperson, "JO"), {"code": "JA"}))
    assert_names(err, "Salesperson JO", "code", "new key")


def test_opportunity_rules(tx):
    create(tx, Contact, no="K1", name="Adatum")
    create(tx, Contact, no="P1", type="Person", company_no="K1", name="Ann")
    opp = create(tx, Opportunity, description="Bikes", contact_no="P1", probability_pct=40)
    assert opp.no == "OP000001" and opp.contact_company_no == "K1" and opp.date_closed is None
    won = tx(lambda s: records.update(s, records.get(s, Opportunity, opp.no), {"status": "Won"}))
    assert won.date_closed is not None
    err = refused(tx, lambda s: records.update(s, records.get(s, Opportunity, opp.no), {"probability_pct": 120}))
    assert err.field == "probability_pct"


def test_number_series_hand_out_consecutive_numbers(tx):
    assert [create(tx, Customer, name=f"N{i}").no for i in range(3)] == ["C00010", "C00011", "C00012"]
    assert create(tx, Item, description="Bike").no == "1000"
    assert create(tx, Contact, name="Adatum").no == "CT000001"
    assert tx(lambda s: s.scalars(select(NoSeries.last_no_used).where(NoSeries.code == "CUST")).one()) == "C00012"
    # an explicit number does not consume the series
    create(tx, Customer, no="SPECIAL")
    assert create(tx, Customer).no == "C00013"


def test_number_series_increment_keeps_width_and_prefix():
    assert noseries.increment("C00009") == "C00010"
    assert noseries.increment("SO-2026-0099", 1) == "SO-2026-0100"
    assert noseries.increment("99") == "100"
    assert noseries.increment("A010", 10) == "A020"
    with pytest.raises(ValueError):
        noseries.increment("NODIGITS")


def test_missing_number_series_is_refused_with_fix(tx):
    tx(lambda s: records.update(s, sales_setup(s), {"customer_nos": "NONE"}))
    err = refused(tx, lambda s: records.create(s, T[Customer], {"name": "X"}))
    assert err.field == "no" and "NONE" in err.fix


def test_taken_number_is_not_reused_when_the_record_is_refused(tx):
    refused(tx, lambda s: records.create(s, T[Customer], {"name": "X", "salesperson_code": "ZZ"}))
    assert create(tx, Customer, name="Y").no == "C00010", "the refused create rolled back the series too"


def test_write_in_product_must_exist(tx):
    err = refused(tx, lambda s: records.update(s, sales_setup(s), {"write_in_product_no": "NOITEM"}))
    assert_names(err, "Sales & receivables setup ", "write_in_product_no", "item")
    create(tx, Resource, no="R1")
    setup = tx(
        lambda s: records.update(s, sales_setup(s), {"write_in_product_type": "Resource", "write_in_product_no": "R1"})
    )
    assert setup.write_in_product_no == "R1"
    assert isinstance(tx(lambda s: s.scalars(select(SalesSetup)).one()), SalesSetup)


def test_general_setup_is_a_singleton_bootstrapped_with_eur(tx):
    rows = tx(lambda s: s.scalars(select(GeneralSetup)).all())
    assert len(rows) == 1 and rows[0].lcy_code == "EUR"


@pytest.mark.parametrize(("field", "value"), [("starting_no", "ABC"), ("starting_no", ""), ("last_no_used", "X")])
def test_number_series_needs_digits_to_count_up(tx, field, value):
    data = {"code": "S", "starting_no": "S001"} | {field: value}
    err = refused(tx, lambda s: records.create(s, T[NoSeries], data))
    assert_names(err, "No. series S", field, "digits")


def test_a_series_that_cannot_count_up_refuses_instead_of_failing(tx):
    tx(lambda s: s.add(NoSeries(code="OLD", starting_no="ABC")))  # written before the rule existed
    tx(lambda s: records.update(s, sales_setup(s), {"customer_nos": "OLD"}))
    err = refused(tx, lambda s: records.create(s, T[Customer], {"name": "X"}))
    assert err.record == "No. series OLD" and "OLD" in err.fix
