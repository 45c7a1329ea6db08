"""Change tracking through the client: initial load, deltas with changed rows and deletions, paging of
deltas, expired tokens and tables without tracking."""

from __future__ import annotations

import re
import uuid

import pytest

from lead2cash.integration.dataverse import ChangeTrackingExpired, ChangeTrackingNotEnabled, column

pytestmark = pytest.mark.anyio


async def tracked_table(dv_admin) -> str:
    """A fresh custom table with change tracking switched on through the metadata API."""
    name = f"l2c_t{uuid.uuid4().hex[:8]}"
    primary = column("String", f"{name}_name", "Name", IsPrimaryName=True)
    await dv_admin.metadata.create_table(
        {"SchemaName": name, "DisplayName": {"LocalizedLabels": [{"Label": name}]}, "Attributes": [primary]}
    )
    assert await dv_admin.metadata.enable_change_tracking(name) is True
    assert await dv_admin.metadata.enable_change_tracking(name) is False  # already on
    assert (await dv_admin.metadata.table(name)).change_tracking_enabled
    return name


async def drain(dv, entity_set: str, **options):
    pages = [page async for page in dv.changes.pages(entity_set, **options)]
    assert pages[-1].delta_link and all(p.delta_link is None for p in pages[:-1])
    rows = [r for p in pages for r in p.rows]
    deleted = [d for p in pages for d in p.deleted]
    return pages, rows, deleted


async def test_initial_load_then_only_changes_and_deletions(dv, dv_admin):
    table = await tracked_table(dv_admin)
    info = await dv.metadata.table(table)
    entity_set, pk, name = info.entity_set_name, info.primary_id_attribute, f"{table}_name"
    ids = [await dv.create(entity_set, {name: f"row {i}"}) for i in range(5)]

    pages, rows, deleted = await drain(dv, entity_set, select=[name], page_size=2)
    assert [len(p.rows) for p in pages] == [2, 2, 1] and all(p.initial for p in pages)
    assert sorted(r[pk] for r in rows) == sorted(ids) and deleted == []
    link = pages[-1].delta_link

    await dv.update(entity_set, ids[0], {name: "row 0 changed"})
    await dv.delete(entity_set, ids[1])
    added = await dv.create(entity_set, {name: "row 5"})
    pages, rows, deleted = await drain(dv, entity_set, delta_link=link)
    assert not pages[0].initial
    assert {r[pk]: r[name] for r in rows} == {ids[0]: "row 0 changed", added: "row 5"}
    assert deleted == [ids[1]]

    _pages, rows, deleted = await drain(dv, entity_set, delta_link=pages[-1].delta_link)
    assert rows == [] and deleted == []


async def test_delta_pages_are_bounded_too(dv, dv_admin):
    table = await tracked_table(dv_admin)
    info = await dv.metadata.table(table)
    name = f"{table}_name"
    _pages, _rows, _deleted = await drain(dv, info.entity_set_name, select=[name])
    link = _pages[-1].delta_link
    ids = [await dv.create(info.entity_set_name, {name: f"n{i}"}) for i in range(3)]
    for row_id in ids[:2]:
        await dv.delete(info.entity_set_name, row_id)
    pages, rows, deleted = await drain(dv, info.entity_set_name, delta_link=link, page_size=2)
    assert len(pages) >= 2 and all(len(p.rows) + len(p.deleted) <= 2 for p in pages)
    assert sorted(deleted) == sorted(ids[:2])
    assert [r[info.primary_id_attribute] for r in rows] == [ids[2]]


async def test_an_expired_delta_link_asks_for_a_full_read(dv, dv_admin):
    table = await tracked_table(dv_admin)
    info = await dv.metadata.table(table)
    pages, _rows, _deleted = await drain(dv, info.entity_set_name)
    # the same link as if it had been kept for a year (the token is "<version>!<MM/DD/YYYY HH:MM:SS>")
    old = re.sub(
        r"(deltatoken=\d+(?:!|%21))\d\d(?:/|%2F)\d\d(?:/|%2F)\d{4}", r"\g<1>01%2F01%2F2000", pages[-1].delta_link
    )
    assert old != pages[-1].delta_link
    with pytest.raises(ChangeTrackingExpired):
        await anext(dv.changes.pages(info.entity_set_name, delta_link=old))


async def test_a_table_without_change_tracking_is_reported(dv, dv_admin):
    table = f"l2c_u{uuid.uuid4().hex[:8]}"
    primary = column("String", f"{table}_name", "Name", IsPrimaryName=True)
    await dv_admin.metadata.create_table({"SchemaName": table, "Attributes": [primary]})
    info = await dv.metadata.table(table)
    assert not info.change_tracking_enabled
    with pytest.raises(ChangeTrackingNotEnabled):
        await anext(dv.changes.pages(info.entity_set_name))
