"""Change tracking: read a table once in full, then only what changed since — including deletions.

``Prefer: odata.track-changes`` on a collection read returns every row (paged as usual) and, on the last
page, an ``@odata.deltaLink``. Reading that link later returns rows created or changed since, then
``$deletedEntity`` entries for rows deleted since, and a new delta link. :meth:`ChangeTracking.pages`
yields :class:`ChangePage` objects with the changed rows and the deleted ids apart; only the last page
carries ``delta_link``. Callers store that link together with what they did with the pages (the sync
engine commits it with the data), so a crash in between re-reads the same changes — at least once,
never lost.

An expired delta token raises :class:`~.errors.ChangeTrackingExpired` and a table without change tracking
:class:`~.errors.ChangeTrackingNotEnabled`: the caller falls back to a full read (or to ``modifiedon``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from lead2cash.integration.dataverse import odata
from lead2cash.integration.dataverse.errors import DataverseError
from lead2cash.integration.dataverse.transport import Transport


@dataclass(frozen=True)
class ChangePage:
    """Rows new or changed since the last read, ids deleted since, and — on the last page — the delta link."""

    rows: list[dict[str, Any]]
    deleted: list[str] = field(default_factory=list)
    delta_link: str | None = None
    initial: bool = False  # True while reading the full initial load

    @property
    def last(self) -> bool:
        return self.delta_link is not None


def is_deletion(row: dict[str, Any]) -> bool:
    context = str(row.get("@odata.context") or "")
    return context.endswith("/$deletedEntity") or (row.get("reason") == "deleted" and "id" in row)


class ChangeTracking:
    """Initial tracked reads and delta reads of one org's tables."""

    def __init__(self, transport: Transport, page_size: int):
        self._transport = transport
        self._page_size = page_size

    async def pages(
        self,
        entity_set: str,
        *,
        select: Sequence[str] | str | None = None,
        delta_link: str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[ChangePage]:
        """Changes since ``delta_link``, or — without one — every row as the initial load.

        ``$filter``, ``$orderby``, ``$expand`` and ``$top`` cannot be combined with change tracking.
        """
        headers = odata.prefer(track_changes=True, max_page_size=page_size or self._page_size)
        initial = delta_link is None
        link: str | None = delta_link or entity_set + odata.query_string(select=select)
        while link is not None:
            body = (await self._transport.request("GET", link, headers=headers)).json()
            rows, deleted = [], []
            for row in body.get("value") or []:
                if is_deletion(row):
                    deleted.append(str(row["id"]).lower())
                else:
                    rows.append(row)
            link = body.get("@odata.nextLink")
            new_delta = body.get("@odata.deltaLink") if link is None else None
            if link is None and new_delta is None:
                raise DataverseError(0, "", f"The org ended a tracked read of {entity_set} without a delta link.")
            yield ChangePage(rows, deleted, new_delta, initial)
