"""The ERP REST API over HTTP: create/read/update/delete, list filters, keyset paging, ETags and bad input.

Requests go through the real FastAPI app and the real database (SQLite, and PostgreSQL when configured).
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime

import pytest

API = "/api/v1"


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def error(response, status):
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] and body["message"]
    return body


def test_customer_crud_round_trip(erp_client):
    ok(erp_client.post(f"{API}/salespeople", json={"code": "jo", "name": "John"}), 201)
    created = erp_client.post(
        f"{API}/customers",
        json={"name": "Adatum", "salesperson_code": "JO", "credit_limit_lcy": "1000.50", "city": "Delft"},
    )
    body = ok(created, 201)
    assert body["no"] == "C00010" and body["salesperson_code"] == "JO"
    assert body["credit_limit_lcy"] == "1000.5"
    assert created.headers["ETag"] == f'W/"{body["row_version"]}"'

    by_no = ok(erp_client.get(f"{API}/customers/C00010"))
    by_id = ok(erp_client.get(f"{API}/customers/{body['id']}"))
    assert by_no == by_id == body
    assert ok(erp_client.get(f"{API}/customers/c00010"))["id"] == body["id"], "keys are case-insensitive"

    patched = erp_client.patch(f"{API}/customers/C00010", json={"name": "Adatum Corp", "salesperson_code": None})
    changed = ok(patched)
    assert changed["name"] == "Adatum Corp" and changed["salesperson_code"] is None
    assert changed["row_version"] > body["row_version"]
    assert changed["created_at"] == body["created_at"]
    assert datetime.fromisoformat(changed["modified_at"]) >= datetime.fromisoformat(body["modified_at"])
    assert patched.headers["ETag"] == f'W/"{changed["row_version"]}"'

    assert erp_client.delete(f"{API}/customers/C00010").status_code == 204
    gone = error(erp_client.get(f"{API}/customers/C00010"), 404)
    assert gone["record"] == "Customer C00010" and gone["fix"]
    error(erp_client.delete(f"{API}/customers/C00010"), 404)


@pytest.mark.parametrize(
    ("path", "body", "key"),
    [
        ("salespeople", {"code": "SP1", "name": "Sam", "email": "sam@example.com"}, "SP1"),
        ("currencies", {"code": "USD"}, "USD"),
        ("payment-terms", {"code": "14D", "due_date_calculation": "14D"}, "14D"),
        ("shipment-methods", {"code": "EXW", "description": "Ex Works"}, "EXW"),
        ("shipping-agents", {"code": "DHL", "name": "DHL"}, "DHL"),
        ("customer-price-groups", {"code": "RETAIL"}, "RETAIL"),
        ("units-of-measure", {"code": "PCS", "description": "Piece"}, "PCS"),
        ("items", {"no": "1000", "description": "Bike", "unit_price": "12.30"}, "1000"),
        ("resources", {"no": "R1", "name": "Installer", "capacity": "8"}, "R1"),
        ("contacts", {"no": "K1", "name": "Adatum"}, "K1"),
        ("opportunities", {"no": "OP1", "description": "Bikes"}, "OP1"),
        ("no-series", {"code": "SO", "starting_no": "SO0001"}, "SO"),
        ("users", {"user_name": "ann", "role": "integration"}, "ANN"),
    ],
)
def test_every_master_data_resource_supports_crud(erp_client, path, body, key):
    created = ok(erp_client.post(f"{API}/{path}", json=body), 201)
    assert ok(erp_client.get(f"{API}/{path}/{key}"))["id"] == created["id"]
    listed = ok(erp_client.get(f"{API}/{path}", params={"limit": 1000}))["items"]
    assert created["id"] in {r["id"] for r in listed}
    etag = erp_client.get(f"{API}/{path}/{key}").headers["ETag"]
    ok(erp_client.patch(f"{API}/{path}/{created['id']}", json={}, headers={"If-Match": etag}))
    assert erp_client.delete(f"{API}/{path}/{key}").status_code == 204
    error(erp_client.get(f"{API}/{path}/{created['id']}"), 404)


def test_exchange_rates_and_sales_prices_are_addressed_by_system_id(erp_client):
    ok(erp_client.post(f"{API}/currencies", json={"code": "USD"}), 201)
    rate = ok(
        erp_client.post(
            f"{API}/currency-exchange-rates",
            json={"currency_code": "USD", "starting_date": "2026-01-01", "relational_exch_rate_amount": "0.91"},
        ),
        201,
    )
    assert rate["exchange_rate_amount"] == "1"
    ok(erp_client.post(f"{API}/items", json={"no": "1000"}), 201)
    price = ok(
        erp_client.post(
            f"{API}/sales-prices",
            json={"item_no": "1000", "sales_type": "All Customers", "currency_code": "USD", "unit_price": "9.95"},
        ),
        201,
    )
    error(erp_client.delete(f"{API}/currencies/USD"), 409)
    assert erp_client.delete(f"{API}/sales-prices/{price['id']}").status_code == 204
    assert erp_client.delete(f"{API}/currency-exchange-rates/{rate['id']}").status_code == 204
    assert erp_client.delete(f"{API}/currencies/USD").status_code == 204


def test_list_filters(erp_client):
    for code in ("A", "B"):
        ok(erp_client.post(f"{API}/salespeople", json={"code": code}), 201)
    for i in range(6):
        body = {"no": f"C{i}", "salesperson_code": "A" if i % 2 else "B", "city": "Delft" if i < 4 else "Gouda"}
        if i == 5:
            body["blocked"] = "All"
        ok(erp_client.post(f"{API}/customers", json=body), 201)

    def nos(**params):
        return [c["no"] for c in ok(erp_client.get(f"{API}/customers", params=params))["items"]]

    assert nos(salesperson_code="A") == ["C1", "C3", "C5"]
    assert nos(salesperson_code="A", city="Delft") == ["C1", "C3"]
    assert nos(blocked="All") == ["C5"]
    assert nos(city="Nowhere") == []
    assert nos(order_by="row_version") == [f"C{i}" for i in range(6)]
    error(erp_client.get(f"{API}/customers", params={"name": "x"}), 422)
    error(erp_client.get(f"{API}/customers", params={"blocked": "Sometimes"}), 422)
    error(erp_client.get(f"{API}/customers", params={"order_by": "name"}), 422)


@pytest.mark.parametrize("order_by", [None, "row_version"])
def test_keyset_paging_visits_every_record_once(erp_client, order_by):
    total = 53
    for i in range(total):
        # keys deliberately out of insertion order so both sort orders differ
        ok(erp_client.post(f"{API}/units-of-measure", json={"code": f"U{(i * 37) % total:03d}"}), 201)
    seen, pages, cursor = [], 0, None
    while True:
        params = {"limit": 10} | ({"after": cursor} if cursor else {}) | ({"order_by": order_by} if order_by else {})
        page = ok(erp_client.get(f"{API}/units-of-measure", params=params))
        seen.extend(page["items"])
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
        assert len(page["items"]) == 10
    assert pages == 6
    assert len(seen) == total and len({r["id"] for r in seen}) == total, "no duplicates, no gaps"
    sort_key = "row_version" if order_by else "code"
    assert [r[sort_key] for r in seen] == sorted(r[sort_key] for r in seen)


def test_keyset_paging_is_stable_while_records_are_added(erp_client):
    for i in range(0, 40, 2):
        ok(erp_client.post(f"{API}/units-of-measure", json={"code": f"U{i:03d}"}), 201)
    first = ok(erp_client.get(f"{API}/units-of-measure", params={"limit": 10}))
    # records inserted before the cursor do not shift later pages (no OFFSET): the rest arrive exactly once
    ok(erp_client.post(f"{API}/units-of-measure", json={"code": "U001"}), 201)
    ok(erp_client.post(f"{API}/units-of-measure", json={"code": "U039"}), 201)
    rest, cursor = [], first["next"]
    while cursor:
        page = ok(erp_client.get(f"{API}/units-of-measure", params={"limit": 10, "after": cursor}))
        rest.extend(r["code"] for r in page["items"])
        cursor = page["next"]
    assert [r["code"] for r in first["items"]] + rest == [f"U{i:03d}" for i in range(0, 40, 2)] + ["U039"]


def test_row_version_filter_reads_changes_since_a_watermark(erp_client):
    ok(erp_client.post(f"{API}/salespeople", json={"code": "A"}), 201)
    watermark = ok(erp_client.post(f"{API}/salespeople", json={"code": "B"}), 201)["row_version"]
    ok(erp_client.post(f"{API}/salespeople", json={"code": "C"}), 201)
    ok(erp_client.patch(f"{API}/salespeople/A", json={"name": "Changed"}))
    changes = ok(erp_client.get(f"{API}/salespeople", params={"row_version_gt": watermark, "order_by": "row_version"}))
    assert [r["code"] for r in changes["items"]] == ["C", "A"]


def test_bad_paging_cursor_is_422(erp_client):
    for cursor in ("abc", "W10=", "WyJ4IiwgIm5vdC1hLXV1aWQiXQ=="):
        body = error(erp_client.get(f"{API}/customers", params={"after": cursor}), 422)
        assert body["field"] == "after" and body["fix"]
    error(erp_client.get(f"{API}/customers", params={"limit": 0}), 422)
    error(erp_client.get(f"{API}/customers", params={"limit": 1001}), 422)


@pytest.mark.parametrize("order_by", ["code", "row_version"])
@pytest.mark.parametrize(
    "values",
    [[{"a": 1}, str(uuid.uuid4())], [None, str(uuid.uuid4())], [10**30, str(uuid.uuid4())], [True, str(uuid.uuid4())]],
    ids=["object", "null", "huge", "boolean"],
)
def test_forged_paging_cursor_is_422(erp_client, order_by, values):
    ok(erp_client.post(f"{API}/salespeople", json={"code": "A"}), 201)
    cursor = base64.urlsafe_b64encode(json.dumps(values).encode()).decode()
    body = error(erp_client.get(f"{API}/salespeople", params={"after": cursor, "order_by": order_by}), 422)
    assert body["field"] == "after"


def test_if_match_makes_writes_conditional(erp_client):
    created = erp_client.post(f"{API}/salespeople", json={"code": "JO"})
    etag = created.headers["ETag"]
    changed = erp_client.patch(f"{API}/salespeople/JO", json={"name": "John"}, headers={"If-Match": etag})
    new_etag = ok(changed) and changed.headers["ETag"]
    assert new_etag != etag

    stale = error(erp_client.patch(f"{API}/salespeople/JO", json={"name": "Lost"}, headers={"If-Match": etag}), 412)
    assert stale["record"] == "Salesperson JO" and stale["fix"]
    assert ok(erp_client.get(f"{API}/salespeople/JO"))["name"] == "John", "a stale write changes nothing"
    error(erp_client.delete(f"{API}/salespeople/JO", headers={"If-Match": etag}), 412)
    error(erp_client.patch(f"{API}/salespeople/JO", json={"name": "x"}, headers={"If-Match": "garbage"}), 412)

    ok(erp_client.patch(f"{API}/salespeople/JO", json={"name": "Any"}, headers={"If-Match": "*"}))
    current = erp_client.get(f"{API}/salespeople/JO").headers["ETag"]
    assert erp_client.delete(f"{API}/salespeople/JO", headers={"If-Match": current}).status_code == 204


def test_singleton_setup_records_have_etags(erp_client):
    read = erp_client.get(f"{API}/sales-setup")
    assert ok(read)["customer_nos"] == "CUST"
    etag = read.headers["ETag"]
    ok(erp_client.patch(f"{API}/sales-setup", json={"archive_orders": False}, headers={"If-Match": etag}))
    error(erp_client.patch(f"{API}/sales-setup", json={"archive_orders": True}, headers={"If-Match": etag}), 412)
    assert ok(erp_client.get(f"{API}/general-setup"))["lcy_code"] == "EUR"
    error(erp_client.patch(f"{API}/general-setup", json={"lcy_code": "EURO"}), 422)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("customers", {"name": "x" * 101}, "name"),
        ("customers", {"credit_limit_lcy": "abc"}, "credit_limit_lcy"),
        ("customers", {"credit_limit_lcy": "1.123456"}, "credit_limit_lcy"),
        ("customers", {"blocked": "Maybe"}, "blocked"),
        ("customers", {"unknown_field": 1}, "unknown_field"),
        ("customers", {"salesperson_code": "ZZ"}, "salesperson_code"),
        ("customers", {"email": "nope"}, "email"),
        ("customers", {"credit_limit_lcy": "-1"}, "credit_limit_lcy"),
        ("salespeople", {"name": "no code"}, "code"),
        ("salespeople", {"code": "A/B"}, "code"),
        ("shipping-agents", {"code": "000000000ß"}, "code"),  # 10 characters, 11 once upper-cased
        ("currencies", {"code": "XYZ", "iso_code": "XYZ"}, "iso_code"),
        ("payment-terms", {"code": "BAD", "due_date_calculation": "14X"}, "due_date_calculation"),
        ("items", {"unit_price": "-5"}, "unit_price"),
        ("opportunities", {"probability_pct": 101}, "probability_pct"),
        ("currency-exchange-rates", {"currency_code": "USD", "starting_date": "2026-13-01"}, "starting_date"),
    ],
)
def test_bad_input_is_422_naming_the_field(erp_client, path, body, field):
    err = error(erp_client.post(f"{API}/{path}", json=body), 422)
    assert err["code"] == "validation_error"
    assert err["field"] == field or field in {p["field"] for p in err.get("problems", [])}
    assert err["fix"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x" * 51}, "name"),
        ({"name": "nul\u0000inside"}, "name"),
        ({"commission_pct": "1.123456"}, "commission_pct"),
        ({"email": "x" * 81}, "email"),
    ],
)
def test_patch_enforces_the_same_field_constraints_as_create(erp_client, body, field):
    ok(erp_client.post(f"{API}/salespeople", json={"code": "JO", "name": "John"}), 201)
    err = error(erp_client.patch(f"{API}/salespeople/JO", json=body), 422)
    assert err["field"] == field
    assert ok(erp_client.get(f"{API}/salespeople/JO"))["name"] == "John"


def test_nul_characters_are_refused_everywhere(erp_client):
    """PostgreSQL cannot store or even compare text holding NUL; the API refuses it on every database."""
    ok(erp_client.post(f"{API}/salespeople", json={"code": "JO"}), 201)
    error(erp_client.post(f"{API}/salespeople", json={"code": "A\u0000"}), 422)
    error(erp_client.post(f"{API}/customers", json={"city": "a\u0000b"}), 422)
    error(erp_client.get(f"{API}/salespeople/JO%00"), 422)
    error(erp_client.get(f"{API}/customers", params={"city": "a\x00b"}), 422)
    error(erp_client.get(f"{API}/customers?city=a%00b"), 422)
    cursor = base64.urlsafe_b64encode(json.dumps(["A\u0000", str(uuid.uuid4())]).encode()).decode()
    error(erp_client.get(f"{API}/salespeople", params={"after": cursor}), 422)


def test_malformed_json_is_422(erp_client):
    response = erp_client.post(f"{API}/customers", content=b"{not json", headers={"Content-Type": "application/json"})
    error(response, 422)


def test_null_for_a_required_field_on_patch_is_422(erp_client):
    ok(erp_client.post(f"{API}/customers", json={"no": "C1"}), 201)
    err = error(erp_client.patch(f"{API}/customers/C1", json={"name": None}), 422)
    assert err["field"] == "name" and err["record"] == "Customer C1"


def test_duplicate_and_in_use_are_409(erp_client):
    ok(erp_client.post(f"{API}/units-of-measure", json={"code": "PCS"}), 201)
    dup = error(erp_client.post(f"{API}/units-of-measure", json={"code": "pcs"}), 409)
    assert dup["field"] == "code"
    ok(erp_client.post(f"{API}/items", json={"base_unit_of_measure": "PCS"}), 201)
    in_use = error(erp_client.delete(f"{API}/units-of-measure/PCS"), 409)
    assert in_use["record"] == "Unit of measure PCS" and in_use["field"] == "base_unit_of_measure"
    assert "item 1000" in in_use["message"] and in_use["fix"]


def test_renaming_a_key_is_refused(erp_client):
    ok(erp_client.post(f"{API}/salespeople", json={"code": "JO"}), 201)
    err = error(erp_client.patch(f"{API}/salespeople/JO", json={"code": "JA"}), 422)
    assert err["field"] == "code"


def test_openapi_lists_every_resource(erp_client):
    spec = ok(erp_client.get("/openapi.json"))
    paths = spec["paths"]
    for path in (
        "customers",
        "contacts",
        "salespeople",
        "currencies",
        "currency-exchange-rates",
        "payment-terms",
        "shipment-methods",
        "shipping-agents",
        "customer-price-groups",
        "units-of-measure",
        "items",
        "resources",
        "sales-prices",
        "opportunities",
        "no-series",
        "users",
    ):
        assert {"get", "post"} <= paths[f"{API}/{path}"].keys()
        assert {"get", "patch", "delete"} <= paths[f"{API}/{path}/{{ref}}"].keys()
