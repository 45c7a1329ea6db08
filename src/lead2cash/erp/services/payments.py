"""Customer ledger entries and cash receipts applied to invoices (Business Central 'Cust. Ledger Entry').

An invoice posts a positive entry, a payment a negative one; applying a payment to an invoice moves the
applied amount off both remaining amounts and records the move as a pair of detailed entries, so every
remaining amount equals the sum of its detailed entries and the customer's balance is the sum of all
detailed entries. An entry whose remaining amount reaches zero closes. Payments apply in the invoice's
currency, partially or fully, never beyond what is open. When a prepayment invoice closes, its order is
released. Each application writes ``customer_payment.applied`` to the outbox.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lead2cash.erp import versioning
from lead2cash.erp.errors import NotFound, ValidationFailed
from lead2cash.erp.model import CustLedgerEntry, DetailedCustLedgEntry
from lead2cash.erp.model.ledger import DetailedEntryType, LedgerDocumentType
from lead2cash.erp.services import documents, pricing, release
from lead2cash.erp.services.ledgers import batched, reserve_entry_nos

ZERO = Decimal(0)


@dataclass
class Application:
    invoice_entry_no: int
    invoice_no: str
    amount: Decimal
    remaining_amount: Decimal
    closed: bool


@dataclass
class PaymentResult:
    entry: CustLedgerEntry
    applications: list[Application]


def _detail(entry: CustLedgerEntry, entry_no: int, kind: DetailedEntryType, amount, amount_lcy, posting_date, **kw):
    return DetailedCustLedgEntry(
        entry_no=entry_no,
        cust_ledger_entry_id=entry.id,
        cust_ledger_entry_no=entry.entry_no,
        entry_type=kind,
        customer_no=entry.customer_no,
        posting_date=posting_date,
        document_type=kw.pop("document_type", entry.document_type),
        document_no=kw.pop("document_no", entry.document_no),
        currency_code=entry.currency_code,
        amount=amount,
        amount_lcy=amount_lcy,
        **kw,
    )


def post_customer_entry(
    session: Session,
    *,
    customer_no: str,
    posting_date: date,
    document_type: LedgerDocumentType,
    document_no: str,
    description: str,
    currency_code: str | None,
    factor: Decimal,
    amount: Decimal,
    sales: Decimal = ZERO,
    due: date | None = None,
    external_document_no: str = "",
    order_no: str = "",
    prepayment: bool = False,
) -> CustLedgerEntry:
    """Post one customer ledger entry and its initial detailed entry."""
    lcy = pricing.precision(session, None)
    amount_lcy = pricing.to_lcy(amount, factor, lcy)
    entry = CustLedgerEntry(
        id=uuid.uuid4(),  # known now, so the detailed entry can point at it without a flush
        entry_no=reserve_entry_nos(session, "cust_ledger_entry", 1),
        customer_no=customer_no,
        posting_date=posting_date,
        document_type=document_type,
        document_no=document_no,
        external_document_no=external_document_no,
        description=description[:100],
        currency_code=None if pricing.is_local(session, currency_code) else currency_code,
        amount=amount,
        amount_lcy=amount_lcy,
        remaining_amount=amount,
        remaining_amount_lcy=amount_lcy,
        sales_lcy=pricing.to_lcy(sales, factor, lcy),
        due_date=due,
        open=amount != 0,
        closed_at_date=None if amount != 0 else posting_date,
        prepayment=prepayment,
        order_no=order_no,
    )
    session.add(entry)
    detail_no = reserve_entry_nos(session, "detailed_cust_ledg_entry", 1)
    session.add(_detail(entry, detail_no, DetailedEntryType.INITIAL_ENTRY, amount, amount_lcy, posting_date))
    return entry


def _find_open_entry(session: Session, customer_no: str, ref: dict[str, Any]) -> CustLedgerEntry:
    stmt = select(CustLedgerEntry).where(CustLedgerEntry.customer_no == customer_no)
    if ref.get("entry_no") is not None:
        stmt = stmt.where(CustLedgerEntry.entry_no == int(ref["entry_no"]))
        label = f"entry {ref['entry_no']}"
    else:
        no = str(ref.get("document_no") or "").upper()
        stmt = stmt.where(
            CustLedgerEntry.document_no == no, CustLedgerEntry.document_type == LedgerDocumentType.INVOICE
        )
        label = f"invoice {no}"
    entry = session.scalars(stmt.with_for_update()).first()
    if entry is None:
        raise NotFound(
            f"Customer {customer_no} has no ledger entry for {label}.",
            record=f"Customer {customer_no}",
            field="applies_to",
            fix="Apply to a posted invoice of this customer.",
        )
    if not entry.open or entry.remaining_amount <= 0:
        raise ValidationFailed(
            f"Customer ledger entry {entry.entry_no} ({entry.document_type.value} {entry.document_no}) is not open.",
            record=f"Customer ledger entry {entry.entry_no}",
            field="applies_to",
            fix="Apply the payment to an open invoice.",
        )
    return entry


def _move(entry: CustLedgerEntry, applied: Decimal, lcy: pricing.Precision) -> Decimal:
    """Take ``applied`` (signed) off the entry's remaining amount; returns the LCY amount moved."""
    remaining = Decimal(entry.remaining_amount) - applied
    if remaining == 0:
        moved_lcy = Decimal(entry.remaining_amount_lcy)
    else:
        moved_lcy = pricing.round_to(applied * Decimal(entry.amount_lcy) / Decimal(entry.amount), lcy.amount)
    entry.remaining_amount = remaining
    entry.remaining_amount_lcy = Decimal(entry.remaining_amount_lcy) - moved_lcy
    return moved_lcy


@batched
def post_payment(
    session: Session,
    *,
    customer_no: str,
    amount: Decimal,
    applies_to: list[dict[str, Any]] = (),
    posting_date: date | None = None,
    currency_code: str | None = None,
    document_no: str | None = None,
    external_document_no: str = "",
    description: str = "",
) -> PaymentResult:
    """Post a cash receipt of ``amount`` from the customer and apply it to the given invoice entries."""
    posting_date = posting_date or documents.today()
    label = f"Payment from customer {customer_no}"
    amount = Decimal(amount)
    if amount <= 0:
        raise ValidationFailed(
            f"{label}: amount must be positive (got {amount}).",
            record=label,
            field="amount",
            fix="Enter the amount received.",
        )
    documents.check_customer(session, customer_no, label)
    currency_code = None if pricing.is_local(session, currency_code) else currency_code
    factor = pricing.currency_factor(session, currency_code, posting_date, record=label)
    prec = pricing.precision(session, currency_code)
    if pricing.round_to(amount, prec.amount) != amount:
        raise ValidationFailed(
            f"{label}: amount {amount} has more decimals than currency precision {prec.amount}.",
            record=label,
            field="amount",
            fix=f"Round the amount to {prec.amount}.",
        )
    targets = _targets(session, label, customer_no, currency_code, applies_to, amount)
    no = document_no or documents.series_no(session, "payment_nos", "Cash receipt")
    payment = post_customer_entry(
        session,
        customer_no=customer_no,
        posting_date=posting_date,
        document_type=LedgerDocumentType.PAYMENT,
        document_no=no,
        description=description or f"Payment {no}",
        external_document_no=external_document_no,
        currency_code=currency_code,
        factor=factor,
        amount=-amount,
    )
    return PaymentResult(payment, _apply(session, payment, targets, posting_date))


def _targets(session: Session, label: str, customer_no: str, currency_code, applies_to, available: Decimal):
    """The open invoice entries to apply to, with the amount for each; checked before anything is written."""
    targets, left = [], available
    for ref in applies_to:
        entry = _find_open_entry(session, customer_no, ref)
        if (entry.currency_code or None) != currency_code:
            raise ValidationFailed(
                f"{label}: invoice {entry.document_no} is in {entry.currency_code or 'local currency'}, "
                f"the payment in {currency_code or 'local currency'}.",
                record=label,
                field="currency_code",
                fix="Pay in the invoice's currency.",
            )
        wanted = Decimal(ref["amount"]) if ref.get("amount") is not None else min(entry.remaining_amount, left)
        if wanted <= 0 or wanted > entry.remaining_amount:
            raise ValidationFailed(
                f"{label}: cannot apply {wanted} to invoice {entry.document_no}; its remaining amount is "
                f"{entry.remaining_amount}.",
                record=label,
                field="applies_to",
                fix=f"Apply between 0 and {entry.remaining_amount}.",
            )
        if wanted > left:
            raise ValidationFailed(
                f"{label}: the applications add up to more than the payment amount {available}.",
                record=label,
                field="applies_to",
                fix="Lower the applied amounts or raise the payment amount.",
            )
        targets.append((entry, wanted))
        left -= wanted
    return targets


def _apply(session: Session, payment: CustLedgerEntry, targets, posting_date: date) -> list[Application]:
    no = payment.document_no
    customer_no = payment.customer_no
    lcy = pricing.precision(session, None)
    detail_no = reserve_entry_nos(session, "detailed_cust_ledg_entry", 2 * len(targets)) if targets else 0
    applications = []
    for entry, applied in targets:
        invoice_lcy = _move(entry, applied, lcy)
        payment_lcy = _move(payment, -applied, lcy)
        common = {"document_type": LedgerDocumentType.PAYMENT, "document_no": no}
        session.add_all(
            [
                _detail(entry, detail_no, DetailedEntryType.APPLICATION, -applied, -invoice_lcy, posting_date,
                        applied_cust_ledger_entry_no=payment.entry_no, **common),
                _detail(payment, detail_no + 1, DetailedEntryType.APPLICATION, applied, -payment_lcy, posting_date,
                        applied_cust_ledger_entry_no=entry.entry_no, **common),
            ]
        )  # fmt: skip
        detail_no += 2
        for side in (entry, payment):
            if side.remaining_amount == 0:
                side.open, side.closed_at_date = False, posting_date
        applications.append(
            Application(entry.entry_no, entry.document_no, applied, entry.remaining_amount, not entry.open)
        )
        versioning.emit(
            session,
            "customer_payment.applied",
            table="cust_ledger_entry",
            record_id=entry.id,
            payload={
                "customer_no": customer_no,
                "payment_no": no,
                "payment_entry_no": payment.entry_no,
                "invoice_no": entry.document_no,
                "invoice_entry_no": entry.entry_no,
                "applied_amount": str(applied),
                "amount": str(entry.amount),
                "remaining_amount": str(entry.remaining_amount),
                "closed": not entry.open,
                "prepayment": entry.prepayment,
                "order_no": entry.order_no,
            },
        )
    session.flush()
    for entry, _ in targets:
        if entry.prepayment and not entry.open and entry.order_no:
            release.release_after_prepayment(session, entry.order_no)
    session.flush()
    return applications


@batched
def apply_payment(
    session: Session, payment_entry_no: int, applies_to: list[dict[str, Any]], *, posting_date: date | None = None
) -> PaymentResult:
    """Apply what is still open on an earlier payment to invoices (Business Central 'Apply Entries')."""
    payment = session.scalars(
        select(CustLedgerEntry).where(CustLedgerEntry.entry_no == payment_entry_no).with_for_update()
    ).first()
    if payment is None or payment.document_type is not LedgerDocumentType.PAYMENT:
        raise NotFound(
            f"Payment entry {payment_entry_no} does not exist.",
            record=f"Customer ledger entry {payment_entry_no}",
            fix="Give the entry no. of a posted payment.",
        )
    label = f"Payment {payment.document_no}"
    if not payment.open or payment.remaining_amount >= 0:
        raise ValidationFailed(
            f"{label} has nothing left to apply.", record=label, field="entry_no", fix="Post a new payment."
        )
    targets = _targets(
        session, label, payment.customer_no, payment.currency_code, applies_to, -Decimal(payment.remaining_amount)
    )
    return PaymentResult(payment, _apply(session, payment, targets, posting_date or documents.today()))


def open_entries(session: Session, customer_no: str) -> list[CustLedgerEntry]:
    stmt = (
        select(CustLedgerEntry)
        .where(CustLedgerEntry.customer_no == customer_no, or_(CustLedgerEntry.open.is_(True)))
        .order_by(CustLedgerEntry.entry_no)
    )
    return list(session.scalars(stmt))
