"""One pooled HTTP connection to an org: bearer tokens, bounded concurrency, retries that are safe.

Every Web API call of the client goes through :meth:`Transport.request`. It

- sends at most ``max_concurrency`` requests at once (a semaphore; the pool keeps HTTP/1.1 connections
  alive between them);
- optionally keeps to the org's request budget itself (``budget_requests`` per ``budget_window``
  seconds, a sliding window as the server's, see :mod:`.pacing`): a request starts as soon as the window
  has room, so time the caller spent between requests is caught up instead of lost, and the limit is
  used up without being hit. The org's ``x-ms-ratelimit-burst-remaining-xrm-requests`` header corrects
  the count (other clients of the same user). ``max_rate`` instead spreads requests evenly;
- waits, before sending, while the org has asked everyone to back off: a 429/503 with ``Retry-After``
  pauses *all* requests of this client until then, not only the one that was refused — otherwise the
  other requests in flight would each collect their own 429;
- retries with exponential back-off and full jitter, honouring ``Retry-After`` on 429 and 503
  (``tenacity`` drives the loop);
- retries a request whose outcome is unknown (timeout while reading, connection dropped, 502/504) only
  when it is idempotent. A create is idempotent here because the client sends it with its own GUID and
  ``If-None-Match: *``; the error of a later attempt then carries ``after_uncertain_attempt`` so the
  caller can read "already exists" as "applied by the lost attempt";
- on 401 drops the token and retries once with a fresh one.

Requests refused before they ran (429, 503, connection not established) are retried whatever the method.
"""

from __future__ import annotations

import logging
import math
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from lead2cash.integration.dataverse.auth import TokenProvider
from lead2cash.integration.dataverse.errors import (
    AuthenticationError,
    DataverseError,
    GatewayError,
    RequestFailed,
    ServiceUnavailable,
    Throttled,
    error_for,
)
from lead2cash.integration.dataverse.pacing import WindowBudget
from lead2cash.integration.dataverse.settings import DataverseSettings

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
# never sent, or refused before anything ran: safe to send again
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# the request may have reached the server and run; its answer is unknown
_UNCERTAIN = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


@dataclass
class TransportStats:
    """Counters for logs and benchmarks (attempts, not logical requests)."""

    sent: int = 0
    throttled: int = 0
    unavailable: int = 0
    uncertain: int = 0
    retries: int = 0
    token_refreshes: int = 0
    budget_waits: int = 0  # requests that waited for room in the request budget
    budget_remaining: int | None = None  # the org's last x-ms-ratelimit-burst-remaining-xrm-requests
    time_remaining_ms: float | None = None  # … and x-ms-ratelimit-time-remaining-xrm-requests
    statuses: dict[int, int] = field(default_factory=dict)


_UNCERTAIN_KEY = "lead2cash.after_uncertain_attempt"
REQUESTS_REMAINING_HEADER = "x-ms-ratelimit-burst-remaining-xrm-requests"
TIME_REMAINING_HEADER = "x-ms-ratelimit-time-remaining-xrm-requests"


def after_uncertain(response: httpx.Response) -> bool:
    """Whether an earlier attempt of the request that got ``response`` may have been applied."""
    return bool(response.extensions.get(_UNCERTAIN_KEY))


def _is_uncertain(exc: BaseException) -> bool:
    return isinstance(exc, (*_UNCERTAIN, GatewayError))


class Transport:
    """Authenticated, throttling-aware requests against one org's Web API."""

    def __init__(
        self,
        settings: DataverseSettings,
        tokens: TokenProvider,
        *,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settings = settings
        self.tokens = tokens
        self.service_root = settings.service_root
        self._origin = _origin(self.service_root)
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(
            verify=settings.tls_verify(),
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            limits=httpx.Limits(
                max_connections=settings.max_concurrency + 4, max_keepalive_connections=settings.max_concurrency + 4
            ),
            headers={
                "Accept": "application/json",
                "OData-Version": "4.0",
                "OData-MaxVersion": "4.0",
                "User-Agent": settings.user_agent,
            },
        )
        self._slots = anyio.Semaphore(settings.max_concurrency)
        self._sleep = sleep
        self._clock = clock
        self._resume_at = 0.0
        self._interval = 1 / settings.max_rate if settings.max_rate else 0.0
        self._next_slot = 0.0
        self.budget = (
            WindowBudget(settings.budget_requests, settings.budget_window, clock) if settings.budget_requests else None
        )
        self._budget_freed: anyio.Event | None = None
        self.stats = TransportStats()

    # ---- URLs ----

    def url(self, path: str) -> str:
        """An absolute URL for ``path`` (relative to the service root) or an absolute link from the org.

        Links (``@odata.nextLink``, ``@odata.deltaLink``) are followed verbatim, but only on the org's own
        origin: the bearer token is never sent anywhere else.
        """
        if path.startswith(("http://", "https://")):
            if _origin(path) != self._origin:
                raise DataverseError(0, "", f"Refusing to follow a link to another host: {path}")
            return path
        return self.service_root + path.lstrip("/")

    # ---- requests ----

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        accept: Collection[int] = (),
    ) -> httpx.Response:
        """Send one logical request (retried as described in the module docstring); errors are typed.

        ``idempotent`` defaults to the method's nature; pass ``False`` for actions with side effects
        sent with an idempotent method, ``True`` for a POST that is safe to repeat. Statuses in ``accept``
        are returned instead of raised (``$batch`` answers 400 with a multipart body).
        """
        method = method.upper()
        safe_to_repeat = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        url = self.url(path)
        send_headers = {"x-ms-client-request-id": str(uuid.uuid4()), **(headers or {})}
        if json is not None:
            send_headers.setdefault("Content-Type", "application/json; charset=utf-8")
        state = {"uncertain": False, "throttled": 0}

        def should_retry(exc: BaseException) -> bool:
            if isinstance(exc, (Throttled, ServiceUnavailable, *_NOT_SENT)):
                return True
            return safe_to_repeat and _is_uncertain(exc)

        def stop(retry_state: RetryCallState) -> bool:
            exc = retry_state.outcome.exception() if retry_state.outcome else None
            if isinstance(exc, Throttled):
                return state["throttled"] >= self.settings.max_throttled_attempts
            return retry_state.attempt_number - state["throttled"] >= self.settings.max_attempts

        retrying = AsyncRetrying(
            stop=stop,
            wait=self._wait,
            retry=retry_if_exception(should_retry),
            sleep=self._sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    try:
                        return await self._attempt(method, url, json, content, send_headers, state["uncertain"], accept)
                    except Throttled:
                        state["throttled"] += 1
                        raise
                    except Exception as exc:
                        if _is_uncertain(exc):
                            state["uncertain"] = True
                            self.stats.uncertain += 1
                        raise
        except httpx.TransportError as exc:
            unknown = bool(state["uncertain"])
            raise RequestFailed(
                f"No answer from the org: {exc!r}", outcome_unknown=unknown, method=method, url=url
            ) from exc
        raise AssertionError("unreachable")  # pragma: no cover - tenacity re-raises the last error

    async def _attempt(
        self,
        method: str,
        url: str,
        json: Any,
        content: bytes | None,
        headers: dict[str, str],
        uncertain: bool,
        accept: Collection[int],
    ) -> httpx.Response:
        """One attempt, plus one immediate re-send with a fresh token when the token was refused."""
        for refreshed in (False, True):
            await self._wait_for_gate()
            token = await self.tokens.token()
            async with self._slots:
                await self._take_budget()
                response = None
                try:
                    self.stats.sent += 1
                    response = await self._http.request(
                        method, url, json=json, content=content, headers={**headers, "Authorization": f"Bearer {token}"}
                    )
                finally:
                    self._return_budget(response)
            self.stats.statuses[response.status_code] = self.stats.statuses.get(response.status_code, 0) + 1
            if response.status_code == 401 and not refreshed:
                self.tokens.invalidate(token)
                self.stats.token_refreshes += 1
                continue
            if response.is_success or response.status_code == 304 or response.status_code in accept:
                response.extensions[_UNCERTAIN_KEY] = uncertain
                return response
            error = error_for(response)
            error.after_uncertain_attempt = uncertain
            if isinstance(error, (Throttled, ServiceUnavailable)):
                self._note_back_off(error)
            raise error
        raise AuthenticationError(401, "", "The org refused a freshly issued token.", method=method, url=url)

    def _note_back_off(self, error: DataverseError) -> None:
        if isinstance(error, Throttled):
            self.stats.throttled += 1
        else:
            self.stats.unavailable += 1
        if error.retry_after:
            wait = min(error.retry_after, self.settings.max_retry_wait)
            self._resume_at = max(self._resume_at, self._clock() + wait)

    async def _wait_for_gate(self) -> None:
        if self._interval:  # pacing: one slot per interval, reserved in arrival order
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
            if slot > now:
                await self._sleep(slot - now)
        while (delay := self._resume_at - self._clock()) > 0:
            await self._sleep(delay)

    async def _take_budget(self) -> None:
        """Wait for room in the request budget (and for a pause the org asked for), then take one slot."""
        budget = self.budget
        if budget is None:
            return
        waited = False
        while True:
            delay = budget.delay()
            pause = self._resume_at - self._clock()
            if delay == 0 and pause <= 0:
                break  # no await between this check and start(): the slot cannot be taken by another task
            waited = True
            if delay is None and pause <= 0:
                if self._budget_freed is None:
                    self._budget_freed = anyio.Event()
                await self._budget_freed.wait()  # an answer of a request in flight frees a slot
            else:
                await self._sleep(max(delay or 0.0, pause))
        budget.start()
        if waited:
            self.stats.budget_waits += 1

    def _return_budget(self, response: httpx.Response | None) -> None:
        """The answer arrived (or the attempt failed): book it and read the org's remaining budget."""
        remaining = None
        if response is not None:
            remaining = _header_number(response, REQUESTS_REMAINING_HEADER)
            time_left = _header_number(response, TIME_REMAINING_HEADER)
            if remaining is not None:
                self.stats.budget_remaining = int(remaining)
            if time_left is not None:
                self.stats.time_remaining_ms = time_left
        if self.budget is not None:
            refused = response is not None and response.status_code == 429  # refused before it ran: not counted
            self.budget.finish(counted=not refused, remaining=None if remaining is None else int(remaining))
            if self._budget_freed is not None:
                self._budget_freed.set()
                self._budget_freed = None

    def _wait(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            wait = min(retry_after, self.settings.max_retry_wait)
            return wait + random.uniform(0, min(1.0, 0.1 * wait))  # spread the retries of parallel requests
        # full jitter: uniform in [0, min(max, initial * 2^(n-1))]
        ceiling = min(self.settings.backoff_max, self.settings.backoff_initial * 2 ** (retry_state.attempt_number - 1))
        return random.uniform(0, ceiling)

    def _before_sleep(self, retry_state: RetryCallState) -> None:
        self.stats.retries += 1
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        wait = retry_state.next_action.sleep if retry_state.next_action else 0
        log.info("Dataverse request retried in %.2fs after attempt %d: %s", wait, retry_state.attempt_number, exc)

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()
        await self.tokens.aclose()


def _header_number(response: httpx.Response, name: str) -> float | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()
