"""Amounts of sales documents: rounding by currency, line and invoice discounts, VAT, header totals.

``recalculate`` runs after every change to a document. Each line's amount is quantity x unit price minus
the line discount, rounded to the currency's amount precision; the header's invoice discount is spread
over the lines in proportion to their amounts (the last line takes the rounding rest, so the shares add up
exactly); VAT is computed per line on the amount after discounts; the header totals are the sums of the
lines, so stored amounts are always consistent with each other.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from lead2cash.erp.errors import invalid
from lead2cash.erp.model import SalesHeader, SalesLine
from lead2cash.erp.model.documents import SalesLineType
from lead2cash.erp.services import documents, pricing

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def recalculate(session: Session, header: SalesHeader) -> None:
    """Round every line, spread the invoice discount, refresh outstanding quantities and header totals."""
    prec = pricing.precision(session, header.currency_code)
    lines = [x for x in header.lines if x.type is not SalesLineType.COMMENT]
    for line in lines:
        line.unit_price = pricing.round_to(Decimal(line.unit_price), prec.unit_amount)
        gross = pricing.round_to(Decimal(line.quantity) * line.unit_price, prec.amount)
        if Decimal(line.line_discount_pct):
            line.line_discount_amount = pricing.round_to(gross * Decimal(line.line_discount_pct) / HUNDRED, prec.amount)
        elif Decimal(line.line_discount_amount) > gross:
            raise invalid(
                f"{documents.describe(header)} line {line.line_no}",
                "line_discount_amount",
                f"exceeds the line amount {gross}",
                "Lower the discount.",
            )
        line.line_amount = gross - Decimal(line.line_discount_amount)
    _spread_invoice_discount(header, lines, prec)
    for line in lines:
        line.amount = line.line_amount - Decimal(line.inv_discount_amount)
        vat = pricing.round_to(line.amount * Decimal(line.vat_pct) / HUNDRED, prec.amount)
        line.amount_including_vat = line.amount + vat
        line.prepmt_line_amount = pricing.round_to(
            line.line_amount * Decimal(line.prepayment_pct) / HUNDRED, prec.amount
        )
        line.outstanding_quantity = Decimal(line.quantity) - Decimal(line.quantity_shipped)
        line.qty_shipped_not_invoiced = Decimal(line.quantity_shipped) - Decimal(line.quantity_invoiced)
    for line in header.lines:
        if line.type is SalesLineType.COMMENT:
            for name in ("line_amount", "amount", "amount_including_vat", "inv_discount_amount"):
                setattr(line, name, ZERO)
            line.outstanding_quantity = line.qty_shipped_not_invoiced = ZERO
    header.amount = sum((x.amount for x in lines), ZERO)
    header.amount_including_vat = sum((x.amount_including_vat for x in lines), ZERO)
    header.completely_shipped = bool(lines) and all(x.outstanding_quantity == 0 for x in lines if x.quantity)


def _spread_invoice_discount(header: SalesHeader, lines: list[SalesLine], prec: pricing.Precision) -> None:
    total_discount = Decimal(header.invoice_discount_amount or 0)
    base = sum((x.line_amount for x in lines if x.line_amount > 0), ZERO)
    if total_discount > base:
        raise invalid(
            documents.describe(header),
            "invoice_discount_amount",
            f"{total_discount} exceeds the total line amount {base}",
            "Lower the invoice discount.",
        )
    remaining = total_discount
    eligible = [x for x in lines if x.line_amount > 0]
    for index, line in enumerate(eligible):
        if index == len(eligible) - 1:
            share = remaining
        else:
            share = pricing.round_to(total_discount * line.line_amount / base, prec.amount)
        share = min(share, remaining, line.line_amount)
        line.inv_discount_amount = share
        remaining -= share
    for line in lines:
        if line not in eligible:
            line.inv_discount_amount = ZERO
