"""Helpers for `$batch` tests: build multipart request bodies, read multipart responses."""

from __future__ import annotations

import json
from email import policy
from email.parser import BytesParser

API = "/api/data/v9.2"


def part(method: str, url: str, body: dict | None = None, content_id: str | None = None, **headers) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{method} {url} HTTP/1.1"]
    if body is not None:
        lines.append("Content-Type: application/json")
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    lines += ["", json.dumps(body) if body is not None else ""]
    return "\n".join(lines)


def changeset(*parts: str, boundary: str = "changeset_1") -> str:
    inner = "".join(f"--{boundary}\n{p}\n" for p in parts) + f"--{boundary}--"
    return f"Content-Type: multipart/mixed; boundary={boundary}\n\n{inner}"


def batch_body(*items: str, boundary: str = "batch_1", crlf: bool = True) -> bytes:
    text = "".join(f"--{boundary}\n{item}\n" for item in items) + f"--{boundary}--\n"
    return (text.replace("\n", "\r\n") if crlf else text).encode()


def post_batch(client, *items: str, prefer: str | None = None, crlf: bool = True):
    headers = {"Content-Type": "multipart/mixed; boundary=batch_1"}
    if prefer:
        headers["Prefer"] = prefer
    return client.post(f"{API}/$batch", content=batch_body(*items, crlf=crlf), headers=headers)


def read_parts(response) -> list[dict]:
    """The response parts in order (changeset parts flattened), each with status, headers, json."""
    envelope = f"Content-Type: {response.headers['content-type']}\r\n\r\n".encode() + response.content
    message = BytesParser(policy=policy.HTTP).parsebytes(envelope)
    out = []
    for item in message.iter_parts():
        for leaf in item.iter_parts() if item.is_multipart() else [item]:
            raw = leaf.get_payload(decode=True).decode()
            head, _, body = raw.replace("\r\n", "\n").partition("\n\n")
            status_line, *header_lines = head.split("\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
            out.append(
                {
                    "status": int(status_line.split()[1]),
                    "reason": status_line.split(" ", 2)[2],
                    "headers": headers,
                    "content_id": leaf.get("Content-ID"),
                    "json": json.loads(body) if body.strip() else None,
                    "changeset": item.is_multipart(),
                }
            )
    return out
