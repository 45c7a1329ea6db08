"""Header totals follow their lines, and a request that writes many lines of one header computes and writes
the header's totals once (its ``versionnumber`` comes right after the lines'), not once per line."""

from __future__ import annotations

import backends
import pytest
import sqlalchemy as sa
import test_sales
from test_sales import API, create, get

crm_app = backends.crm_app  # every test runs on SQLite and, when configured, on PostgreSQL
catalog = test_sales.catalog  # a customer, a price list pricing the product at 12.50, the product and its unit
LINE = "Microsoft.Dynamics.CRM.salesorderdetail"
TOTALS = "totallineitemamount,totaldiscountamount,totalamount,versionnumber"


@pytest.fixture
def statements(crm_app):
    """The SQL statements the server runs while the test body runs."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        seen.append(statement)

    sa.event.listen(crm_app.state.l2c_store.engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(crm_app.state.l2c_store.engine, "before_cursor_execute", record)


def totals_work(statements: list[str]) -> tuple[int, int]:
    """(aggregates over order lines, updates of orders) among ``statements``."""
    sums = sum(1 for s in statements if "sum(salesorderdetail.baseamount)" in s)
    updates = sum(1 for s in statements if s.lstrip().startswith("UPDATE salesorder "))
    return sums, updates


def lines(client, order: str) -> list[dict]:
    params = {"$select": "quantity,versionnumber", "$filter": f"_salesorderid_value eq {order}"}
    return client.get(f"{API}/salesorderdetails", params=params).json()["value"]


def bulk(client, name: str, targets: list[dict]):
    response = client.post(f"{API}/salesorderdetails/Microsoft.Dynamics.CRM.{name}", json={"Targets": targets})
    assert response.status_code in (200, 204), response.text
    return response


def test_bulk_line_writes_compute_header_totals_once(crm_client, catalog, statements):
    order = create(
        crm_client,
        "salesorders",
        {
            "name": "Bulk order",
            "customerid_account@odata.bind": f"/accounts({catalog['account']})",
            "pricelevelid@odata.bind": f"/pricelevels({catalog['pricelevel']})",
            "discountpercentage": 10,
            "freightamount": 5,
        },
    )
    product = {
        "salesorderid@odata.bind": f"/salesorders({order})",
        "productid@odata.bind": f"/products({catalog['product']})",
        "uomid@odata.bind": f"/uoms({catalog['uom']})",
    }
    statements.clear()
    bulk(crm_client, "CreateMultiple", [{"@odata.type": LINE, **product, "quantity": n} for n in range(1, 6)])
    assert totals_work(statements) == (1, 1)
    header = get(crm_client, "salesorders", order, TOTALS)
    # 15 pieces at 12.50 = 187.50, less 10% = 168.75, plus 5.00 freight
    assert (header["totallineitemamount"], header["totaldiscountamount"], header["totalamount"]) == (
        187.5,
        18.75,
        173.75,
    )
    written = lines(crm_client, order)
    assert header["versionnumber"] == max(line["versionnumber"] for line in written) + 1

    updates = [
        {"@odata.type": LINE, "salesorderdetailid": line["salesorderdetailid"], "quantity": 2} for line in written
    ]
    statements.clear()
    bulk(crm_client, "UpdateMultiple", updates)
    assert totals_work(statements) == (1, 1)
    header = get(crm_client, "salesorders", order, TOTALS)
    assert (header["totallineitemamount"], header["totalamount"]) == (125.0, 117.5)  # 10 x 12.50, -10%, +5
    assert header["versionnumber"] == max(line["versionnumber"] for line in lines(crm_client, order)) + 1

    gone = written[0]["salesorderdetailid"]
    assert crm_client.delete(f"{API}/salesorderdetails({gone})").status_code == 204
    assert get(crm_client, "salesorders", order, TOTALS)["totallineitemamount"] == 100.0
