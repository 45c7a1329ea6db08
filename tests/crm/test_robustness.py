"""Malformed input never crashes the server: random query options, keys and bodies get 4xx Dataverse errors."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

API = "/api/data/v9.2"
NAMES = ["name", "accountnumber", "creditlimit", "_parentaccountid_value", "createdon", "statecode", "customertypecode",
         "primarycontactid", "contact_customer_accounts", "nosuch", "", " ", "$", "@p1"]  # fmt: skip
TEXT = st.one_of(st.sampled_from(NAMES), st.text(max_size=12))
OPTION_VALUE = st.lists(
    st.one_of(TEXT, st.sampled_from([",", "(", ")", ";", "=", "'", " desc", " asc", "$select=", "$top=2"])),
    max_size=6,
).map("".join)
OPTIONS = st.dictionaries(
    st.sampled_from(["$select", "$orderby", "$top", "$expand", "$count", "$skiptoken", "$deltatoken", "$filter"]),
    OPTION_VALUE,
    max_size=4,
)
JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)
BODY_KEYS = st.one_of(
    st.sampled_from([*NAMES, "parentaccountid@odata.bind", "primarycontactid@odata.bind", "@odata.type", "accountid"]),
    st.text(max_size=10),
)
BODY = st.dictionaries(BODY_KEYS, JSON_VALUE, max_size=5)
SAFE = "=,'-"
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_dataverse_error_or_success(response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"].startswith("0x") and error["message"]


@SLOW
@given(options=OPTIONS)
def test_random_query_options_never_crash(crm_client, options):
    assert_dataverse_error_or_success(crm_client.get(f"{API}/accounts", params=options))


@SLOW
@given(key=st.text(max_size=30), rest=st.sampled_from(["", "/name", "/primarycontactid", "/x/$ref", "/$count"]))
def test_random_keys_never_crash(crm_client, key, rest):
    for method in ("GET", "PATCH", "DELETE"):
        body = {"name": "x"} if method == "PATCH" else None
        response = crm_client.request(method, f"{API}/accounts({quote(key, safe=SAFE)}){rest}", json=body)
        assert_dataverse_error_or_success(response)


@SLOW
@given(body=BODY)
def test_random_bodies_never_crash(crm_client, body):
    response = crm_client.post(f"{API}/accounts", content=json.dumps(body))
    assert_dataverse_error_or_success(response)


TOKEN = st.dictionaries(st.sampled_from(["k", "n", "v", "a", "p", "x"]), JSON_VALUE, max_size=4)


@SLOW
@given(token=TOKEN, orderby=st.sampled_from(["", "name", "creditlimit desc", "createdon"]))
def test_tampered_skip_tokens_are_refused_cleanly(crm_client, crm_app, token, orderby):
    crm_app.state.l2c_store.registry.get("account").change_tracking = True
    raw = base64.urlsafe_b64encode(json.dumps(token).encode()).decode().rstrip("=")
    params = {"$select": "name", "$skiptoken": raw, **({"$orderby": orderby} if orderby else {})}
    assert_dataverse_error_or_success(crm_client.get(f"{API}/accounts", params=params))
    tracked = {"$select": "name", "$skiptoken": raw, "$deltatoken": "1!01/01/2030 00:00:00"}
    assert_dataverse_error_or_success(crm_client.get(f"{API}/accounts", params=tracked))
