"""Sales behaviour over the Web API: pricing and totals, quote/order/opportunity state machines and their
messages, read-only documents, posts."""

from __future__ import annotations

import re

import backends
import pytest

crm_app = backends.crm_app  # every test runs on SQLite and, when configured, on PostgreSQL
API = "/api/data/v9.2"
GUID = re.compile(r"\(([0-9a-f-]{36})\)")


def create(client, entity_set: str, body: dict) -> str:
    response = client.post(f"{API}/{entity_set}", json=body)
    assert response.status_code == 204, response.text
    return GUID.search(response.headers["OData-EntityId"]).group(1)


def get(client, entity_set: str, id: str, select: str | None = None) -> dict:
    params = {"$select": select} if select else {}
    response = client.get(f"{API}/{entity_set}({id})", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def patch(client, entity_set: str, id: str, body: dict):
    return client.patch(f"{API}/{entity_set}({id})", json=body, headers={"If-Match": "*"})


@pytest.fixture
def catalog(crm_client) -> dict[str, str]:
    """A customer, a price list pricing a product at 12.50, and a product with list price 20."""
    ids = {"account": create(crm_client, "accounts", {"name": "Contoso"})}
    ids["pricelevel"] = create(crm_client, "pricelevels", {"name": "Retail"})
    ids["uomschedule"] = create(crm_client, "uomschedules", {"name": "Units", "baseuomname": "Piece"})
    ids["uom"] = create(
        crm_client, "uoms", {"name": "Piece", "uomscheduleid@odata.bind": f"/uomschedules({ids['uomschedule']})"}
    )
    ids["product"] = create(crm_client, "products", {"name": "Widget", "productnumber": "W-1", "price": 20})
    create(
        crm_client,
        "productpricelevels",
        {
            "pricelevelid@odata.bind": f"/pricelevels({ids['pricelevel']})",
            "productid@odata.bind": f"/products({ids['product']})",
            "uomid@odata.bind": f"/uoms({ids['uom']})",
            "amount": 12.5,
        },
    )
    return ids


def new_quote(client, catalog, **extra) -> str:
    body = {
        "name": "Q",
        "customerid_account@odata.bind": f"/accounts({catalog['account']})",
        "pricelevelid@odata.bind": f"/pricelevels({catalog['pricelevel']})",
        **extra,
    }
    return create(client, "quotes", body)


def add_line(client, entity_set: str, header: str, header_id: str, **values) -> str:
    body = {f"{header}id@odata.bind": f"/{header}s({header_id})", **values}
    return create(client, entity_set, body)


def quote_with_lines(client, catalog) -> str:
    quote = new_quote(client, catalog, discountpercentage=10, freightamount=5)
    add_line(
        client,
        "quotedetails",
        "quote",
        quote,
        **{
            "productid@odata.bind": f"/products({catalog['product']})",
            "uomid@odata.bind": f"/uoms({catalog['uom']})",
            "quantity": 4,
            "tax": 3,
        },
    )
    add_line(
        client,
        "quotedetails",
        "quote",
        quote,
        productdescription="Write-in",
        priceperunit=7.25,
        quantity=2,
        manualdiscountamount=0.5,
    )
    return quote


def close_body(parameter: str, parent: str, id: str, status: int | None = None, **extra) -> dict:
    entity_set = "opportunities" if parent == "opportunity" else f"{parent}s"
    body: dict = {parameter: {"subject": "closing", f"{parent}id@odata.bind": f"/{entity_set}({id})", **extra}}
    if status is not None:
        body["Status"] = status
    return body


def test_line_and_header_totals(crm_client, catalog):
    quote = quote_with_lines(crm_client, catalog)
    lines = crm_client.get(
        f"{API}/quotedetails",
        params={
            "$select": "priceperunit,baseamount,extendedamount,ispriceoverridden",
            "$filter": f"_quoteid_value eq {quote}",
            "$orderby": "baseamount",
        },
    ).json()["value"]
    assert [
        (line["priceperunit"], line["baseamount"], line["extendedamount"], line["ispriceoverridden"]) for line in lines
    ] == [
        (7.25, 14.5, 14.0, True),  # write-in: explicit price kept
        (12.5, 50.0, 53.0, False),  # catalogue product: price list amount, not the product's list price
    ]
    header = get(crm_client, "quotes", quote)
    assert header["totallineitemamount"] == 64.0  # 50 + (14.5 - 0.5)
    assert header["totallineitemdiscountamount"] == 0.5
    assert header["totaltax"] == 3.0
    assert header["totaldiscountamount"] == 6.4  # 10 %
    assert header["totalamountlessfreight"] == 57.6
    assert header["totalamount"] == 65.6  # + freight 5 + tax 3

    assert patch(crm_client, "quotes", quote, {"freightamount": 0, "discountpercentage": 0}).status_code == 204
    assert get(crm_client, "quotes", quote, "totalamount")["totalamount"] == 67.0


def test_quote_lifecycle_activate_lock_win(crm_client, catalog):
    quote = quote_with_lines(crm_client, catalog)
    assert get(crm_client, "quotes", quote)["quotenumber"].startswith("QUO-")
    assert patch(crm_client, "quotes", quote, {"statecode": 1, "statuscode": 2}).status_code == 204

    locked = patch(crm_client, "quotes", quote, {"name": "Changed"})
    assert locked.status_code == 400 and "draft" in locked.json()["error"]["message"]
    line = crm_client.post(
        f"{API}/quotedetails", json={"quoteid@odata.bind": f"/quotes({quote})", "priceperunit": 1, "quantity": 1}
    )
    assert line.status_code == 400

    by_patch = patch(crm_client, "quotes", quote, {"statecode": 2, "statuscode": 4})
    assert by_patch.status_code == 400
    assert by_patch.json()["error"]["code"] == "0x80100005"
    assert "WinQuote" in by_patch.json()["error"]["message"]

    won = crm_client.post(f"{API}/WinQuote", json=close_body("QuoteClose", "quote", quote, 4))
    assert won.status_code == 204, won.text
    body = get(crm_client, "quotes", quote, "statecode,statuscode")
    assert (body["statecode"], body["statuscode"]) == (2, 4)
    closes = crm_client.get(f"{API}/quotecloses", params={"$filter": f"_quoteid_value eq {quote}"}).json()["value"]
    assert len(closes) == 1 and closes[0]["statecode"] == 1

    again = crm_client.post(f"{API}/WinQuote", json=close_body("QuoteClose", "quote", quote, 4))
    assert again.status_code == 400


def test_close_quote_needs_a_closing_status(crm_client, catalog):
    quote = new_quote(crm_client, catalog)
    assert crm_client.post(f"{API}/CloseQuote", json=close_body("QuoteClose", "quote", quote, 4)).status_code == 400
    assert crm_client.post(f"{API}/CloseQuote", json=close_body("QuoteClose", "quote", quote, 6)).status_code == 204
    body = get(crm_client, "quotes", quote, "statecode,statuscode")
    assert (body["statecode"], body["statuscode"]) == (3, 6)


def test_revise_quote_keeps_the_number_and_copies_lines(crm_client, catalog):
    quote = quote_with_lines(crm_client, catalog)
    patch(crm_client, "quotes", quote, {"statecode": 1})
    original = get(crm_client, "quotes", quote)
    response = crm_client.post(
        f"{API}/ReviseQuote",
        json={
            "QuoteId": quote,
            "ColumnSet": {
                "AllColumns": False,
                "Columns": ["quoteid", "quotenumber", "revisionnumber", "statecode", "totalamount"],
            },
        },
    )
    assert response.status_code == 200, response.text
    revised = response.json()
    assert revised["@odata.context"].endswith("$metadata#quotes/$entity")
    assert revised["quoteid"] != quote
    assert (revised["quotenumber"], revised["revisionnumber"], revised["statecode"]) == (original["quotenumber"], 1, 0)
    assert revised["totalamount"] == original["totalamount"]
    old = get(crm_client, "quotes", quote, "statecode,statuscode")
    assert (old["statecode"], old["statuscode"]) == (3, 7)
    copied = crm_client.get(
        f"{API}/quotedetails", params={"$filter": f"_quoteid_value eq {revised['quoteid']}"}
    ).json()["value"]
    assert len(copied) == 2
    assert patch(crm_client, "quotes", revised["quoteid"], {"name": "Editable again"}).status_code == 204


def test_convert_quote_to_sales_order(crm_client, catalog):
    quote = quote_with_lines(crm_client, catalog)
    patch(crm_client, "quotes", quote, {"statecode": 1})
    response = crm_client.post(
        f"{API}/ConvertQuoteToSalesOrder",
        json={
            "QuoteId": quote,
            "ColumnSet": {"AllColumns": False, "Columns": ["salesorderid", "quoteid", "customerid"]},
        },
    )
    assert response.status_code == 200, response.text
    order = response.json()
    assert order["_quoteid_value"] == quote
    assert order["_customerid_value"] == catalog["account"]
    full = get(crm_client, "salesorders", order["salesorderid"])
    assert full["ordernumber"].startswith("ORD-")
    assert full["totalamount"] == get(crm_client, "quotes", quote, "totalamount")["totalamount"]
    assert (full["statecode"], full["statuscode"]) == (0, 1)
    lines = crm_client.get(
        f"{API}/salesorderdetails", params={"$filter": f"_salesorderid_value eq {order['salesorderid']}"}
    ).json()["value"]
    assert sorted(line["extendedamount"] for line in lines) == [14.0, 53.0]
    assert all(line["_quotedetailid_value"] for line in lines)
    won = get(crm_client, "quotes", quote, "statecode,statuscode")
    assert (won["statecode"], won["statuscode"]) == (2, 4)


def test_submitted_order_is_read_only_except_for_the_integration_user(crm_client, crm_client_as, catalog):
    sales = crm_client_as("sales")
    order = create(
        sales,
        "salesorders",
        {
            "name": "O",
            "customerid_account@odata.bind": f"/accounts({catalog['account']})",
            "pricelevelid@odata.bind": f"/pricelevels({catalog['pricelevel']})",
        },
    )
    add_line(sales, "salesorderdetails", "salesorder", order, priceperunit=10, quantity=3)
    assert patch(sales, "salesorders", order, {"statecode": 1, "statuscode": 3}).status_code == 204
    submitted = get(sales, "salesorders", order)
    assert (submitted["statecode"], submitted["statuscode"]) == (1, 3)
    assert submitted["submitdate"] is not None
    assert submitted["totalamount"] == 30.0

    denied = patch(sales, "salesorders", order, {"name": "Changed by sales"})
    assert denied.status_code == 403
    line = sales.post(
        f"{API}/salesorderdetails",
        json={"salesorderid@odata.bind": f"/salesorders({order})", "priceperunit": 1, "quantity": 1},
    )
    assert line.status_code == 403
    assert patch(crm_client, "salesorders", order, {"requestdeliveryby": "2030-01-31"}).status_code == 204

    fulfilled = crm_client.post(f"{API}/FulfillSalesOrder", json=close_body("OrderClose", "salesorder", order, 100001))
    assert fulfilled.status_code == 204, fulfilled.text
    done = get(crm_client, "salesorders", order, "statecode,statuscode,datefulfilled")
    assert (done["statecode"], done["statuscode"]) == (3, 100001) and done["datefulfilled"]
    assert (
        crm_client.post(f"{API}/CancelSalesOrder", json=close_body("OrderClose", "salesorder", order, 4)).status_code
        == 400
    )


def test_cancel_sales_order(crm_client, catalog):
    order = create(
        crm_client, "salesorders", {"name": "C", "pricelevelid@odata.bind": f"/pricelevels({catalog['pricelevel']})"}
    )
    assert patch(crm_client, "salesorders", order, {"statecode": 2, "statuscode": 4}).status_code == 400
    assert (
        crm_client.post(f"{API}/CancelSalesOrder", json=close_body("OrderClose", "salesorder", order, 4)).status_code
        == 204
    )
    assert get(crm_client, "salesorders", order, "statecode")["statecode"] == 2


def test_opportunity_win_lose_and_reopen(crm_client, catalog):
    opportunity = create(
        crm_client,
        "opportunities",
        {"name": "Deal", "estimatedvalue": 1000, "customerid_account@odata.bind": f"/accounts({catalog['account']})"},
    )
    by_patch = patch(crm_client, "opportunities", opportunity, {"statecode": 1, "statuscode": 3})
    assert (by_patch.status_code, by_patch.json()["error"]["code"]) == (400, "0x80100005")

    won = crm_client.post(
        f"{API}/WinOpportunity", json=close_body("OpportunityClose", "opportunity", opportunity, 3, actualrevenue=900)
    )
    assert won.status_code == 204, won.text
    body = get(crm_client, "opportunities", opportunity, "statecode,statuscode,actualvalue,actualclosedate")
    assert (body["statecode"], body["statuscode"], body["actualvalue"]) == (1, 3, 900.0)
    assert body["actualclosedate"]
    assert patch(crm_client, "opportunities", opportunity, {"name": "Closed deal"}).status_code == 400
    lose_won = crm_client.post(
        f"{API}/LoseOpportunity", json=close_body("OpportunityClose", "opportunity", opportunity, 4)
    )
    assert lose_won.status_code == 400

    assert patch(crm_client, "opportunities", opportunity, {"statecode": 0, "statuscode": 2}).status_code == 204
    lost = crm_client.post(f"{API}/LoseOpportunity", json=close_body("OpportunityClose", "opportunity", opportunity, 5))
    assert lost.status_code == 204
    body = get(crm_client, "opportunities", opportunity, "statecode,statuscode")
    assert (body["statecode"], body["statuscode"]) == (2, 5)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [({"statecode": 0, "statuscode": 2}, "not a valid status code"), ({"statecode": 7}, "outside the valid range")],
)
def test_invalid_state_status_pairs(crm_client, body, fragment):
    account = create(crm_client, "accounts", {"name": "S"})
    response = patch(crm_client, "accounts", account, body)
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]


def test_setting_only_the_status_derives_the_state(crm_client):
    account = create(crm_client, "accounts", {"name": "S"})
    assert patch(crm_client, "accounts", account, {"statuscode": 2}).status_code == 204
    assert get(crm_client, "accounts", account, "statecode")["statecode"] == 1


def test_posts_are_create_and_delete_only(crm_client, catalog):
    post = create(
        crm_client,
        "posts",
        {
            "text": "Order released",
            "source": 1,
            "type": 7,
            "regardingobjectid_account@odata.bind": f"/accounts({catalog['account']})",
        },
    )
    body = get(crm_client, "posts", post)
    assert body["_regardingobjectid_value"] == catalog["account"]
    update = patch(crm_client, "posts", post, {"text": "edited"})
    assert update.status_code == 400
    missing = crm_client.post(f"{API}/posts", json={"text": "nowhere"})
    assert missing.status_code == 400 and "regardingobjectid" in missing.json()["error"]["message"]
    assert crm_client.delete(f"{API}/posts({post})").status_code == 204


def test_actions_validate_their_parameters(crm_client, catalog):
    quote = new_quote(crm_client, catalog)
    assert crm_client.post(f"{API}/WinQuote", json={"Status": 4}).status_code == 400
    assert crm_client.post(f"{API}/WinQuote", json=[1, 2]).status_code == 400
    assert (
        crm_client.post(f"{API}/WinQuote", json=close_body("QuoteClose", "quote", quote, 4)).status_code == 400
    )  # draft
    assert crm_client.post(f"{API}/ReviseQuote", json={"QuoteId": "nope"}).status_code == 400
    missing = crm_client.post(
        f"{API}/ConvertQuoteToSalesOrder", json={"QuoteId": "00000000-0000-0000-0000-000000000009"}
    )
    assert missing.status_code == 404


def test_integration_marks_a_fulfilled_order_invoiced_and_an_invoice_paid(crm_client, crm_client_as, catalog):
    sales = crm_client_as("sales")
    order = create(
        crm_client, "salesorders", {"name": "I", "pricelevelid@odata.bind": f"/pricelevels({catalog['pricelevel']})"}
    )
    crm_client.post(f"{API}/FulfillSalesOrder", json=close_body("OrderClose", "salesorder", order, 100001))
    assert patch(sales, "salesorders", order, {"statecode": 4, "statuscode": 100003}).status_code == 400
    assert patch(crm_client, "salesorders", order, {"statecode": 4, "statuscode": 100003}).status_code == 204
    assert get(crm_client, "salesorders", order, "statuscode")["statuscode"] == 100003

    invoice = create(
        crm_client,
        "invoices",
        {
            "name": "INV",
            "statecode": 0,
            "statuscode": 4,
            "pricelevelid@odata.bind": f"/pricelevels({catalog['pricelevel']})",
        },
    )
    assert get(crm_client, "invoices", invoice, "invoicenumber,statuscode")["statuscode"] == 4  # Billed
    assert patch(crm_client, "invoices", invoice, {"statecode": 2, "statuscode": 100002}).status_code == 204
    paid = get(crm_client, "invoices", invoice, "statecode,statuscode")
    assert (paid["statecode"], paid["statuscode"]) == (2, 100002)


def test_bulk_created_lines_go_through_the_pricing_rules(crm_client, catalog):
    quote = new_quote(crm_client, catalog)
    targets = [
        {
            "@odata.type": "Microsoft.Dynamics.CRM.quotedetail",
            "quoteid@odata.bind": f"/quotes({quote})",
            "productid@odata.bind": f"/products({catalog['product']})",
            "uomid@odata.bind": f"/uoms({catalog['uom']})",
            "quantity": n,
        }
        for n in (1, 2, 3)
    ]
    response = crm_client.post(f"{API}/quotedetails/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets})
    assert response.status_code == 200, response.text
    assert get(crm_client, "quotes", quote, "totalamount")["totalamount"] == 75.0  # 6 x 12.50


def test_only_draft_or_closed_quotes_can_be_deleted_with_their_lines(crm_client, catalog):
    active = quote_with_lines(crm_client, catalog)
    patch(crm_client, "quotes", active, {"statecode": 1})
    assert crm_client.delete(f"{API}/quotes({active})").status_code == 400
    crm_client.post(f"{API}/CloseQuote", json=close_body("QuoteClose", "quote", active, 6))
    assert crm_client.delete(f"{API}/quotes({active})").status_code == 204
    left = crm_client.get(f"{API}/quotedetails", params={"$filter": f"_quoteid_value eq {active}"}).json()["value"]
    assert left == []
    draft = quote_with_lines(crm_client, catalog)
    assert crm_client.delete(f"{API}/quotes({draft})").status_code == 204
