"""Metadata calls the integration needs: look tables up, and prepare an org (columns, keys, tracking).

Look-ups (:meth:`Metadata.table`) answer "what is the entity set / primary key of this table", cached per
client, because bulk actions need the logical name (``@odata.type``) and the primary key column.
Setup uses the writes: custom columns (``POST EntityDefinitions(LogicalName='x')/Attributes``), lookups
(``POST RelationshipDefinitions``), alternate keys (``POST …/Keys``, then wait until the index is active —
real orgs build it in the background) and switching change tracking on (read the definition, set
``ChangeTrackingEnabled``, ``PUT`` it back with ``MSCRM.MergeLabels``, as Dataverse requires).
Definitions are the Web API's own JSON shapes; :func:`label` and :func:`column` build the common ones.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio

from lead2cash.integration.dataverse import odata
from lead2cash.integration.dataverse.errors import DataverseError, NotFound
from lead2cash.integration.dataverse.transport import Transport

_TABLE_FIELDS = (
    "LogicalName",
    "EntitySetName",
    "PrimaryIdAttribute",
    "PrimaryNameAttribute",
    "ChangeTrackingEnabled",
    "MetadataId",
    "ObjectTypeCode",
)
_TYPES = {
    "String": "StringAttributeMetadata",
    "Memo": "MemoAttributeMetadata",
    "Integer": "IntegerAttributeMetadata",
    "Decimal": "DecimalAttributeMetadata",
    "Money": "MoneyAttributeMetadata",
    "Boolean": "BooleanAttributeMetadata",
    "DateTime": "DateTimeAttributeMetadata",
    "Double": "DoubleAttributeMetadata",
}


@dataclass(frozen=True)
class TableInfo:
    logical_name: str
    entity_set_name: str
    primary_id_attribute: str
    primary_name_attribute: str | None
    change_tracking_enabled: bool
    metadata_id: str | None

    @property
    def odata_type(self) -> str:
        return f"Microsoft.Dynamics.CRM.{self.logical_name}"


def label(text: str, language: int = 1033) -> dict[str, Any]:
    """A metadata ``Label`` with one localized label."""
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.Label",
        "LocalizedLabels": [
            {"@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel", "Label": text, "LanguageCode": language}
        ],
    }


def column(attribute_type: str, schema_name: str, display_name: str, **properties: Any) -> dict[str, Any]:
    """An attribute definition: ``column("String", "l2c_ErpNo", "ERP No.", MaxLength=20)``."""
    if attribute_type not in _TYPES:
        raise ValueError(f"unsupported column type {attribute_type!r}; one of {sorted(_TYPES)}")
    body: dict[str, Any] = {
        "@odata.type": f"Microsoft.Dynamics.CRM.{_TYPES[attribute_type]}",
        "AttributeType": attribute_type,
        "SchemaName": schema_name,
        "DisplayName": label(display_name),
        "RequiredLevel": {
            "Value": "None",
            "CanBeChanged": True,
            "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
        },
    }
    if attribute_type == "String":
        body.setdefault("MaxLength", 100)
        body["FormatName"] = {"Value": "Text"}
    body.update(properties)
    return body


def _entity_ref(logical_name: str) -> str:
    return f"EntityDefinitions(LogicalName={odata.literal(logical_name)})"


class Metadata:
    """Metadata look-ups (cached) and the setup's metadata writes, for one org."""

    def __init__(self, transport: Transport, *, sleep: Callable[[float], Awaitable[None]] = anyio.sleep):
        self._transport = transport
        self._tables: dict[str, TableInfo] = {}
        self._sleep = sleep

    # ---- reads ----

    async def table(self, name: str, *, refresh: bool = False) -> TableInfo:
        """The table with this logical name or entity set name; :class:`NotFound` when the org has none."""
        if not refresh and name in self._tables:
            return self._tables[name]
        rows: list[dict[str, Any]] = []
        for attribute in ("LogicalName", "EntitySetName"):  # one condition per query: metadata filters are basic
            condition = f"{attribute} eq {odata.literal(name)}"
            path = "EntityDefinitions" + odata.query_string(select=_TABLE_FIELDS, filter=condition)
            rows = (await self._transport.request("GET", path)).json().get("value") or []
            if rows:
                break
        if not rows:
            raise NotFound(404, "", f"The org has no table named {name!r}.")
        info = _table_info(rows[0])
        self._tables[info.logical_name] = self._tables[info.entity_set_name] = info
        return info

    async def entity_definition(self, logical_name: str, *, select: Sequence[str] | None = None) -> dict[str, Any]:
        path = _entity_ref(logical_name) + odata.query_string(select=select)
        return (await self._transport.request("GET", path)).json()

    async def attributes(
        self,
        logical_name: str,
        *,
        select: Sequence[str] | None = ("LogicalName", "AttributeType"),
        filter: str | None = None,
    ) -> list[dict[str, Any]]:
        path = f"{_entity_ref(logical_name)}/Attributes" + odata.query_string(select=select, filter=filter)
        return list((await self._transport.request("GET", path)).json().get("value") or [])

    async def keys(self, logical_name: str) -> list[dict[str, Any]]:
        """Alternate keys: ``SchemaName``, ``LogicalName``, ``KeyAttributes``, ``EntityKeyIndexStatus``."""
        select = ("SchemaName", "LogicalName", "KeyAttributes", "EntityKeyIndexStatus")
        path = f"{_entity_ref(logical_name)}/Keys" + odata.query_string(select=select)
        return list((await self._transport.request("GET", path)).json().get("value") or [])

    # ---- writes (setup) ----

    def _solution(self, solution: str | None) -> dict[str, str]:
        return {"MSCRM.SolutionUniqueName": solution} if solution else {}

    async def create_table(self, definition: Mapping[str, Any], *, solution: str | None = None) -> str | None:
        """``POST EntityDefinitions`` (a custom table); returns its MetadataId."""
        response = await self._transport.request(
            "POST", "EntityDefinitions", json=dict(definition), headers=self._solution(solution)
        )
        return odata.id_from_entity_url(response.headers.get("OData-EntityId"))

    async def create_attribute(
        self, logical_name: str, definition: Mapping[str, Any], *, solution: str | None = None
    ) -> str | None:
        """Add a column to a table (see :func:`column`); returns the attribute's MetadataId."""
        response = await self._transport.request(
            "POST", f"{_entity_ref(logical_name)}/Attributes", json=dict(definition), headers=self._solution(solution)
        )
        return odata.id_from_entity_url(response.headers.get("OData-EntityId"))

    async def create_lookup(self, relationship: Mapping[str, Any], *, solution: str | None = None) -> str | None:
        """``POST RelationshipDefinitions`` with a ``OneToManyRelationshipMetadata`` (creates the lookup)."""
        response = await self._transport.request(
            "POST", "RelationshipDefinitions", json=dict(relationship), headers=self._solution(solution)
        )
        return odata.id_from_entity_url(response.headers.get("OData-EntityId"))

    async def create_alternate_key(
        self,
        logical_name: str,
        schema_name: str,
        attributes: Sequence[str],
        *,
        display_name: str | None = None,
        solution: str | None = None,
    ) -> str | None:
        """Define an alternate key (``KeyAttributes`` = column logical names); returns its MetadataId."""
        body = {
            "SchemaName": schema_name,
            "DisplayName": label(display_name or schema_name),
            "KeyAttributes": list(attributes),
        }
        response = await self._transport.request(
            "POST", f"{_entity_ref(logical_name)}/Keys", json=body, headers=self._solution(solution)
        )
        return odata.id_from_entity_url(response.headers.get("OData-EntityId"))

    async def wait_for_key(
        self, logical_name: str, schema_name: str, *, timeout: float = 300.0, poll: float = 2.0
    ) -> None:
        """Wait until the key's index is ``Active``; a ``Failed`` index raises."""
        waited = 0.0
        while True:
            key = next(
                (
                    k
                    for k in await self.keys(logical_name)
                    if str(k.get("SchemaName", "")).lower() == schema_name.lower()
                ),
                None,
            )
            status = str((key or {}).get("EntityKeyIndexStatus") or ("Active" if key else "Missing"))
            if status == "Active":
                return
            if status in ("Failed", "Missing"):
                raise DataverseError(0, "", f"Alternate key {schema_name} on {logical_name}: index {status}.")
            if waited >= timeout:
                raise DataverseError(
                    0,
                    "",
                    f"Alternate key {schema_name} on {logical_name} not active after {timeout:g} s (status {status}).",
                )
            await self._sleep(poll)
            waited += poll

    async def enable_change_tracking(self, logical_name: str, enabled: bool = True) -> bool:
        """Switch change tracking on (or off); ``False`` when it already was. Read-modify-``PUT``, as
        Dataverse updates table definitions as a whole."""
        definition = await self.entity_definition(logical_name)
        current = definition.get("ChangeTrackingEnabled")
        if (current.get("Value") if isinstance(current, dict) else current) == enabled:
            return False
        definition["ChangeTrackingEnabled"] = enabled
        body = {k: v for k, v in definition.items() if not k.startswith("@odata.context")}
        await self._transport.request(
            "PUT", _entity_ref(logical_name), json=body, headers={"MSCRM.MergeLabels": "true"}
        )
        for name in [n for n, t in self._tables.items() if t.logical_name == logical_name]:
            del self._tables[name]
        return True


def _table_info(row: Mapping[str, Any]) -> TableInfo:
    tracking = row.get("ChangeTrackingEnabled")
    if isinstance(tracking, dict):
        tracking = tracking.get("Value")
    return TableInfo(
        logical_name=str(row["LogicalName"]),
        entity_set_name=str(row["EntitySetName"]),
        primary_id_attribute=str(row["PrimaryIdAttribute"]),
        primary_name_attribute=row.get("PrimaryNameAttribute"),
        change_tracking_enabled=bool(tracking),
        metadata_id=row.get("MetadataId"),
    )
