"""``$batch``: many requests in one HTTP round trip; changesets apply all of their writes or none.

:class:`Batch` collects reads and :class:`ChangeSet` writes; :func:`serialize` writes the
``multipart/mixed`` body (CRLF line endings, absolute inner URLs, ``Content-ID`` on changeset parts);
:func:`parse_response` reads the answer with the standard library's MIME parser. Writes in a changeset
use the same safe shapes as single writes: a create is a create-only upsert with the client's GUID, so
the caller already knows every new row's id and binds to it directly (no ``$n`` references needed).

A batch is repeated after an unknown outcome only when every request in it is idempotent (reads,
``PATCH``/``PUT``/``DELETE``; raw ``POST`` parts make it unrepeatable). After such a repeat,
``BatchResult.after_uncertain_attempt`` is set: a changeset that then fails on an "already exists" create
was applied by the lost attempt. Without ``continue_on_error`` the org stops at the first failure and
answers only up to it.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from lead2cash.integration.dataverse import odata
from lead2cash.integration.dataverse.errors import DataverseError, error_for
from lead2cash.integration.dataverse.odata import Key
from lead2cash.integration.dataverse.transport import IDEMPOTENT_METHODS, Transport, after_uncertain

MAX_REQUESTS = 1000  # Dataverse's limit per batch
CRLF = "\r\n"


@dataclass
class BatchRequest:
    method: str
    path: str  # relative to the service root
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_id: str | None = None


class ChangeSet:
    """Writes applied atomically. Each method returns the ``Content-ID`` reference (``$n``) of its part."""

    def __init__(self, batch: Batch):
        self._batch = batch
        self.requests: list[BatchRequest] = []

    def request(self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None) -> str:
        content_id = self._batch._next_content_id()
        self.requests.append(BatchRequest(method.upper(), path, body, dict(headers or {}), content_id))
        return f"${content_id}"

    def create(self, entity_set: str, record: Mapping[str, Any], *, id: str | uuid.UUID | None = None) -> str:
        """Create-only upsert with a client GUID; returns the GUID."""
        row_id = str(id or uuid.uuid4()).lower()
        self.request("PATCH", odata.entity_path(entity_set, row_id), dict(record), {"If-None-Match": "*"})
        return row_id

    def update(self, entity_set: str, key: Key, changes: Mapping[str, Any], *, etag: str | None = None) -> str:
        return self.request("PATCH", odata.entity_path(entity_set, key), dict(changes), {"If-Match": etag or "*"})

    def upsert(self, entity_set: str, key: Key, record: Mapping[str, Any]) -> str:
        return self.request("PATCH", odata.entity_path(entity_set, key), dict(record))

    def delete(self, entity_set: str, key: Key, *, etag: str | None = None) -> str:
        return self.request("DELETE", odata.entity_path(entity_set, key), None, {"If-Match": etag} if etag else {})


class Batch:
    """The requests of one ``$batch``: reads (``get``/``query``) and changesets, in order."""

    def __init__(self, service_root: str):
        self.service_root = service_root
        self.items: list[BatchRequest | ChangeSet] = []
        self._content_ids = 0

    def _next_content_id(self) -> str:
        self._content_ids += 1
        return str(self._content_ids)

    def get(self, path: str) -> None:
        """A read (``accounts(<id>)?$select=name``, ``contacts?$filter=…``) outside any changeset."""
        self.items.append(BatchRequest("GET", path))

    def changeset(self) -> ChangeSet:
        changeset = ChangeSet(self)
        self.items.append(changeset)
        return changeset

    def requests(self) -> list[BatchRequest]:
        out: list[BatchRequest] = []
        for item in self.items:
            out.extend(item.requests if isinstance(item, ChangeSet) else [item])
        return out

    def __len__(self) -> int:
        return len(self.requests())

    @property
    def idempotent(self) -> bool:
        return all(r.method in IDEMPOTENT_METHODS for r in self.requests())


def _part(request: BatchRequest, service_root: str) -> str:
    head = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if request.content_id:
        head.append(f"Content-ID: {request.content_id}")
    path = request.path if request.path.startswith(("http://", "https://", "$")) else service_root + request.path
    lines = [*head, "", f"{request.method} {path} HTTP/1.1", "Accept: application/json"]
    body = ""
    if request.body is not None:
        lines.append("Content-Type: application/json; type=entry")
        body = json.dumps(request.body, separators=(",", ":"), default=str)
    lines += [f"{k}: {v}" for k, v in request.headers.items()]
    return CRLF.join([*lines, "", body])


def serialize(batch: Batch, boundary: str) -> bytes:
    """The ``multipart/mixed`` body of ``batch`` with the given outer boundary."""
    if not batch.items:
        raise ValueError("an empty batch")
    if len(batch) > MAX_REQUESTS:
        raise ValueError(f"a batch holds at most {MAX_REQUESTS} requests, not {len(batch)}")
    chunks: list[str] = []
    for item in batch.items:
        chunks.append(f"--{boundary}")
        if isinstance(item, ChangeSet):
            inner = f"changeset_{uuid.uuid4().hex}"
            chunks.append(f"Content-Type: multipart/mixed; boundary={inner}{CRLF}")
            for request in item.requests:
                chunks += [f"--{inner}", _part(request, batch.service_root)]
            chunks.append(f"--{inner}--")
        else:
            chunks.append(_part(item, batch.service_root))
    chunks.append(f"--{boundary}--")
    return (CRLF.join(chunks) + CRLF).encode("utf-8")


@dataclass
class BatchResponse:
    """One inner response: status, headers and body, and the ``Content-ID`` it answers (changeset parts)."""

    status: int
    headers: httpx.Headers
    content: bytes
    content_id: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 or self.status == 304

    def json(self) -> Any:
        return json.loads(self.content) if self.content.strip() else None

    @property
    def entity_id(self) -> str | None:
        return odata.id_from_entity_url(self.headers.get("OData-EntityId") or self.headers.get("Location"))

    def error(self) -> DataverseError:
        """The typed error of a failed part."""
        response = httpx.Response(
            self.status, headers=self.headers, content=self.content, request=httpx.Request("POST", "$batch")
        )
        return error_for(response)


@dataclass
class BatchResult:
    status: int
    responses: list[BatchResponse]
    after_uncertain_attempt: bool = False

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.responses)

    def raise_for_errors(self) -> None:
        """Raise the first failed part's error (typed), if any."""
        for response in self.responses:
            if not response.ok:
                raise response.error()


_STATUS_LINE = re.compile(rb"^HTTP/\d(?:\.\d)?\s+(\d{3})")


def _inner_response(part: email.message.Message) -> BatchResponse:
    raw = part.get_payload(decode=True)
    assert isinstance(raw, bytes)
    raw = raw.lstrip(b"\r\n")
    pieces = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)
    head, body = pieces[0], pieces[1] if len(pieces) > 1 else b""
    lines = head.splitlines()
    match = _STATUS_LINE.match(lines[0] if lines else b"")
    if match is None:
        raise DataverseError(0, "", f"Unreadable $batch part: {raw[:200]!r}")
    headers = httpx.Headers()
    for line in lines[1:]:
        name, sep, value = line.decode("latin-1").partition(":")
        if sep:
            headers[name.strip()] = value.strip()
    content_id = part.get("Content-ID")
    return BatchResponse(int(match.group(1)), headers, body.rstrip(b"\r\n"), content_id.strip() if content_id else None)


def parse_response(content_type: str, body: bytes) -> list[BatchResponse]:
    """The inner responses of a ``multipart/mixed`` ``$batch`` answer, changesets flattened, in order."""
    message = email.message_from_bytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body, policy=email.policy.compat32
    )
    if not message.is_multipart():
        raise DataverseError(0, "", f"$batch answer is not multipart: {content_type}")
    out: list[BatchResponse] = []
    for part in message.get_payload():
        if part.is_multipart():
            out.extend(_inner_response(sub) for sub in part.get_payload())
        else:
            out.append(_inner_response(part))
    return out


async def execute_batch(transport: Transport, batch: Batch, *, continue_on_error: bool = False) -> BatchResult:
    boundary = f"batch_{uuid.uuid4().hex}"
    headers = {
        "Content-Type": f"multipart/mixed; boundary={boundary}",
        **odata.prefer(continue_on_error=continue_on_error),
    }
    response = await transport.request(
        "POST",
        "$batch",
        content=serialize(batch, boundary),
        headers=headers,
        idempotent=batch.idempotent,
        accept=(400,),
    )
    content_type = response.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/"):
        raise error_for(response)
    responses = parse_response(content_type, response.content)
    return BatchResult(response.status_code, responses, after_uncertain_attempt=after_uncertain(response))
