"""Create and edit sales quotes and orders: numbers, customer defaults, the header, and the shared checks.

A new document takes its addresses, currency, salesperson, payment terms, shipping and price group from
the customer (the caller may override any of them); its lines are handled by ``lines`` and its amounts by
``amounts``. Documents can be edited only while Open (Business Central's 'Status must be Open'), except the
quantities to ship and invoice.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp.errors import Conflict, NotFound, ValidationFailed, invalid
from lead2cash.erp.model import Customer, NoSeries, SalesHeader
from lead2cash.erp.model.documents import SalesDocumentStatus, SalesDocumentType
from lead2cash.erp.model.enums import CustomerBlocked
from lead2cash.erp.services import amounts, noseries, pricing, records
from lead2cash.erp.services import lines as doc_lines
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
        doc_lines.add_line(session, header, dict(line), recalc=False)
    amounts.recalculate(session, header)
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
                doc_lines.default_price(session, header, line)
    if "prepayment_pct" in changed:
        for line in header.lines:
            line.prepayment_pct = header.prepayment_pct
    amounts.recalculate(session, header)
    session.flush()
    return header


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
