"""The Sales messages of the Web API: ``WinQuote``, ``CloseQuote``, ``ReviseQuote``,
``ConvertQuoteToSalesOrder``, ``FulfillSalesOrder``, ``CancelSalesOrder``, ``WinOpportunity`` and
``LoseOpportunity`` (unbound actions: ``POST /api/data/v9.2/<Name>`` with a JSON body of parameters).

Closing messages take the activity that records the closing (``QuoteClose``, ``OrderClose``,
``OpportunityClose``: an entity-typed parameter with ``<parent>id@odata.bind``) and a ``Status``; they check
the document is in a state that may be closed, move it to the closed state through the store (so
versions, change tracking and ``modifiedby`` behave like any write) and keep the closing activity as a
completed row. Revising copies a quote into a new draft with the next revision number and the same quote
number; converting a quote wins it (if still active) and creates an order with the quote's lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from lead2cash.crm.api.common import check_version, json_body, preferences, service_root, unit_of_work
from lead2cash.crm.metadata import EntityDef
from lead2cash.crm.odata import errors, query
from lead2cash.crm.odata.serialize import ODATA_HEADERS, ODataResponse
from lead2cash.crm.payload import coerce, parse_body
from lead2cash.crm.sales import LINES, privileged
from lead2cash.crm.store import UnitOfWork, normalise_guid

router = APIRouter(tags=["sales"])
Handler = Callable[[str, Request, Any], Response]
INVALID = "0x80048d19"
WRONG_STATE = "0x8004d20e"
# Columns a copied document never takes over from its source: identity, state, numbering, audit.
_NOT_COPIED = {
    "statecode", "statuscode", "quotenumber", "revisionnumber", "ordernumber", "invoicenumber", "closedon",
    "submitdate", "submitstatus", "datefulfilled", "overriddencreatedon", "ownerid", "exchangerate",
}  # fmt: skip


def action(name: str) -> Callable[[Handler], Handler]:
    """Register ``POST /api/data/<version>/<name>``: the JSON body is read on the event loop, the
    handler (database work) runs in the thread pool so other requests are served meanwhile."""

    def register(handler: Handler) -> Handler:
        async def endpoint(version: str, request: Request) -> Response:
            check_version(version)
            body = await json_body(request)
            if not isinstance(body, dict):
                raise errors.bad_request(f"The body of {name} must be a JSON object of parameters.", INVALID)
            return await run_in_threadpool(handler, version, request, body)

        endpoint.__name__ = handler.__name__
        router.add_api_route(f"/api/data/{{version}}/{name}", endpoint, methods=["POST"])
        return handler

    return register


def _status(body: dict, allowed: tuple[int, ...], default: int | None = None) -> int:
    raw = body.get("Status")
    raw = default if raw is None else raw
    if isinstance(raw, dict):  # OptionSetValue shape {"Value": 4}
        raw = raw.get("Value")
    if isinstance(raw, bool) or not isinstance(raw, int) or raw not in allowed:
        raise errors.bad_request(f"Status must be one of {', '.join(map(str, allowed))}.", INVALID)
    return raw


def _closing(uow: UnitOfWork, body: dict, parameter: str, activity: str, parent: str) -> tuple[dict, str]:
    """The closing activity's values and the id of the document it closes."""
    data = body.get(parameter)
    if not isinstance(data, dict):
        raise errors.bad_request(f"The parameter '{parameter}' is required.", INVALID)
    values = parse_body(uow, uow.registry.get(activity), data, creating=True)
    parent_id = values.get(f"{parent}id")
    if parent_id is None:
        raise errors.bad_request(f"'{parameter}' must bind '{parent}id' to the {parent} it closes.", INVALID)
    return values, parent_id


def _document(uow: UnitOfWork, name: str, id: str, states: tuple[int, ...], action: str) -> tuple[EntityDef, dict]:
    entity = uow.registry.get(name)
    row = uow.get(entity, id)
    if row is None:
        raise errors.not_found(name, id)
    if row.get("statecode") not in states:
        label = entity.attributes["statecode"].option(row.get("statecode"))
        raise errors.DataverseError(
            400, WRONG_STATE, f"{action} cannot run on a {name} in state '{label.label if label else '?'}'."
        )
    return entity, row


def _close(uow: UnitOfWork, activity: str, values: dict) -> None:
    values = {**values, "statecode": 1, "statuscode": 2}
    if values.get("actualend") is None:
        values["actualend"] = uow.now
    uow.create(uow.registry.get(activity), values)


def _set_state(uow: UnitOfWork, entity: EntityDef, row: dict, values: dict, reason: str) -> None:
    with privileged(reason):
        uow.update(entity, row[entity.primary_id_attribute], values, existing=row)


def _no_content() -> Response:
    return Response(status_code=204, headers=ODATA_HEADERS)


@action("WinQuote")
def win_quote(version: str, request: Request, body: Any) -> Response:
    with unit_of_work(request) as uow:
        close, quote_id = _closing(uow, body, "QuoteClose", "quoteclose", "quote")
        status = _status(body, (4,), 4)
        entity, quote = _document(uow, "quote", quote_id, (1,), "WinQuote")
        _set_state(uow, entity, quote, {"statecode": 2, "statuscode": status, "closedon": uow.now.date()}, "WinQuote")
        _close(uow, "quoteclose", close)
    return _no_content()


@action("CloseQuote")
def close_quote(version: str, request: Request, body: Any) -> Response:
    with unit_of_work(request) as uow:
        close, quote_id = _closing(uow, body, "QuoteClose", "quoteclose", "quote")
        status = _status(body, (5, 6, 7))
        entity, quote = _document(uow, "quote", quote_id, (0, 1), "CloseQuote")
        _set_state(uow, entity, quote, {"statecode": 3, "statuscode": status, "closedon": uow.now.date()}, "CloseQuote")
        _close(uow, "quoteclose", close)
    return _no_content()


@action("FulfillSalesOrder")
def fulfill_order(version: str, request: Request, body: Any) -> Response:
    with unit_of_work(request) as uow:
        close, order_id = _closing(uow, body, "OrderClose", "orderclose", "salesorder")
        status = _status(body, (100001, 100002), 100001)
        entity, order = _document(uow, "salesorder", order_id, (0, 1), "FulfillSalesOrder")
        values = {"statecode": 3, "statuscode": status, "datefulfilled": uow.now.date()}
        _set_state(uow, entity, order, values, "FulfillSalesOrder")
        _close(uow, "orderclose", close)
    return _no_content()


@action("CancelSalesOrder")
def cancel_order(version: str, request: Request, body: Any) -> Response:
    with unit_of_work(request) as uow:
        close, order_id = _closing(uow, body, "OrderClose", "orderclose", "salesorder")
        status = _status(body, (4,), 4)
        entity, order = _document(uow, "salesorder", order_id, (0, 1), "CancelSalesOrder")
        _set_state(uow, entity, order, {"statecode": 2, "statuscode": status}, "CancelSalesOrder")
        _close(uow, "orderclose", close)
    return _no_content()


def _close_opportunity(version: str, request: Request, body: Any, won: bool) -> Response:
    action = "WinOpportunity" if won else "LoseOpportunity"
    with unit_of_work(request) as uow:
        close, opportunity_id = _closing(uow, body, "OpportunityClose", "opportunityclose", "opportunity")
        status = _status(body, (3,), 3) if won else _status(body, (4, 5), 4)
        entity, opportunity = _document(uow, "opportunity", opportunity_id, (0,), action)
        end = close.get("actualend") or uow.now
        values: dict[str, Any] = {"statecode": 1 if won else 2, "statuscode": status, "actualclosedate": end.date()}
        if won:
            revenue = close.get("actualrevenue")
            values["actualvalue"] = revenue if revenue is not None else opportunity.get("estimatedvalue")
        _set_state(uow, entity, opportunity, values, action)
        _close(uow, "opportunityclose", close)
    return _no_content()


@action("WinOpportunity")
def win_opportunity(version: str, request: Request, body: Any) -> Response:
    return _close_opportunity(version, request, body, won=True)


@action("LoseOpportunity")
def lose_opportunity(version: str, request: Request, body: Any) -> Response:
    return _close_opportunity(version, request, body, won=False)


# -- copying documents ------------------------------------------------------------------------------


def _copy(source: EntityDef, row: dict, target: EntityDef) -> dict[str, Any]:
    """The values of ``row`` that ``target`` has too (lookups with their target type)."""
    values: dict[str, Any] = {}
    for name, attr in target.attributes.items():
        if name in _NOT_COPIED or name == target.primary_id_attribute or not attr.valid_for_create:
            continue
        if name not in source.attributes or name == source.primary_id_attribute or row.get(name) is None:
            continue
        values[name] = row[name]
        if attr.is_polymorphic:
            values[f"{name}_type"] = row.get(f"{name}_type")
    return values


def _copy_lines(uow: UnitOfWork, source: EntityDef, source_id: str, target: EntityDef, target_id: str) -> None:
    line_source = uow.registry.get(next(line for line, header in LINES.items() if header == source.logical_name))
    line_target = uow.registry.get(next(line for line, header in LINES.items() if header == target.logical_name))
    table = uow.table(line_source)
    fk = table.c[f"{source.logical_name}id"]
    order = [table.c.lineitemnumber, table.c.sequencenumber, table.c.createdon]
    for line in uow.conn.execute(table.select().where(fk == source_id).order_by(*order)).mappings():
        values = _copy(line_source, dict(line), line_target)
        values.pop(f"{source.logical_name}id", None)
        values[f"{target.logical_name}id"] = target_id
        source_key = line_source.primary_id_attribute
        if source_key in line_target.attributes and source_key != line_target.primary_id_attribute:
            values[source_key] = line[source_key]
        uow.create(line_target, values)


def _entity_response(
    request: Request, version: str, uow: UnitOfWork, entity: EntityDef, id: str, column_set: Any
) -> Response:
    params: dict[str, str] = {}
    if isinstance(column_set, dict) and not column_set.get("AllColumns") and column_set.get("Columns"):
        names = []
        for name in column_set["Columns"]:
            attr = entity.attributes.get(str(name))
            if attr is not None:
                names.append(attr.odata_name)
        params["$select"] = ",".join(names)
    opts = query.parse_options(uow.registry, entity, params)
    uow.flush()  # totals of the lines just copied
    row = uow.get(entity, id)
    out = query.render(uow, opts, [row], preferences(request))[0]
    context = f"{service_root(request, version)}$metadata#{entity.entity_set_name}/$entity"
    return ODataResponse({"@odata.context": context, **out})


def _guid_param(body: dict, name: str) -> str:
    try:
        return normalise_guid(body[name])
    except (KeyError, ValueError, TypeError):
        raise errors.bad_request(f"The parameter '{name}' must be a GUID.", INVALID) from None


@action("ReviseQuote")
def revise_quote(version: str, request: Request, body: Any) -> Response:
    with unit_of_work(request) as uow:
        entity, quote = _document(uow, "quote", _guid_param(body, "QuoteId"), (1, 3), "ReviseQuote")
        if quote["statecode"] == 1:
            _set_state(uow, entity, quote, {"statecode": 3, "statuscode": 7, "closedon": uow.now.date()}, "ReviseQuote")
        values = _copy(entity, quote, entity)
        values.update(quotenumber=quote["quotenumber"], revisionnumber=(quote.get("revisionnumber") or 0) + 1)
        for name in ("effectivefrom", "effectiveto"):
            if quote.get(name) is not None:
                values[name] = quote[name]
        with privileged("ReviseQuote"):
            new_id = uow.create(entity, values)
            _copy_lines(uow, entity, quote["quoteid"], entity, new_id)
        return _entity_response(request, version, uow, entity, new_id, body.get("ColumnSet"))


@action("ConvertQuoteToSalesOrder")
def convert_quote(version: str, request: Request, body: Any) -> Response:
    with unit_of_work(request) as uow:
        entity, quote = _document(uow, "quote", _guid_param(body, "QuoteId"), (1, 2), "ConvertQuoteToSalesOrder")
        if quote["statecode"] == 1:
            status = _status({"Status": body.get("QuoteCloseStatus")}, (4,), 4)
            _set_state(
                uow, entity, quote, {"statecode": 2, "statuscode": status, "closedon": uow.now.date()}, "WinQuote"
            )
            close = {"subject": body.get("QuoteCloseSubject") or f"Quote won: {quote.get('name') or ''}".strip()}
            close.update(quoteid=quote["quoteid"], description=body.get("QuoteCloseDescription"))
            if body.get("QuoteCloseDate"):
                activity = uow.registry.get("quoteclose")
                close["actualend"] = coerce(activity, activity.attributes["actualend"], body["QuoteCloseDate"])
            _close(uow, "quoteclose", close)
        orders = uow.registry.get("salesorder")
        values = _copy(entity, quote, orders)
        values["quoteid"] = quote["quoteid"]
        order_id = uow.create(orders, values)
        _copy_lines(uow, entity, quote["quoteid"], orders, order_id)
        return _entity_response(request, version, uow, orders, order_id, body.get("ColumnSet"))
