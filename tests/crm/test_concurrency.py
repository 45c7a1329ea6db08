"""Concurrent clients on a real server: unique org-wide versions, and optimistic concurrency that lets exactly
one of several racing writers win."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from lead2cash.crm.server import CrmServer

API = "/api/data/v9.2"


@pytest.fixture
def base_url(crm_app):
    server = CrmServer(crm_app, http_port=0, https_port=None).start_in_thread()
    yield server.url("http")
    server.stop_thread()


def test_parallel_writers_get_unique_increasing_versions(base_url, crm_bearer):
    headers = crm_bearer(base_url)

    def work(worker: int) -> list[str]:
        with httpx.Client(base_url=base_url, headers=headers) as client:
            ids = []
            for i in range(10):
                created = client.post(f"{API}/accounts", json={"name": f"w{worker}-{i}"})
                assert created.status_code == 204, created.text
                ids.append(created.headers["OData-EntityId"].rsplit("(", 1)[1][:-1])
                client.patch(f"{API}/accounts({ids[-1]})", json={"telephone1": str(i)}).raise_for_status()
            return ids

    with ThreadPoolExecutor(4) as pool:
        ids = [i for chunk in pool.map(work, range(4)) for i in chunk]
    with httpx.Client(base_url=base_url, headers=headers) as client:
        rows = client.get(f"{API}/accounts?$select=versionnumber,telephone1&$orderby=versionnumber").json()["value"]
    assert sorted(r["accountid"] for r in rows) == sorted(ids)
    versions = [r["versionnumber"] for r in rows]
    assert len(set(versions)) == len(versions) == 40
    assert all(r["telephone1"] is not None for r in rows)


def test_racing_conditional_updates_let_exactly_one_win(base_url, crm_bearer):
    headers = crm_bearer(base_url)
    with httpx.Client(base_url=base_url, headers=headers) as client:
        created = client.post(f"{API}/accounts", json={"name": "contested"})
        account = created.headers["OData-EntityId"].rsplit("(", 1)[1][:-1]
        etag = client.get(f"{API}/accounts({account})").headers["ETag"]
    start = threading.Barrier(6)

    def race(n: int) -> int:
        with httpx.Client(base_url=base_url, headers=headers) as client:
            start.wait()
            return client.patch(
                f"{API}/accounts({account})", json={"name": f"winner {n}"}, headers={"If-Match": etag}
            ).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(race, range(6)))
    assert statuses == [204, 412, 412, 412, 412, 412]
