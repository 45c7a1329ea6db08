"""CONTACT (R4): person contacts of customer companies ↔ CRM contacts of accounts.

ERP → CRM: only persons whose company contact is linked to a customer take part (others are left alone);
the CRM contact's parent is the account coupled to that customer — not coupled yet, the contact fails
naming the customer to synchronize first. CRM → ERP: only contacts of an account (the mapping's filter);
the person's company is the company contact of the customer coupled to that account, created when the
customer has none yet (the ERP's "contact business relation"). All look-ups are per page.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp.model import Contact, Customer
from lead2cash.erp.model.enums import ContactType
from lead2cash.erp.services import records as erp_records
from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.engine.transfer import TransferError, coupled_codes, coupled_crm_ids
from lead2cash.integration.rules import EntityRule, register

KEY = "contact"


class ContactRule(EntityRule):
    mappings = ("CONTACT",)

    def crm_columns(self, ctx: SyncContext) -> tuple[str, ...]:
        return ("_parentcustomerid_value",)

    def ignore_erp(self, ctx: SyncContext, session: Session, records: list[Any]) -> set[uuid.UUID]:
        companies = {r.company_no for r in records if r.company_no}
        customer_of = dict(
            session.execute(select(Contact.no, Contact.customer_no).where(Contact.no.in_(companies))).all()
        ) if companies else {}  # fmt: skip
        customers = {c for c in customer_of.values() if c}
        accounts = coupled_crm_ids(session, "customer", "no", customers)
        ctx.scratch[KEY] = {"customer_of": customer_of, "accounts": accounts}
        return {r.id for r in records if r.type != ContactType.PERSON or not customer_of.get(r.company_no)}

    def complete_crm(self, ctx: SyncContext, session: Session, record: Any, payload: dict, insert: bool) -> None:
        found = ctx.scratch.get(KEY, {})
        customer = found.get("customer_of", {}).get(record.company_no)
        account = found.get("accounts", {}).get(customer) if customer else None
        if account is None:
            raise TransferError(
                f"Contact {record.no}: its company's customer {customer} is not coupled to an account. "
                f"Synchronize customer {customer} first."
            )
        key, ref = ctx.bind("contact", "parentcustomerid", "account", account)
        payload[key] = ref

    def prepare_crm(self, ctx: SyncContext, session: Session, rows: list[dict]) -> None:
        ids = {uuid.UUID(r["_parentcustomerid_value"]) for r in rows if r.get("_parentcustomerid_value")}
        customers = coupled_codes(session, "customer", "no", "account", ids)
        companies = dict(
            session.execute(
                select(Contact.customer_no, Contact.no).where(Contact.customer_no.in_(set(customers.values())))
            ).all()
        ) if customers else {}  # fmt: skip
        ctx.scratch[KEY] = {"customers": customers, "companies": companies}

    def complete_erp(self, ctx: SyncContext, session: Session, row: dict, values: dict, insert: bool) -> None:
        found = ctx.scratch.get(KEY, {})
        parent = row.get("_parentcustomerid_value")
        customer = found.get("customers", {}).get(uuid.UUID(parent)) if parent else None
        if customer is None:
            raise TransferError(
                f"contact {row.get('contactid')}: its account {parent} is not coupled to a customer. "
                f"Synchronize the account (mapping CUSTOMER) first."
            )
        company = found.get("companies", {}).get(customer) or self._company_for(session, customer, found)
        values["company_no"] = company
        if insert:
            values["type"] = ContactType.PERSON

    def _company_for(self, session: Session, customer_no: str, found: dict) -> str:
        customer = session.scalars(select(Customer).where(Customer.no == customer_no)).one()
        company = erp_records.create(
            session,
            erp_records.RecordType(Contact, "contact_nos"),
            {"type": ContactType.COMPANY, "name": customer.name, "customer_no": customer_no},
        )
        found.setdefault("companies", {})[customer_no] = company.no
        return company.no


register(ContactRule())
