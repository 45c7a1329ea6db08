"""The client's request budget (``WindowBudget``) on a fake clock: it may burst up to the window's budget, a
caller that paused catches up, and it never starts a request the org's sliding window would refuse — checked
against the CRM server's own limiter logic (``ServiceProtection``) on the same fake clock."""

from __future__ import annotations

import dataclasses
import heapq
import itertools

import pytest

from lead2cash.crm.limits import LimitConfig, ServiceProtection
from lead2cash.integration.dataverse import DataverseClient
from lead2cash.integration.dataverse.pacing import WindowBudget
from lead2cash.integration.dataverse.transport import Transport


class FakeClock:
    def __init__(self, now: float = 100.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def send(budget: WindowBudget) -> None:
    assert budget.delay() == 0
    budget.start()


def test_a_full_window_of_requests_may_go_at_once_then_waits_for_the_oldest_answer_to_leave():
    clock = FakeClock(100.0)
    budget = WindowBudget(3, 10.0, clock)
    for _ in range(3):
        send(budget)
    assert budget.delay() is None  # all three in flight: only an answer can free a slot
    clock.now = 100.5
    budget.finish()
    clock.now = 101.0
    budget.finish()
    budget.finish()
    # counted from when the answers arrived (never before the server counted them), not from sending
    assert budget.delay() == pytest.approx(9.5)
    clock.now = 110.5
    assert budget.delay() == 0
    send(budget)
    assert budget.delay() == pytest.approx(0.5)  # the two answered at 101.0 still count


def test_a_caller_that_paused_catches_up_in_a_burst():
    clock = FakeClock(0.0)
    budget = WindowBudget(20, 1.0, clock)  # 20 per second
    for _ in range(5):  # a slow start: 5 requests in the first second
        send(budget)
        budget.finish()
        clock.now += 0.2
    clock.now = 1.5  # the caller worked for a while
    sent = 0
    while budget.delay() == 0:
        budget.start()
        sent += 1
    assert sent == 18  # all but the two answered within the last second; a fixed 50 ms interval: one


def test_refused_requests_do_not_use_the_budget():
    clock = FakeClock()
    budget = WindowBudget(2, 5.0, clock)
    send(budget)
    budget.finish(counted=False)  # 429: the org refused it before it ran
    send(budget)
    send(budget)
    budget.finish()
    budget.finish()
    assert budget.used() == 2 and budget.delay() == pytest.approx(5.0)


def test_the_orgs_remaining_header_books_requests_the_client_did_not_send():
    clock = FakeClock()
    budget = WindowBudget(10, 5.0, clock)
    send(budget)
    budget.finish(remaining=6)  # someone else signed in as the same user sent 3 meanwhile
    assert budget.used() == 4 and budget.corrections == 3
    send(budget)
    budget.finish(remaining=5)  # consistent with what is booked: nothing more
    assert budget.used() == 5 and budget.corrections == 3
    send(budget)
    budget.finish(remaining=9)  # the org has more left than the client thinks: stay on the safe side
    assert budget.used() == 6


def test_more_unknown_requests_than_the_budget_never_book_past_a_full_window():
    clock = FakeClock()
    budget = WindowBudget(4, 5.0, clock)
    send(budget)
    send(budget)
    budget.finish(remaining=0)
    assert budget.used() == 4 and budget.corrections == 2  # 1 answered + 2 booked + 1 in flight
    assert budget.delay() == pytest.approx(5.0)
    clock.now += 1.0
    budget.finish()
    assert budget.used() == 4 and budget.delay() == pytest.approx(4.0)


def simulate(pacer: str, *, burst: int, work: float, latency: float, seconds: float) -> tuple[float, int, int]:
    """An engine-like caller against the server's limiter (60 requests / 3 s) on one fake clock.

    The caller sends ``burst`` requests at once, waits for their answers, works ``work`` seconds, repeats.
    Returns (accepted requests per second after the first window as a share of the allowed rate, accepted,
    refused). ``pacer``: ``budget`` (the client's window) or ``interval`` (fixed spacing at 95 %).
    """
    clock = FakeClock(0.0)
    limits = LimitConfig().scaled(0.01)
    server = ServiceProtection(limits, clock=clock)
    allowed = limits.max_requests / limits.window_seconds
    budget = WindowBudget(limits.max_requests, limits.window_seconds, clock)
    events: list = []
    order = itertools.count()
    at = lambda t, *event: heapq.heappush(events, (t, next(order), event))  # noqa: E731
    state = {"next_slot": 0.0, "open": 0, "accepted": [], "refused": 0, "waiting": []}

    def try_send(now: float) -> None:
        if pacer == "interval":
            slot = max(now, state["next_slot"])
            if slot > now:
                return at(slot, "send")
            state["next_slot"] = slot + 1 / (allowed * 0.95)
        else:
            delay = budget.delay()
            if delay is None:
                return state["waiting"].append(now)
            if delay > 0:
                return at(now + delay, "send")
            budget.start()
        at(now + latency / 4, "arrive")

    def new_burst(now: float) -> None:
        state["open"] = burst
        for _ in range(burst):
            try_send(now)

    at(0.0, "burst")
    while events:
        now, _, event = heapq.heappop(events)
        if now > seconds:
            break
        clock.now = now
        kind = event[0]
        if kind == "burst":
            new_burst(now)
        elif kind == "send":
            try_send(now)
        elif kind == "arrive":
            rejection = server.check("engine")
            if rejection is None:
                at(now + latency / 2, "done", now)
            else:
                at(now + latency / 4, "answer", False, None)
        elif kind == "done":  # the server finished; the remaining-budget header is computed now
            server.finished("engine", event[1])
            at(now + latency / 4, "answer", True, server.remaining("engine")[0])
        elif kind == "answer":
            ok, remaining = event[1], event[2]
            if pacer == "budget":
                budget.finish(counted=ok, remaining=remaining)
                waiting, state["waiting"] = state["waiting"], []
                for _ in waiting:
                    try_send(now)
            if not ok:
                state["refused"] += 1
                at(now + 1.0, "send")  # Retry-After: 1
                continue
            state["accepted"].append(now)
            state["open"] -= 1
            if state["open"] == 0:
                at(now + work, "burst")
    steady = [t for t in state["accepted"] if t >= limits.window_seconds]
    share = len(steady) / (seconds - limits.window_seconds) / allowed
    return share, len(state["accepted"]), state["refused"]


@pytest.mark.parametrize(("burst", "work"), [(5, 0.05), (5, 0.15), (10, 0.3), (1, 0.0)])
def test_an_engine_with_gaps_gets_over_90_percent_of_the_allowed_rate_and_no_429(burst, work):
    share, accepted, refused = simulate("budget", burst=burst, work=work, latency=0.03, seconds=60.0)
    unhindered = burst / (0.03 + work) / 20  # how fast this caller goes with no limit at all
    assert refused == 0 and accepted > 1000
    assert share >= min(0.9, 0.9 * unhindered)


def test_a_fixed_interval_loses_the_slots_the_engine_spends_working():
    # the same caller as above with the former pacing: the time between bursts is lost for good
    interval, _, refused = simulate("interval", burst=5, work=0.15, latency=0.03, seconds=60.0)
    budget, _, _ = simulate("budget", burst=5, work=0.15, latency=0.03, seconds=60.0)
    assert refused == 0 and interval < 0.8 <= 0.9 <= budget


@pytest.mark.anyio
async def test_the_client_bursts_up_to_its_budget_then_waits_until_the_window_moves(dv_settings):
    clock = FakeClock(100.0)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:  # time passes only when the client decides to wait
        waits.append(round(seconds, 6))
        clock.now += seconds

    settings = dataclasses.replace(dv_settings, budget_requests=3, budget_window=10.0)
    transport = Transport(settings, settings.token_provider(), sleep=sleep, clock=clock)
    async with DataverseClient(settings, transport=transport) as dv:
        for _ in range(5):
            await dv.who_am_i()
        assert transport.stats.budget_waits == 1
    assert waits == [10.0]  # three at once, then one wait for the window; a fixed interval would wait 4 times
