"""What one synchronization run knows besides the records: the CRM's shape, who the integration user is.

A ``SyncContext`` is built once per run (``SyncContext.open``) and handed to every pass, converter and
entity rule. It carries the blocking Dataverse client, the ERP session factory, the integration user's id
(its own changes are never read back, R1), the organization's base currency (the ERP's local currency maps
to it, R5) and the CRM attribute metadata the converters need (types, lengths for truncation, lookup
targets and entity set names for ``@odata.bind``). Metadata is read once per entity and cached on the
context, so a page never costs a metadata request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True)
class CrmAttribute:
    name: str
    type: str  # AttributeType: String, Memo, Lookup, Owner, Customer, Picklist, Money, Decimal …
    max_length: int | None = None
    targets: tuple[str, ...] = ()

    @property
    def is_lookup(self) -> bool:
        return self.type in ("Lookup", "Owner", "Customer")

    def navigation(self, target: str) -> str:
        """The single-valued navigation property to bind ``target`` through (Dataverse: ``customerid_account``
        for Customer and other multi-target lookups, but plain ``ownerid`` for the Owner lookup)."""
        if self.type == "Owner":
            return self.name
        if self.type == "Customer" or len(self.targets) > 1:
            return f"{self.name}_{target}"
        return self.name

    @property
    def read_name(self) -> str:
        """The property a read returns: ``_x_value`` for lookups."""
        return f"_{self.name}_value" if self.is_lookup else self.name


@dataclass
class CrmEntity:
    logical_name: str
    entity_set: str
    id_attribute: str
    attributes: dict[str, CrmAttribute]
    change_tracking: bool


@dataclass
class SyncContext:
    sessions: sessionmaker[Session]
    client: Any  # SyncDataverseClient (or anything with the same methods)
    integration_user_id: uuid.UUID | None = None
    base_currency_id: uuid.UUID | None = None
    entities: dict[str, CrmEntity] = field(default_factory=dict)
    page_size: int = 500
    #: what entity rules looked up for the page being processed (keyed by rule)
    scratch: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, sessions: sessionmaker[Session], client: Any, *, page_size: int = 500) -> SyncContext:
        me = client.who_am_i()
        ctx = cls(sessions, client, uuid.UUID(str(me.user_id)), page_size=page_size)
        org = client.query("organizations", select=["_basecurrencyid_value"], top=1)
        if org and org[0].get("_basecurrencyid_value"):
            ctx.base_currency_id = uuid.UUID(org[0]["_basecurrencyid_value"])
        return ctx

    def entity(self, logical_name: str) -> CrmEntity:
        """The CRM table's set name, id column, change tracking and attributes (read once, then cached)."""
        found = self.entities.get(logical_name)
        if found is None:
            info = self.client.metadata.table(logical_name)
            rows = self.client.metadata.attributes(
                logical_name, select=("LogicalName", "AttributeType", "MaxLength", "Targets")
            )
            attributes = {
                r["LogicalName"]: CrmAttribute(
                    r["LogicalName"],
                    str(r.get("AttributeType") or ""),
                    r.get("MaxLength"),
                    tuple(r.get("Targets") or ()),
                )
                for r in rows
            }
            found = CrmEntity(
                logical_name, info.entity_set_name, info.primary_id_attribute, attributes, info.change_tracking_enabled
            )
            self.entities[logical_name] = found
        return found

    def bind(self, entity: str, attribute: str, target: str, crm_id: uuid.UUID | str | None) -> tuple[str, Any]:
        """``("ownerid@odata.bind", "/systemusers(<id>)")`` — or the same key with ``None`` to clear it."""
        attr = self.entity(entity).attributes[attribute]
        key = f"{attr.navigation(target)}@odata.bind"
        if crm_id is None:
            return key, None
        return key, f"/{self.entity(target).entity_set}({crm_id})"
