"""The client's request budget against the CRM server's real limiter (scaled to a 1.5 s window): a burst of
several windows' worth of requests goes through without a single 429, and nearly so when another client
signed in as the same user spends part of the budget (the server's remaining-budget header corrects the count; only
requests already in flight when the correction arrives can still be refused)."""

from __future__ import annotations

import dataclasses

import anyio
import pytest

from lead2cash.crm.limits import LimitConfig
from lead2cash.integration.dataverse import DataverseClient

pytestmark = pytest.mark.anyio

LIMITS = LimitConfig().scaled(0.005)  # 30 requests / 1.5 s: Dataverse's rate, a short window


async def burst(dv: DataverseClient, requests: int) -> int:
    done = []

    async def read(i: int) -> None:
        await dv.query("accounts", select="name", top=1)
        done.append(i)

    async with anyio.create_task_group() as group:
        for i in range(requests):
            group.start_soon(read, i)
    return len(done)


def limited(settings, **changes):
    return dataclasses.replace(settings, **{"max_concurrency": 8, **changes})


async def test_without_a_budget_the_same_burst_is_refused(dv_settings, crm_faults):
    async with DataverseClient(limited(dv_settings)) as dv:
        await dv.who_am_i()
        crm_faults.limits(**dataclasses.asdict(LIMITS))
        assert await burst(dv, 45) == 45  # all complete, through Retry-After
        assert dv.transport.stats.throttled >= 1


async def test_a_burst_through_the_budget_is_never_refused(dv_settings, crm_faults):
    budget = {"budget_requests": LIMITS.max_requests, "budget_window": LIMITS.window_seconds}
    async with DataverseClient(limited(dv_settings, **budget)) as dv:
        await dv.who_am_i()  # signed in; this request is not counted (limits still off)
        crm_faults.limits(**dataclasses.asdict(LIMITS))
        assert await burst(dv, 75) == 75  # two and a half windows' worth at once
        stats = dv.transport.stats
        assert stats.throttled == 0 and stats.statuses.get(429) is None
        assert stats.budget_waits >= 1  # it did wait for the window: the server allows only 30 per 1.5 s
        assert stats.budget_remaining is not None  # the server reported its remaining budget


async def test_requests_of_another_client_of_the_same_user_are_accounted_for(dv_settings, crm_faults):
    budget = {"budget_requests": LIMITS.max_requests, "budget_window": LIMITS.window_seconds}
    async with (
        DataverseClient(limited(dv_settings, max_concurrency=4, **budget)) as dv,
        DataverseClient(limited(dv_settings, max_concurrency=1)) as other,
    ):
        await dv.who_am_i()
        await other.who_am_i()
        crm_faults.limits(**dataclasses.asdict(LIMITS))
        assert await burst(other, 12) == 12  # the same application user, not through this client's budget
        assert await burst(dv, 60) == 60
        # Without the server's remaining-budget header the client would spend its whole 30 in the first window
        # on top of the other client's 12. With it, it learns of them from its first answers; only requests
        # already in flight when an answer was written can still be refused (at most its concurrency, 4).
        assert dv.transport.budget is not None and dv.transport.budget.corrections >= 12 - 4
        assert dv.transport.stats.throttled <= 4
