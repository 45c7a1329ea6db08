"""What the manual operations need to know about a mapping's CRM table, read over the Web API.

Manual operations address CRM rows the way a user sees them: by id or by primary name, a page at a time,
uncoupled ones only, counted for a recommendation. Everything here is one request per page (never one per
record), and the coupled/uncoupled split of a page is one coupling query for the whole page.

``crm`` is the blocking Dataverse client (``SyncDataverseClient``); ``open_crm`` builds one from the
connection setup stored in the ERP database, with the secret decrypted only in memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from lead2cash.config import get_settings
from lead2cash.db import transaction
from lead2cash.erp.errors import NotFound, ValidationFailed
from lead2cash.integration import couplings
from lead2cash.integration.dataverse import SyncDataverseClient
from lead2cash.integration.mapping import filters
from lead2cash.integration.mapping.model import TableMapping

DEFAULT_PAGE = 100


@contextmanager
def open_crm(sessions: sessionmaker[Session], secret_key: str | None = None) -> Iterator[SyncDataverseClient]:
    """A blocking client for the integration user of the stored connection setup."""
    from lead2cash.integration.setup import service

    key = secret_key or get_settings().resolved_secret_key()
    with transaction(sessions) as session:
        settings = service.dataverse_settings(service.get_setup(session), key)
    with SyncDataverseClient(settings) as crm:
        yield crm


@dataclass(frozen=True)
class CrmTable:
    entity: str
    entity_set: str
    id_attribute: str
    name_attribute: str | None


def table(crm: Any, mapping: TableMapping) -> CrmTable:
    info = crm.metadata.table(mapping.crm_entity)
    return CrmTable(info.logical_name, info.entity_set_name, info.primary_id_attribute, info.primary_name_attribute)


def mapping_filter(mapping: TableMapping, *extra: str) -> str | None:
    """The mapping's CRM (integration table) filter as ``$filter``, and-ed with ``extra`` conditions."""
    tree = mapping.crm_filter_tree()
    parts = ([filters.to_odata(tree)] if tree is not None else []) + [e for e in extra if e]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else " and ".join(f"({p})" for p in parts)


def get_mapping(session: Session, name: str) -> TableMapping:
    mapping = session.get(TableMapping, name)
    if mapping is None or mapping.is_temporary:
        raise NotFound(
            f"There is no integration table mapping {name!r}.",
            record="Integration table mapping",
            fix="Use the default synchronization setup or choose an existing mapping.",
        )
    return mapping


def row_id(row: dict[str, Any], t: CrmTable) -> uuid.UUID:
    return uuid.UUID(str(row[t.id_attribute]))


def describe(row: dict[str, Any], t: CrmTable) -> str:
    name = row.get(t.name_attribute) if t.name_attribute else None
    return f"{t.entity} {name!r} ({row[t.id_attribute]})" if name else f"{t.entity} {row[t.id_attribute]}"


def find_row(crm: Any, mapping: TableMapping, *, crm_id: uuid.UUID | None = None, name: str | None = None) -> dict:
    """The CRM row a user picked, by id or by its primary name (the name must be unique)."""
    t = table(crm, mapping)
    select = [t.id_attribute] + ([t.name_attribute] if t.name_attribute else [])
    if crm_id is not None:
        row = crm.find(t.entity_set, str(crm_id), select=select)
        if row is None:
            raise NotFound(
                f"There is no {t.entity} with id {crm_id} in the CRM.",
                record=mapping.name,
                fix="Pick an existing CRM row.",
            )
        return row
    if not name or not t.name_attribute:
        raise ValidationFailed(
            f"{mapping.name}: give the CRM row's id or its name.",
            record=mapping.name,
            field="crm_id",
            fix="Enter the id or the name of the CRM row to couple.",
        )
    rows = crm.query(t.entity_set, select=select, filter=f"{t.name_attribute} eq {filters.odata_literal(name)}", top=2)
    if len(rows) != 1:
        what = "no" if not rows else "more than one"
        raise ValidationFailed(
            f"{mapping.name}: {what} {t.entity} is named {name!r}.",
            record=mapping.name,
            field="crm_name",
            fix="Pick the CRM row by its id.",
        )
    return rows[0]


@dataclass
class RowsPage:
    rows: list[dict[str, Any]]
    #: opaque cursor for the next page (None on the last page)
    next: str | None


def uncoupled_rows(
    session: Session,
    crm: Any,
    mapping: TableMapping,
    *,
    select: list[str] | None = None,
    page_size: int = DEFAULT_PAGE,
    cursor: str | None = None,
) -> RowsPage:
    """One page of the mapping's CRM rows (in its integration filter) that are not coupled (C2).

    The page is read with one request and checked against the couplings with one query; coupled rows are
    left out, so a page can hold fewer rows than asked for. ``cursor`` is the ``next`` of the previous page.
    """
    t = table(crm, mapping)
    wanted = list(dict.fromkeys([t.id_attribute, *([t.name_attribute] if t.name_attribute else []), *(select or [])]))
    if cursor is not None:
        if not cursor.startswith(crm.settings.url.rstrip("/") + "/"):
            raise ValidationFailed(
                "The paging cursor does not belong to this CRM.", field="cursor", fix="Start again from the first page."
            )
        pages = crm.pages(cursor, page_size=page_size)  # a next link is a complete request of its own
    else:
        pages = crm.pages(
            t.entity_set, select=wanted, filter=mapping_filter(mapping), orderby=[t.id_attribute], page_size=page_size
        )
    page = next(iter(pages), None)
    if page is None:
        return RowsPage([], None)
    coupled = couplings.by_crm_ids(session, t.entity, [row_id(r, t) for r in page.rows])
    return RowsPage([r for r in page.rows if row_id(r, t) not in coupled], page.next_link)


def iter_rows(crm: Any, mapping: TableMapping, select: list[str], page_size: int = 500) -> Iterator[list[dict]]:
    """Every CRM row in the mapping's filter, a page at a time."""
    t = table(crm, mapping)
    wanted = list(dict.fromkeys([t.id_attribute, *select]))
    for page in crm.pages(t.entity_set, select=wanted, filter=mapping_filter(mapping), page_size=page_size):
        yield page.rows


def count_rows(crm: Any, mapping: TableMapping, *extra: str) -> int:
    """How many CRM rows are in the mapping's filter (one request, ``$count``)."""
    t = table(crm, mapping)
    for page in crm.pages(
        t.entity_set, select=[t.id_attribute], filter=mapping_filter(mapping, *extra), count=True, page_size=1
    ):
        return int(page.count if page.count is not None else len(page.rows))
    return 0
