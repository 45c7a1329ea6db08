"""Property tests for `$batch`: random batches leave exactly the data a simple model predicts (changesets
all-or-nothing, single parts independent, processing stopping at the first failure unless
``odata.continue-on-error``), and garbled bodies never make the server fail with a 5xx."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

import backends
from batch_support import batch_body, changeset, part, read_parts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

crm_app = backends.crm_app  # every test runs on SQLite and, when configured, on PostgreSQL
API = "/api/data/v9.2"
_run = itertools.count()


@dataclass(frozen=True)
class Op:
    kind: str  # create | create_bad | update | update_missing | delete
    target: int | None = None  # index of an earlier create in the same changeset ($n)


ops_outside = st.sampled_from([Op("create"), Op("create_bad"), Op("update_missing")])


@st.composite
def changesets(draw):
    ops: list[Op] = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        creates = [i for i, op in enumerate(ops) if op.kind == "create"]
        choices = ["create", "create_bad", "update_missing"] + (["update", "delete"] if creates else [])
        kind = draw(st.sampled_from(choices))
        ops.append(Op(kind, draw(st.sampled_from(creates)) if kind in ("update", "delete") else None))
    return ops


batches = st.lists(st.one_of(ops_outside, changesets()), min_size=1, max_size=5)


class Model:
    """What the org must contain afterwards, and the statuses the batch must report."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.names: set[str] = set()
        self.counter = itertools.count()

    def render(self, items, keep_going: bool):
        """(batch items as text, expected statuses per response part, expected outer status)."""
        texts, expected, stopped = [], [], False
        content_ids = itertools.count(1)
        for item in items:
            if stopped:
                break
            if isinstance(item, Op):
                text, status, change = self._single(item, next(content_ids))
                texts.append(text)
                expected.append([status])
                failed = status >= 400
                if not failed:
                    change(self.names)
            else:
                parts, statuses, names = [], [], set(self.names)
                alive: dict[int, str] = {}
                ids: dict[int, str] = {}
                failed = False
                for index, op in enumerate(item):
                    cid = str(next(content_ids))
                    ids[index] = cid
                    text, status = self._in_changeset(op, index, cid, ids, alive, names)
                    parts.append(text)
                    if not failed:
                        statuses.append(status)
                        failed = status >= 400
                texts.append(changeset(*parts, boundary=f"changeset_{len(texts)}"))
                if failed:
                    expected.append([statuses[-1]])
                else:
                    expected.append(statuses)
                    self.names = names
            stopped = failed and not keep_going
        return texts, [s for group in expected for s in group], 400 if stopped else 200

    def _name(self) -> str:
        return f"{self.prefix}-{next(self.counter)}"

    def _single(self, op: Op, cid: int):
        if op.kind == "create":
            name = self._name()
            return part("POST", "accounts", {"name": name}, str(cid)), 204, lambda names: names.add(name)
        if op.kind == "create_bad":
            return part("POST", "accounts", {"name": self._name(), "nosuchcolumn": 1}, str(cid)), 400, None
        missing = str(uuid.uuid4())
        return part("PATCH", f"accounts({missing})", {"name": "x"}, str(cid), If_Match="*"), 404, None

    def _in_changeset(self, op: Op, index: int, cid: str, ids, alive, names):
        if op.kind in ("create", "create_bad", "update_missing"):
            text, status, _change = self._single(op, int(cid))
            if op.kind == "create":
                name = text.split('"name": "')[1].split('"')[0]
                alive[index] = name
                names.add(name)
            return text, status
        ref = f"${ids[op.target]}"
        current = alive.get(op.target)
        if op.kind == "update":
            new = self._name()
            text = part("PATCH", ref, {"name": new}, cid, If_Match="*")
            if current is None:
                return text, 404
            names.discard(current)
            names.add(new)
            alive[op.target] = new
            return text, 204
        text = part("DELETE", ref, None, cid, If_Match="*")
        if current is None:
            return text, 404
        names.discard(current)
        alive[op.target] = None
        return text, 204


def stored_names(client, prefix: str) -> set[str]:
    rows = client.get(f"{API}/accounts", params={"$select": "name", "$filter": f"startswith(name,'{prefix}')"})
    return {row["name"] for row in rows.json()["value"]}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=batches, keep_going=st.booleans(), crlf=st.booleans())
def test_random_batches_apply_exactly_what_the_model_predicts(crm_client, items, keep_going, crlf):
    prefix = f"run{next(_run)}x"
    model = Model(prefix)
    texts, statuses, outer = model.render(items, keep_going)
    headers = {"Content-Type": "multipart/mixed; boundary=batch_1"}
    if keep_going:
        headers["Prefer"] = "odata.continue-on-error"
    response = crm_client.post(f"{API}/$batch", content=batch_body(*texts, crlf=crlf), headers=headers)
    assert response.status_code == outer, response.text
    assert [p["status"] for p in read_parts(response)] == statuses
    assert stored_names(crm_client, prefix) == model.names


JUNK = [b"--", b"\r\n", b"\n\n", b"--batch_1", b"--changeset_0--", b"$9", b"{", b"\xff", b""]


@st.composite
def garbled(draw):
    texts, _, _ = Model("garbled").render(draw(batches), False)
    body = bytearray(batch_body(*texts, crlf=draw(st.booleans())))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        position = draw(st.integers(min_value=0, max_value=len(body)))
        junk = draw(
            st.sampled_from([b"--", b"\r\n", b"\n\n", b"--batch_1", b"--changeset_0--", b"$9", b"{", b"\xff", b""])
        )
        cut = draw(st.integers(min_value=0, max_value=8))
        body[position : position + cut] = junk
    return bytes(body)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=garbled())
def test_garbled_batches_never_fail_with_a_server_error(crm_client, body):
    response = crm_client.post(
        f"{API}/$batch", content=body, headers={"Content-Type": "multipart/mixed; boundary=batch_1"}
    )
    assert response.status_code in (200, 400), response.text
    if response.headers["content-type"].startswith("multipart/mixed"):
        assert all(p["status"] < 500 for p in read_parts(response))
    else:
        assert response.json()["error"]["code"].startswith("0x")
