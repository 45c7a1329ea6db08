"""The `$batch` multipart parser and serializer, on bodies shaped like real clients send them."""

from __future__ import annotations

import pytest

from lead2cash.crm.odata.batch import (
    MAX_REQUESTS,
    BatchResponse,
    ChangeSet,
    parse_batch,
    resolve_url,
    serialize_batch,
)
from lead2cash.crm.odata.errors import DataverseError

CT = 'multipart/mixed; boundary="batch_AAA"'
ROOT = "/api/data/v9.2/"


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


SDK_STYLE = """--batch_AAA
Content-Type: multipart/mixed; boundary="changeset_BBB"

--changeset_BBB
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 1

POST https://org.example.com/api/data/v9.2/accounts HTTP/1.1
Content-Type: application/json; type=entry

{"name": "Ærø ☃"}
--changeset_BBB
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 2

PATCH $1 HTTP/1.1
Content-Type: application/json
If-Match: *

{"telephone1": "555"}
--changeset_BBB--

--batch_AAA
Content-Type: application/http
Content-Transfer-Encoding: binary

GET /api/data/v9.2/accounts?$select=name&$filter=name%20eq%20'x' HTTP/1.1
Accept: application/json


--batch_AAA--
"""


@pytest.mark.parametrize("encode", [crlf, str.encode], ids=["crlf", "lf-only"])
def test_changeset_and_single_request(encode):
    items = parse_batch(CT, encode(SDK_STYLE))
    assert len(items) == 2
    changeset, single = items
    assert isinstance(changeset, ChangeSet)
    create, patch = changeset.requests
    assert (create.method, create.url, create.content_id) == (
        "POST",
        "https://org.example.com/api/data/v9.2/accounts",
        "1",
    )
    assert create.header("content-type") == "application/json; type=entry"
    assert create.body.decode() == '{"name": "Ærø ☃"}'
    assert (patch.method, patch.url, patch.content_id, patch.header("If-Match")) == ("PATCH", "$1", "2", "*")
    assert single.method == "GET"
    assert single.url == "/api/data/v9.2/accounts?$select=name&$filter=name%20eq%20'x'"
    assert single.body == b""


def test_unquoted_boundary_extra_blank_lines_and_no_headers():
    body = b"\n\n--b1\n\n\nDELETE accounts(00000000-0000-0000-0000-000000000001)\n\n--b1\n--b1--"
    (request,) = parse_batch("multipart/mixed;boundary=b1", body)
    assert (request.method, request.url, request.headers) == (
        "DELETE",
        "accounts(00000000-0000-0000-0000-000000000001)",
        [],
    )


def test_bodiless_delete_with_content_type_and_reason_text():
    body = crlf(
        "--b\nContent-Type: application/http\n\nDELETE accounts(1) HTTP/1.1\nContent-Type: application/json\n\n--b--"
    )
    (request,) = parse_batch("multipart/mixed; boundary=b", body)
    assert request.header("Content-Type") == "application/json"
    assert request.body == b""


@pytest.mark.parametrize(
    ("content_type", "body", "fragment"),
    [
        ("application/json", b"{}", "multipart/mixed"),
        ("multipart/mixed", b"--b\n\nGET accounts\n--b--", "boundary"),
        ("multipart/mixed; boundary=b", b"no parts here", "no part"),
        ("multipart/mixed; boundary=b", b"--b\n\nFETCH accounts HTTP/1.1\n--b--", "FETCH"),
        ("multipart/mixed; boundary=b", b"--b\n\nPOST\n--b--", "request line"),
        (
            "multipart/mixed; boundary=b",
            b"--b\nContent-Type: multipart/mixed; boundary=c\n\n--c\n\nGET accounts HTTP/1.1\n--c--\n--b--",
            "GET requests are not allowed inside a changeset",
        ),
        (
            "multipart/mixed; boundary=b",
            b"--b\nContent-Type: multipart/mixed; boundary=c\n\n--c\nContent-Type: multipart/mixed; boundary=d\n\n"
            b"--d\n\nPOST accounts HTTP/1.1\n--d--\n--c--\n--b--",
            "nested",
        ),
    ],
)
def test_malformed_bodies_are_400(content_type, body, fragment):
    with pytest.raises(DataverseError) as caught:
        parse_batch(content_type, body)
    assert caught.value.status == 400
    assert fragment in caught.value.message


def test_more_than_a_thousand_requests_is_refused():
    part = "--b\n\nDELETE accounts(1)\n"
    with pytest.raises(DataverseError) as caught:
        parse_batch("multipart/mixed; boundary=b", ((part * (MAX_REQUESTS + 1)) + "--b--").encode())
    assert "exceeds the limit" in caught.value.message
    assert len(parse_batch("multipart/mixed; boundary=b", ((part * MAX_REQUESTS) + "--b--").encode())) == 1000


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://org.example.com/api/data/v9.2/accounts?$top=1", ("/api/data/v9.2/accounts", "$top=1")),
        ("/api/data/v9.2/accounts(1)", ("/api/data/v9.2/accounts(1)", "")),
        ("accounts(1)/name", ("/api/data/v9.2/accounts(1)/name", "")),
        ("$1", ("/api/data/v9.2/accounts(abc)", "")),
        ("$1/lastname", ("/api/data/v9.2/accounts(abc)/lastname", "")),
    ],
)
def test_inner_urls_resolve_to_web_api_paths(url, expected):
    references = {"$1": "http://localhost:8080/api/data/v9.2/accounts(abc)"}
    assert resolve_url(url, ROOT, references) == expected


@pytest.mark.parametrize(
    ("url", "fragment"),
    [("$7", "Content-ID Reference: '$7' does not exist"), ("/other/path", "not a Web API URL"), ("$batch", "another")],
)
def test_bad_inner_urls(url, fragment):
    with pytest.raises(DataverseError) as caught:
        resolve_url(url, ROOT, {})
    assert fragment in caught.value.message


def test_serialized_response_parses_back_as_multipart():
    content_type, body = serialize_batch(
        [
            BatchResponse(204, [("OData-EntityId", "https://h/api/data/v9.2/accounts(1)")], b"", "1"),
            [BatchResponse(200, [("Content-Type", "application/json")], b'{"value": []}', "2")],
        ],
        boundary="batchresponse_X",
    )
    assert content_type == "multipart/mixed; boundary=batchresponse_X"
    text = body.decode()
    assert "HTTP/1.1 204 No Content\r\nOData-EntityId: https://h/api/data/v9.2/accounts(1)\r\n" in text
    assert "HTTP/1.1 200 OK" in text
    assert text.endswith("--batchresponse_X--\r\n")
    # The response is itself a well-formed batch body: the parser reads the same structure back.
    request_like = text.replace("HTTP/1.1 204 No Content", "GET x HTTP/1.1").replace(
        "HTTP/1.1 200 OK", "POST y HTTP/1.1"
    )
    single, changeset = parse_batch(content_type, request_like.encode())
    assert single.content_id == "1"
    assert isinstance(changeset, ChangeSet)
    assert changeset.requests[0].body == b'{"value": []}'
