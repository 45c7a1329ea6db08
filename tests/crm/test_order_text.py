"""``$orderby`` on text sorts case-insensitively on every database (as Dataverse does), with the same order
page after page through ``@odata.nextLink``."""

from __future__ import annotations

import backends
import pytest

crm_app = backends.crm_app  # every test runs on SQLite and, when configured, on PostgreSQL
API = "/api/data/v9.2"
NAMES = ["beta", "Alpha", "alpha b", "Gamma", "delta", "ALPHA", "Beta2", "x_y", "XZ", "Äpfel", None]


def pages(client, params: dict, page_size: int) -> list[dict]:
    """Every row of the query, following ``@odata.nextLink``."""
    url, out = f"{API}/accounts", []
    while url:
        response = client.get(url, params=params, headers={"Prefer": f"odata.maxpagesize={page_size}"})
        assert response.status_code == 200, response.text
        body = response.json()
        out += body["value"]
        url, params = body.get("@odata.nextLink"), None
    return out


# NULLs first ascending and last descending; the primary key (assigned in creation order) breaks the tie
# between "Alpha" and "ALPHA"; "x_y" before "XZ" because "_" sorts before "z" (a case-sensitive sort would
# put "XZ" first, and "Gamma" before "beta").
ASCENDING = [None, "Alpha", "ALPHA", "alpha b", "beta", "Beta2", "delta", "Gamma", "x_y", "XZ", "Äpfel"]
DESCENDING = ["Äpfel", "XZ", "x_y", "Gamma", "delta", "Beta2", "beta", "alpha b", "Alpha", "ALPHA", None]


@pytest.mark.parametrize(("direction", "expected"), [("asc", ASCENDING), ("desc", DESCENDING)])
def test_text_orders_ignore_case(crm_client, direction, expected):
    for name in NAMES:
        response = crm_client.post(f"{API}/accounts", json={"name": name, "accountnumber": "ORDER-TEST"})
        assert response.status_code == 204, response.text
    query = {"$select": "name", "$filter": "accountnumber eq 'ORDER-TEST'", "$orderby": f"name {direction}"}
    one_page = crm_client.get(f"{API}/accounts", params=query).json()["value"]
    assert [r["name"] for r in one_page] == expected
    paged = pages(crm_client, query, 3)
    assert [r["accountid"] for r in paged] == [r["accountid"] for r in one_page]
