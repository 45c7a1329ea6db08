"""Authentication and roles of the ERP REST API: every endpoint needs a valid web service key, roles decide
what a caller may do, and every refusal is a JSON error body (401 with a WWW-Authenticate challenge, 403)."""

from __future__ import annotations

import base64

import pytest

API = "/api/v1"

# Authentication and roles do not depend on the database engine; the database-specific behaviour of the API
# is covered on both engines by test_erp_api.py.
pytestmark = pytest.mark.parametrize("erp_url", ["sqlite"], indirect=True)


def basic(user: str, key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()}


def assert_unauthorized(response) -> dict:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    body = response.json()["error"]
    assert body["code"] == "unauthorized" and body["message"]
    return body


def assert_forbidden(response) -> dict:
    assert response.status_code == 403, response.text
    body = response.json()["error"]
    assert body["code"] == "forbidden" and body["message"] and body["fix"]
    return body


def every_operation(app) -> list[tuple[str, str]]:
    """(method, concrete path) of every documented operation, with sample path parameters."""
    spec = app.openapi()
    return [
        (method.upper(), path.replace("{ref}", "X"))
        for path, operations in spec["paths"].items()
        for method in operations
    ]


def test_every_operation_requires_authentication(erp_anonymous, erp_app):
    operations = every_operation(erp_app)
    assert len(operations) > 60
    for method, path in operations:
        body = assert_unauthorized(erp_anonymous.request(method, path, json={}))
        assert "Authorization" in body["fix"], (method, path)


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic !!!notbase64"},
        {"Authorization": "Token abc"},
        {"Authorization": "Basic " + base64.b64encode(b"ADMINISTRATOR").decode()},
    ],
)
def test_bad_credentials_are_401(erp_anonymous, headers):
    assert_unauthorized(erp_anonymous.get(f"{API}/customers", headers=headers))


def test_basic_auth_with_user_name_and_key(erp_anonymous, erp_users):
    key = erp_users["order_processor"]
    response = erp_anonymous.get(f"{API}/me", headers=basic("order_processor", key))
    assert response.status_code == 200
    assert response.json() == {
        "user_name": "ORDER_PROCESSOR",
        "full_name": "Order Processor",
        "role": "order_processor",
    }
    body = assert_unauthorized(erp_anonymous.get(f"{API}/me", headers=basic("ADMINISTRATOR", key)))
    assert "does not match" in body["message"]
    assert_unauthorized(erp_anonymous.get(f"{API}/me", headers=basic("ORDER_PROCESSOR", erp_users["integration"])))


def test_disabled_user_is_401(erp_client_as):
    body = assert_unauthorized(erp_client_as("disabled").get(f"{API}/customers"))
    assert "disabled" in body["message"] and body["fix"]


def test_disabling_a_user_stops_their_key_at_once(erp_client, erp_client_as):
    integration = erp_client_as("integration")
    assert integration.get(f"{API}/customers").status_code == 200
    assert erp_client.patch(f"{API}/users/INTEGRATION", json={"enabled": False}).status_code == 200
    assert_unauthorized(integration.get(f"{API}/customers"))


@pytest.mark.parametrize("role", ["order_processor", "integration"])
def test_master_data_roles_maintain_master_data(erp_client_as, role):
    client = erp_client_as(role)
    assert client.post(f"{API}/salespeople", json={"code": "JO"}).status_code == 201
    assert client.patch(f"{API}/salespeople/JO", json={"name": "John"}).status_code == 200
    assert client.get(f"{API}/salespeople").status_code == 200
    assert client.get(f"{API}/sales-setup").status_code == 200
    assert client.get(f"{API}/no-series").status_code == 200
    assert client.delete(f"{API}/salespeople/JO").status_code == 204


@pytest.mark.parametrize("role", ["order_processor", "integration"])
def test_only_administrators_manage_users_setup_and_number_series(erp_client_as, role):
    client = erp_client_as(role)
    assert_forbidden(client.get(f"{API}/users"))
    assert_forbidden(client.post(f"{API}/users", json={"user_name": "EVE", "role": "administrator"}))
    assert_forbidden(client.patch(f"{API}/users/{role.upper()}", json={"role": "administrator"}))
    assert_forbidden(client.patch(f"{API}/general-setup", json={"lcy_code": "USD"}))
    assert_forbidden(client.patch(f"{API}/sales-setup", json={"archive_orders": False}))
    body = assert_forbidden(client.post(f"{API}/no-series", json={"code": "X", "starting_no": "X1"}))
    assert role in body["message"] and "administrator" in body["message"]


def test_change_web_service_key_replaces_the_old_key(erp_client, erp_client_as, erp_anonymous, erp_users):
    own = erp_client_as("order_processor")
    answer = own.post(f"{API}/users/ORDER_PROCESSOR/change-web-service-key")
    assert answer.status_code == 200
    new_key = answer.json()["web_service_key"]
    assert new_key != erp_users["order_processor"] and len(new_key) >= 40
    assert_unauthorized(own.get(f"{API}/me"))
    me = erp_anonymous.get(f"{API}/me", headers={"Authorization": f"Bearer {new_key}"})
    assert me.json()["user_name"] == "ORDER_PROCESSOR"

    other = erp_anonymous.post(
        f"{API}/users/INTEGRATION/change-web-service-key", headers={"Authorization": f"Bearer {new_key}"}
    )
    assert_forbidden(other) if other.status_code == 403 else pytest.fail(other.text)
    by_admin = erp_client.post(f"{API}/users/INTEGRATION/change-web-service-key")
    assert by_admin.status_code == 200
    assert_unauthorized(erp_client_as("integration").get(f"{API}/me"))


def test_keys_are_stored_only_as_hashes(erp_db, erp_users):
    from sqlalchemy import select

    from lead2cash.erp.model import ErpUser

    with erp_db.sessions() as session:
        stored = set(session.scalars(select(ErpUser.web_service_key_hash)))
    assert not stored & set(erp_users.values())
    assert all(len(h) == 64 for h in stored)


def test_users_api_never_returns_keys(erp_client):
    users = erp_client.get(f"{API}/users").json()["items"]
    assert {u["user_name"] for u in users} >= {"ADMINISTRATOR", "ORDER_PROCESSOR", "INTEGRATION", "DISABLED"}
    for user in users:
        assert not {"web_service_key", "web_service_key_hash", "password_hash"} & user.keys()
