"""Service-protection limits and fault switches: what a client sees, and that faults keep their promises
(a 503 did nothing, a timed-out write was committed)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from security_support import ADMIN_ID, APP_ID, SALES_ID, bearer, echo_app, make_store, token_for
from starlette.testclient import TestClient

from lead2cash.crm.limits import LimitConfig, ServiceProtection


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(**config) -> tuple[ServiceProtection, FakeClock]:
    clock = FakeClock()
    return ServiceProtection(LimitConfig(enabled=True, **config), clock=clock), clock


def test_request_count_limit_trips_after_the_window_is_full_and_frees_up():
    protection, clock = limiter(max_requests=3, window_seconds=10)
    for _ in range(3):
        assert protection.check("u") is None
        protection.finished("u", clock.now)
        clock.now += 1
    rejected = protection.check("u")
    assert rejected is not None and rejected.status == 429
    assert rejected.code == "0x80072322"
    assert "limit of 3 over time window of 10 seconds" in rejected.message
    assert rejected.headers["Retry-After"] == "7"  # the first request leaves the window at t+10
    assert protection.check("other user") is None  # limits are per user
    clock.now += 7
    assert protection.check("u") is None


def test_concurrency_limit_trips_immediately():
    protection, clock = limiter(max_concurrent=2)
    assert protection.check("u") is None
    assert protection.check("u") is None
    rejected = protection.check("u")
    assert rejected is not None and rejected.code == "0x80072326"
    assert rejected.headers["Retry-After"] == "1"
    protection.finished("u", clock.now)
    assert protection.check("u") is None


def test_execution_time_limit_counts_how_long_requests_ran():
    protection, clock = limiter(max_execution_seconds=2, window_seconds=60)
    assert protection.check("u") is None
    started = clock.now
    clock.now += 2.5  # one slow request uses up the budget
    protection.finished("u", started)
    rejected = protection.check("u")
    assert rejected is not None and rejected.code == "0x80072321"
    assert "2,000 milliseconds over time window of 60 seconds" in rejected.message
    assert rejected.headers["Retry-After"] == "60"
    clock.now += 60
    assert protection.check("u") is None


def test_scaling_keeps_the_allowed_rate():
    default = LimitConfig()
    scaled = default.scaled(0.01)
    assert scaled.enabled and scaled.max_requests == 60 and scaled.window_seconds == pytest.approx(3)
    assert scaled.max_requests / scaled.window_seconds == pytest.approx(default.max_requests / 300)
    assert (default.max_requests, default.window_seconds, default.max_concurrent) == (6000, 300, 52)
    assert not default.enabled


@pytest.fixture
def client(tmp_path):
    store = make_store(tmp_path / "crm.db")
    with TestClient(echo_app(store)) as client:
        client.store = store
        client.admin = bearer(token_for(client.app, ADMIN_ID))
        client.user = bearer(token_for(client.app, APP_ID))
        yield client


def account_names(store) -> list[str]:
    table = store.tables["account"]
    with store.engine.connect() as conn:
        return list(conn.scalars(sa.select(table.c.name)))


def test_limits_switched_on_over_http_answer_429_with_retry_after(client):
    assert client.get("/_l2c/limits", headers=client.admin).json()["enabled"] is False
    answer = client.put("/_l2c/limits", headers=client.admin, json={"max_requests": 2, "window_seconds": 120})
    assert answer.status_code == 200, answer.text
    answer = client.put("/_l2c/limits", headers=client.admin, json={"enabled": True})
    assert answer.json()["max_requests"] == 2 and answer.json()["enabled"] is True
    first = client.get("/api/data/v9.2/accounts", headers=client.user)
    assert first.status_code == 200
    assert first.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] == "1"
    assert client.get("/api/data/v9.2/accounts", headers=client.user).status_code == 200
    throttled = client.get("/api/data/v9.2/accounts", headers=client.user)
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "0x80072322"
    assert 1 <= int(throttled.headers["Retry-After"]) <= 120
    # Another user has a budget of their own; the control endpoints are never throttled.
    sales = bearer(token_for(client.app, SALES_ID))
    assert client.get("/api/data/v9.2/accounts", headers=sales).status_code == 200
    client.put("/_l2c/limits", headers=client.admin, json={"enabled": False})
    assert client.get("/api/data/v9.2/accounts", headers=client.user).status_code == 200


def test_scale_over_http(client):
    answer = client.put("/_l2c/limits", headers=client.admin, json={"scale": 0.01})
    assert answer.json() == {
        "enabled": True,
        "max_requests": 60,
        "window_seconds": pytest.approx(3),
        "max_execution_seconds": pytest.approx(12),
        "max_concurrent": 52,
    }


def test_control_endpoints_need_an_administrator(client):
    assert client.put("/_l2c/limits", json={"enabled": True}).status_code == 401
    denied = client.put("/_l2c/faults", headers=client.user, json={"fail_next": 1})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "0x80040220"
    invalid = client.put("/_l2c/faults", headers=client.admin, json={"fail_fraction": 2})
    assert invalid.status_code == 422


def test_failing_requests_answer_503_and_do_nothing(client):
    client.put("/_l2c/faults", headers=client.admin, json={"fail_next": 2, "methods": ["post"]})
    for _ in range(2):
        failed = client.post("/api/data/v9.2/accounts", headers=client.user, json={"name": "lost"})
        assert failed.status_code == 503
        assert failed.json()["error"]["code"] == "0x80044155"
    assert client.post("/api/data/v9.2/accounts", headers=client.user, json={"name": "kept"}).status_code == 200
    assert account_names(client.store) == ["kept"]
    assert client.get("/_l2c/faults", headers=client.admin).json()["injected"]["fail"] == 2


def test_fail_fraction_spares_reads_when_limited_to_writes_and_spares_sign_in(client):
    client.put("/_l2c/faults", headers=client.admin, json={"fail_fraction": 1.0, "methods": ["POST"]})
    assert client.get("/api/data/v9.2/accounts", headers=client.user).status_code == 200
    assert client.post("/api/data/v9.2/accounts", headers=client.user, json={}).status_code == 503
    form = {"grant_type": "client_credentials", "client_id": "app-1", "client_secret": "s3cret"}
    token = client.post("/t/oauth2/v2.0/token", data={**form, "scope": "https://x/.default"})
    assert token.status_code == 200
    client.put("/_l2c/faults", headers=client.admin, json={})
    assert client.post("/api/data/v9.2/accounts", headers=client.user, json={}).status_code == 200


def test_timeout_after_commit_loses_the_answer_but_keeps_the_write(client):
    client.put("/_l2c/faults", headers=client.admin, json={"timeout_next": 1})
    lost = client.post("/api/data/v9.2/accounts", headers=client.user, json={"name": "committed"})
    assert lost.status_code == 504
    assert "accountid" not in lost.json()
    assert account_names(client.store) == ["committed"]


def test_fault_fractions_are_reproducible_with_a_seed(client):
    def statuses() -> list[int]:
        client.put("/_l2c/faults", headers=client.admin, json={"fail_fraction": 0.5, "seed": 7})
        return [client.get("/api/data/v9.2/x", headers=client.user).status_code for _ in range(20)]

    first = statuses()
    assert first == statuses()
    assert {200, 503} == set(first)


def test_settings_switch_the_limits_on_for_the_served_app(tmp_path):
    from lead2cash.config import Settings
    from lead2cash.crm.app import create_app

    settings = Settings(data_dir=tmp_path, secret_key="limits-test-secret", crm_limits=True, crm_limits_scale=0.001)
    app = create_app(settings)
    config = app.state.l2c_protection.config
    assert config.enabled and config.max_requests == 6 and config.window_seconds == pytest.approx(0.3)
    assert not create_app(Settings(data_dir=tmp_path / "other", secret_key="x")).state.l2c_protection.config.enabled


def test_real_data_routes_are_throttled_per_user(crm_client_as, api):
    admin = crm_client_as("admin")
    integration = crm_client_as("integration")
    admin.put("/_l2c/limits", json={"enabled": True, "max_requests": 3, "window_seconds": 600})
    statuses = [integration.get(f"{api}/accounts", params={"$select": "name"}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert admin.get(f"{api}/accounts").status_code == 200


def test_injected_429_carries_retry_after_without_the_limiter(client):
    client.put("/_l2c/faults", headers=client.admin, json={"throttle_next": 1, "throttle_retry_after": 7})
    throttled = client.get("/api/data/v9.2/accounts", headers=client.user)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "7"
    assert throttled.json()["error"]["code"] == "0x80072322"
    assert client.get("/api/data/v9.2/accounts", headers=client.user).status_code == 200


def test_injected_conflict_hits_only_conditional_writes(client):
    client.put("/_l2c/faults", headers=client.admin, json={"conflict_next": 1})
    url = "/api/data/v9.2/accounts(00000000-0000-0000-0000-000000000001)"
    assert client.patch(url, headers={**client.user, "If-Match": "*"}, json={}).status_code == 200
    assert client.get(url, headers={**client.user, "If-Match": 'W/"5"'}).status_code == 200
    conflict = client.patch(url, headers={**client.user, "If-Match": 'W/"5"'}, json={})
    assert conflict.status_code == 412
    assert conflict.json()["error"]["code"] == "0x80060882"
    assert client.patch(url, headers={**client.user, "If-Match": 'W/"5"'}, json={}).status_code == 200


def test_latency_is_added_before_the_request_runs(client, monkeypatch):
    from lead2cash.crm import faults

    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(faults.anyio, "sleep", record)
    client.put("/_l2c/faults", headers=client.admin, json={"latency_ms": 250, "methods": ["GET"]})
    assert client.get("/api/data/v9.2/accounts", headers=client.user).status_code == 200
    assert client.post("/api/data/v9.2/accounts", headers=client.user, json={}).status_code == 200
    assert waits == [0.25]
