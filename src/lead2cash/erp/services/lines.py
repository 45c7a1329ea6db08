"""Lines of sales quotes and orders: defaults from the item or resource, the best price, and the checks.

A line takes description, unit of measure, VAT % and unit cost from its item or resource and its unit
price from the sales prices (``pricing.best_unit_price``); a unit price given by the caller wins and is
remembered as overridden, so later repricing (currency or quantity changes) leaves it alone. Quantities,
prices and discounts are never negative, percentages stay within 0-100, and what is to ship or invoice
never exceeds what is still open.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp.errors import Conflict, NotFound, ValidationFailed, invalid
from lead2cash.erp.model import Item, Resource, SalesHeader, SalesLine
from lead2cash.erp.model.documents import SalesLineType
from lead2cash.erp.services import amounts, documents, pricing, records
from lead2cash.erp.services.ledgers import batched


def _product(session: Session, header: SalesHeader, line: SalesLine):
    model = Item if line.type is SalesLineType.ITEM else Resource
    product = session.scalars(select(model).where(model.no == line.no)).first()
    if product is None:
        raise invalid(
            line.key_value or documents.describe(header),
            "no",
            f"'{line.no}' does not exist as a {model.label().lower()}",
            f"Use an existing {model.label().lower()} no.",
        )
    if product.blocked:
        raise invalid(
            f"{documents.describe(header)} line {line.line_no}",
            "no",
            f"{model.label().lower()} {product.no} is blocked",
            f"Unblock {model.label().lower()} {product.no} or choose another one.",
        )
    return product


def default_price(session: Session, header: SalesHeader, line: SalesLine) -> None:
    if line.type is SalesLineType.ITEM:
        product = _product(session, header, line)
        line.unit_price = pricing.best_unit_price(
            session,
            item_no=product.no,
            item_unit_price=product.unit_price,
            customer_no=header.sell_to_customer_no,
            price_group=header.customer_price_group,
            currency_code=header.currency_code,
            factor=header.currency_factor,
            unit_of_measure=line.unit_of_measure_code,
            quantity=Decimal(line.quantity),
            on=header.order_date or documents.today(),
        )
    elif line.type is SalesLineType.RESOURCE:
        product = _product(session, header, line)
        prec = pricing.precision(session, header.currency_code)
        line.unit_price = pricing.from_lcy(Decimal(product.unit_price), header.currency_factor, prec)


def _line_label(header: SalesHeader, line: SalesLine) -> str:
    return f"{documents.describe(header)} line {line.line_no}"


def _validate_line(header: SalesHeader, line: SalesLine) -> None:
    label = _line_label(header, line)
    for name in ("quantity", "unit_price", "line_discount_amount", "qty_to_ship", "qty_to_invoice"):
        if Decimal(getattr(line, name)) < 0:
            raise invalid(
                label,
                name,
                f"must not be negative (got {getattr(line, name)})",
                f"Enter zero or a positive {name.replace('_', ' ')}.",
            )
    for name in ("line_discount_pct", "vat_pct", "prepayment_pct"):
        if not documents.ZERO <= Decimal(getattr(line, name)) <= documents.HUNDRED:
            raise invalid(label, name, f"must be between 0 and 100 (got {getattr(line, name)})", "Enter a percentage.")
    if line.type is SalesLineType.COMMENT and Decimal(line.quantity):
        raise invalid(label, "quantity", "must be 0 on a comment line", "Choose a type or remove the quantity.")
    if line.type is not SalesLineType.COMMENT and not line.no:
        raise invalid(label, "no", "is required for this type", f"Enter the {line.type.value} no.")
    outstanding = Decimal(line.quantity) - Decimal(line.quantity_shipped)
    if Decimal(line.qty_to_ship) > outstanding:
        raise invalid(
            label,
            "qty_to_ship",
            f"{line.qty_to_ship} is more than the outstanding quantity {outstanding}",
            f"Ship at most {outstanding}.",
        )
    if Decimal(line.qty_to_invoice) > Decimal(line.quantity) - Decimal(line.quantity_invoiced):
        raise invalid(
            label,
            "qty_to_invoice",
            f"{line.qty_to_invoice} is more than the quantity not yet invoiced",
            f"Invoice at most {Decimal(line.quantity) - Decimal(line.quantity_invoiced)}.",
        )
    if Decimal(line.quantity) < Decimal(line.quantity_shipped) or Decimal(line.quantity) < Decimal(
        line.quantity_invoiced
    ):
        raise invalid(
            label,
            "quantity",
            f"cannot be less than what was already shipped ({line.quantity_shipped})"
            f" or invoiced ({line.quantity_invoiced})",
            "Enter at least the posted quantity.",
        )


@batched
def add_line(session: Session, header: SalesHeader, data: dict[str, Any], *, recalc: bool = True) -> SalesLine:
    documents.require_open(header)
    unknown = set(data) - documents.LINE_FIELDS
    if unknown:
        raise ValidationFailed(f"Unknown sales line fields: {', '.join(sorted(unknown))}.", fix="Remove them.")
    data = {k: v for k, v in data.items() if v is not None}
    line_no = data.pop("line_no", None) or (max((x.line_no for x in header.lines), default=0) + 10000)
    if any(x.line_no == line_no for x in header.lines):
        raise Conflict(
            f"{documents.describe(header)} already has line {line_no}.", field="line_no", fix="Use another line no."
        )
    line = documents.with_defaults(
        SalesLine(
            document_type=header.document_type,
            document_no=header.no,
            line_no=line_no,
            type=SalesLineType(data.pop("type", SalesLineType.ITEM)),
            prepayment_pct=header.prepayment_pct,
        )
    )
    line.no = str(data.pop("no", "")).upper()
    line.quantity = Decimal(data.pop("quantity", 0))
    if line.type in (SalesLineType.ITEM, SalesLineType.RESOURCE):
        product = _product(session, header, line)
        line.description = product.description if line.type is SalesLineType.ITEM else product.name
        line.unit_of_measure_code = product.base_unit_of_measure
        line.vat_pct = product.vat_pct
        line.unit_cost = product.unit_cost
    if "unit_of_measure_code" in data:
        line.unit_of_measure_code = data.pop("unit_of_measure_code")
    given_price = data.pop("unit_price", None)
    for key, value in data.items():
        setattr(line, key, value)
    if "qty_to_ship" not in data:
        line.qty_to_ship = line.quantity
    if "qty_to_invoice" not in data:
        line.qty_to_invoice = line.quantity
    if given_price is not None:
        line.unit_price, line.price_overridden = Decimal(given_price), True
    else:
        _validate_line(header, line)
        default_price(session, header, line)
    _validate_line(header, line)
    records.check_references(session, line, {"unit_of_measure_code"})
    header.lines.append(line)
    if recalc:
        amounts.recalculate(session, header)
        session.flush()
    return line


def get_line(header: SalesHeader, line_no: int) -> SalesLine:
    for line in header.lines:
        if line.line_no == line_no:
            return line
    raise NotFound(
        f"{documents.describe(header)} has no line {line_no}.", record=documents.describe(header), fix="List its lines."
    )


@batched
def update_line(session: Session, header: SalesHeader, line: SalesLine, changes: dict[str, Any]) -> SalesLine:
    unknown = set(changes) - documents.LINE_FIELDS
    if unknown:
        raise ValidationFailed(f"Unknown sales line fields: {', '.join(sorted(unknown))}.", fix="Remove them.")
    changed = {k for k, v in changes.items() if getattr(line, k) != v}
    if not changed:
        return line
    documents.require_open(header, changed)
    if changed & {"line_no", "type", "no"} and (line.quantity_shipped or line.quantity_invoiced):
        raise invalid(_line_label(header, line), "no", "cannot change after posting", "Add a new line instead.")
    for key in changed:
        setattr(line, key, changes[key])
    if "unit_price" in changed:
        line.price_overridden = True
    elif changed & {"no", "type", "quantity", "unit_of_measure_code"} and not line.price_overridden:
        _validate_line(header, line)
        default_price(session, header, line)
    if "quantity" in changed:
        line.qty_to_ship = changes.get("qty_to_ship", Decimal(line.quantity) - Decimal(line.quantity_shipped))
        line.qty_to_invoice = changes.get("qty_to_invoice", Decimal(line.quantity) - Decimal(line.quantity_invoiced))
    _validate_line(header, line)
    records.check_references(session, line, {"unit_of_measure_code"} & changed)
    amounts.recalculate(session, header)
    session.flush()
    return line


def delete_line(session: Session, header: SalesHeader, line: SalesLine) -> None:
    documents.require_open(header)
    if line.quantity_shipped or line.quantity_invoiced:
        raise Conflict(f"{_line_label(header, line)} has posted quantities and cannot be deleted.", fix="Keep it.")
    header.lines.remove(line)
    for attached in [x for x in header.lines if x.attached_to_line_no == line.line_no]:
        header.lines.remove(attached)
    amounts.recalculate(session, header)
    session.flush()
