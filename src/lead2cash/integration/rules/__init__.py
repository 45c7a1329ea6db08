"""Entity rules: what one mapping needs beyond copying field rows (R2-R11), as small hook objects.

The engine is generic: it selects records, converts field rows, decides insert / modify / unchanged and
writes in bulk. Whatever is particular to one table — a CRM column no field row fills (a unit group's
name), a record to match instead of create (a currency by ISO code), a record to keep out (a contact whose
company is not a customer), something to do after a write (the default price list) — lives in one module
per entity, registered here under its mapping name. A rule overrides only the hooks it needs; the engine
calls every hook for every page, so there are no per-entity ``if``s in the engine.

Hooks get the run's ``SyncContext`` and the page's session; they work on whole pages (lists) so their
look-ups are set-based too. A hook refuses a single record by raising ``TransferError`` from
``check_erp``/``complete_crm``/``complete_erp`` (the record fails with that message, the page goes on).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from lead2cash.integration.engine.context import SyncContext


class EntityRule:
    """No-op hooks; a mapping's rule overrides the ones it needs."""

    #: mapping names this rule serves
    mappings: tuple[str, ...] = ()

    def crm_columns(self, ctx: SyncContext) -> tuple[str, ...]:
        """Extra CRM columns the rule reads (besides the field rows' and the filter's)."""
        return ()

    def ignore_erp(self, ctx: SyncContext, session: Session, records: list[Any]) -> set[uuid.UUID]:
        """ERP records (ids) this mapping leaves alone although they passed the table filter (not counted)."""
        return set()

    def ignore_crm(self, ctx: SyncContext, session: Session, rows: list[dict]) -> set[str]:
        """CRM rows (ids) left alone although they passed the CRM filter (not counted)."""
        return set()

    def match_crm(self, ctx: SyncContext, session: Session, records: list[Any]) -> dict[uuid.UUID, uuid.UUID]:
        """CRM rows that uncoupled ERP records should be coupled to instead of creating new ones."""
        return {}

    def prepare_erp(self, ctx: SyncContext, session: Session, records: list[Any]) -> None:
        """Before a page of ERP records is converted: look up what the other hooks need, set-based."""

    def prepare_crm(self, ctx: SyncContext, session: Session, rows: list[dict]) -> None:
        """Before a page of CRM rows is converted: look up what the other hooks need, set-based."""

    def crm_ids_for(
        self, ctx: SyncContext, session: Session, erp_field: str, codes: set[str]
    ) -> dict[str, uuid.UUID] | None:
        """CRM ids for the codes of a reference field whose target is not found through couplings of the
        referenced table (a company contact stands for its customer's account); ``None``: the usual way."""
        return None

    def check_erp(self, ctx: SyncContext, session: Session, record: Any) -> None:
        """Refuse a record before anything is written (raise ``TransferError``)."""

    def complete_crm(self, ctx: SyncContext, session: Session, record: Any, payload: dict, insert: bool) -> None:
        """Add CRM values no field row provides (in place)."""

    def after_crm_write(self, ctx: SyncContext, session: Session, written: list[tuple[Any, uuid.UUID, bool]]) -> None:
        """After a page's writes went to the CRM: ``(record, crm_id, inserted)`` per record written (empty when
        they all failed)."""

    def complete_erp(self, ctx: SyncContext, session: Session, row: dict, values: dict, insert: bool) -> None:
        """Add or fix ERP field values (typed) before the ERP record is created or changed (in place)."""


_REGISTRY: dict[str, EntityRule] = {}
_NO_RULE = EntityRule()


def register(rule: EntityRule) -> EntityRule:
    for name in rule.mappings:
        _REGISTRY[name] = rule
    return rule


def rule_for(mapping_name: str) -> EntityRule:
    """The rule of a mapping (temporary child mappings use their parent's name); no rule: no-op hooks."""
    _load()
    return _REGISTRY.get(mapping_name, _NO_RULE)


def _load() -> None:
    if _REGISTRY:
        return
    from lead2cash.integration.rules import (  # noqa: F401  (modules register themselves)
        contact,
        currency,
        customer,
        invoice,
        opportunity,
        price,
        product,
        salesorder,
        salesperson,
        uom,
    )
