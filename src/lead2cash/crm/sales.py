"""Sales rules of the CRM: state machines, read-only documents, line and header totals, posts.

Dynamics 365 Sales is more than tables: a quote can only be edited while it is a draft, closing or winning
a quote, opportunity or order goes through its dedicated message (``WinQuote``, ``FulfillSalesOrder`` …, see
:mod:`lead2cash.crm.sales_actions`) rather than a plain ``PATCH`` of ``statecode``, a submitted order is
read-only for everybody except the integration user, and the pricing engine computes line and header
amounts. These rules are a store write hook, so they hold for every path that writes rows: single
requests, ``$batch`` parts and the bulk actions alike.

Pricing (system-calculated, per line and then per header):

* ``priceperunit`` comes from the header's price list (``productpricelevel`` for product and unit, else the
  product's list ``price``) unless the client sends it or sets ``ispriceoverridden``;
* ``baseamount = priceperunit * quantity``; ``extendedamount = baseamount - manualdiscountamount + tax``;
* header: ``totallineitemamount = Σ(baseamount - manualdiscountamount)``, ``totallineitemdiscountamount =
  Σ manualdiscountamount``, ``totaltax = Σ tax``, ``totaldiscountamount = discountamount +
  totallineitemamount * discountpercentage / 100``, ``totalamountlessfreight = totallineitemamount -
  totaldiscountamount``, ``totalamount = totalamountlessfreight + freightamount + totaltax``;

all rounded to the currency's precision.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

from lead2cash.crm.metadata import EntityDef
from lead2cash.crm.odata.errors import DataverseError
from lead2cash.crm.store import Change, UnitOfWork

INVALID_STATE = "0x80040203"
USE_MESSAGE = "0x80100005"  # "use WinOpportunity/LoseOpportunity" and its siblings
LOCKED = "0x80043b2f"
LINES = {"quotedetail": "quote", "salesorderdetail": "salesorder", "invoicedetail": "invoice"}
HEADERS = {header: line for line, header in LINES.items()}
# (entity, statecode) reached only through a Sales message, never by PATCH.
DEDICATED = {
    ("opportunity", 1): "WinOpportunity",
    ("opportunity", 2): "LoseOpportunity",
    ("quote", 2): "WinQuote",
    ("quote", 3): "CloseQuote",
    ("salesorder", 2): "CancelSalesOrder",
    ("salesorder", 3): "FulfillSalesOrder",
}
NUMBER_PREFIX = {
    "quote": ("quotenumber", "QUO"),
    "salesorder": ("ordernumber", "ORD"),
    "invoice": ("invoicenumber", "INV"),
}
PRICING_INPUTS = {"priceperunit", "quantity", "manualdiscountamount", "tax", "productid", "uomid", "ispriceoverridden"}
HEADER_INPUTS = {"discountamount", "discountpercentage", "freightamount"}
ZERO = Decimal(0)

_privileged: contextvars.ContextVar[str | None] = contextvars.ContextVar("sales_privileged", default=None)
# Headers whose deletion is under way: their lines go with them whatever the header's state.
_deleting: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("sales_deleting", default=frozenset())


@contextmanager
def privileged(reason: str) -> Iterator[None]:
    """Writes made by the server itself (a Sales message, recomputed totals): state rules do not apply."""
    token = _privileged.set(reason)
    try:
        yield
    finally:
        _privileged.reset(token)


def _error(message: str, code: str = INVALID_STATE, status: int = 400) -> DataverseError:
    return DataverseError(status, code, message)


def _is_integration(uow: UnitOfWork) -> bool:
    caller = uow.caller
    return caller is None or bool(getattr(caller, "is_integration_user", False))


def _money(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(value)


def _round(uow: UnitOfWork, currency_id: str | None, value: Decimal) -> Decimal:
    key = f"precision:{currency_id}"
    if key not in uow._currency_cache:
        precision = None
        if currency_id is not None:
            t = uow.table("transactioncurrency")
            stmt = sa.select(t.c.currencyprecision).where(t.c.transactioncurrencyid == currency_id)
            precision = uow.conn.execute(stmt).scalar()
        uow._currency_cache[key] = 2 if precision is None else int(precision)
    return value.quantize(Decimal(1).scaleb(-uow._currency_cache[key]), rounding=ROUND_HALF_UP)


# -- state and status -------------------------------------------------------------------------------


def check_state(uow: UnitOfWork, change: Change) -> None:
    """Valid statecode/statuscode pairs; dedicated transitions only through their Sales message."""
    entity, values = change.entity, change.values
    if not entity.has_state or not ({"statecode", "statuscode"} & values.keys()):
        return
    status_attr = entity.attributes["statuscode"]
    if "statecode" not in values and values.get("statuscode") is not None:
        option = status_attr.option(values["statuscode"])
        if option is not None:
            values["statecode"] = option.state
    state = values.get("statecode", (change.existing or {}).get("statecode"))
    status = values.get("statuscode")
    if state is None or entity.attributes["statecode"].option(state) is None:
        raise _error(f"{state} is not a valid state code on {entity.logical_name}.")
    if status is None:
        values["statuscode"] = status = entity.default_status(state)
    option = status_attr.option(status)
    if option is None or option.state != state:
        raise _error(f"{status} is not a valid status code for state code {state} on {entity.logical_name}.")
    before = (change.existing or {}).get("statecode")
    message = DEDICATED.get((entity.logical_name, state))
    if message and state != before and _privileged.get() is None:
        raise _error(
            f"This message can not be used to set the state of {entity.logical_name} to "
            f"{entity.attributes['statecode'].option(state).label}. In order to set state of "
            f"{entity.logical_name} to {entity.attributes['statecode'].option(state).label} use the "
            f"{message} message instead.",
            USE_MESSAGE,
        )


def check_editable(uow: UnitOfWork, change: Change) -> None:
    """Closed quotes, opportunities and orders are read-only (orders: except for the integration user)."""
    if _privileged.get() is not None:
        return
    entity = change.entity.logical_name
    if entity == "post":
        if change.op == "update":
            raise _error("The 'Update' method does not support entities of type 'post'.", "0x80040800")
        if change.op == "create":
            for required in ("regardingobjectid", "text"):
                if not change.values.get(required):
                    raise _error(f"The post needs '{required}'.", "0x80040200")
        return
    if entity in LINES:
        header_name = LINES[entity]
        row = {**(change.existing or {}), **change.values}
        if change.op == "delete" and row.get(f"{header_name}id") in _deleting.get():
            return
        header = (
            uow.get(uow.registry.get(header_name), row.get(f"{header_name}id")) if row.get(f"{header_name}id") else None
        )
        if header is not None:
            _check_document(uow, header_name, header, f"its {header_name}", lines=True)
        return
    if change.op == "delete" and entity == "quote" and (change.existing or {}).get("statecode") == 3:
        return  # closed quotes may be deleted; active and won ones may not
    if change.op != "create" and change.existing is not None:
        _check_document(uow, entity, change.existing, "it", lines=False, change=change)


def _check_document(
    uow: UnitOfWork, entity: str, row: dict, what: str, *, lines: bool, change: Change | None = None
) -> None:
    state = row.get("statecode")
    if entity == "quote" and state != 0:
        raise _error(f"The quote cannot be changed because {what} is not a draft; revise the quote instead.", LOCKED)
    if entity == "salesorder" and state != 0 and not _is_integration(uow):
        label = {1: "submitted", 2: "canceled", 3: "fulfilled", 4: "invoiced"}.get(state, "closed")
        raise _error(f"The order cannot be changed because {what} is {label}.", LOCKED, 403 if state == 1 else 400)
    if entity == "opportunity" and state in (1, 2) and not lines and change is not None:
        reopening = change.values.get("statecode") == 0
        if not reopening:
            raise _error("The opportunity is closed; reopen it (statecode 0) before changing it.", LOCKED)


def on_submit(uow: UnitOfWork, change: Change) -> None:
    """Submitting an order (PATCH statecode 1) stamps the submit date."""
    if change.entity.logical_name != "salesorder" or change.values.get("statecode") != 1:
        return
    if (change.existing or {}).get("statecode") == 1:
        return
    change.values.setdefault("submitdate", uow.now.date())
    change.values.setdefault("submitstatus", 1)


def assign_number(uow: UnitOfWork, change: Change) -> None:
    spec = NUMBER_PREFIX.get(change.entity.logical_name)
    if change.op != "create" or spec is None:
        return
    column, prefix = spec
    if not change.values.get(column):
        change.values[column] = f"{prefix}-{uow.next_versions():05d}-{uuid.uuid4().hex[:6].upper()}"
    if change.entity.logical_name == "quote" and change.values.get("revisionnumber") is None:
        change.values["revisionnumber"] = 0


# -- pricing ----------------------------------------------------------------------------------------


def _list_price(uow: UnitOfWork, header: dict, row: dict) -> Decimal | None:
    product_id = row.get("productid")
    if product_id is None:
        return None
    if header.get("pricelevelid"):
        t = uow.table("productpricelevel")
        stmt = (
            sa.select(t.c.amount)
            .where(t.c.pricelevelid == header["pricelevelid"], t.c.productid == product_id)
            .order_by((t.c.uomid == row.get("uomid")).desc())
            .limit(1)
        )
        amount = uow.conn.execute(stmt).scalar()
        if amount is not None:
            return Decimal(amount)
    product = uow.get(uow.registry.get("product"), product_id)
    return Decimal(product["price"]) if product and product.get("price") is not None else None


def price_line(uow: UnitOfWork, change: Change) -> None:
    """Line amounts of a quote/order/invoice product."""
    if change.entity.logical_name not in LINES or change.op == "delete":
        return
    values = change.values
    if change.op == "update" and not (PRICING_INPUTS & values.keys()):
        return
    if "priceperunit" in values and "ispriceoverridden" not in values:
        values["ispriceoverridden"] = True  # an explicit price is kept, as a client expects
    row = {**(change.existing or {}), **values}
    header_name = LINES[change.entity.logical_name]
    header = (
        uow.get(uow.registry.get(header_name), row.get(f"{header_name}id")) if row.get(f"{header_name}id") else None
    )
    if not row.get("ispriceoverridden") and header is not None:
        values["ispriceoverridden"] = False
        price = _list_price(uow, header, row)
        if price is not None:
            row["priceperunit"] = values["priceperunit"] = price
    currency = row.get("transactioncurrencyid") or (header or {}).get("transactioncurrencyid")
    base = _round(uow, currency, _money(row.get("priceperunit")) * _money(row.get("quantity")))
    extended = base - _money(row.get("manualdiscountamount")) + _money(row.get("tax"))
    values["baseamount"] = base
    values["extendedamount"] = _round(uow, currency, extended)


def header_totals(uow: UnitOfWork, entity: EntityDef, header: dict) -> dict[str, Decimal]:
    """The computed totals of a quote/order/invoice from its lines (one aggregate query)."""
    line = uow.table(HEADERS[entity.logical_name])
    fk = line.c[f"{entity.logical_name}id"]
    sums = uow.conn.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(line.c.baseamount), 0),
            sa.func.coalesce(sa.func.sum(line.c.manualdiscountamount), 0),
            sa.func.coalesce(sa.func.sum(line.c.tax), 0),
        ).where(fk == header[entity.primary_id_attribute])
    ).one()
    base, line_discount, tax = (Decimal(v) for v in sums)  # sum() keeps the exact money column type
    currency = header.get("transactioncurrencyid")
    detail = base - line_discount
    discount = _money(header.get("discountamount")) + detail * _money(header.get("discountpercentage")) / 100
    less_freight = detail - discount
    totals = {
        "totallineitemamount": detail,
        "totallineitemdiscountamount": line_discount,
        "totaltax": tax,
        "totaldiscountamount": discount,
        "totalamountlessfreight": less_freight,
        "totalamount": less_freight + _money(header.get("freightamount")) + tax,
    }
    return {name: _round(uow, currency, value) for name, value in totals.items()}


def refresh_header(uow: UnitOfWork, change: Change) -> None:
    """After a line changed: its header's totals (and those of a header it left) are stored once the unit
    of work flushes, so writing N lines of one header in a request updates the header once, not N times."""
    if change.entity.logical_name not in LINES:
        return
    header_name = LINES[change.entity.logical_name]
    column = f"{header_name}id"
    ids = {(change.existing or {}).get(column), change.values.get(column, (change.existing or {}).get(column))}
    for header_id in sorted(i for i in ids if i):
        uow.defer(("header totals", header_name, header_id), lambda u, h=header_id: store_totals(u, header_name, h))


def store_totals(uow: UnitOfWork, header_name: str, header_id: str) -> None:
    """Recompute a header's totals from its lines and write them if they changed."""
    entity = uow.registry.get(header_name)
    header = uow.get(entity, header_id)
    if header is None:
        return  # the header itself was deleted
    totals = header_totals(uow, entity, header)
    if any(header.get(name) != value for name, value in totals.items()):
        with privileged("totals"):
            uow.update(entity, header_id, totals, existing=header)


class SalesRules:
    """The store write hook that enforces the Sales rules (see the module docstring)."""

    def before(self, uow: UnitOfWork, change: Change) -> None:
        if change.op != "delete":
            check_state(uow, change)  # first: "use WinQuote" says more than "the quote is read-only"
        check_editable(uow, change)
        if change.op == "delete":
            if change.entity.logical_name in HEADERS:
                _deleting.set(_deleting.get() | {change.id})
            return
        on_submit(uow, change)
        assign_number(uow, change)
        price_line(uow, change)
        if change.entity.logical_name in HEADERS and change.op == "update" and HEADER_INPUTS & change.values.keys():
            change.values.update(header_totals(uow, change.entity, {**change.existing, **change.values}))

    def after(self, uow: UnitOfWork, change: Change) -> None:
        if change.op == "delete" and change.id in _deleting.get():
            _deleting.set(_deleting.get() - {change.id})
        refresh_header(uow, change)


def install(store: Any) -> None:
    """Register the Sales rules on an org's store (idempotent)."""
    if not any(isinstance(hook, SalesRules) for hook in store.hooks):
        store.hooks.append(SalesRules())
