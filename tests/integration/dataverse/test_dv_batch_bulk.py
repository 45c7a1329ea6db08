"""``$batch`` and the bulk actions through the client, against the CRM server; the multipart builder and
parser on their own."""

from __future__ import annotations

import email
import email.policy
import json
import uuid

import pytest

from lead2cash.integration.dataverse import Batch, BulkWriteError, NotFound, bind
from lead2cash.integration.dataverse.batch import parse_response, serialize

pytestmark = pytest.mark.anyio
ROOT = "https://org.example/api/data/v9.2/"


def marker() -> str:
    return uuid.uuid4().hex[:10]


# ---- builder and parser ----


def test_serialized_batch_is_valid_multipart_with_changesets():
    batch = Batch(ROOT)
    batch.get("accounts?$select=name&$top=1")
    changeset = batch.changeset()
    account_id = changeset.create("accounts", {"name": "Ünïcode & Co"})
    changeset.update("contacts", str(uuid.uuid4()), {"lastname": "X"}, etag='W/"7"')
    body = serialize(batch, "batch_abc")
    assert b"\r\n" in body and body.endswith(b"--batch_abc--\r\n")
    message = email.message_from_bytes(
        b"Content-Type: multipart/mixed; boundary=batch_abc\r\n\r\n" + body, policy=email.policy.compat32
    )
    read, cs = message.get_payload()
    assert read.get_content_type() == "application/http"
    assert read.get_payload().startswith(f"GET {ROOT}accounts?$select=name&$top=1 HTTP/1.1")
    parts = cs.get_payload()
    assert [p["Content-ID"] for p in parts] == ["1", "2"]
    create = parts[0].get_payload(decode=True).decode("utf-8")
    assert create.startswith(f"PATCH {ROOT}accounts({account_id}) HTTP/1.1")
    assert "If-None-Match: *" in create
    assert json.loads(create.split("\r\n\r\n", 1)[1]) == {"name": "Ünïcode & Co"}
    assert 'If-Match: W/"7"' in parts[1].get_payload()
    assert batch.idempotent and len(batch) == 3


def test_a_raw_post_makes_a_batch_unrepeatable():
    batch = Batch(ROOT)
    batch.changeset().request("POST", "accounts", {"name": "A"})
    assert not batch.idempotent


def test_parser_reads_nested_changesets_lf_line_endings_and_error_parts():
    body = (
        b"--batchresponse_1\n"
        b"Content-Type: multipart/mixed; boundary=changesetresponse_2\n\n"
        b"--changesetresponse_2\n"
        b"Content-Type: application/http\nContent-Transfer-Encoding: binary\nContent-ID: 1\n\n"
        b"HTTP/1.1 204 No Content\nOData-EntityId: https://org/api/data/v9.2/accounts(00000000-0000-0000-0000-0000000000aa)\n\n\n"
        b"--changesetresponse_2--\n"
        b"--batchresponse_1\n"
        b"Content-Type: application/http\nContent-Transfer-Encoding: binary\n\n"
        b"HTTP/1.1 404 Not Found\nContent-Type: application/json; odata.metadata=minimal\n\n"
        b'{"error":{"code":"0x80040217","message":"account With Id = x Does Not Exist"}}\n'
        b"--batchresponse_1--\n"
    )
    created, missing = parse_response("multipart/mixed; boundary=batchresponse_1", body)
    assert (created.status, created.content_id, created.entity_id) == (204, "1", "00000000-0000-0000-0000-0000000000aa")
    assert missing.status == 404 and not missing.ok
    error = missing.error()
    assert isinstance(error, NotFound) and error.code == "0x80040217"


# ---- against the server ----


async def test_batch_reads_and_an_atomic_changeset(dv):
    existing = await dv.create("accounts", {"name": "Batch reader"})
    batch = dv.batch()
    batch.get(f"accounts({existing})?$select=name")
    changeset = batch.changeset()
    account_id = changeset.create("accounts", {"name": "Batch parent"})
    contact_id = changeset.create(
        "contacts", {"lastname": "Batch child", "parentcustomerid_account@odata.bind": bind("accounts", account_id)}
    )
    result = await dv.execute(batch)
    assert result.ok and len(result.responses) == 3
    assert result.responses[0].json()["name"] == "Batch reader"
    assert [r.entity_id for r in result.responses[1:]] == [account_id, contact_id]
    contact = await dv.get("contacts", contact_id, select="_parentcustomerid_value")
    assert contact["_parentcustomerid_value"] == account_id


async def test_a_failing_changeset_applies_nothing(dv):
    batch = dv.batch()
    changeset = batch.changeset()
    created = changeset.create("accounts", {"name": "Never committed"})
    changeset.update("accounts", str(uuid.uuid4()), {"name": "missing row"})
    result = await dv.execute(batch)
    assert not result.ok and result.status == 400
    with pytest.raises(NotFound):
        result.raise_for_errors()
    assert await dv.find("accounts", created) is None


async def test_continue_on_error_runs_every_part(dv):
    batch = dv.batch()
    batch.get(f"accounts({uuid.uuid4()})")
    batch.get("WhoAmI")
    result = await dv.execute(batch, continue_on_error=True)
    assert [r.status for r in result.responses] == [404, 200]


async def test_batch_with_a_lost_answer_is_repeated_and_reports_it(dv, crm_faults):
    batch = dv.batch()
    account_id = batch.changeset().create("accounts", {"name": "Batch lost answer"})
    crm_faults.faults(timeout_next=1, methods=["POST"])
    result = await dv.execute(batch)
    assert result.after_uncertain_attempt
    # the repeat found the row the lost attempt created: "already exists" means applied
    assert [r.status for r in result.responses] == [412]
    assert result.responses[0].error().already_exists
    assert (await dv.get("accounts", account_id, select="name"))["name"] == "Batch lost answer"


async def test_create_multiple_in_chunks_keeps_order_and_ids(dv):
    tag = marker()
    sent = dv.transport.stats.sent
    given = str(uuid.uuid4())
    records = [{"name": f"Bulk {i:03d}", "accountnumber": tag} for i in range(25)]
    records[3]["accountid"] = given
    ids = await dv.create_multiple("accounts", records, chunk_size=10)
    assert ids[3] == given and len(set(ids)) == 25
    assert dv.transport.stats.sent - sent <= 5  # table look-up (at most 2) + 3 chunks, not 25 requests
    rows = {
        r["accountid"]: r["name"] for r in await dv.query("accounts", select="name", filter=f"accountnumber eq '{tag}'")
    }
    assert [rows[i] for i in ids] == [r["name"] for r in records]


async def test_update_and_upsert_multiple(dv):
    tag = marker()
    ids = await dv.create_multiple("accounts", [{"name": f"U{i}", "accountnumber": tag} for i in range(4)])
    await dv.update_multiple("accounts", [{"accountid": i, "telephone1": f"tel {n}"} for n, i in enumerate(ids)])
    new_id = str(uuid.uuid4())
    await dv.upsert_multiple(
        "accounts",
        [{"accountid": ids[0], "name": "U0 upserted"}, {"accountid": new_id, "name": "U new", "accountnumber": tag}],
    )
    rows = {
        r["accountid"]: r
        for r in await dv.query("accounts", select=["name", "telephone1"], filter=f"accountnumber eq '{tag}'")
    }
    assert rows[ids[0]]["name"] == "U0 upserted" and rows[ids[0]]["telephone1"] == "tel 0"
    assert rows[ids[3]]["telephone1"] == "tel 3" and rows[new_id]["name"] == "U new"


async def test_upsert_multiple_by_alternate_key(dv, dv_admin):
    key_column = f"l2c_ak{marker()[:6]}"
    await dv_admin.metadata.create_attribute("contact", {**_string(key_column), "MaxLength": 20})
    await dv_admin.metadata.create_alternate_key("contact", f"{key_column}_key", [key_column])
    await dv_admin.metadata.wait_for_key("contact", f"{key_column}_key", timeout=5, poll=0.1)
    targets = [{"@odata.id": f"contacts({key_column}='K-{i}')", "lastname": f"Keyed {i}"} for i in range(3)]
    await dv.upsert_multiple("contacts", targets)
    await dv.upsert_multiple("contacts", [{"@odata.id": f"contacts({key_column}='K-1')", "lastname": "Keyed one"}])
    rows = await dv.query("contacts", select=["lastname", key_column], filter=f"startswith({key_column},'K-')")
    assert sorted((r[key_column], r["lastname"]) for r in rows) == [
        ("K-0", "Keyed 0"), ("K-1", "Keyed one"), ("K-2", "Keyed 2")]  # fmt: skip
    row = await dv.get("contacts", {key_column: "K-2"}, select="lastname")
    assert row["lastname"] == "Keyed 2"


def _string(schema: str) -> dict:
    from lead2cash.integration.dataverse import column

    return column("String", schema, schema)


async def test_a_failing_chunk_is_reported_and_the_others_are_applied(dv):
    tag = marker()
    records = [{"name": f"Part {i}", "accountnumber": tag} for i in range(9)]
    records[4]["nosuchcolumn"] = "boom"
    with pytest.raises(BulkWriteError) as caught:
        await dv.create_multiple("accounts", records, chunk_size=3)
    assert caught.value.failed_positions == [3, 4, 5]
    assert caught.value.status == 400 and "1 chunk" in caught.value.message
    rows = await dv.query("accounts", select="name", filter=f"accountnumber eq '{tag}'")
    assert sorted(r["name"] for r in rows) == [f"Part {i}" for i in (0, 1, 2, 6, 7, 8)]


async def test_bulk_targets_without_keys_are_refused_before_sending(dv):
    with pytest.raises(ValueError, match="accountid"):
        await dv.update_multiple("accounts", [{"name": "no key"}])
