"""Which privilege a Web API request needs, read from its method and URL.

Deciding this once, from the request line, means every route — data CRUD, bulk actions, Sales actions,
metadata writes, and each operation inside a ``$batch`` — is checked the same way before it runs, instead
of each handler remembering to ask. Handlers that learn more while running (an upsert that turns out to
create) may still call :func:`lead2cash.crm.security.require_privilege` themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote

from lead2cash.crm.security import Access, Caller, require_privilege

API_PREFIX = re.compile(r"^/api/data/v9\.[0-2]/?")
_METADATA_SETS = frozenset(
    {
        "EntityDefinitions",
        "RelationshipDefinitions",
        "GlobalOptionSetDefinitions",
        "ManagedPropertyDefinitions",
    }
)
_METADATA_ACTIONS = frozenset(
    {
        "CreateEntities",
        "CreateAttribute",
        "CreateOneToMany",
        "CreateManyToMany",
        "UpdateEntity",
        "DeleteEntity",
        "InsertOptionValue",
        "UpdateOptionValue",
    }
)
# Unbound Sales actions → the table they change and how.
_ACTIONS: dict[str, tuple[str, Access]] = {
    "WinQuote": ("quote", Access.WRITE),
    "CloseQuote": ("quote", Access.WRITE),
    "ReviseQuote": ("quote", Access.CREATE),
    "ConvertQuoteToSalesOrder": ("salesorder", Access.CREATE),
    "FulfillSalesOrder": ("salesorder", Access.WRITE),
    "CancelSalesOrder": ("salesorder", Access.WRITE),
    "WinOpportunity": ("opportunity", Access.WRITE),
    "LoseOpportunity": ("opportunity", Access.WRITE),
    "GenerateQuoteFromOpportunity": ("quote", Access.CREATE),
    "GenerateSalesOrderFromOpportunity": ("salesorder", Access.CREATE),
    "GenerateInvoiceFromOpportunity": ("invoice", Access.CREATE),
    "ConvertSalesOrderToInvoice": ("invoice", Access.CREATE),
    "PublishProductHierarchy": ("product", Access.WRITE),
}
_BULK = {
    "CreateMultiple": (Access.CREATE,),
    "UpdateMultiple": (Access.WRITE,),
    "UpsertMultiple": (Access.CREATE, Access.WRITE),
}
_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*)(\(.*\))?$")


def required_privileges(
    method: str, path: str, entity_for_set: Callable[[str], str | None]
) -> list[tuple[Access, str | None]]:
    """The (access, table) pairs a request needs; empty when any signed-in user may make it.

    ``path`` is the URL path (``/api/data/v9.2/accounts(…)/…``); ``entity_for_set`` maps an entity set
    name to its table's logical name (``None`` when unknown: the route itself answers 404).
    """
    match = API_PREFIX.match(path)
    if not match:
        return []
    segments = [unquote(s) for s in path[match.end() :].split("/") if s]
    if not segments:
        return []
    head = _SEGMENT.match(segments[0])
    if head is None:
        return []
    name = head.group(1)
    method = method.upper()
    if name in _METADATA_SETS or name in _METADATA_ACTIONS:
        return [] if method == "GET" else [(Access.CUSTOMIZE, None)]
    if name in _ACTIONS and method == "POST":
        entity, access = _ACTIONS[name]
        return [(access, entity)]
    entity = entity_for_set(name)
    if entity is None:
        return []
    last = segments[-1]
    bulk = last.removeprefix("Microsoft.Dynamics.CRM.")
    if len(segments) == 2 and bulk in _BULK and method == "POST":
        return [(access, entity) for access in _BULK[bulk]]
    if method == "GET":
        return [(Access.READ, entity)]
    if method == "POST":
        # POST to the collection creates; POST to a navigation property or $ref associates (a write).
        return [(Access.CREATE, entity)] if len(segments) == 1 else [(Access.WRITE, entity)]
    if method in ("PATCH", "PUT"):
        return [(Access.WRITE, entity)]
    if method == "DELETE":
        # DELETE of the record itself needs Delete; of a property or a $ref it only changes the record.
        whole = len(segments) == 1 and head.group(2) is not None
        return [(Access.DELETE if whole else Access.WRITE, entity)]
    return []


def authorize(caller: Caller, method: str, path: str, entity_for_set: Callable[[str], str | None]) -> None:
    """Raise the platform's 403 if ``caller`` may not make this request (also used per ``$batch`` part)."""
    for access, entity in required_privileges(method, path, entity_for_set):
        require_privilege(caller, access, entity)
