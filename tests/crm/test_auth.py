"""Sign-in and authorization of the CRM Web API, over real HTTP requests against the ASGI app."""

from __future__ import annotations

import base64
import time
import uuid

import jwt
import pytest
from security_support import ADMIN_ID, APP_ID, CUSTOMIZER_ID, SALES_ID, bearer, echo_app, make_store
from security_support import token_for as support_token_for
from starlette.testclient import TestClient

from lead2cash.crm import security
from lead2cash.crm.access import required_privileges
from lead2cash.crm.security import Access
from lead2cash.crm.store import Store

TOKEN_URL = "/tenant-x/oauth2/v2.0/token"
SCOPE = "https://127.0.0.1:8443/.default"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    return make_store(tmp_path_factory.mktemp("auth") / "crm.db")


@pytest.fixture(scope="module")
def client(store) -> TestClient:
    with TestClient(echo_app(store)) as client:
        yield client


def token_for(client: TestClient, user: uuid.UUID, lifetime: int | None = None) -> str:
    return support_token_for(client.app, user, lifetime)


def assert_unauthorized(response, fragment: str) -> None:
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "0x80072560"
    assert fragment in response.json()["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")


def test_client_credentials_token_is_accepted_on_data_requests(client):
    form = {
        "grant_type": "client_credentials",
        "client_id": "app-1",
        "client_secret": "s3cret",
        "scope": SCOPE,
    }
    answer = client.post(TOKEN_URL, data=form)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 3000
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://127.0.0.1:8443" and claims["oid"] == str(APP_ID)
    data = client.get("/api/data/v9.2/accounts", headers=bearer(body["access_token"]))
    assert data.status_code == 200
    assert data.json()["user"] == str(APP_ID)


def test_client_secret_in_basic_authorization_header(client):
    basic = base64.b64encode(b"app-1:s3cret").decode()
    answer = client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials", "scope": SCOPE},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        (
            {"grant_type": "client_credentials", "client_id": "app-1", "client_secret": "nope"},
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "ghost", "client_secret": "s3cret"},
            401,
            "invalid_client",
        ),
        ({"client_id": "app-1", "client_secret": "s3cret"}, 400, "invalid_request"),
        ({"grant_type": "authorization_code", "client_id": "app-1"}, 400, "unsupported_grant_type"),
    ],
)
def test_token_endpoint_rejects_bad_requests_in_oauth_shape(client, form, status, error):
    answer = client.post(TOKEN_URL, data={"scope": SCOPE, **form})
    assert answer.status_code == status
    assert answer.json()["error"] == error
    assert answer.json()["error_description"].startswith("AADSTS")


def test_client_credentials_need_a_default_scope(client):
    form = {"grant_type": "client_credentials", "client_id": "app-1", "client_secret": "s3cret", "scope": "x"}
    answer = client.post(TOKEN_URL, data=form)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope"


def test_password_grant_for_interactive_users(client):
    good = {"grant_type": "password", "username": "SAM@example.com", "password": "pw-sam", "scope": SCOPE}
    answer = client.post(TOKEN_URL, data=good)
    assert answer.status_code == 200
    who = client.get("/api/data/v9.2/WhoAmI", headers=bearer(answer.json()["access_token"]))
    assert who.status_code == 200
    assert who.json()["UserId"] == str(SALES_ID)
    assert who.json()["@odata.context"].endswith("$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse")
    bad = client.post(TOKEN_URL, data={**good, "password": "guess"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"


def test_missing_token_is_401_with_challenge(client):
    assert_unauthorized(client.get("/api/data/v9.2/accounts"), "Authentication is required")
    assert_unauthorized(client.get("/api/data/v9.2/"), "Authentication is required")
    assert_unauthorized(client.get("/api/data/v9.2/accounts", headers={"Authorization": "Basic abc"}), "Authentication")


def test_expired_token_is_401(client):
    expired = token_for(client, APP_ID, lifetime=-60)
    assert_unauthorized(client.get("/api/data/v9.2/accounts", headers=bearer(expired)), "expired")


def test_forged_tokens_are_401(client):
    claims = {"oid": str(ADMIN_ID), "exp": int(time.time()) + 600}
    other_key = jwt.encode(claims, "another-secret-of-sufficient-length-for-hs256", algorithm="HS256")
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    genuine = token_for(client, SALES_ID)
    header, _payload, signature = genuine.split(".")
    raised = base64.urlsafe_b64encode(
        jwt.api_jws.json.dumps(
            {**jwt.decode(genuine, options={"verify_signature": False}), "oid": str(ADMIN_ID)}
        ).encode()
    ).rstrip(b"=")
    tampered = f"{header}.{raised.decode()}.{signature}"
    for token in (other_key, unsigned, tampered, "not-a-jwt"):
        assert_unauthorized(client.get("/api/data/v9.2/accounts", headers=bearer(token)), "invalid")


def test_disabled_user_loses_access(client, store):
    token = token_for(client, CUSTOMIZER_ID)
    assert client.get("/api/data/v9.2/accounts", headers=bearer(token)).status_code == 200
    with store.engine.begin() as conn:
        security.set_disabled(conn, CUSTOMIZER_ID, True)
    client.app.state.l2c_authenticator.forget(CUSTOMIZER_ID)
    try:
        assert_unauthorized(client.get("/api/data/v9.2/accounts", headers=bearer(token)), "disabled")
    finally:
        with store.engine.begin() as conn:
            security.set_disabled(conn, CUSTOMIZER_ID, False)
        client.app.state.l2c_authenticator.forget(CUSTOMIZER_ID)


def assert_denied(response, privilege: str) -> None:
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "0x80040220"
    assert privilege in response.json()["error"]["message"]


def test_salesperson_privileges(client):
    sam = bearer(token_for(client, SALES_ID))
    assert client.get("/api/data/v9.2/systemusers", headers=sam).status_code == 200
    assert client.post("/api/data/v9.2/accounts", headers=sam, json={}).status_code == 200
    assert_denied(client.delete(f"/api/data/v9.2/systemusers({ADMIN_ID})", headers=sam), "prvDeleteSystemuser")
    assert_denied(client.post("/api/data/v9.2/products", headers=sam, json={}), "prvCreateProduct")
    assert_denied(client.delete(f"/api/data/v9.2/accounts({APP_ID})", headers=sam), "prvDeleteAccount")
    assert_denied(client.post("/api/data/v9.2/EntityDefinitions", headers=sam, json={}), "prvCustomizeOrganization")


def test_only_customizers_change_metadata(client):
    integration = bearer(token_for(client, APP_ID))
    customizer = bearer(token_for(client, CUSTOMIZER_ID))
    admin = bearer(token_for(client, ADMIN_ID))
    keys = "/api/data/v9.2/EntityDefinitions(LogicalName='account')/Keys"
    assert_denied(client.post(keys, headers=integration, json={}), "prvCustomizeOrganization")
    assert client.post(keys, headers=customizer, json={}).status_code == 200
    assert client.post(keys, headers=admin, json={}).status_code == 200
    assert client.get(keys, headers=integration).status_code == 200
    # The integration user works with data, but does not delete users.
    assert client.delete(f"/api/data/v9.2/accounts({SALES_ID})", headers=integration).status_code == 200
    assert_denied(client.delete(f"/api/data/v9.2/systemusers({SALES_ID})", headers=integration), "prvDelete")


def test_paths_outside_the_web_api_need_no_token(client):
    answer = client.get("/tenant-x/v2.0/.well-known/openid-configuration")
    assert answer.status_code == 200
    assert answer.json()["token_endpoint"].endswith("/tenant-x/oauth2/v2.0/token")


def entity(name: str) -> str | None:
    return {"accounts": "account", "systemusers": "systemuser", "quotes": "quote"}.get(name)


@pytest.mark.parametrize(
    ("method", "path", "needed"),
    [
        ("GET", "/api/data/v9.2/accounts?$select=name", [(Access.READ, "account")]),
        ("GET", "/api/data/v9.2/", []),
        ("GET", "/api/data/v9.2/$metadata", []),
        ("POST", "/api/data/v9.2/$batch", []),
        ("POST", "/api/data/v9.2/accounts", [(Access.CREATE, "account")]),
        ("PATCH", "/api/data/v9.2/accounts(accountnumber='A-1')", [(Access.WRITE, "account")]),
        ("DELETE", "/api/data/v9.2/accounts(1)", [(Access.DELETE, "account")]),
        ("DELETE", "/api/data/v9.2/accounts(1)/primarycontactid/$ref", [(Access.WRITE, "account")]),
        ("DELETE", "/api/data/v9.1/accounts(1)/description", [(Access.WRITE, "account")]),
        (
            "POST",
            "/api/data/v9.2/accounts/Microsoft.Dynamics.CRM.UpsertMultiple",
            [(Access.CREATE, "account"), (Access.WRITE, "account")],
        ),
        ("POST", "/api/data/v9.2/WinQuote", [(Access.WRITE, "quote")]),
        ("POST", "/api/data/v9.2/CreateEntities", [(Access.CUSTOMIZE, None)]),
        ("PUT", "/api/data/v9.2/EntityDefinitions(LogicalName='account')", [(Access.CUSTOMIZE, None)]),
        ("GET", "/api/data/v9.2/nonsense", []),
    ],
)
def test_required_privileges_follow_the_request_line(method, path, needed):
    assert required_privileges(method, path.split("?")[0], entity) == needed


@pytest.mark.parametrize(
    ("role", "allowed", "denied"),
    [
        (
            security.SYSTEM_ADMINISTRATOR,
            [(Access.DELETE, "systemuser"), (Access.CUSTOMIZE, None), (Access.WRITE, "role")],
            [],
        ),
        (
            security.SYSTEM_CUSTOMIZER,
            [(Access.CUSTOMIZE, None), (Access.CREATE, "account"), (Access.READ, "systemuser")],
            [(Access.DELETE, "account"), (Access.WRITE, "systemuser")],
        ),
        (
            security.SOLUTION_CUSTOMIZER,
            [(Access.CUSTOMIZE, None), (Access.READ, "quote")],
            [(Access.CREATE, "account"), (Access.WRITE, "quote")],
        ),
        (
            security.INTEGRATION_USER,
            [(Access.DELETE, "salesorder"), (Access.CREATE, "product"), (Access.READ, "systemuser")],
            [(Access.CUSTOMIZE, None), (Access.WRITE, "systemuser"), (Access.DELETE, "team")],
        ),
        (
            security.SALESPERSON,
            [(Access.WRITE, "quote"), (Access.CREATE, "invoicedetail"), (Access.DELETE, "post")],
            [(Access.DELETE, "account"), (Access.CREATE, "product"), (Access.WRITE, "pricelevel"),
             (Access.DELETE, "systemuser"), (Access.CUSTOMIZE, None)],
        ),
    ],
)  # fmt: skip
def test_role_privileges_match_the_documented_table(role, allowed, denied):
    caller = security.Caller(uuid.uuid4(), "someone", roles=frozenset({role}))
    assert all(caller.has_privilege(access, entity) for access, entity in allowed)
    assert not any(caller.has_privilege(access, entity) for access, entity in denied)
    nobody = security.Caller(uuid.uuid4(), "no roles")
    assert not nobody.has_privilege(Access.READ, "account")
