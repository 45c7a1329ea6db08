"""Typed Dataverse errors, built from the ``{"error": {"code", "message"}}`` JSON every failure carries.

Callers branch on what happened, not on status numbers: a missing row (:class:`NotFound`), a failed
condition (:class:`PreconditionFailed`: stale ETag, or a create-only write whose row already exists),
service protection (:class:`Throttled`, with the server's ``Retry-After``), a rejected token
(:class:`AuthenticationError`), a delta token the org no longer honours (:class:`ChangeTrackingExpired`:
fall back to a full read). The hexadecimal ``code`` is kept because Dataverse reuses statuses for
different causes.

``after_uncertain_attempt`` is set by the transport when an earlier attempt of the same request may have
been applied (its answer was lost). A create-only write that then reports "already exists", or a delete
that reports "not found", was applied by that earlier attempt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import httpx

# Dataverse error codes the client branches on (reference: dataverse.md §5).
OBJECT_NOT_FOUND = "0x80040217"
KEY_NOT_FOUND = "0x80060891"
ALREADY_EXISTS = "0x80040237"  # DuplicateRecord: If-None-Match: * on an existing row, duplicate key
VERSION_MISMATCH = "0x80060882"  # If-Match ETag is stale
CHANGE_TRACKING_NOT_ENABLED = "0x80072491"
EXPIRED_VERSION_STAMP = "0x80044352"
THROTTLE_CODES = frozenset({"0x80072322", "0x80072321", "0x80072326"})


class DataverseError(Exception):
    """A failed Web API call: HTTP ``status``, Dataverse ``code`` (``0x…``, may be empty) and ``message``."""

    def __init__(
        self,
        status: int,
        code: str = "",
        message: str = "",
        *,
        method: str = "",
        url: str = "",
        request_id: str | None = None,
        retry_after: float | None = None,
        details: dict[str, Any] | None = None,
    ):
        self.status = status
        self.code = code
        self.message = message
        self.method = method
        self.url = url
        self.request_id = request_id
        self.retry_after = retry_after
        self.details = details or {}
        self.after_uncertain_attempt = False
        super().__init__(self._text())

    def _text(self) -> str:
        where = f" ({self.method} {self.url})" if self.method else ""
        code = f" {self.code}" if self.code else ""
        return f"{self.status}{code}: {self.message}{where}"

    @property
    def transient(self) -> bool:
        """Rejected before it ran; the same request may be sent again."""
        return False


class NotFound(DataverseError):
    """The row (by id or alternate key), table or resource does not exist (404)."""


class PreconditionFailed(DataverseError):
    """A condition failed (412): stale ``If-Match`` ETag, or ``If-None-Match: *`` on an existing row."""

    @property
    def already_exists(self) -> bool:
        return self.code == ALREADY_EXISTS


class Throttled(DataverseError):
    """Service protection refused the request (429); ``retry_after`` says when to try again."""

    @property
    def transient(self) -> bool:
        return True


class ServiceUnavailable(DataverseError):
    """The service is unavailable (503); nothing ran."""

    @property
    def transient(self) -> bool:
        return True


class GatewayError(DataverseError):
    """502/504: the request may or may not have run (its answer was lost on the way)."""


class RequestFailed(DataverseError):
    """No answer at all: the connection failed or timed out (``status`` 0). ``outcome_unknown`` when the
    request may have reached the org and run (a timeout while waiting for the answer)."""

    def __init__(self, message: str, *, outcome_unknown: bool, method: str = "", url: str = ""):
        super().__init__(0, "", message, method=method, url=url)
        self.outcome_unknown = outcome_unknown


class AuthenticationError(DataverseError):
    """The bearer token was refused (401), or no token could be obtained."""


class AccessDenied(DataverseError):
    """The signed-in user lacks a privilege (403)."""


class ChangeTrackingNotEnabled(DataverseError):
    """``odata.track-changes`` on a table whose change tracking is off."""


class ChangeTrackingExpired(DataverseError):
    """The delta token is older than the org keeps changes: read everything again and start over."""


@dataclass(frozen=True)
class ErrorBody:
    code: str
    message: str
    details: dict[str, Any]


def parse_error_body(response: httpx.Response) -> ErrorBody:
    """The Dataverse error JSON of a failed response, tolerant of bodies that are not JSON."""
    try:
        payload = response.json()
    except ValueError:
        return ErrorBody("", (response.text or response.reason_phrase or "").strip()[:500], {})
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return ErrorBody("", str(payload)[:500], {})
    details = {k: v for k, v in error.items() if k not in ("code", "message")}
    return ErrorBody(str(error.get("code") or ""), str(error.get("message") or ""), details)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (delta-seconds form; an HTTP date is read as "soon")."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return 1.0
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def error_for(response: httpx.Response) -> DataverseError:
    """The typed error for a failed response."""
    body = parse_error_body(response)
    request = response.request
    kwargs: dict[str, Any] = {
        "method": request.method,
        "url": str(request.url),
        "request_id": response.headers.get("x-ms-service-request-id") or response.headers.get("req_id"),
        "retry_after": retry_after_seconds(response),
        "details": body.details,
    }
    status, code = response.status_code, body.code
    cls: type[DataverseError] = DataverseError
    if code == EXPIRED_VERSION_STAMP or "version stamp associated with the client has expired" in body.message.lower():
        cls = ChangeTrackingExpired
    elif code == CHANGE_TRACKING_NOT_ENABLED:
        cls = ChangeTrackingNotEnabled
    elif status == 429 or code in THROTTLE_CODES:
        cls = Throttled
    elif status == 404:
        cls = NotFound
    elif status == 412:
        cls = PreconditionFailed
    elif status == 401:
        cls = AuthenticationError
    elif status == 403:
        cls = AccessDenied
    elif status == 503:
        cls = ServiceUnavailable
    elif status in (502, 504):
        cls = GatewayError
    return cls(status, code, body.message, **kwargs)
