"""Master data both ways: units, items and the default price list, contacts; coupling existing data."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select

from lead2cash.erp.model import Contact, Customer, Item, UnitOfMeasure
from lead2cash.erp.model.enums import ContactType
from lead2cash.erp.services import records
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.couplings import couple


def create(engine, model, series=None, **values):
    with engine.sessions() as s, s.begin():
        return records.create(s, records.RecordType(model, series), values).id


def coupled(engine, erp_id) -> uuid.UUID:
    with engine.sessions() as s:
        return s.scalars(select(Coupling.crm_id).where(Coupling.erp_id == erp_id)).one()


def test_units_items_products_and_default_price_list(engine, crm):
    create(engine, UnitOfMeasure, code="PCS", description="Pieces")
    item_id = create(engine, Item, no="1000", description="Bicycle", base_unit_of_measure="PCS",
                     unit_price=Decimal("199.90"), unit_cost=Decimal("120"))  # fmt: skip
    [uom_job] = engine.run("UNIT OF MEASURE", full=True)
    assert uom_job.inserted == 1, [e.message for e in uom_job.errors]
    group = coupled(engine, _id(engine, UnitOfMeasure, "PCS"))
    units = crm.get("uoms", params={"$filter": f"_uomscheduleid_value eq {group}"}).json()["value"]
    assert [u["name"] for u in units] == ["PCS"]
    to_job, _ = engine.run("ITEM-PRODUCT", full=True)
    assert to_job.inserted == 1, [e.message for e in to_job.errors]
    product = crm.get(f"products({coupled(engine, item_id)})").json()
    assert (product["name"], product["productnumber"], product["price"]) == ("Bicycle", "1000", 199.9)
    assert product["_defaultuomid_value"] == units[0]["uomid"]
    prices = crm.get("productpricelevels", params={"$filter": f"_productid_value eq {product['productid']}"})
    assert [p["amount"] for p in prices.json()["value"]] == [199.9]  # the default price list (R7)
    # a unit group that gains a second unit can no longer be synchronized (R6)
    crm.post("uoms", json={"name": "Box", "quantity": 12, "uomscheduleid@odata.bind": f"/uomschedules({group})"})
    with engine.sessions() as s, s.begin():  # change the unit so it is selected again
        unit = s.scalars(select(UnitOfMeasure).where(UnitOfMeasure.code == "PCS")).one()
        records.update(s, unit, {"description": "Piece"})
    [uom_job] = engine.run("UNIT OF MEASURE")
    assert uom_job.failed == 1 and "has 2 units" in uom_job.errors[0].message


def _id(engine, model, key):
    with engine.sessions() as s:
        return s.scalars(select(model.id).where(getattr(model, model.__key__) == key)).one()


def test_contacts_both_ways(engine, crm):
    engine.run("SALESPEOPLE", full=True)
    create(engine, Customer, no="C1", name="Fabrikam", salesperson_code="AT")
    create(engine, Contact, no="K-COMP", type=ContactType.COMPANY, name="Fabrikam", customer_no="C1")
    person = create(engine, Contact, no="K-P1", type=ContactType.PERSON, company_no="K-COMP", first_name="Ann",
                    surname="Lee", email="ann@fabrikam.example")  # fmt: skip
    create(engine, Contact, no="K-LONE", type=ContactType.PERSON, first_name="No", surname="Company")
    engine.run("CUSTOMER", full=True)
    to_job, _ = engine.run("CONTACT", full=True)
    assert (to_job.inserted, to_job.failed) == (1, 0), [e.message for e in to_job.errors]
    account_id = coupled(engine, _id(engine, Customer, "C1"))
    contact = crm.get(f"contacts({coupled(engine, person)})").json()
    assert (contact["firstname"], contact["lastname"], contact["_parentcustomerid_value"]) == (
        "Ann", "Lee", str(account_id))  # fmt: skip
    # a contact typed in the CRM under the account arrives in the ERP as a person of the company
    body = {"firstname": "Bo", "lastname": "Ek", "emailaddress1": "bo@fabrikam.example",
            "parentcustomerid_account@odata.bind": f"/accounts({account_id})"}  # fmt: skip
    crm.post("contacts", json=body).raise_for_status()
    _, from_job = engine.run("CONTACT", full=True)
    assert from_job.inserted == 1, [e.message for e in from_job.errors]
    with engine.sessions() as s:
        bo = s.scalars(select(Contact).where(Contact.surname == "Ek")).one()
    assert (bo.type, bo.company_no, bo.first_name) == (ContactType.PERSON, "K-COMP", "Bo")


def test_both_sides_have_data_couple_then_sync(engine, crm):
    engine.run("SALESPEOPLE", full=True)
    erp_id = create(engine, Customer, no="EX1", name="Existing Ltd", city="Mons", salesperson_code="BD")
    account = crm.post("accounts", json={"name": "Existing Limited", "telephone1": "42", "customertypecode": 3},
                       headers={"Prefer": "return=representation"}).json()  # fmt: skip
    with engine.sessions() as s, s.begin():
        couple(s, "customer", erp_id, "account", uuid.UUID(account["accountid"]))
    to_job, _ = engine.run("CUSTOMER")
    assert (to_job.modified + to_job.inserted, to_job.failed) == (1, 0), [e.message for e in to_job.errors]
    row = crm.get(f"accounts({account['accountid']})").json()
    assert (row["name"], row["address1_city"]) == ("Existing Ltd", "Mons")  # the ERP values were sent
    assert crm.get("accounts/$count").text.strip() == "1"
    erp_before, crm_before = engine.erp_version(), engine.crm_version()
    engine.run("CUSTOMER")
    assert (engine.erp_version(), engine.crm_version()) == (erp_before, crm_before)


def test_payment_terms_option_mapping_and_customer_choice(engine, crm):
    from lead2cash.erp.model import PaymentTerms

    engine.run("SALESPEOPLE", full=True)
    create(engine, PaymentTerms, code="NET 30", description="Net 30 days")
    create(engine, PaymentTerms, code="CASH", description="Cash")
    engine.run("PAYMENT TERMS")
    create(engine, Customer, no="P1", name="Pays in 30", payment_terms_code="NET 30", salesperson_code="AT")
    create(engine, Customer, no="P2", name="Pays cash", payment_terms_code="CASH", salesperson_code="AT")
    to_job, _ = engine.run("CUSTOMER", full=True)
    assert to_job.inserted == 2, [e.message for e in to_job.errors]
    p1 = crm.get(f"accounts({coupled(engine, _id(engine, Customer, 'P1'))})").json()
    p2 = crm.get(f"accounts({coupled(engine, _id(engine, Customer, 'P2'))})").json()
    assert (p1["paymenttermscode"], p2["paymenttermscode"]) == (1, None)  # no "CASH" choice: left blank (M14)


def test_opportunity_with_contact_and_company_account(engine, crm):
    from lead2cash.erp.model import Opportunity

    engine.run("SALESPEOPLE", full=True)
    create(engine, Customer, no="O1", name="Buyer", salesperson_code="CP")
    create(engine, Contact, no="O-COMP", type=ContactType.COMPANY, name="Buyer", customer_no="O1")
    create(engine, Contact, no="O-P", type=ContactType.PERSON, company_no="O-COMP", first_name="Eve", surname="Ng")
    engine.run("CUSTOMER", full=True)
    engine.run("CONTACT", full=True)
    opp = create(engine, Opportunity, "opportunity_nos", description="Fleet renewal", contact_no="O-P",
                 salesperson_code="CP", estimated_value_lcy=Decimal("25000"), probability_pct=40)  # fmt: skip
    to_job, _ = engine.run("OPPORTUNITY")  # synchronizes uncoupled records (not "only coupled")
    assert to_job.inserted == 1, [e.message for e in to_job.errors]
    row = crm.get(f"opportunities({coupled(engine, opp)})").json()
    assert row["name"] == "Fleet renewal" and row["closeprobability"] == 40 and row["estimatedvalue"] == 25000
    assert row["_parentaccountid_value"] == str(coupled(engine, _id(engine, Customer, "O1")))
    assert row["_parentcontactid_value"] == str(coupled(engine, _id(engine, Contact, "O-P")))


def test_price_group_becomes_price_list_with_its_prices(engine, crm):
    from lead2cash.erp.model import CustomerPriceGroup, SalesPrice
    from lead2cash.erp.model.enums import SalesType

    create(engine, UnitOfMeasure, code="PCS", description="Pieces")
    create(engine, Item, no="2000", description="Helmet", base_unit_of_measure="PCS", unit_price=Decimal("50"))
    group = create(engine, CustomerPriceGroup, code="RETAIL", description="Retail")
    create(engine, SalesPrice, item_no="2000", sales_type=SalesType.CUSTOMER_PRICE_GROUP, sales_code="RETAIL",
           unit_price=Decimal("45.50"))  # fmt: skip
    engine.run("UNIT OF MEASURE", full=True)
    engine.run("ITEM-PRODUCT", full=True)
    [list_job] = engine.run("CUSTPRCGRP-PRICE", full=True)
    assert list_job.inserted == 1, [e.message for e in list_job.errors]
    [price_job] = engine.run("SALESPRC-PRODPRICE")
    assert price_job.inserted == 1, [e.message for e in price_job.errors]
    level = coupled(engine, group)
    assert crm.get(f"pricelevels({level})").json()["name"] == "RETAIL"
    items = crm.get("productpricelevels", params={"$filter": f"_pricelevelid_value eq {level}"}).json()["value"]
    assert [(i["amount"], i["pricingmethodcode"]) for i in items] == [(45.5, 1)]


def test_posted_invoice_with_lines_to_crm(engine, crm):
    from datetime import date

    from lead2cash.erp.model import SalesInvoiceHeader
    from lead2cash.erp.model.documents import SalesDocumentType
    from lead2cash.erp.services import documents, posting

    engine.run("SALESPEOPLE", full=True)
    create(engine, UnitOfMeasure, code="PCS", description="Pieces")
    create(engine, Item, no="3000", description="Bell", base_unit_of_measure="PCS", unit_price=Decimal("12.50"))
    create(engine, Customer, no="INV1", name="Invoiced Ltd", salesperson_code="AT")
    with engine.sessions() as s, s.begin():
        header = documents.create_document(
            s, SalesDocumentType.ORDER, {"sell_to_customer_no": "INV1", "order_date": date(2026, 3, 1)},
            [{"no": "3000", "quantity": Decimal(4)}],
        )  # fmt: skip
        invoice_no = posting.post(s, header, posting_date=date(2026, 3, 2)).invoice_no
    for name in ("UNIT OF MEASURE", "ITEM-PRODUCT", "CUSTOMER"):
        engine.run(name, full=True)
    [job] = engine.run("POSTEDSALESINV-INV", full=True)
    assert job.inserted == 1, [e.message for e in job.errors]
    invoice_id = coupled(engine, _id(engine, SalesInvoiceHeader, invoice_no))
    invoice = crm.get(f"invoices({invoice_id})").json()
    assert (invoice["name"], invoice["statuscode"]) == (invoice_no, 4)
    assert invoice["_customerid_value"] == str(coupled(engine, _id(engine, Customer, "INV1")))
    details = crm.get("invoicedetails", params={"$filter": f"_invoiceid_value eq {invoice_id}"}).json()["value"]
    assert [(d["quantity"], d["priceperunit"]) for d in details] == [(4, 12.5)]
    assert details[0]["_productid_value"] == str(coupled(engine, _id(engine, Item, "3000")))
