"""OPPORTUNITY (R11): opportunities both ways, with the company's account as the potential customer.

The field rows carry owner, name, contact, values and dates. The company of an ERP opportunity is a company
contact, which is never coupled itself: the CRM account it stands for is the one coupled to the customer
the company contact is linked to (looked up per page). An opportunity whose company has no coupled
customer fails naming it, unless its row says "clear value on failed sync".
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp.model import Contact
from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.engine.transfer import coupled_crm_ids
from lead2cash.integration.rules import EntityRule, register


class OpportunityRule(EntityRule):
    mappings = ("OPPORTUNITY",)

    def crm_ids_for(self, ctx: SyncContext, session: Session, erp_field: str, codes: set[str]):
        if erp_field != "contact_company_no":
            return None
        customer_of = dict(
            session.execute(select(Contact.no, Contact.customer_no).where(Contact.no.in_(codes))).all()
        ) if codes else {}  # fmt: skip
        accounts = coupled_crm_ids(session, "customer", "no", {c for c in customer_of.values() if c})
        found: dict[str, uuid.UUID] = {}
        for company, customer in customer_of.items():
            if customer in accounts:
                found[company] = accounts[customer]
        return found


register(OpportunityRule())
