"""The metadata registry: what tables, columns, option sets, keys and relationships the CRM org has.

Dataverse is metadata-driven: every answer the server gives (JSON shapes, `_x_value` lookups, formatted
values, `@odata.bind` resolution, `$metadata`, `EntityDefinitions`) and the SQL layout itself are derived
from these definitions. The standard Sales tables are declared in ``crm/catalog.py``; custom tables, columns
and alternate keys are added at run time through the metadata write API and persisted by ``crm/store.py``.

Naming follows Dataverse: an entity's *logical name* (``account``) names its SQL table, its *entity set
name* (``accounts``) names its URL collection, attributes are lowercase logical names. A lookup attribute
``parentaccountid`` is read as ``_parentaccountid_value`` and written through the navigation property
``parentaccountid@odata.bind``; a polymorphic lookup (more than one target, e.g. ``customerid``) has one
navigation property per target (``customerid_account``, ``customerid_contact``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

ATTRIBUTE_TYPES = frozenset(
    {
        "String", "Memo", "Integer", "BigInt", "Decimal", "Double", "Money", "Boolean", "DateTime",
        "Uniqueidentifier", "Lookup", "Owner", "Customer", "Picklist", "State", "Status", "EntityName",
    }
)  # fmt: skip
LOOKUP_TYPES = frozenset({"Lookup", "Owner", "Customer"})
OPTION_TYPES = frozenset({"Picklist", "State", "Status"})
# Namespace for deterministic MetadataIds (stable across restarts and machines).
_METADATA_NS = uuid.UUID("6d1b52c4-3c8e-4b0e-9a51-7f1e0c2d0a11")


def metadata_id(*parts: str) -> str:
    """A stable MetadataId for an entity/attribute/key/relationship, derived from its names."""
    return str(uuid.uuid5(_METADATA_NS, "/".join(parts)))


@dataclass(frozen=True)
class OptionDef:
    """One choice of an option set; status options name their ``state``, state options a default status."""

    value: int
    label: str
    state: int | None = None
    default_status: int | None = None


@dataclass
class AttributeDef:
    """A column. ``targets`` lists the entities a lookup may point to; ``options`` the choices of a picklist.

    ``valid_for_create``/``valid_for_update`` mirror Dataverse's IsValidForCreate/IsValidForUpdate: system
    columns (createdon, versionnumber …) are read-only for clients and maintained by the store.
    """

    logical_name: str
    attribute_type: str
    max_length: int | None = None
    targets: tuple[str, ...] = ()
    options: tuple[OptionDef, ...] = ()
    precision: int | None = None
    required: bool = False
    is_custom: bool = False
    valid_for_create: bool = True
    valid_for_update: bool = True
    date_behavior: str = "UserLocal"  # UserLocal | DateOnly | TimeZoneIndependent
    display_name: str = ""
    option_set_name: str | None = None
    entity_logical_name: str = ""
    relationship_schema_name: str | None = None  # custom lookups: the name given when it was created

    def __post_init__(self) -> None:
        if self.attribute_type not in ATTRIBUTE_TYPES:
            raise ValueError(f"unknown attribute type {self.attribute_type!r} for {self.logical_name}")

    @property
    def is_lookup(self) -> bool:
        return self.attribute_type in LOOKUP_TYPES

    @property
    def is_polymorphic(self) -> bool:
        """Several possible targets: the SQL row also stores the target's logical name in ``<name>_type``."""
        return self.is_lookup and len(self.targets) > 1

    @property
    def is_option(self) -> bool:
        return self.attribute_type in OPTION_TYPES

    @property
    def odata_name(self) -> str:
        """The JSON property name: ``_x_value`` for lookups, the logical name otherwise."""
        return f"_{self.logical_name}_value" if self.is_lookup else self.logical_name

    @property
    def schema_name(self) -> str:
        return self.logical_name if self.is_custom else self.logical_name.capitalize()

    @property
    def metadata_id(self) -> str:
        return metadata_id(self.entity_logical_name, self.logical_name)

    def navigation_property(self, target: str) -> str:
        """Single-valued navigation property for ``target``: ``customerid_account`` for a Customer lookup, but
        one ``ownerid`` for an Owner lookup whatever the target (as Dataverse names them)."""
        if self.is_polymorphic and self.attribute_type != "Owner":
            return f"{self.logical_name}_{target}"
        return self.logical_name

    def option(self, value: int | None) -> OptionDef | None:
        return next((o for o in self.options if o.value == value), None)


@dataclass
class AlternateKeyDef:
    """An alternate key: the attributes whose values identify a row (``accounts(accountnumber='A-1')``)."""

    logical_name: str
    key_attributes: tuple[str, ...]
    schema_name: str = ""
    display_name: str = ""
    entity_logical_name: str = ""

    @property
    def metadata_id(self) -> str:
        return metadata_id(self.entity_logical_name, "key", self.logical_name)


@dataclass(frozen=True)
class RelationshipDef:
    """A one-to-many relationship, derived from a lookup (the referencing attribute) and one of its targets.

    ``referencing_nav`` is the single-valued navigation property on the referencing (many) side,
    ``referenced_nav`` the collection-valued one on the referenced (one) side; it equals ``schema_name``.
    """

    schema_name: str
    referenced_entity: str
    referenced_attribute: str
    referencing_entity: str
    referencing_attribute: str
    referencing_nav: str

    @property
    def referenced_nav(self) -> str:
        return self.schema_name

    @property
    def metadata_id(self) -> str:
        return metadata_id("relationship", self.schema_name)


@dataclass
class EntityDef:
    """A table. ``attributes`` is keyed by logical name and includes the system columns."""

    logical_name: str
    entity_set_name: str
    primary_id_attribute: str
    primary_name_attribute: str
    attributes: dict[str, AttributeDef] = field(default_factory=dict)
    alternate_keys: list[AlternateKeyDef] = field(default_factory=list)
    is_custom: bool = False
    change_tracking: bool = False
    ownership: str = "UserOwned"  # UserOwned | OrganizationOwned
    display_name: str = ""
    display_collection_name: str = ""
    object_type_code: int = 0
    is_activity: bool = False
    default_state: int = 0  # statecode of a new row when the client sends none (products start Draft)

    def __post_init__(self) -> None:
        for attr in self.attributes.values():
            attr.entity_logical_name = self.logical_name
        for key in self.alternate_keys:
            key.entity_logical_name = self.logical_name

    @property
    def schema_name(self) -> str:
        return self.logical_name if self.is_custom else self.logical_name.capitalize()

    @property
    def metadata_id(self) -> str:
        return metadata_id(self.logical_name)

    @property
    def has_state(self) -> bool:
        return "statecode" in self.attributes and "statuscode" in self.attributes

    def add_attribute(self, attr: AttributeDef) -> None:
        attr.entity_logical_name = self.logical_name
        self.attributes[attr.logical_name] = attr

    def add_key(self, key: AlternateKeyDef) -> None:
        key.entity_logical_name = self.logical_name
        self.alternate_keys.append(key)

    def attribute(self, name: str) -> AttributeDef | None:
        return self.attributes.get(name)

    def attribute_by_odata_name(self, name: str) -> AttributeDef | None:
        """``_x_value`` → the lookup ``x``; any other name → the attribute of that logical name."""
        if name.startswith("_") and name.endswith("_value"):
            attr = self.attributes.get(name[1:-6])
            return attr if attr is not None and attr.is_lookup else None
        attr = self.attributes.get(name)
        return None if attr is None or attr.is_lookup else attr

    def key_for(self, names: set[str]) -> AlternateKeyDef | None:
        return next((k for k in self.alternate_keys if set(k.key_attributes) == names), None)

    def default_status(self, state: int) -> int | None:
        attr = self.attributes.get("statecode")
        opt = attr.option(state) if attr else None
        return opt.default_status if opt else None


class Registry:
    """All entities of the org, by logical name and by entity set name, plus derived relationships."""

    def __init__(self, entities: list[EntityDef] | None = None):
        self._entities: dict[str, EntityDef] = {}
        self._by_set: dict[str, EntityDef] = {}
        self._relationships: list[RelationshipDef] | None = None
        for entity in entities or []:
            self.add(entity)

    def add(self, entity: EntityDef) -> None:
        self._entities[entity.logical_name] = entity
        self._by_set[entity.entity_set_name] = entity
        self._relationships = None

    def changed(self) -> None:
        """Call after adding attributes to an existing entity: derived relationships are recomputed."""
        self._relationships = None

    def __contains__(self, logical_name: str) -> bool:
        return logical_name in self._entities

    def __iter__(self):
        return iter(list(self._entities.values()))

    def get(self, logical_name: str) -> EntityDef:
        """The entity of that logical name; ``KeyError`` when unknown."""
        return self._entities[logical_name]

    def find(self, logical_name: str) -> EntityDef | None:
        return self._entities.get(logical_name)

    def by_entity_set(self, entity_set_name: str) -> EntityDef | None:
        return self._by_set.get(entity_set_name)

    # ---- relationships and navigation properties ----

    @property
    def relationships(self) -> list[RelationshipDef]:
        if self._relationships is None:
            self._relationships = [
                RelationshipDef(
                    schema_name=relationship_name(entity, attr, target),
                    referenced_entity=target,
                    referenced_attribute=self._entities[target].primary_id_attribute,
                    referencing_entity=entity.logical_name,
                    referencing_attribute=attr.logical_name,
                    referencing_nav=attr.navigation_property(target),
                )
                for entity in self._entities.values()
                for attr in entity.attributes.values()
                if attr.is_lookup
                for target in attr.targets
                if target in self._entities
            ]
        return self._relationships

    def one_to_many(self, logical_name: str) -> list[RelationshipDef]:
        return [r for r in self.relationships if r.referenced_entity == logical_name]

    def many_to_one(self, logical_name: str) -> list[RelationshipDef]:
        return [r for r in self.relationships if r.referencing_entity == logical_name]

    def single_navigation(self, entity: EntityDef, nav: str) -> tuple[AttributeDef, str] | None:
        """``parentcustomerid_account`` on contact → (the ``parentcustomerid`` attribute, ``account``)."""
        for attr in entity.attributes.values():
            if attr.is_lookup:
                for target in attr.targets:
                    if attr.navigation_property(target) == nav:
                        return attr, target
        return None

    def collection_navigation(self, entity: EntityDef, nav: str) -> RelationshipDef | None:
        """``contact_customer_accounts`` on account → the relationship to contacts that point here."""
        return next((r for r in self.one_to_many(entity.logical_name) if r.referenced_nav == nav), None)


# Well-known relationship schema names (used as collection-valued navigation property names).
_KNOWN_RELATIONSHIPS = {
    ("contact", "parentcustomerid", "account"): "contact_customer_accounts",
    ("contact", "parentcustomerid", "contact"): "contact_customer_contacts",
    ("account", "primarycontactid", "contact"): "account_primary_contact",
    ("account", "parentaccountid", "account"): "account_parent_account",
    ("opportunity", "customerid", "account"): "opportunity_customer_accounts",
    ("opportunity", "customerid", "contact"): "opportunity_customer_contacts",
    ("quote", "customerid", "account"): "quote_customer_accounts",
    ("quote", "customerid", "contact"): "quote_customer_contacts",
    ("salesorder", "customerid", "account"): "order_customer_accounts",
    ("salesorder", "customerid", "contact"): "order_customer_contacts",
    ("invoice", "customerid", "account"): "invoice_customer_accounts",
    ("invoice", "customerid", "contact"): "invoice_customer_contacts",
    ("quotedetail", "quoteid", "quote"): "quote_details",
    ("salesorderdetail", "salesorderid", "salesorder"): "order_details",
    ("invoicedetail", "invoiceid", "invoice"): "invoice_details",
    ("productpricelevel", "pricelevelid", "pricelevel"): "price_level_product_price_levels",
    ("productpricelevel", "productid", "product"): "product_price_levels",
    ("uom", "uomscheduleid", "uomschedule"): "unit_of_measurement_schedule_conversions",
    ("quote", "opportunityid", "opportunity"): "opportunity_quotes",
    ("salesorder", "quoteid", "quote"): "quote_orders",
    ("salesorder", "opportunityid", "opportunity"): "opportunity_sales_orders",
    ("invoice", "salesorderid", "salesorder"): "order_invoices",
}


def relationship_name(entity: EntityDef, attr: AttributeDef, target: str) -> str:
    if attr.relationship_schema_name and not attr.is_polymorphic:
        return attr.relationship_schema_name
    known = _KNOWN_RELATIONSHIPS.get((entity.logical_name, attr.logical_name, target))
    if known:
        return known
    if attr.logical_name in ("createdby", "modifiedby"):
        return f"lk_{entity.logical_name}_{attr.logical_name}"
    if attr.logical_name == "ownerid":
        return f"{target}_{entity.logical_name}_owner"
    if attr.is_polymorphic:
        return f"{entity.logical_name}_{attr.logical_name}_{target}"
    return f"{target}_{entity.logical_name}_{attr.logical_name}"
