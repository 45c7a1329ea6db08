"""CRM changes wake the recurring entries (J1, beyond the reference, where only ERP changes do).

Every few seconds the watcher asks the CRM, per mapping that reads from it (direction both or from the
CRM) and whose entry is waiting (on hold with inactivity timeout, or Ready with its next run later), whether
something changed since the mapping's last CRM → ERP pass; if so it wakes the entry.

How it asks: the mapping's stored **delta link** is read again with a small page size (``Prefer:
odata.maxpagesize``). A delta link is a read-only bookmark: reading it returns the changes since and a new
link, but nothing is consumed — the stored link stays where the engine left it, and the engine's own next
pass reads the same changes. The request costs one indexed range read on the CRM's version column (plus
the tombstones), returns at most a page of rows, and catches deletions, which a ``modifiedon`` query
cannot. Rows last changed by the integration user are ignored (the engine writes them itself; R1), so a
mapping's own writes never wake it. A full page of only such rows with more to come wakes the entry
anyway (cheap to be wrong that way). Mappings sharing a delta link (none by default) share one request.
Mappings with no delta link but a ``modifiedon`` watermark (tables without change tracking) are asked
``$top=1`` rows modified after it by someone else. A mapping with neither has never run; its entry is Ready
and runs by itself.

The watcher keeps one CRM client open, costs nothing while every entry is running or due anyway, and
stops asking when the connection is disabled.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lead2cash.db import transaction
from lead2cash.integration.mapping.enums import Direction
from lead2cash.integration.mapping.model import TableMapping
from lead2cash.integration.recurring import SYNC_JOB
from lead2cash.jobs.model import EntryStatus, JobQueueEntry
from lead2cash.sqltypes import utcnow

log = logging.getLogger("lead2cash.integration.crm_watch")
PAGE = 50


@dataclass(frozen=True)
class Watched:
    key: str
    crm_entity: str
    delta_link: str | None
    modified_since: datetime | None


def waiting_mappings(session: Session) -> list[Watched]:
    """Mappings reading from the CRM whose recurring entry is waiting for a change."""
    now = utcnow()
    rows = session.execute(
        select(TableMapping, JobQueueEntry)
        .join(JobQueueEntry, JobQueueEntry.key == TableMapping.name)
        .where(JobQueueEntry.handler == SYNC_JOB, TableMapping.direction.in_((Direction.BOTH, Direction.FROM_CRM)))
    ).all()
    out = []
    for mapping, entry in rows:
        waiting = entry.status == EntryStatus.ON_HOLD_INACTIVE or (
            entry.status == EntryStatus.READY and entry.next_run_at is not None and entry.next_run_at > now
        )
        if waiting and (mapping.crm_delta_link or mapping.crm_modified_watermark):
            since = mapping.crm_modified_watermark
            out.append(Watched(mapping.name, mapping.crm_entity, mapping.crm_delta_link, since))
    return out


def _changed_by_others(crm, link: str, integration_user: str) -> bool:
    for page in crm.changes.pages("", delta_link=link, page_size=PAGE):
        if page.deleted or any(str(r.get("_modifiedby_value") or "").lower() != integration_user for r in page.rows):
            return True
        return not page.last  # a full page of our own writes and more to come: look at it in a run
    return False


def _modified_by_others(crm, entity: str, since: datetime, integration_user: str) -> bool:
    table = crm.metadata.table(entity)
    stamp = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = crm.query(
        table.entity_set_name,
        select=[table.primary_id_attribute],
        filter=f"modifiedon gt {stamp} and _modifiedby_value ne {integration_user}",
        top=1,
    )
    return bool(rows)


def changed_keys(crm, watched: list[Watched], integration_user: str) -> list[str]:
    """Keys of the watched mappings whose CRM table changed (one request per distinct delta link)."""
    by_link: dict[str, bool] = {}
    keys = []
    for item in watched:
        if item.delta_link:
            if item.delta_link not in by_link:
                by_link[item.delta_link] = _changed_by_others(crm, item.delta_link, integration_user)
            changed = by_link[item.delta_link]
        else:
            changed = _modified_by_others(crm, item.crm_entity, item.modified_since, integration_user)
        if changed:
            keys.append(item.key)
    return keys


class CrmChangeWatcher:
    """A thread that polls the CRM every ``interval`` seconds and calls ``wake(key)`` for changed mappings."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        wake: Callable[[str], object],
        *,
        interval: float = 10.0,
        open_crm: Callable | None = None,
    ):
        self.sessions = sessions
        self.wake = wake
        self.interval = interval
        self._open_crm = open_crm
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.polls = 0

    def poll_once(self, crm) -> list[str]:
        """One round: ask the CRM about every waiting mapping and wake the changed ones."""
        from lead2cash.integration.setup.model import SETUP_ID, ConnectionSetup

        with transaction(self.sessions) as session:
            setup = session.get(ConnectionSetup, SETUP_ID)
            if setup is None or not setup.enabled:
                return []
            user = str(setup.integration_user_id or "").lower()
            watched = waiting_mappings(session)
        if not watched:
            return []
        if not user:
            user = str(crm.who_am_i().user_id).lower()
        woken = changed_keys(crm, watched, user)
        for key in woken:
            self.wake(key)
        self.polls += 1
        return woken

    def _loop(self) -> None:
        from contextlib import ExitStack

        from lead2cash.integration.manual.crm import open_crm

        opener = self._open_crm or (lambda: open_crm(self.sessions))
        stack: ExitStack | None = None
        crm = None
        while not self._stop.wait(self.interval):
            try:
                if crm is None:
                    stack = ExitStack()
                    crm = stack.enter_context(opener())
                self.poll_once(crm)
            except Exception as exc:  # CRM unreachable, connection not set up yet: try again next round
                log.info("CRM change polling failed: %s", exc)
                if stack is not None:
                    stack.close()
                stack, crm = None, None
        if stack is not None:
            stack.close()

    def start(self) -> CrmChangeWatcher:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="crm-change-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
