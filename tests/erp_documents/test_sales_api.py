"""The sales document REST API end to end: order to cash over HTTP, errors as JSON, roles, nothing half-done."""

from __future__ import annotations

import pytest
from sales_docs_support import unit_of_work
from sqlalchemy import select

from lead2cash.erp.model import CustLedgerEntry, Outbox


@pytest.fixture
def api(db, erp_client):
    return erp_client


def test_order_to_cash_over_http(api, db):
    created = api.post(
        "/api/v1/sales-orders",
        json={
            "sell_to_customer_no": "c1",
            "external_document_no": "CRM order name",
            "your_reference": "ORD-1001",
            "order_date": "2026-03-01",
            "lines": [{"no": "I1", "quantity": "4"}, {"type": " ", "description": "Handle with care"}],
        },
    )
    assert created.status_code == 201, created.text
    order = created.json()
    assert (order["no"], order["status"], order["amount_including_vat"]) == ("SO1001", "Open", "450")
    assert order["lines"][0]["unit_price"] == "90"
    assert api.post("/api/v1/sales-orders/SO1001/release").json()["status"] == "Released"
    shipped = api.post(
        "/api/v1/sales-orders/SO1001/post",
        json={
            "ship": True,
            "invoice": False,
            "posting_date": "2026-03-02",
            "lines": [{"line_no": 10000, "qty_to_ship": "3"}],
        },
    )
    assert shipped.status_code == 200, shipped.text
    body = shipped.json()
    assert body["shipment_no"] and body["order"]["last_shipment_date"] == "2026-03-02"
    assert body["order"]["completely_shipped"] is False
    invoiced = api.post("/api/v1/sales-orders/SO1001/post", json={"ship": True, "invoice": True}).json()
    assert invoiced["order_deleted"] is True
    invoice = api.get(f"/api/v1/posted-sales-invoices/{invoiced['invoice_no']}").json()
    assert (invoice["your_reference"], invoice["amount_including_vat"], len(invoice["lines"])) == ("ORD-1001", "450", 1)
    paid = api.post(
        "/api/v1/payments",
        json={"customer_no": "C1", "amount": "450", "applies_to": [{"document_no": invoiced["invoice_no"]}]},
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["applications"][0]["closed"] is True
    stats = api.get("/api/v1/customers/C1/statistics").json()
    assert (stats["balance_lcy"], stats["total_sales_lcy"], stats["payments_lcy"]) == ("0", "360", "450")
    avail = api.get("/api/v1/item-availability", params={"item_no": ["I1"]}).json()["items"][0]
    assert (avail["inventory"], avail["available_quantity"]) == ("96", "96")
    entries = api.get("/api/v1/customer-ledger-entries", params={"customer_no": "C1"}).json()["items"]
    assert [(e["document_type"], e["open"]) for e in entries] == [("Invoice", False), ("Payment", False)]
    versions = api.get("/api/v1/sales-orders/SO1001/versions").json()["items"]
    assert [v["version_no"] for v in versions] == [1, 2, 3]


def test_quote_to_order_over_http(api):
    api.post("/api/v1/sales-quotes", json={"sell_to_customer_no": "C1", "lines": [{"no": "I2", "quantity": "2"}]})
    order = api.post("/api/v1/sales-quotes/SQ1001/make-order")
    assert order.status_code == 201, order.text
    assert order.json()["quote_no"] == "SQ1001"
    assert api.get("/api/v1/sales-quotes/SQ1001").status_code == 404
    assert api.get("/api/v1/sales-quotes/SQ1001/versions").json()["items"][0]["reason"] == "Converted to order"


@pytest.mark.parametrize(
    ("body", "status", "field", "text"),
    [
        ({"sell_to_customer_no": "CB"}, 422, "sell_to_customer_no", "blocked"),
        ({"sell_to_customer_no": "CG"}, 422, "currency_code", "no exchange rate"),
        ({"sell_to_customer_no": "C1", "lines": [{"no": "I1", "quantity": "-1"}]}, 422, "quantity", "negative"),
        ({"sell_to_customer_no": "C1", "colour": "red"}, 422, "colour", "Extra inputs"),
    ],
)
def test_invalid_create_gives_clear_json_errors(api, body, status, field, text):
    response = api.post("/api/v1/sales-orders", json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["field"].endswith(field) and text in error["message"] and error["fix"]


def test_failed_actions_write_nothing(api, db):
    api.post("/api/v1/sales-orders", json={"sell_to_customer_no": "C1", "lines": []})
    release = api.post("/api/v1/sales-orders/SO1001/release")
    assert release.status_code == 422 and "nothing to release" in release.json()["error"]["message"]
    api.post("/api/v1/sales-orders/SO1001/lines", json={"no": "I1", "quantity": "2"})
    too_much = api.post("/api/v1/sales-orders/SO1001/post", json={"lines": [{"line_no": 10000, "qty_to_ship": "5"}]})
    assert too_much.status_code == 422
    assert "more than the outstanding quantity 2" in too_much.json()["error"]["message"]
    assert api.get("/api/v1/sales-orders/SO1001").json()["status"] == "Open"  # the implicit release rolled back
    with unit_of_work(db) as s:
        assert s.scalars(select(CustLedgerEntry)).all() == []
        assert "sales_order.released" not in s.scalars(select(Outbox.event_type)).all()
    assert api.post("/api/v1/sales-orders/NOPE/release").status_code == 404


def test_roles(db, erp_client_as, erp_anonymous):
    assert erp_anonymous.get("/api/v1/sales-orders").status_code == 401
    integration = erp_client_as("integration")
    assert integration.post("/api/v1/sales-orders", json={"sell_to_customer_no": "C1"}).status_code == 201


def test_apply_an_earlier_payment_over_http(api):
    payment = api.post("/api/v1/payments", json={"customer_no": "C1", "amount": "1000"}).json()["entry"]
    api.post("/api/v1/sales-orders", json={"sell_to_customer_no": "C1", "lines": [{"no": "I2", "quantity": "1"}]})
    invoice_no = api.post("/api/v1/sales-orders/SO1001/post", json={}).json()["invoice_no"]
    applied = api.post(
        f"/api/v1/customer-ledger-entries/{payment['entry_no']}/apply",
        json={"applies_to": [{"document_no": invoice_no}]},
    )
    assert applied.status_code == 200, applied.text
    assert applied.json()["applications"][0]["closed"] is True
    assert applied.json()["entry"]["remaining_amount"] == "-978.01"  # 1000 - 19.99 - 10% VAT (2.00)
    missing = api.post("/api/v1/customer-ledger-entries/999/apply", json={"applies_to": [{"document_no": "X"}]})
    assert missing.status_code == 404


def test_header_update_with_etags_and_lines(api):
    api.post("/api/v1/sales-orders", json={"sell_to_customer_no": "C1", "lines": [{"no": "I1", "quantity": "1"}]})
    read = api.get("/api/v1/sales-orders/SO1001")
    tag = read.headers["ETag"]
    changed = api.patch(
        "/api/v1/sales-orders/SO1001", json={"requested_delivery_date": "2026-05-01"}, headers={"If-Match": tag}
    )
    assert changed.status_code == 200 and changed.json()["requested_delivery_date"] == "2026-05-01"
    assert changed.headers["ETag"] != tag
    stale = api.patch("/api/v1/sales-orders/SO1001", json={"your_reference": "X"}, headers={"If-Match": tag})
    assert stale.status_code == 412
    freight = api.post(
        "/api/v1/sales-orders/SO1001/lines",
        json={
            "type": "G/L Account",
            "no": "6100",
            "description": "Freight Amount",
            "quantity": "1",
            "unit_price": "15",
        },
    )
    assert freight.status_code == 201, freight.text
    api.post(
        "/api/v1/sales-orders/SO1001/lines",
        json={"type": " ", "description": "more text", "attached_to_line_no": 10000},
    )
    order = api.get("/api/v1/sales-orders/SO1001").json()
    assert [x["type"] for x in order["lines"]] == ["Item", "G/L Account", " "]
    assert order["amount"] == "105"  # 90 + 15 freight
    after = api.delete("/api/v1/sales-orders/SO1001/lines/10000").json()
    assert [x["line_no"] for x in after["lines"]] == [20000]  # the attached comment went with its line
    patched = api.patch("/api/v1/sales-orders/SO1001/lines/20000", json={"quantity": "2"})
    assert patched.json()["amount"] == "30"
    assert api.delete("/api/v1/sales-orders/SO1001").status_code == 204
    assert api.get("/api/v1/sales-orders/SO1001").status_code == 404


def test_openapi_lists_document_endpoints(api):
    paths = api.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/sales-orders/{no}/post", "/api/v1/payments", "/api/v1/item-availability"):
        assert path in paths


def test_lists_page_by_row_version_and_entry_no(api):
    for _ in range(3):
        api.post("/api/v1/sales-orders", json={"sell_to_customer_no": "C1"})
    first = api.get("/api/v1/sales-orders", params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next"] == first["items"][-1]["row_version"]
    rest = api.get("/api/v1/sales-orders", params={"limit": 2, "row_version_gt": first["next"]}).json()
    assert [x["no"] for x in first["items"] + rest["items"]] == ["SO1001", "SO1002", "SO1003"]
    assert rest["next"] is None
    entries = api.get("/api/v1/item-ledger-entries", params={"limit": 1}).json()
    assert entries["next"] == 1
    assert api.get("/api/v1/item-ledger-entries", params={"entry_no_gt": 1}).json()["items"][0]["item_no"] == "I2"
