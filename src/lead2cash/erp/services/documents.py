"""Create and edit sales quotes and orders: customer defaults, line defaults and prices, amounts and totals.

A new document takes its addresses, currency, salesperson, payment terms, shipping and price group from
the customer (the caller may override any of them). A line takes description, unit, VAT % and the best
sales price from its item or resource; a unit price given by the caller wins and is remembered as
overridden. After every change ``recalculate`` rounds each line by the document currency, spreads the
header invoice discount over the lines in proportion to their amounts, and refreshes the header totals, so
stored amounts are always consistent. Documents can be edited only while Open (Business Central's 'Status
must be Open'), except the quantities to ship and invoice.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp.errors import Conflict, NotFound, ValidationFailed, invalid
from lead2cash.erp.model import Customer, Item, NoSeries, Resource, SalesHeader, SalesLine
from lead2cash.erp.model.documents import SalesDocumentStatus, SalesDocumentType, SalesLineType
from lead2cash.erp.model.enums import CustomerBlocked
from lead2cash.erp.services import noseries, pricing, records
from lead2cash.erp.services.ledgers import batched
from lead2cash.erp.services.setup import DEFAULT_SERIES, sales_setup
from lead2cash.sqltypes import utcnow

CUSTOMER_DEFAULTS = {
    "currency_code": "currency_code",
    "salesperson_code": "salesperson_code",
    "payment_terms_code": "payment_terms_code",
    "shipment_method_code": "shipment_method_code",
    "shipping_agent_code": "shipping_agent_code",
    "customer_price_group": "customer_price_group",
}
ADDRESS = ("address", "address_2", "post_code", "city", "county", "country_region_code")
HEADER_FIELDS = frozenset(
    c.key for c in SalesHeader.__table__.c if c.key not in {"id", "created_at", "modified_at", "row_version"}
) - {
    "document_type",
    "status",
    "amount",
    "amount_including_vat",
    "completely_shipped",
    "doc_no_occurrence",
    "no_of_archived_versions",
    "last_shipping_no",
    "last_posting_no",
    "last_prepayment_no",
    "last_shipment_date",
    "currency_factor",
}
LINE_FIELDS = frozenset(
    {
        "line_no",
        "type",
        "no",
        "description",
        "description_2",
        "attached_to_line_no",
        "unit_of_measure_code",
        "quantity",
        "unit_price",
        "line_discount_pct",
        "line_discount_amount",
        "vat_pct",
        "shipment_date",
        "qty_to_ship",
        "qty_to_invoice",
        "prepayment_pct",
    }
)
#: what may change on a Released order (Business Central lets you set what to post next)
POSTING_FIELDS = frozenset({"qty_to_ship", "qty_to_invoice"})
ZERO = Decimal(0)
HUNDRED = Decimal(100)


def with_defaults(obj):
    """Fill the column defaults in now (SQLAlchemy applies them only at flush) so rules can read them."""
    for column in obj.__table__.c:
        if getattr(obj, column.key) is None and column.default is not None and column.default.is_scalar:
            setattr(obj, column.key, column.default.arg)
    return obj


def today() -> date:
    return utcnow().date()


def series_no(session: Session, setup_field: str, record: str) -> str:
    """Next number of the series the sales setup names in ``setup_field`` (its default series when blank)."""
    setup = sales_setup(session)
    code = getattr(setup, setup_field)
    if not code:
        code, description, start = DEFAULT_SERIES[setup_field]
        if session.scalars(select(NoSeries).where(NoSeries.code == code)).first() is None:
            session.add(NoSeries(code=code, description=description, starting_no=start))
        setattr(setup, setup_field, code)
        session.flush()
    return noseries.next_no(session, code, record=record)


def get_document(
    session: Session, document_type: SalesDocumentType, no: str, *, for_update: bool = False
) -> SalesHeader:
    stmt = select(SalesHeader).where(SalesHeader.document_type == document_type, SalesHeader.no == no.upper())
    if for_update:
        stmt = stmt.with_for_update()
    header = session.scalars(stmt).first()
    if header is None:
        raise NotFound(
            f"Sales {str(document_type).lower()} {no} does not exist.",
            record=f"Sales {str(document_type).lower()} {no}",
            fix=f"Check the no. or list the sales {str(document_type).lower()}s.",
        )
    return header


def describe(header: SalesHeader) -> str:
    return f"Sales {str(header.document_type).lower()} {header.no}"


def check_customer(session: Session, customer_no: str, record: str, *, blocked_for: tuple = ()) -> Customer:
    customer = session.scalars(select(Customer).where(Customer.no == customer_no)).first()
    if customer is None:
        raise invalid(
            record,
            "sell_to_customer_no",
            f"'{customer_no}' does not exist as a customer",
            "Use an existing customer no.",
        )
    blocked = (CustomerBlocked.ALL, *blocked_for)
    if customer.blocked in blocked:
        raise ValidationFailed(
            f"{record}: customer {customer.no} is blocked ({customer.blocked.value.strip() or 'All'}).",
            record=record,
            field="sell_to_customer_no",
            fix=f"Change Blocked on customer {customer.no} or use another customer.",
        )
    return customer


def require_open(header: SalesHeader, fields: set[str] | None = None) -> None:
    if header.status is SalesDocumentStatus.OPEN:
        return
    if fields is not None and fields <= POSTING_FIELDS:
        return
    raise Conflict(
        f"{describe(header)}: status must be Open to change it (it is {header.status.value}).",
        record=describe(header),
        field="status",
        fix=f"Reopen {describe(header).lower()} first.",
    )


def _apply_customer(header: SalesHeader, customer: Customer, given: set[str]) -> None:
    header.sell_to_customer_name = customer.name
    header.bill_to_customer_no = customer.no
    for target, source in CUSTOMER_DEFAULTS.items():
        if target not in given:
            setattr(header, target, getattr(customer, source))
    for prefix in ("bill_to", "ship_to"):
        if f"{prefix}_name" not in given:
            setattr(header, f"{prefix}_name", customer.name)
        for part in ADDRESS:
            if f"{prefix}_{part}" not in given:
                setattr(header, f"{prefix}_{part}", getattr(customer, part))


def _refresh_factor(session: Session, header: SalesHeader) -> None:
    on = header.posting_date or header.order_date or header.document_date or today()
    header.currency_factor = pricing.currency_factor(session, header.currency_code, on, record=describe(header))


@batched
def create_document(
    session: Session, document_type: SalesDocumentType, data: dict[str, Any], lines: list[dict[str, Any]] = ()
) -> SalesHeader:
    """A new quote or order for ``data['sell_to_customer_no']`` with optional lines."""
    unknown = set(data) - HEADER_FIELDS
    if unknown:
        raise ValidationFailed(f"Unknown sales header fields: {', '.join(sorted(unknown))}.", fix="Remove them.")
    label = f"Sales {str(document_type).lower()}"
    data = {k: v for k, v in data.items() if v is not None}
    customer = check_customer(session, data.get("sell_to_customer_no") or "", label)
    no = data.pop("no", None) or series_no(
        session, "quote_nos" if document_type is SalesDocumentType.QUOTE else "order_nos", label
    )
    if session.execute(
        select(SalesHeader.id).where(SalesHeader.document_type == document_type, SalesHeader.no == no)
    ).first():
        raise Conflict(f"{label} {no} already exists.", record=f"{label} {no}", field="no", fix="Use another no.")
    header = with_defaults(SalesHeader(document_type=document_type, no=no, status=SalesDocumentStatus.OPEN))
    header.order_date = data.pop("order_date", None) or today()
    header.document_date = data.pop("document_date", None) or header.order_date
    header.lines = []
    _apply_customer(header, customer, set(data))
    for key, value in data.items():
        setattr(header, key, value)
    _check_header(session, header, set(data) | set(CUSTOMER_DEFAULTS))
    _refresh_factor(session, header)
    session.add(header)
    for line in lines:
        add_line(session, header, dict(line), recalc=False)
    recalculate(session, header)
    session.flush()
    return header


def _check_header(session: Session, header: SalesHeader, changed: set[str]) -> None:
    records.check_references(session, header, changed)
    for name in ("prepayment_pct", "payment_discount_pct"):
        value = getattr(header, name)
        if value is not None and not ZERO <= Decimal(value) <= HUNDRED:
            raise invalid(describe(header), name, f"must be between 0 and 100 (got {value})", "Enter a percentage.")
    if Decimal(header.invoice_discount_amount or 0) < 0:
        raise invalid(describe(header), "invoice_discount_amount", "must not be negative", "Enter zero or more.")


@batched
def update_header(session: Session, header: SalesHeader, changes: dict[str, Any]) -> SalesHeader:
    unknown = set(changes) - HEADER_FIELDS - {"no"}
    if unknown:
        raise ValidationFailed(f"Unknown sales header fields: {', '.join(sorted(unknown))}.", fix="Remove them.")
    changed = {k for k, v in changes.items() if getattr(header, k) != v}
    if not changed:
        return header
    require_open(header)
    if "no" in changed:
        raise invalid(describe(header), "no", "cannot be changed", "Create a new document instead.")
    if "sell_to_customer_no" in changed:
        if any(line.quantity_shipped or line.quantity_invoiced or line.prepmt_amt_inv for line in header.lines):
            raise invalid(
                describe(header), "sell_to_customer_no", "cannot change after posting", "Create a new document."
            )
        customer = check_customer(session, changes["sell_to_customer_no"], describe(header))
        header.sell_to_customer_no = customer.no
        _apply_customer(header, customer, set(changes))
    for key in changed - {"sell_to_customer_no"}:
        setattr(header, key, changes[key])
    _check_header(session, header, changed)
    if changed & {"currency_code", "order_date", "posting_date", "sell_to_customer_no"}:
        _refresh_factor(session, header)
    if changed & {"currency_code", "sell_to_customer_no", "customer_price_group", "order_date"}:
        for line in header.lines:
            if not line.price_overridden:
                _default_price(session, header, line)
    if "prepayment_pct" in changed:
        for line in header.lines:
            line.prepayment_pct = header.prepayment_pct
    recalculate(session, header)
    session.flush()
    return header


def _product(session: Session, header: SalesHeader, line: SalesLine):
    model = Item if line.type is SalesLineType.ITEM else Resource
    product = session.scalars(select(model).where(model.no == line.no)).first()
    if product is None:
        raise invalid(
            line.key_value or describe(header),
            "no",
            f"'{line.no}' does not exist as a {model.label().lower()}",
            f"Use an existing {model.label().lower()} no.",
        )
    if product.blocked:
        raise invalid(
            f"{describe(header)} line {line.line_no}",
            "no",
            f"{model.label().lower()} {product.no} is blocked",
            f"Unblock {model.label().lower()} {product.no} or choose another one.",
        )
    return product


def _default_price(session: Session, header: SalesHeader, line: SalesLine) -> None:
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
            on=header.order_date or today(),
        )
    elif line.type is SalesLineType.RESOURCE:
        product = _product(session, header, line)
        prec = pricing.precision(session, header.currency_code)
        line.unit_price = pricing.from_lcy(Decimal(product.unit_price), header.currency_factor, prec)


def _line_label(header: SalesHeader, line: SalesLine) -> str:
    return f"{describe(header)} line {line.line_no}"


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
        if not ZERO <= Decimal(getattr(line, name)) <= HUNDRED:
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
    require_open(header)
    unknown = set(data) - LINE_FIELDS
    if unknown:
        raise ValidationFailed(f"Unknown sales line fields: {', '.join(sorted(unknown))}.", fix="Remove them.")
    data = {k: v for k, v in data.items() if v is not None}
    line_no = data.pop("line_no", None) or (max((x.line_no for x in header.lines), default=0) + 10000)
    if any(x.line_no == line_no for x in header.lines):
        raise Conflict(f"{describe(header)} already has line {line_no}.", field="line_no", fix="Use another line no.")
    line = with_defaults(
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
        _default_price(session, header, line)
    _validate_line(header, line)
    records.check_references(session, line, {"unit_of_measure_code"})
    header.lines.append(line)
    if recalc:
        recalculate(session, header)
        session.flush()
    return line


def get_line(header: SalesHeader, line_no: int) -> SalesLine:
    for line in header.lines:
        if line.line_no == line_no:
            return line
    raise NotFound(f"{describe(header)} has no line {line_no}.", record=describe(header), fix="List its lines.")


@batched
def update_line(session: Session, header: SalesHeader, line: SalesLine, changes: dict[str, Any]) -> SalesLine:
    unknown = set(changes) - LINE_FIELDS
    if unknown:
        raise ValidationFailed(f"Unknown sales line fields: {', '.join(sorted(unknown))}.", fix="Remove them.")
    changed = {k for k, v in changes.items() if getattr(line, k) != v}
    if not changed:
        return line
    require_open(header, changed)
    if changed & {"line_no", "type", "no"} and (line.quantity_shipped or line.quantity_invoiced):
        raise invalid(_line_label(header, line), "no", "cannot change after posting", "Add a new line instead.")
    for key in changed:
        setattr(line, key, changes[key])
    if "unit_price" in changed:
        line.price_overridden = True
    elif changed & {"no", "type", "quantity", "unit_of_measure_code"} and not line.price_overridden:
        _validate_line(header, line)
        _default_price(session, header, line)
    if "quantity" in changed:
        line.qty_to_ship = changes.get("qty_to_ship", Decimal(line.quantity) - Decimal(line.quantity_shipped))
        line.qty_to_invoice = changes.get("qty_to_invoice", Decimal(line.quantity) - Decimal(line.quantity_invoiced))
    _validate_line(header, line)
    records.check_references(session, line, {"unit_of_measure_code"} & changed)
    recalculate(session, header)
    session.flush()
    return line


def delete_line(session: Session, header: SalesHeader, line: SalesLine) -> None:
    require_open(header)
    if line.quantity_shipped or line.quantity_invoiced:
        raise Conflict(f"{_line_label(header, line)} has posted quantities and cannot be deleted.", fix="Keep it.")
    header.lines.remove(line)
    for attached in [x for x in header.lines if x.attached_to_line_no == line.line_no]:
        header.lines.remove(attached)
    recalculate(session, header)
    session.flush()


def delete_document(session: Session, header: SalesHeader) -> None:
    if any(
        x.quantity_shipped != x.quantity_invoiced or x.prepmt_amt_inv != x.prepmt_amt_deducted for x in header.lines
    ):
        raise Conflict(
            f"{describe(header)} has shipped but not invoiced quantities or undeducted prepayments.",
            record=describe(header),
            fix="Invoice what was shipped first.",
        )
    require_open(header)
    session.delete(header)
    session.flush()


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
                _line_label(header, line),
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
            describe(header),
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
