"""CUSTOMER (R2, R3): customers ↔ accounts of relationship type Customer.

The owner of the account comes from the customer's salesperson through the owner field row (R2: an
uncoupled salesperson fails the record with a message naming it, and the record is retried on the next
run). New accounts are created with relationship type *Customer*, so that they pass the CUSTOMER mapping's
CRM filter (R3) and come back as customers, not as prospects nobody synchronizes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.rules import EntityRule, register

CUSTOMER_TYPE = 3


class CustomerRule(EntityRule):
    mappings = ("CUSTOMER",)

    def complete_crm(self, ctx: SyncContext, session: Session, record: Any, payload: dict, insert: bool) -> None:
        if insert:
            payload.setdefault("customertypecode", CUSTOMER_TYPE)


register(CustomerRule())
