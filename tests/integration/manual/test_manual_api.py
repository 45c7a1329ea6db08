"""The manual-operation, errors-page and full-synchronization endpoints of the ERP process's API, with a
real CRM org behind them: answers, error bodies, roles, and a CRM that refuses the integration user."""

from __future__ import annotations

from starlette.testclient import TestClient

from lead2cash.db import transaction
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.couplings import couple
from lead2cash.integration.mapping.enums import SyncResult
from lead2cash.integration.setup import service

API = "/api/v1/integration"


def test_couple_list_uncoupled_and_uncouple_over_the_api(erp_env, org, tag, rows, erp_users):
    first, second = org.account(f"Api {tag} 1"), org.account(f"Api {tag} 2")
    with transaction(erp_env.sessions) as session:
        one = rows.customer(session, f"A{tag}1", "One")
        two = rows.customer(session, f"A{tag}2", "Two")
    client = erp_env.client
    answer = client.post(f"{API}/mappings/CUSTOMER/couplings", json={"erp_id": str(one.id), "crm_name": f"Api {tag} 1"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["crm_id"] == str(first) and answer.json()["erp_record"] == f"Customer A{tag}1"
    refused = client.post(f"{API}/mappings/CUSTOMER/couplings", json={"erp_id": str(two.id), "crm_id": str(first)})
    assert refused.status_code == 409 and f"Customer A{tag}1" in refused.json()["error"]["message"]

    listed, cursor = [], None
    while True:
        page = client.get(f"{API}/mappings/CUSTOMER/uncoupled-crm-rows", params={"page_size": 3, "cursor": cursor})
        assert page.status_code == 200, page.text
        listed += [r["accountid"] for r in page.json()["value"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert str(second) in listed and str(first) not in listed
    forged = client.get(f"{API}/mappings/CUSTOMER/uncoupled-crm-rows", params={"cursor": "https://elsewhere/x"})
    assert forged.status_code == 422

    clerk = TestClient(erp_env.client.app, headers={"Authorization": f"Bearer {erp_users['order_processor']}"})
    whole = {"whole_mapping": True}
    assert clerk.post(f"{API}/mappings/CUSTOMER/couplings/delete", json=whole).status_code == 403
    assert client.post(f"{API}/mappings/CUSTOMER/couplings/delete", json=whole).json() == {"deleted": 1}
    anonymous = TestClient(erp_env.client.app)
    assert anonymous.post(f"{API}/mappings/CUSTOMER/couplings", json={"erp_id": str(one.id)}).status_code == 401


def test_match_errors_page_and_full_sync_review_over_the_api(erp_env, crm, rows):
    with transaction(erp_env.sessions) as session:
        usd = rows.currency(session, "USD")
    client = erp_env.client
    matched = client.post(f"{API}/mappings/CURRENCY/match-based-coupling", json={"sync_after": False})
    assert matched.status_code == 200, matched.text
    assert matched.json()["coupled"] == 1 and matched.json()["create_job_id"] is None
    with transaction(erp_env.sessions) as session:
        c = session.query(Coupling).filter_by(erp_id=usd.id).one()
        c.skipped, c.last_to_crm_result, c.last_error = True, SyncResult.FAILURE, "boom"
    page = client.get(f"{API}/synchronization-errors").json()
    assert page["total"] == 1 and page["lines"][0]["last_error"] == "boom" and page["lines"][0]["crm_exists"]
    line_id = page["lines"][0]["coupling_id"]
    assert client.post(f"{API}/synchronization-errors/retry", json={"coupling_ids": [line_id]}).json() == {"retried": 1}
    synced = client.post(f"{API}/synchronization-errors/synchronize", json={"coupling_ids": [line_id]}).json()
    assert synced["done"] == 1 and len(synced["jobs"]) == 1

    generated = client.post(f"{API}/full-sync/generate")
    assert generated.status_code == 200, generated.text
    lines = {line["name"]: line for line in generated.json()["lines"]}
    assert lines["SALESPEOPLE"]["recommendation"] == "Full synchronization" and lines["SALESPEOPLE"]["status"] == ""
    started = client.post(f"{API}/full-sync/start", json={"names": ["SALESPEOPLE"]}).json()
    assert started["started"] == ["SALESPEOPLE"]
    review = {line["name"]: line for line in client.get(f"{API}/full-sync").json()["lines"]}
    assert review["SALESPEOPLE"]["status"] == "Ready" and review["CURRENCY"]["status"] == ""
    assert client.get(f"{API}/full-sync/lines/SALESPEOPLE").json()["job"]["status"] == "ready"
    assert client.post(f"{API}/full-sync/lines/NOPE/recommend-full").status_code == 404


def test_a_crm_refusing_the_integration_user_is_a_502(erp_env, rows):
    with transaction(erp_env.sessions) as session:
        service.update(session, {"client_secret": "not-the-secret"}, "manual-ops-erp-secret-key-0123456789abcdef")
        customer = rows.customer(session, "Z1", "Zed")
    answer = erp_env.client.post(
        f"{API}/mappings/CUSTOMER/couplings", json={"erp_id": str(customer.id), "crm_name": "x"}
    )
    assert answer.status_code == 502 and answer.json()["error"]["code"] == "crm_error"


def test_errors_page_can_skip_the_crm_check(erp_env, org, tag, rows):
    row = org.account(f"Quiet {tag}")
    with transaction(erp_env.sessions) as session:
        customer = rows.customer(session, f"Q{tag}", "Quiet")
        c = couple(session, "customer", customer.id, "account", row)
        c.last_from_crm_result = SyncResult.FAILURE
    page = erp_env.client.get(f"{API}/synchronization-errors", params={"check_crm": False}).json()
    assert page["total"] == 1 and page["lines"][0]["crm_exists"] is None


def test_set_up_coupling_with_create_new_queues_the_creation(erp_env, rows):
    from lead2cash.jobs.model import Job

    with transaction(erp_env.sessions) as session:
        customer = rows.customer(session, "NEW1", "Brand New")
    body = {"erp_id": str(customer.id), "create_new": True}
    answer = erp_env.client.post(f"{API}/mappings/CUSTOMER/couplings", json=body)
    assert answer.status_code == 200, answer.text
    with transaction(erp_env.sessions) as session:
        job = session.get(Job, answer.json()["jobs"][0])
        assert job.payload["erp_ids"] == [str(customer.id)] and job.payload["only_coupled"] is False
