"""Fault switches: what a flaky network and a busy or contended service do to a client, on demand.

Each fault exists to exercise one recovery path of a client such as the integration's sync engine:

- ``fail``: 503 before the request runs (nothing happened; a retry is safe);
- ``throttle``: 429 with ``Retry-After`` before the request runs, without switching the limiter on;
- ``conflict``: 412 on a conditional write (``If-Match`` with a version), as if another writer had changed
  the row first (the client must re-read and merge, not overwrite);
- ``timeout``: the request runs and commits, then its answer is lost — held, then 504 — the case that
  proves a client's retries are idempotent (no duplicate create, no lost update);
- ``latency``: added before every request.

Each fault fires for the next *n* requests (deterministic, for tests) and/or a fraction of requests
(drawn from a generator seeded by ``seed``), optionally only for some HTTP methods.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lead2cash.crm.odata.errors import ETAG_MISMATCH, LIMIT_REQUESTS, SERVICE_UNAVAILABLE, DataverseError

GATEWAY_TIMEOUT = "0x80044151"
KINDS = ("fail", "throttle", "conflict", "timeout")
_WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})


@dataclass(frozen=True)
class FaultConfig:
    fail_fraction: float = 0.0
    fail_next: int = 0
    throttle_fraction: float = 0.0
    throttle_next: int = 0
    throttle_retry_after: int = 1
    conflict_fraction: float = 0.0
    conflict_next: int = 0
    timeout_fraction: float = 0.0
    timeout_next: int = 0
    timeout_hold_seconds: float = 0.0  # how long the lost answer is held before the 504
    latency_ms: float = 0.0
    methods: tuple[str, ...] = ()  # only these HTTP methods (empty: all)
    seed: int | None = None

    @property
    def active(self) -> bool:
        fractions = (getattr(self, f"{kind}_fraction") for kind in KINDS)
        counts = (getattr(self, f"{kind}_next") for kind in KINDS)
        return bool(self.latency_ms or any(fractions) or any(counts))


class FaultSwitches:
    """The current fault configuration and what is left of its "next n" counters."""

    def __init__(self, config: FaultConfig | None = None):
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        self.config = config
        self._next = {kind: getattr(config, f"{kind}_next") for kind in KINDS}
        self._random = random.Random(config.seed)
        self.injected = dict.fromkeys(KINDS, 0)

    def applies_to(self, method: str) -> bool:
        return self.config.active and (not self.config.methods or method.upper() in self.config.methods)

    def fires(self, kind: str) -> bool:
        if self._next[kind] > 0:
            self._next[kind] -= 1
        elif not self._random.random() < getattr(self.config, f"{kind}_fraction"):
            return False
        self.injected[kind] += 1
        return True

    def state(self) -> dict:
        remaining = {f"{kind}_next": n for kind, n in self._next.items()}
        return {**asdict(self.config), **remaining, "injected": dict(self.injected)}


def _conditional_write(scope: Scope) -> bool:
    if scope["method"] not in _WRITES:
        return False
    headers = dict(scope.get("headers") or [])
    condition = headers.get(b"if-match", b"").strip()
    return bool(condition) and condition != b"*"


async def run_with_faults(app: ASGIApp, faults: FaultSwitches, scope: Scope, receive: Receive, send: Send) -> None:
    """Run one Web API request through ``app`` with whatever faults are switched on."""
    if not faults.applies_to(scope["method"]):
        await app(scope, receive, send)
        return
    if faults.config.latency_ms:
        await anyio.sleep(faults.config.latency_ms / 1000)
    error = None
    if faults.fires("throttle"):
        error = DataverseError(
            429,
            LIMIT_REQUESTS,
            "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
            headers={"Retry-After": str(faults.config.throttle_retry_after)},
        )
    elif faults.fires("fail"):
        error = DataverseError(503, SERVICE_UNAVAILABLE, "The service is temporarily unavailable. Try again later.")
    elif _conditional_write(scope) and faults.fires("conflict"):
        error = DataverseError(
            412,
            ETAG_MISMATCH,
            "The version of the existing record doesn't match the RowVersion property provided.",
        )
    if error is not None:
        await error.response()(scope, receive, send)
        return
    if not faults.fires("timeout"):
        await app(scope, receive, send)
        return

    async def lose(_message: Message) -> None:
        return None

    await app(scope, receive, lose)  # runs and commits; its answer never arrives
    await anyio.sleep(faults.config.timeout_hold_seconds)
    lost = DataverseError(504, GATEWAY_TIMEOUT, "The request timed out before the server could answer.")
    await lost.response()(scope, receive, send)
