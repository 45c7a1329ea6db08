"""The client against a misbehaving org: the CRM server's limiter (429 + Retry-After) and fault switches
(503, answers lost after the write committed). Every write must end applied exactly once."""

from __future__ import annotations

import dataclasses
import uuid

import anyio
import pytest

from lead2cash.integration.dataverse import DataverseClient, GatewayError, RequestFailed, Throttled, bind
from lead2cash.integration.dataverse.transport import Transport

pytestmark = pytest.mark.anyio


class RecordingSleep:
    """Really sleeps (the server's window has to pass) and remembers every wait the client chose."""

    def __init__(self):
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await anyio.sleep(seconds)


def client_with(settings, sleep: RecordingSleep | None = None, **changes) -> DataverseClient:
    settings = dataclasses.replace(settings, **changes)
    options = {"sleep": sleep} if sleep else {}
    return DataverseClient(settings, transport=Transport(settings, settings.token_provider(), **options))


async def count_named(dv, name: str) -> int:
    return len(await dv.query("accounts", select="name", filter=f"name eq '{name}'"))


async def test_429_waits_retry_after_and_every_request_succeeds(dv_settings, crm_faults):
    sleep = RecordingSleep()
    async with client_with(dv_settings, sleep) as dv:
        await dv.who_am_i()  # token fetched before the limiter starts counting
        crm_faults.limits(max_requests=3, window_seconds=1.0)
        results = [await dv.who_am_i() for _ in range(5)]
        assert len(results) == 5
        assert dv.transport.stats.throttled >= 1
        # the server said "Retry-After: 1" (whole seconds); the client waited at least that long
        assert sleep.waits and max(sleep.waits) >= 1.0


async def test_429_on_concurrency_pauses_all_requests_and_all_complete(dv_settings, crm_faults):
    sleep = RecordingSleep()
    async with client_with(dv_settings, sleep, max_concurrency=8) as dv:
        await dv.who_am_i()
        crm_faults.limits(max_concurrent=2)
        crm_faults.faults(latency_ms=100)
        ids: list[str] = []

        async def create(i: int) -> None:
            ids.append(await dv.create("accounts", {"name": f"Concurrent {i}"}))

        async with anyio.create_task_group() as group:
            for i in range(8):
                group.start_soon(create, i)
        assert len(set(ids)) == 8
        assert dv.transport.stats.throttled >= 1
        found = await dv.query("accounts", select="name", filter=" or ".join(f"accountid eq {i}" for i in ids))
        assert len(found) == 8


async def test_injected_429_on_writes_waits_retry_after(dv_settings, crm_faults):
    sleep = RecordingSleep()
    async with client_with(dv_settings, sleep) as dv:
        name = f"Throttled write {uuid.uuid4().hex[:8]}"
        crm_faults.faults(throttle_next=2, throttle_retry_after=1, methods=["PATCH"])
        await dv.create("accounts", {"name": name})
        assert crm_faults.switches.injected["throttle"] == 2 and dv.transport.stats.throttled == 2
        assert len([w for w in sleep.waits if w >= 1.0]) >= 2
        assert await count_named(dv, name) == 1


async def test_pacing_spreads_requests_evenly(dv_settings):
    now = [100.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:  # time passes only when the client decides to wait
        waits.append(round(seconds, 6))
        now[0] += seconds

    settings = dataclasses.replace(dv_settings, max_rate=5.0)
    transport = Transport(settings, settings.token_provider(), sleep=sleep, clock=lambda: now[0])
    async with DataverseClient(settings, transport=transport) as dv:
        for _ in range(4):
            await dv.who_am_i()
    assert waits == [0.2, 0.2, 0.2]


async def test_throttling_that_does_not_end_surfaces_as_throttled(dv_settings, crm_faults):
    async with client_with(dv_settings, max_throttled_attempts=2, max_retry_wait=0.05) as dv:
        await dv.who_am_i()
        crm_faults.limits(max_requests=1, window_seconds=30)
        await dv.who_am_i()
        with pytest.raises(Throttled) as caught:
            await dv.who_am_i()
        assert caught.value.status == 429 and caught.value.code == "0x80072322"
        assert caught.value.retry_after and caught.value.retry_after >= 1


async def test_503_is_retried_for_reads(dv, crm_faults):
    await dv.who_am_i()
    crm_faults.faults(fail_next=2)
    assert (await dv.who_am_i()).user_id
    assert dv.transport.stats.unavailable == 2 and crm_faults.switches.injected["fail"] == 2


async def test_503_is_retried_even_for_actions_because_nothing_ran(dv, crm_faults):
    account_id = await dv.create("accounts", {"name": "Buyer 503"})
    opportunity_id = await dv.create(
        "opportunities", {"name": "Deal 503", "customerid_account@odata.bind": bind("accounts", account_id)}
    )
    close = {"subject": "Won", "opportunityid@odata.bind": bind("opportunities", opportunity_id)}
    crm_faults.faults(fail_next=1, methods=["POST"])
    await dv.call_action("WinOpportunity", {"OpportunityClose": close, "Status": 3})
    assert (await dv.get("opportunities", opportunity_id, select="statecode"))["statecode"] == 1


async def test_timeout_after_commit_create_is_not_duplicated(dv_settings, crm_faults):
    async with client_with(dv_settings, read_timeout=0.5) as dv:
        await dv.who_am_i()
        name = f"Lost answer {uuid.uuid4().hex[:8]}"
        crm_faults.faults(timeout_next=1, timeout_hold_seconds=1.5, methods=["PATCH"])
        row_id = await dv.create("accounts", {"name": name})
        assert crm_faults.switches.injected["timeout"] == 1
        assert dv.transport.stats.uncertain == 1
        assert await count_named(dv, name) == 1
        assert (await dv.get("accounts", row_id, select="name"))["name"] == name


async def test_gateway_timeout_after_commit_create_is_not_duplicated(dv, crm_faults):
    name = f"504 answer {uuid.uuid4().hex[:8]}"
    crm_faults.faults(timeout_next=1, methods=["PATCH"])  # runs, commits, answers 504
    await dv.create("accounts", {"name": name})
    assert crm_faults.switches.injected["timeout"] == 1
    assert await count_named(dv, name) == 1


async def test_timeout_after_commit_delete_counts_as_deleted(dv, crm_faults):
    row_id = await dv.create("accounts", {"name": "Delete me"})
    crm_faults.faults(timeout_next=1, methods=["DELETE"])
    assert await dv.delete("accounts", row_id) is True
    assert await dv.find("accounts", row_id) is None


async def test_an_action_whose_answer_is_lost_is_not_repeated(dv, crm_faults):
    account_id = await dv.create("accounts", {"name": "Buyer 504"})
    opportunity_id = await dv.create(
        "opportunities", {"name": "Deal 504", "customerid_account@odata.bind": bind("accounts", account_id)}
    )
    close = {"subject": "Won", "opportunityid@odata.bind": bind("opportunities", opportunity_id)}
    crm_faults.faults(timeout_next=1, methods=["POST"])
    with pytest.raises(GatewayError) as caught:
        await dv.call_action("WinOpportunity", {"OpportunityClose": close, "Status": 3})
    assert caught.value.status == 504
    assert crm_faults.switches.injected["timeout"] == 1  # sent once; the outcome is the caller's to check
    assert (await dv.get("opportunities", opportunity_id, select="statecode"))["statecode"] == 1


async def test_no_answer_at_all_is_a_typed_error(dv_settings, crm_faults):
    async with client_with(dv_settings, read_timeout=0.3, max_attempts=2) as dv:
        await dv.who_am_i()
        crm_faults.faults(latency_ms=1000, methods=["GET"])
        with pytest.raises(RequestFailed) as caught:
            await dv.who_am_i()
        assert caught.value.outcome_unknown and caught.value.status == 0


async def test_bulk_create_with_lost_answers_and_503s_creates_each_row_once(dv_settings, crm_faults):
    async with client_with(dv_settings, read_timeout=0.5) as dv:
        await dv.who_am_i()
        marker = uuid.uuid4().hex[:10]
        records = [{"name": f"Bulk {i}", "accountnumber": marker} for i in range(30)]
        crm_faults.faults(timeout_next=2, timeout_hold_seconds=1.0, fail_next=1, methods=["POST"])
        ids = await dv.create_multiple("accounts", records, chunk_size=10)
        assert (crm_faults.switches.injected["fail"], crm_faults.switches.injected["timeout"]) == (1, 2)
        rows = await dv.query("accounts", select="name", filter=f"accountnumber eq '{marker}'")
        assert sorted(r["accountid"] for r in rows) == sorted(ids) and len(rows) == 30


async def test_upserts_under_random_faults_converge(dv, crm_faults):
    marker = uuid.uuid4().hex[:10]
    ids = [str(uuid.uuid4()) for _ in range(40)]
    crm_faults.faults(fail_fraction=0.2, timeout_fraction=0.1, seed=7)
    records = [{"accountid": i, "name": f"Up {n}", "accountnumber": marker} for n, i in enumerate(ids)]
    await dv.upsert_multiple("accounts", records, chunk_size=5)
    records = [{**r, "name": r["name"] + " v2"} for r in records]
    await dv.upsert_multiple("accounts", records, chunk_size=5)
    crm_faults.faults()
    rows = await dv.query("accounts", select="name", filter=f"accountnumber eq '{marker}'")
    assert sorted((r["accountid"], r["name"]) for r in rows) == sorted((r["accountid"], r["name"]) for r in records)
