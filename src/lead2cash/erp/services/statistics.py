"""Customer statistics as Business Central shows them on the customer card (and the CRM account statistics).

All amounts are in local currency. Balance is the sum of the customer's detailed ledger entries (invoices
minus payments); outstanding orders and shipped-not-invoiced are valued at the order lines' amounts
including VAT for the outstanding or shipped-not-invoiced share of each line; overdue is what is still
open on entries due before the as-of date; total sales is the sales amount (excluding VAT) of posted
invoices; total = balance + outstanding orders + shipped not invoiced.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lead2cash.erp.model import CustLedgerEntry, Customer, DetailedCustLedgEntry, SalesHeader, SalesLine
from lead2cash.erp.model.documents import SalesDocumentType
from lead2cash.erp.model.ledger import LedgerDocumentType
from lead2cash.erp.services import documents, pricing, records

ZERO = Decimal(0)


@dataclass
class CustomerStatistics:
    customer_no: str
    name: str
    balance_lcy: Decimal
    outstanding_orders_lcy: Decimal
    shipped_not_invoiced_lcy: Decimal
    outstanding_invoices_lcy: Decimal
    total_lcy: Decimal
    credit_limit_lcy: Decimal
    overdue_amounts_lcy: Decimal
    overdue_amounts_as_of: date
    total_sales_lcy: Decimal
    payments_lcy: Decimal
    invoiced_prepayment_amount_lcy: Decimal

    def as_dict(self) -> dict:
        return asdict(self)


def _sum(session: Session, column, *where) -> Decimal:
    return Decimal(session.execute(select(func.coalesce(func.sum(column), 0)).where(*where)).scalar() or 0)


def _order_values(session: Session, customer_no: str) -> tuple[Decimal, Decimal]:
    """(outstanding, shipped not invoiced) of the customer's order lines, in local currency."""
    rows = session.execute(
        select(
            SalesHeader.currency_code,
            SalesHeader.currency_factor,
            SalesLine.quantity,
            SalesLine.outstanding_quantity,
            SalesLine.qty_shipped_not_invoiced,
            SalesLine.amount_including_vat,
        )
        .join(SalesLine, SalesLine.header_id == SalesHeader.id)
        .where(
            SalesHeader.document_type == SalesDocumentType.ORDER,
            SalesHeader.bill_to_customer_no == customer_no,
            SalesLine.quantity > 0,
        )
    ).all()
    lcy = pricing.precision(session, None)
    outstanding = shipped = ZERO
    for _currency, factor, quantity, out_qty, sni_qty, amount in rows:
        factor = Decimal(factor or 1)
        outstanding += pricing.to_lcy(pricing.round_to(amount * out_qty / quantity, lcy.amount), factor, lcy)
        shipped += pricing.to_lcy(pricing.round_to(amount * sni_qty / quantity, lcy.amount), factor, lcy)
    return outstanding, shipped


def customer_statistics(session: Session, customer_no: str, *, as_of: date | None = None) -> CustomerStatistics:
    customer = records.get(session, Customer, customer_no)
    as_of = as_of or documents.today()
    no = customer.no
    balance = _sum(session, DetailedCustLedgEntry.amount_lcy, DetailedCustLedgEntry.customer_no == no)
    overdue = _sum(
        session,
        CustLedgerEntry.remaining_amount_lcy,
        CustLedgerEntry.customer_no == no,
        CustLedgerEntry.open.is_(True),
        CustLedgerEntry.due_date < as_of,
        CustLedgerEntry.remaining_amount_lcy > 0,
    )
    invoices = (CustLedgerEntry.customer_no == no, CustLedgerEntry.document_type == LedgerDocumentType.INVOICE)
    total_sales = _sum(session, CustLedgerEntry.sales_lcy, *invoices, CustLedgerEntry.prepayment.is_(False))
    prepayments = _sum(session, CustLedgerEntry.amount_lcy, *invoices, CustLedgerEntry.prepayment.is_(True))
    payments = -_sum(
        session,
        CustLedgerEntry.amount_lcy,
        CustLedgerEntry.customer_no == no,
        CustLedgerEntry.document_type == LedgerDocumentType.PAYMENT,
    )
    outstanding, shipped = _order_values(session, no)
    return CustomerStatistics(
        customer_no=no,
        name=customer.name,
        balance_lcy=balance,
        outstanding_orders_lcy=outstanding,
        shipped_not_invoiced_lcy=shipped,
        outstanding_invoices_lcy=ZERO,  # no unposted sales invoices in this ERP: orders are invoiced directly
        total_lcy=balance + outstanding + shipped,
        credit_limit_lcy=Decimal(customer.credit_limit_lcy),
        overdue_amounts_lcy=overdue,
        overdue_amounts_as_of=as_of,
        total_sales_lcy=total_sales,
        payments_lcy=payments,
        invoiced_prepayment_amount_lcy=prepayments,
    )
