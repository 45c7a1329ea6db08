"""SALESORDER-ORDER in the default sales-order mode (M13, O6, O10) against a real CRM org over HTTP.

A salesperson creates an order in the CRM and submits it (then it is read-only for them); the ERP order made
from it is coupled to it. Released (or prepayment-pending) changes of the ERP order reach the CRM order on
the next run, the CRM order stays submitted, and nothing happens to uncoupled ERP orders, to reopened ones,
or while sales-order integration is off.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from lead2cash.erp.model import Customer, ErpUser, Item, SalesHeader, UnitOfMeasure
from lead2cash.erp.model.documents import SalesDocumentStatus, SalesDocumentType
from lead2cash.erp.model.enums import Role
from lead2cash.erp.services import availability, documents, posting, release
from lead2cash.erp.services.documents import with_defaults
from lead2cash.integration.couplings import couple
from lead2cash.integration.engine import sync_records
from lead2cash.integration.setup import service as setup_service

MAPPING = "SALESORDER-ORDER"
D = Decimal
ORDER_COLUMNS = "name,statecode,statuscode,submitdate,requestdeliveryby,datefulfilled,shipto_city,billto_city"


@dataclass
class Scenario:
    engine: object
    crm: object

    def run(self, **kw):
        [job] = self.engine.run(MAPPING, **kw)
        return job

    def crm_order(self, crm_id: str) -> dict:
        response = self.crm.get(f"salesorders({crm_id})", params={"$select": ORDER_COLUMNS})
        assert response.status_code == 200, response.text
        return response.json()

    def crm_order_count(self) -> int:
        return len(self.crm.get("salesorders", params={"$select": "salesorderid"}).json()["value"])

    def submitted_crm_order(self, name: str) -> str:
        """A CRM order with a write-in line, created and submitted by a CRM user over the Web API."""
        account = self._create("accounts", {"name": f"Account of {name}"})
        pricelist = self._create("pricelevels", {"name": f"Prices of {name}"})
        order = self._create(
            "salesorders",
            {
                "name": name,
                "customerid_account@odata.bind": f"/accounts({account})",
                "pricelevelid@odata.bind": f"/pricelevels({pricelist})",
            },
        )
        line = {
            "salesorderid@odata.bind": f"/salesorders({order})",
            "isproductoverridden": True,
            "productdescription": "Bicycle",
            "priceperunit": 100,
            "quantity": 2,
        }
        self._create("salesorderdetails", line)
        self._patch(order, {"statecode": 1, "statuscode": 3})
        return order

    def erp_order(self, crm_id: str | None, **header) -> uuid.UUID:
        """An ERP order (as the transfer makes it from CRM order ``crm_id``), released and coupled to it."""
        with self.engine.sessions() as s, s.begin():
            data = {"sell_to_customer_no": "C1", "order_date": date(2026, 3, 2), **header}
            order = documents.create_document(s, SalesDocumentType.ORDER, data, [{"no": "I1", "quantity": D(2)}])
            release.release(s, order)
            if crm_id is not None:
                couple(s, "sales_header", order.id, "salesorder", uuid.UUID(crm_id))
            return order.id

    def change(self, order_id: uuid.UUID, **changes) -> None:
        """What a user does to change a released order: reopen it and change the header."""
        with self.engine.sessions() as s, s.begin():
            order = s.get(SalesHeader, order_id)
            release.reopen(s, order)
            documents.update_header(s, order, changes)

    def ship(self, order_id: uuid.UUID, on: date) -> None:
        with self.engine.sessions() as s, s.begin():
            posting.post(s, s.get(SalesHeader, order_id), ship=True, invoice=False, posting_date=on)

    def release(self, order_id: uuid.UUID) -> SalesDocumentStatus:
        with self.engine.sessions() as s, s.begin():
            return release.release(s, s.get(SalesHeader, order_id)).status

    def set_order_user(self, name: str) -> None:
        with self.engine.sessions() as s, s.begin():
            setup_service.update(s, {"sales_order_user": name}, "unused-secret-key")

    def _create(self, entity_set: str, body: dict) -> str:
        response = self.crm.post(entity_set, json=body)
        assert response.status_code == 204, response.text
        return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")

    def _patch(self, crm_id: str, body: dict):
        response = self.crm.patch(f"salesorders({crm_id})", json=body, headers={"If-Match": "*"})
        assert response.status_code == 204, response.text
        return response


@pytest.fixture
def scenario(engine, crm) -> Scenario:
    with engine.sessions() as s, s.begin():
        s.add(with_defaults(UnitOfMeasure(code="PCS", description="Pieces")))
        s.flush()
        s.add(with_defaults(Customer(no="C1", name="Adatum", city="Delft")))
        s.add(with_defaults(Item(no="I1", description="Bicycle", base_unit_of_measure="PCS", unit_price=D(100))))
        s.add(ErpUser(user_name="ORDERDESK", full_name="Order desk", role=Role.ORDER_PROCESSOR))
        s.flush()
        availability.post_adjustment(s, "I1", D(100), posting_date=date(2026, 1, 1))
    scenario = Scenario(engine, crm)
    scenario.set_order_user("ORDERDESK")  # sales-order integration on (S6)
    return scenario


def errors(job) -> list[str]:
    return [e.message for e in job.errors]


def test_released_changes_reach_the_submitted_crm_order_which_stays_submitted(scenario):
    crm_id = scenario.submitted_crm_order("Bikes for Delft")
    before = scenario.crm_order(crm_id)
    order_id = scenario.erp_order(crm_id, requested_delivery_date=date(2026, 4, 1), ship_to_city="Leiden")
    # a CRM user can no longer change the submitted order
    refused = scenario.crm.patch(f"salesorders({crm_id})", json={"name": "x"}, headers={"If-Match": "*"})
    assert refused.status_code == 403

    job = scenario.run()
    assert (job.inserted + job.modified, job.failed) == (1, 0), errors(job)
    after = scenario.crm_order(crm_id)
    assert after["requestdeliveryby"] == "2026-04-01"
    assert after["shipto_city"] == "Leiden" and after["billto_city"] == "Delft"
    assert (after["statecode"], after["statuscode"]) == (1, 3)  # submitted again, as it was
    assert after["submitdate"] == before["submitdate"]
    assert after["name"] == "Bikes for Delft"

    # the user reopens the ERP order and changes it: nothing is sent while it is Open (O10) …
    scenario.change(order_id, requested_delivery_date=date(2026, 5, 15))
    job = scenario.run()
    assert (job.modified, job.failed) == (0, 0), errors(job)
    assert scenario.crm_order(crm_id)["requestdeliveryby"] == "2026-04-01"

    # … and releasing it sends the changes on the next run (O6)
    assert scenario.release(order_id) is SalesDocumentStatus.RELEASED
    job = scenario.run()
    assert (job.modified, job.failed) == (1, 0), errors(job)
    after = scenario.crm_order(crm_id)
    assert (after["requestdeliveryby"], after["datefulfilled"]) == ("2026-05-15", None)
    assert (after["statecode"], after["statuscode"]) == (1, 3)
    assert after["submitdate"] == before["submitdate"]

    # the warehouse ships the order: its last shipment date is the CRM order's "date fulfilled"
    scenario.ship(order_id, date(2026, 5, 20))
    job = scenario.run()
    assert (job.modified, job.failed) == (1, 0), errors(job)
    after = scenario.crm_order(crm_id)
    assert (after["datefulfilled"], after["statecode"], after["statuscode"]) == ("2026-05-20", 1, 3)

    # nothing changed since: the next run writes nothing
    job = scenario.run()
    assert job.inserted == job.modified == job.failed == 0, errors(job)


def test_uncoupled_erp_orders_are_never_created_in_the_crm(scenario):
    crm_id = scenario.submitted_crm_order("Coupled one")
    scenario.erp_order(crm_id, requested_delivery_date=date(2026, 4, 1))
    uncoupled = scenario.erp_order(None, requested_delivery_date=date(2026, 4, 2))
    with scenario.engine.sessions() as s:
        assert s.get(SalesHeader, uncoupled).status is SalesDocumentStatus.RELEASED

    for full in (False, True):  # neither the recurring run nor a full synchronization creates one
        job = scenario.run(full=full)
        assert (job.inserted + job.modified, job.failed) == ((0, 0) if full else (1, 0)), errors(job)
        assert scenario.crm_order_count() == 1
    # nor does "synchronize now" of the uncoupled order
    job = scenario.engine.jobs(
        sync_records(scenario.engine.sessions, scenario.engine.client, MAPPING, erp_ids=[uncoupled])
    )[0]
    assert job.inserted == job.failed == 0, errors(job)
    assert scenario.crm_order_count() == 1


def test_order_waiting_for_prepayment_is_synchronized(scenario):
    crm_id = scenario.submitted_crm_order("Prepaid bikes")
    order_id = scenario.erp_order(crm_id, prepayment_pct=D(30), requested_delivery_date=date(2026, 6, 1))
    with scenario.engine.sessions() as s:
        assert s.get(SalesHeader, order_id).status is SalesDocumentStatus.PENDING_PREPAYMENT

    job = scenario.run()
    assert (job.inserted + job.modified, job.failed) == (1, 0), errors(job)
    assert scenario.crm_order(crm_id)["requestdeliveryby"] == "2026-06-01"

    scenario.change(order_id, requested_delivery_date=date(2026, 6, 8))
    assert scenario.release(order_id) is SalesDocumentStatus.PENDING_PREPAYMENT
    job = scenario.run()
    assert (job.modified, job.failed) == (1, 0), errors(job)
    after = scenario.crm_order(crm_id)
    assert after["requestdeliveryby"] == "2026-06-08"
    assert (after["statecode"], after["statuscode"]) == (1, 3)


def test_nothing_is_synchronized_while_sales_order_integration_is_off(scenario):
    crm_id = scenario.submitted_crm_order("Quiet order")
    scenario.set_order_user("")  # sales-order integration off
    scenario.erp_order(crm_id, requested_delivery_date=date(2026, 7, 1))

    job = scenario.run()
    assert {k: v for k, v in job.counts.items() if v} == {}, errors(job)  # idle: not even "unchanged"
    assert scenario.crm_order(crm_id)["requestdeliveryby"] is None

    # switched on again: a full synchronization catches up on what changed meanwhile
    scenario.set_order_user("ORDERDESK")
    job = scenario.run()  # the recurring run looks only at what changed since its last run
    assert job.inserted == job.modified == job.failed == 0, errors(job)
    job = scenario.run(full=True)
    assert (job.inserted + job.modified, job.failed) == (1, 0), errors(job)
    assert scenario.crm_order(crm_id)["requestdeliveryby"] == "2026-07-01"


def test_closed_crm_order_is_not_changed_and_the_record_says_why(scenario):
    crm_id = scenario.submitted_crm_order("Fulfilled already")
    fulfil = {"OrderClose": {"subject": "done", "salesorderid@odata.bind": f"/salesorders({crm_id})"}, "Status": 100001}
    assert scenario.crm.post("FulfillSalesOrder", json=fulfil).status_code == 204
    scenario.erp_order(crm_id, requested_delivery_date=date(2026, 8, 1))

    job = scenario.run()
    assert job.failed == 1
    assert "is fulfilled" in errors(job)[0] and "Uncouple" in errors(job)[0]
    after = scenario.crm_order(crm_id)
    assert (after["statecode"], after["requestdeliveryby"]) == (3, None)


def test_erp_orders_status_filter_is_the_mapping_filter(scenario):
    """Only orders Released or Pending Prepayment pass; an Open order with a coupling is left alone."""
    crm_id = scenario.submitted_crm_order("Still open")
    order_id = scenario.erp_order(crm_id, requested_delivery_date=date(2026, 9, 1))
    with scenario.engine.sessions() as s, s.begin():
        release.reopen(s, s.get(SalesHeader, order_id))
    job = scenario.run()
    assert job.inserted == job.modified == job.failed == 0, errors(job)
    assert scenario.crm_order(crm_id)["requestdeliveryby"] is None
    with scenario.engine.sessions() as s:
        assert s.scalars(select(SalesHeader.status).where(SalesHeader.id == order_id)).one() == "Open"


@pytest.fixture
def strict_org(monkeypatch):
    """The CRM as Dynamics 365 Sales documents it (dataverse.md §7.7): a submitted order is read-only for every
    caller, the integration user included; only a plain state change sets it Active again (this server
    normally lets the integration user edit submitted orders)."""
    from lead2cash.crm import sales

    original = sales._check_document
    refused: list[dict] = []

    def check(uow, entity, row, what, *, lines, change=None):
        if entity == "salesorder" and row.get("statecode") == 1:
            values = change.values if change is not None else {}
            if lines or values.get("statecode") != 0 or not set(values) <= {"statecode", "statuscode"}:
                refused.append(dict(values))
                raise sales._error(f"The order cannot be changed because {what} is submitted.", sales.LOCKED, 403)
            return
        original(uow, entity, row, what, lines=lines, change=change)

    monkeypatch.setattr(sales, "_check_document", check)
    return refused


def test_writes_are_accepted_where_submitted_orders_are_locked_for_every_caller(scenario, strict_org):
    crm_id = scenario.submitted_crm_order("Locked order")
    before = scenario.crm_order(crm_id)
    order_id = scenario.erp_order(crm_id, requested_delivery_date=date(2026, 10, 1))

    job = scenario.run()
    assert (job.inserted + job.modified, job.failed) == (1, 0), errors(job)
    scenario.change(order_id, requested_delivery_date=date(2026, 10, 9))
    scenario.release(order_id)
    job = scenario.run()
    assert (job.modified, job.failed) == (1, 0), errors(job)

    after = scenario.crm_order(crm_id)
    assert after["requestdeliveryby"] == "2026-10-09"
    assert (after["statecode"], after["statuscode"], after["submitdate"]) == (1, 3, before["submitdate"])
    assert strict_org == []  # the engine never wrote to the order while it was submitted
    # and the order is as locked as before for the salesperson
    refused = scenario.crm.patch(f"salesorders({crm_id})", json={"name": "x"}, headers={"If-Match": "*"})
    assert refused.status_code == 403
