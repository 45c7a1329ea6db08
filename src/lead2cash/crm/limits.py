"""Service-protection limits and fault switches, so clients' back-off and recovery paths can be tested.

A real Dataverse org protects itself per user and per web server: 6,000 requests and 1,200 s of combined
execution time in a sliding 5-minute window, and 52 concurrent requests. Past a limit it answers
``429 Too Many Requests`` with ``Retry-After`` and one of three error codes. The limiter here reproduces
that (off by default; :meth:`LimitConfig.scaled` keeps the rate but shrinks the window for tests).

The same middleware applies the fault switches of ``crm/faults.py`` (503, injected 429, 412 on
conditional writes, answers lost after the commit, latency).

Both apply to Web API requests (``/api/data/…``) only, never to the token endpoint or the control
endpoints (``/_l2c/limits``, ``/_l2c/faults``, System Administrator only) that switch them at run time.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lead2cash.crm.access import API_PREFIX
from lead2cash.crm.auth import INNER_CALLER_KEY, require_administrator
from lead2cash.crm.faults import FaultConfig, FaultSwitches, run_with_faults
from lead2cash.crm.odata.errors import (
    LIMIT_CONCURRENCY,
    LIMIT_EXECUTION_TIME,
    LIMIT_REQUESTS,
    DataverseError,
)


@dataclass(frozen=True)
class LimitConfig:
    """Per-user service-protection limits (Dataverse defaults)."""

    enabled: bool = False
    max_requests: int = 6000
    window_seconds: float = 300.0
    max_execution_seconds: float = 1200.0
    max_concurrent: int = 52

    @classmethod
    def from_settings(cls, settings: Any) -> LimitConfig:
        """``L2C_CRM_LIMITS=true`` switches the limits on, ``L2C_CRM_LIMITS_SCALE`` shrinks the window."""
        return cls().scaled(settings.crm_limits_scale, enabled=settings.crm_limits)

    def scaled(self, factor: float, *, enabled: bool = True) -> LimitConfig:
        """Same allowed *rate*, window and budgets multiplied by ``factor`` (0.01 → 60 requests / 3 s)."""
        return replace(
            self,
            enabled=enabled,
            max_requests=max(1, round(self.max_requests * factor)),
            window_seconds=self.window_seconds * factor,
            max_execution_seconds=self.max_execution_seconds * factor,
        )


@dataclass
class _UserWindow:
    starts: deque[float] = field(default_factory=deque)
    executions: deque[tuple[float, float]] = field(default_factory=deque)  # (finished at, seconds)
    execution_total: float = 0.0
    in_flight: int = 0


class ServiceProtection:
    """Sliding-window request count, execution time and concurrency per user.

    ``check`` decides whether a request may start; ``finished`` records how long it ran. All state lives
    in the one event loop of the server process (Dataverse also counts per web server).
    """

    def __init__(self, config: LimitConfig | None = None, clock: Callable[[], float] = time.monotonic):
        self.config = config or LimitConfig()
        self.clock = clock
        self._users: dict[str, _UserWindow] = {}

    def configure(self, config: LimitConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        self._users.clear()

    def _window(self, user: str, now: float) -> _UserWindow:
        w = self._users.setdefault(user, _UserWindow())
        horizon = now - self.config.window_seconds
        while w.starts and w.starts[0] <= horizon:
            w.starts.popleft()
        while w.executions and w.executions[0][0] <= horizon:
            w.execution_total -= w.executions.popleft()[1]
        return w

    def check(self, user: str) -> DataverseError | None:
        """The 429 to answer, or ``None`` and the request counts as started."""
        cfg = self.config
        now = self.clock()
        w = self._window(user, now)
        if w.in_flight >= cfg.max_concurrent:
            return _too_many(
                LIMIT_CONCURRENCY,
                f"Number of concurrent requests exceeded the limit of {cfg.max_concurrent}.",
                1,
            )
        if len(w.starts) >= cfg.max_requests:
            # Free again when enough of the oldest requests leave the window.
            frees_at = w.starts[len(w.starts) - cfg.max_requests] + cfg.window_seconds
            return _too_many(
                LIMIT_REQUESTS,
                f"Number of requests exceeded the limit of {cfg.max_requests} over time window of "
                f"{_seconds(cfg.window_seconds)} seconds.",
                frees_at - now,
            )
        if w.execution_total >= cfg.max_execution_seconds:
            excess, frees_at = w.execution_total - cfg.max_execution_seconds, now
            for finished, seconds in w.executions:
                excess -= seconds
                frees_at = finished + cfg.window_seconds
                if excess < 0:
                    break
            return _too_many(
                LIMIT_EXECUTION_TIME,
                f"Combined execution time of incoming requests exceeded limit of "
                f"{round(cfg.max_execution_seconds * 1000):,} milliseconds over time window of "
                f"{_seconds(cfg.window_seconds)} seconds. Decrease number of concurrent requests or reduce "
                "the duration of requests and try again later.",
                frees_at - now,
            )
        w.starts.append(now)
        w.in_flight += 1
        return None

    def finished(self, user: str, started: float) -> None:
        now = self.clock()
        w = self._users.setdefault(user, _UserWindow())
        w.in_flight = max(0, w.in_flight - 1)
        seconds = max(0.0, now - started)
        w.executions.append((now, seconds))
        w.execution_total += seconds

    def remaining(self, user: str) -> tuple[int, float]:
        """Requests and execution seconds left in the window (the ``x-ms-ratelimit-*`` headers)."""
        w = self._window(user, self.clock())
        cfg = self.config
        return max(0, cfg.max_requests - len(w.starts)), max(0.0, cfg.max_execution_seconds - w.execution_total)


def _seconds(value: float) -> str:
    return f"{value:g}"


def _too_many(code: str, message: str, retry_after: float) -> DataverseError:
    seconds = max(1, math.ceil(retry_after))
    return DataverseError(429, code, message, headers={"Retry-After": str(seconds)})


class ProtectionMiddleware:
    """Applies :class:`ServiceProtection` and :class:`FaultSwitches` to Web API requests.

    Runs inside the bearer check, so the limits are per signed-in user.
    """

    def __init__(self, app: ASGIApp, protection: ServiceProtection, faults: FaultSwitches):
        self.app = app
        self.protection = protection
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not API_PREFIX.match(scope["path"]) or INNER_CALLER_KEY in scope:
            await self.app(scope, receive, send)
            return
        if not self.protection.config.enabled:
            await self._with_faults(scope, receive, send)
            return
        caller = scope.get("state", {}).get("caller")
        user = str(getattr(caller, "systemuserid", "anonymous"))
        rejection = self.protection.check(user)
        if rejection is not None:
            await rejection.response()(scope, receive, send)
            return
        started = self.protection.clock()

        async def send_with_budget(message: Message) -> None:
            if message["type"] == "http.response.start":
                left, seconds = self.protection.remaining(user)
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-ms-ratelimit-burst-remaining-xrm-requests", str(left).encode()),
                    (b"x-ms-ratelimit-time-remaining-xrm-requests", f"{seconds * 1000:.2f}".encode()),
                ]
            await send(message)

        try:
            await self._with_faults(scope, receive, send_with_budget)
        finally:
            self.protection.finished(user, started)

    async def _with_faults(self, scope: Scope, receive: Receive, send: Send) -> None:
        await run_with_faults(self.app, self.faults, scope, receive, send)


# ---- run-time control (tests that run the server in another process switch limits and faults here) ----

control_router = APIRouter(prefix="/_l2c", tags=["test control"], dependencies=[Depends(require_administrator)])


class LimitsUpdate(BaseModel):
    """Fields to change; ``scale`` first rescales the Dataverse defaults (window and budgets)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    scale: float | None = Field(default=None, gt=0)
    max_requests: int | None = Field(default=None, ge=1)
    window_seconds: float | None = Field(default=None, gt=0)
    max_execution_seconds: float | None = Field(default=None, gt=0)
    max_concurrent: int | None = Field(default=None, ge=1)


class FaultsUpdate(BaseModel):
    """The whole fault configuration; omitted fields are off."""

    model_config = ConfigDict(extra="forbid")
    fail_fraction: float = Field(default=0.0, ge=0, le=1)
    fail_next: int = Field(default=0, ge=0)
    throttle_fraction: float = Field(default=0.0, ge=0, le=1)
    throttle_next: int = Field(default=0, ge=0)
    throttle_retry_after: int = Field(default=1, ge=0, le=3600)
    conflict_fraction: float = Field(default=0.0, ge=0, le=1)
    conflict_next: int = Field(default=0, ge=0)
    timeout_fraction: float = Field(default=0.0, ge=0, le=1)
    timeout_next: int = Field(default=0, ge=0)
    timeout_hold_seconds: float = Field(default=0.0, ge=0, le=600)
    latency_ms: float = Field(default=0.0, ge=0, le=60_000)
    methods: list[str] = Field(default_factory=list)
    seed: int | None = None


def _protection(request: Request) -> ServiceProtection:
    return request.app.state.l2c_protection


def _faults(request: Request) -> FaultSwitches:
    return request.app.state.l2c_faults


@control_router.get("/limits")
def get_limits(request: Request) -> dict:
    return asdict(_protection(request).config)


@control_router.put("/limits")
def put_limits(update: LimitsUpdate, request: Request) -> dict:
    """Change the limits (resets the counters). ``{"enabled": false}`` switches them off."""
    protection = _protection(request)
    config = LimitConfig().scaled(update.scale, enabled=True) if update.scale else protection.config
    changes = update.model_dump(exclude_none=True, exclude={"scale"})
    protection.configure(replace(config, **changes))
    return asdict(protection.config)


@control_router.post("/limits/reset")
def reset_limits(request: Request) -> dict:
    _protection(request).reset()
    return asdict(_protection(request).config)


@control_router.get("/faults")
def get_faults(request: Request) -> dict:
    return _faults(request).state()


@control_router.put("/faults")
def put_faults(update: FaultsUpdate, request: Request) -> dict:
    """Replace the fault switches (omitted fields are off); ``{}`` switches every fault off."""
    data = update.model_dump()
    data["methods"] = tuple(m.upper() for m in data["methods"])
    _faults(request).configure(FaultConfig(**data))
    return _faults(request).state()


def install(app: FastAPI, limits: LimitConfig | None = None, faults: FaultConfig | None = None) -> None:
    """Add the limiter/fault middleware and the control endpoints to ``app``.

    Must run before ``crm.auth.install`` adds the bearer check, so that the check wraps this middleware
    and the limits count per signed-in user (``crm.auth.install`` calls this itself).
    """
    app.state.l2c_protection = ServiceProtection(limits)
    app.state.l2c_faults = FaultSwitches(faults)
    app.add_middleware(ProtectionMiddleware, protection=app.state.l2c_protection, faults=app.state.l2c_faults)
    app.include_router(control_router)
