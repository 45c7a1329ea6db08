"""Metadata look-ups and setup writes through the client; the blocking facade used by synchronous code."""

from __future__ import annotations

import threading
import uuid

import pytest

from lead2cash.crm import seed
from lead2cash.integration.dataverse import AccessDenied, NotFound, SyncDataverseClient, column


@pytest.mark.anyio
async def test_tables_are_found_by_logical_or_entity_set_name(dv):
    by_logical = await dv.metadata.table("account")
    assert (by_logical.entity_set_name, by_logical.primary_id_attribute) == ("accounts", "accountid")
    assert by_logical.primary_name_attribute == "name" and by_logical.odata_type == "Microsoft.Dynamics.CRM.account"
    sent = dv.transport.stats.sent
    assert await dv.metadata.table("accounts") == by_logical
    assert dv.transport.stats.sent == sent  # cached
    with pytest.raises(NotFound):
        await dv.metadata.table("nosuchtable")


@pytest.mark.anyio
async def test_setup_adds_a_column_and_an_alternate_key(dv_admin):
    name = f"l2c_erpno{uuid.uuid4().hex[:6]}"
    assert await dv_admin.metadata.create_attribute("account", column("String", name, "ERP No.", MaxLength=20))
    attributes = {a["LogicalName"]: a["AttributeType"] for a in await dv_admin.metadata.attributes("account")}
    assert attributes[name] == "String"
    await dv_admin.metadata.create_alternate_key("account", f"{name}_key", [name], display_name="ERP No.")
    await dv_admin.metadata.wait_for_key("account", f"{name}_key", timeout=5, poll=0.1)
    keys = {k["SchemaName"]: k["KeyAttributes"] for k in await dv_admin.metadata.keys("account")}
    assert keys[f"{name}_key"] == [name]
    created = await dv_admin.create_by_key("accounts", {name: "C-1000"}, {"name": "Keyed customer"})
    assert (await dv_admin.get("accounts", {name: "C-1000"}, select="accountid"))["accountid"] == created


@pytest.mark.anyio
async def test_metadata_writes_need_a_customizer(dv):
    with pytest.raises(AccessDenied) as caught:
        await dv.metadata.create_attribute("account", column("String", "l2c_denied", "Denied"))
    assert caught.value.status == 403


def test_blocking_facade_reads_writes_and_pages(dv_settings):
    with SyncDataverseClient(dv_settings) as dv:
        assert dv.who_am_i().user_id == seed.INTEGRATION_USER_ID
        marker = uuid.uuid4().hex[:10]
        ids = dv.create_multiple("accounts", [{"name": f"Sync {i}", "accountnumber": marker} for i in range(5)])
        pages = list(dv.pages("accounts", select="name", filter=f"accountnumber eq '{marker}'", page_size=2))
        assert [len(p.rows) for p in pages] == [2, 2, 1]
        assert sorted(r["accountid"] for r in dv.rows("accounts", filter=f"accountnumber eq '{marker}'")) == sorted(ids)
        assert dv.metadata.table("accounts").logical_name == "account"
        assert len(dv.query("accounts", select="name", filter=f"accountnumber eq '{marker}'", top=2)) == 2
        with pytest.raises(NotFound):
            dv.get("accounts", str(uuid.uuid4()))


def test_blocking_facade_is_shared_by_threads(dv_settings):
    with SyncDataverseClient(dv_settings) as dv:
        created: list[str] = []
        lock = threading.Lock()

        def work(n: int) -> None:
            row_id = dv.create("accounts", {"name": f"Thread {n}"})
            with lock:
                created.append(row_id)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(created)) == 4
        assert dv.client.transport.tokens.fetches == 1


def test_leaving_a_page_loop_early_closes_the_read(dv_settings):
    with SyncDataverseClient(dv_settings) as dv:
        for page in dv.pages("accounts", select="name", page_size=1):
            assert len(page.rows) == 1
            break
        assert dv.who_am_i().user_id  # the facade is still usable afterwards
