"""Pure pieces of the Dataverse client: OData literals and URLs, error typing, link safety, and the rule
that the integration never imports the CRM server."""

from __future__ import annotations

import ast
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

import lead2cash.integration
from lead2cash.integration.dataverse import (
    ChangeTrackingExpired,
    DataverseClient,
    DataverseError,
    DataverseSettings,
    NotFound,
    PreconditionFailed,
    StaticToken,
    Throttled,
    filter_in,
    literal,
)
from lead2cash.integration.dataverse.errors import error_for
from lead2cash.integration.dataverse.odata import format_key, id_from_entity_url, prefer, query_string
from lead2cash.integration.dataverse.transport import Transport

GUID = "2B4E3F6A-0000-4000-8000-00000000ABCD"


def test_literals():
    assert literal("O'Brien") == "'O''Brien'"
    assert literal(None) == "null" and literal(True) == "true" and literal(Decimal("12.50")) == "12.50"
    assert literal(uuid.UUID(GUID)) == GUID.lower()
    assert literal(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    assert literal(date(2026, 1, 31)) == "2026-01-31"
    with pytest.raises(ValueError):
        literal(datetime(2026, 1, 1))  # naive times are ambiguous


def test_keys():
    assert format_key(GUID) == f"({GUID.lower()})"
    assert format_key({"accountnumber": "A'1", "n": 2}) == "(accountnumber='A''1',n=2)"
    with pytest.raises(ValueError):
        format_key("A-1")  # not a GUID: alternate keys must be named
    assert id_from_entity_url(f"https://org/api/data/v9.2/accounts({GUID})") == GUID.lower()
    assert id_from_entity_url(None) is None


def test_query_strings_keep_odata_readable_and_escape_what_matters():
    text = query_string(select=["name", "accountid"], filter="name eq 'A&B #1 + 5%'", top=3, count=True)
    assert text == "?$select=name,accountid&$filter=name%20eq%20'A%26B%20%231%20%2B%205%25'&$top=3&$count=true"
    assert query_string() == ""
    assert filter_in("accountid", [GUID]) == (
        f"Microsoft.Dynamics.CRM.In(PropertyName='accountid',PropertyValues=[\"{GUID}\"])"
    )
    assert prefer(track_changes=True, max_page_size=10) == {"Prefer": "odata.track-changes,odata.maxpagesize=10"}


def response(status: int, body: object, headers: dict | None = None) -> httpx.Response:
    request = httpx.Request("GET", "https://org/api/data/v9.2/accounts")
    if isinstance(body, (dict, list)):
        return httpx.Response(status, json=body, headers=headers, request=request)
    return httpx.Response(status, text=str(body), headers=headers, request=request)


def test_errors_are_typed_by_status_and_code():
    throttled = error_for(response(429, {"error": {"code": "0x80072322", "message": "slow"}}, {"Retry-After": "7"}))
    assert isinstance(throttled, Throttled) and throttled.retry_after == 7 and throttled.transient
    exists = error_for(response(412, {"error": {"code": "0x80040237", "message": "exists"}}))
    assert isinstance(exists, PreconditionFailed) and exists.already_exists
    assert isinstance(error_for(response(404, {"error": {"code": "0x80040217", "message": "x"}})), NotFound)
    expired = error_for(response(400, {"error": {"code": "0x80044352", "message": "expired"}}))
    assert isinstance(expired, ChangeTrackingExpired)
    html = error_for(response(502, "<html>Bad gateway</html>"))
    assert html.status == 502 and html.code == "" and "Bad gateway" in html.message
    assert "GET https://org/api/data/v9.2/accounts" in str(html)


@pytest.mark.anyio
async def test_links_to_other_hosts_are_refused():
    transport = Transport(DataverseSettings(url="https://org.example"), StaticToken("t"))
    assert transport.url("accounts") == "https://org.example/api/data/v9.2/accounts"
    assert transport.url("https://ORG.example/api/data/v9.2/accounts?$skiptoken=1").endswith("$skiptoken=1")
    with pytest.raises(DataverseError, match="another host"):
        transport.url("https://elsewhere.example/api/data/v9.2/accounts")
    await transport.aclose()


@pytest.mark.anyio
async def test_function_parameters_are_sent_as_aliases():
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"value": 1})

    settings = DataverseSettings(url="https://org.example")
    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    async with DataverseClient(settings, transport=Transport(settings, StaticToken("t"), http=http)) as dv:
        assert await dv.call_function("CountThings", {"Name": "O'Neil", "Top": 5}) == {"value": 1}
    assert seen == ["https://org.example/api/data/v9.2/CountThings(Name=@Name,Top=@Top)?@Name='O''Neil'&@Top=5"]


def test_the_integration_never_imports_the_crm_server():
    root = Path(lead2cash.integration.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            if any(n == "lead2cash.crm" or n.startswith("lead2cash.crm.") for n in names):
                offenders.append(str(path.relative_to(root)))
    assert offenders == []
