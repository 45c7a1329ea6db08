"""SALESPEOPLE (R1, R8): CRM users become ERP salespeople; the code is made from the user's name.

Salespeople come from the CRM only. A new one needs a code, which no CRM column holds: it is built from
the initials of the full name (``Nancy Davolio`` → ``ND``), numbered when taken (``ND2``). The integration
user itself is kept out by the mapping's filter (application users have an ``applicationid``).
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp.model import Salesperson
from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.rules import EntityRule, register


def code_for(session: Session, full_name: str, email: str = "") -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", full_name or "") if w]
    base = "".join(w[0] for w in words).upper() or (email.split("@")[0].upper() if email else "SP")
    base = base[:16]
    taken = set(session.scalars(select(Salesperson.code).where(Salesperson.code.like(f"{base}%"))))
    if base not in taken:
        return base
    number = 2
    while f"{base}{number}" in taken:
        number += 1
    return f"{base}{number}"


class SalespersonRule(EntityRule):
    mappings = ("SALESPEOPLE",)

    def complete_erp(self, ctx: SyncContext, session: Session, row: dict, values: dict, insert: bool) -> None:
        if insert and not values.get("code"):
            values["code"] = code_for(session, row.get("fullname") or "", row.get("internalemailaddress") or "")


register(SalespersonRule())
