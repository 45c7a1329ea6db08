"""POSTEDSALESINV-INV (R11): posted sales invoices → CRM invoices, named after their number.

A CRM invoice needs a name no field row fills: it is the posted invoice's number. Lines (POSTEDSALESLINE-INV)
are meant to travel with their header; that, the customer / price list links and the *Billed* status are
not done by the engine yet.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.rules import EntityRule, register


class InvoiceRule(EntityRule):
    mappings = ("POSTEDSALESINV-INV",)

    def complete_crm(self, ctx: SyncContext, session: Session, record: Any, payload: dict, insert: bool) -> None:
        if insert:
            payload.setdefault("name", record.no)


register(InvoiceRule())
