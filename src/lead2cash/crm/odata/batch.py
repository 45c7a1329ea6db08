"""`$batch` bodies: multipart/mixed requests in, multipart/mixed responses out, as pure functions.

A Dataverse batch is a ``multipart/mixed`` body whose parts are either one HTTP request
(``Content-Type: application/http``) or a *changeset*: a nested ``multipart/mixed`` of requests that
succeed or fail together. Each part may carry a ``Content-ID``; later requests refer to the entity created
by part ``n`` as ``$n`` (as the request URL, ``PATCH $1``, or in ``@odata.bind`` values).

Real clients differ in small ways, so the parser is lenient where they differ and strict where the
protocol is clear: LF-only line endings, extra blank lines, quoted or bare boundaries, inner URLs that are
absolute (``https://host/api/data/v9.2/accounts``), path-absolute (``/api/data/v9.2/accounts``) or relative
(``accounts``) are all accepted; GET inside a changeset, nested changesets, unknown methods and more than
:data:`MAX_REQUESTS` operations are a 400. The MIME structure is read by the standard library's email
parser; this module only interprets what is inside each part. Executing the requests is the job of
``crm/api/batch.py``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from http import HTTPStatus
from urllib.parse import urlsplit

from lead2cash.crm.odata.errors import DataverseError

MAX_REQUESTS = 1000
METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})
BATCH_ERROR = "0x80060888"
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_LINE = re.compile(rb"\r?\n")
_RESOURCES = frozenset({"batch", "metadata", "entity", "crossjoin", "all"})  # $-names that are not references
_REFERENCE = re.compile(r"^\$([A-Za-z0-9_.-]+)(.*)$", re.DOTALL)


def batch_error(message: str) -> DataverseError:
    return DataverseError(400, BATCH_ERROR, message)


@dataclass
class BatchRequest:
    """One operation of a batch. ``url`` is exactly as the client wrote it (may start with ``$n``)."""

    method: str
    url: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    content_id: str | None = None

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((value for key, value in self.headers if key.lower() == name), None)


@dataclass
class ChangeSet:
    """Requests that are applied atomically, in order."""

    requests: list[BatchRequest]


@dataclass
class BatchResponse:
    """The outcome of one operation, as it is written into the response body."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    content_id: str | None = None

    @property
    def failed(self) -> bool:
        return self.status >= 400


BatchItem = BatchRequest | ChangeSet
ResponseItem = BatchResponse | list[BatchResponse]  # a list is a changeset's responses


# -- parsing ----------------------------------------------------------------------------------------


def parse_batch(content_type: str | None, body: bytes) -> list[BatchItem]:
    """The operations of a ``$batch`` request body, in order; :class:`DataverseError` 400 when malformed."""
    if not content_type or "multipart/mixed" not in content_type.lower():
        raise batch_error("The $batch request must have Content-Type multipart/mixed with a boundary.")
    envelope = b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + body
    message = BytesParser(policy=policy.HTTP).parsebytes(envelope)
    boundary = message.get_boundary()
    if not boundary:
        raise batch_error("The $batch request must have Content-Type multipart/mixed with a boundary.")
    if not message.is_multipart():
        if not body.strip():
            return []
        raise batch_error(f"The $batch body contains no part delimited by its boundary '{boundary}'.")
    parts = [part for part in message.iter_parts() if not _blank(part)]
    items: list[BatchItem] = []
    for part in parts:
        if part.is_multipart():
            requests = [_request(inner, in_changeset=True) for inner in part.iter_parts() if not _blank(inner)]
            items.append(ChangeSet(requests))
        elif part.get_content_type() == "multipart/mixed":
            raise batch_error("A changeset in the $batch body has no valid boundary.")
        else:
            items.append(_request(part, in_changeset=False))
    total = sum(len(i.requests) if isinstance(i, ChangeSet) else 1 for i in items)
    if total > MAX_REQUESTS:
        raise batch_error(f"The number of requests in the batch ({total}) exceeds the limit of {MAX_REQUESTS}.")
    return items


def _blank(part: Message) -> bool:
    """An empty part (extra delimiter or blank lines between parts): ignored, not an error."""
    if part.is_multipart() or len(part) > 0:  # len(): the number of MIME headers
        return False
    payload = part.get_payload(decode=True)
    return not (payload or b"").strip()


def _request(part: Message, *, in_changeset: bool) -> BatchRequest:
    if part.is_multipart() or part.get_content_type() == "multipart/mixed":
        raise batch_error("Changesets cannot be nested inside a changeset.")
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload()).encode("utf-8", "surrogateescape")
    request = parse_http_request(payload)
    request.content_id = _content_id(part)
    if in_changeset and request.method == "GET":
        raise batch_error("GET requests are not allowed inside a changeset; put them outside it.")
    return request


def _content_id(part: Message) -> str | None:
    value = part.get("Content-ID")
    value = str(value).strip().strip("<>").strip() if value is not None else ""
    return value or None


def parse_http_request(raw: bytes) -> BatchRequest:
    """One ``application/http`` part: request line, headers, blank line, body."""
    raw = raw.lstrip(b"\r\n \t")
    if not raw:
        raise batch_error("A $batch part contains no HTTP request.")
    line_end = _LINE.search(raw)
    request_line = raw[: line_end.start()] if line_end else raw
    rest = raw[line_end.end() :] if line_end else b""
    words = request_line.decode("latin-1").split()
    if len(words) > 2 and words[-1].upper().startswith("HTTP/"):
        words = [words[0], " ".join(words[1:-1])]  # lenient: an unencoded space inside the URL
    if len(words) != 2:
        raise batch_error(f"Invalid request line in a $batch part: '{request_line.decode('latin-1')[:200]}'.")
    method, url = words[0].upper(), words[1]
    if method not in METHODS:
        raise batch_error(f"The method '{words[0]}' is not supported in a $batch part.")
    if _LINE.match(rest):  # no headers at all: the blank line follows the request line
        header_block, body = b"", rest[_LINE.match(rest).end() :]
    else:
        blank = _BLANK_LINE.search(rest)
        header_block, body = (rest[: blank.start()], rest[blank.end() :]) if blank else (rest, b"")
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(header_block + b"\r\n\r\n")
    pairs = [(name, str(value).strip()) for name, value in headers.items()]
    return BatchRequest(method, url, pairs, body.rstrip(b"\r\n"))


# -- URLs and references ----------------------------------------------------------------------------


def resolve_url(url: str, service_root_path: str, references: dict[str, str] | None = None) -> tuple[str, str]:
    """(path, query) of an inner request URL, ``$n`` references replaced by the entity they created.

    ``service_root_path`` is the outer request's ``/api/data/v9.2/``; relative URLs are resolved against it
    and the host of absolute URLs is ignored (the batch runs on this server whatever name it used).
    """
    reference = _REFERENCE.match(url)
    if reference and reference.group(1) not in _RESOURCES:
        key = f"${reference.group(1)}"
        if references is None or key not in references:
            raise DataverseError(
                400, BATCH_ERROR, f"Content-ID Reference: '{key}' does not exist in the batch context."
            )
        url = references[key] + reference.group(2)
    parts = urlsplit(url)
    path = parts.path
    if not parts.scheme and not path.startswith("/"):
        path = service_root_path.rstrip("/") + "/" + path
    if not path.startswith("/api/data/"):
        raise batch_error(f"The URL '{url}' of a $batch part is not a Web API URL.")
    if path.rstrip("/").endswith("/$batch"):
        raise batch_error("A $batch request cannot contain another $batch request.")
    return path, parts.query


# -- serialization ----------------------------------------------------------------------------------


def _status_line(status: int) -> str:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    return f"HTTP/1.1 {status} {reason}"


def _part(response: BatchResponse) -> bytes:
    head = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if response.content_id is not None:
        head.append(f"Content-ID: {response.content_id}")
    lines = [*head, "", _status_line(response.status)]
    lines += [f"{name}: {value}" for name, value in response.headers]
    text = "\r\n".join(lines) + "\r\n\r\n"
    return text.encode("latin-1", "replace") + response.body + b"\r\n"


def serialize_batch(items: list[ResponseItem], boundary: str | None = None) -> tuple[str, bytes]:
    """(Content-Type, body) of a ``$batch`` response; a list item becomes a nested changeset response."""
    boundary = boundary or f"batchresponse_{uuid.uuid4()}"
    out = bytearray()
    for item in items:
        out += f"--{boundary}\r\n".encode()
        if isinstance(item, list):
            inner = f"changesetresponse_{uuid.uuid4()}"
            out += f"Content-Type: multipart/mixed; boundary={inner}\r\n\r\n".encode()
            for response in item:
                out += f"--{inner}\r\n".encode() + _part(response)
            out += f"--{inner}--\r\n".encode()
        else:
            out += _part(item)
    out += f"--{boundary}--\r\n".encode()
    return f"multipart/mixed; boundary={boundary}", bytes(out)
