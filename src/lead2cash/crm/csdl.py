"""The ``$metadata`` document (OData CSDL XML) generated from the registry.

Generic OData clients and code generators read ``$metadata`` to learn entity types, keys, property types,
navigation properties and entity sets. It is generated on every request from the live registry, so custom
tables and columns created through the metadata API appear at once. Like a real org: namespace
``Microsoft.Dynamics.CRM`` (alias ``mscrm``), container ``System``, every entity type derived from the
abstract ``crmbaseentity``, lookups as ``_x_value`` properties with a navigation property and referential
constraint, and (with ``?annotations=true``) the change-tracking capability on tracked entity sets.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from lead2cash.crm.metadata import AttributeDef, EntityDef, Registry

EDMX_NS = "http://docs.oasis-open.org/odata/ns/edmx"
EDM_NS = "http://docs.oasis-open.org/odata/ns/edm"
NS = "Microsoft.Dynamics.CRM"
EDM_TYPES = {
    "String": "Edm.String",
    "Memo": "Edm.String",
    "EntityName": "Edm.String",
    "Integer": "Edm.Int32",
    "Picklist": "Edm.Int32",
    "State": "Edm.Int32",
    "Status": "Edm.Int32",
    "BigInt": "Edm.Int64",
    "Decimal": "Edm.Decimal",
    "Money": "Edm.Decimal",
    "Double": "Edm.Double",
    "Boolean": "Edm.Boolean",
    "Uniqueidentifier": "Edm.Guid",
}
# Bound bulk actions and unbound operations the server answers (parameters as clients send them).
_BULK_ACTIONS = ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")
_UNBOUND_ACTIONS = {
    "WinQuote": (("QuoteClose", "mscrm.quoteclose"), ("Status", "Edm.Int32")),
    "CloseQuote": (("QuoteClose", "mscrm.quoteclose"), ("Status", "Edm.Int32")),
    "WinOpportunity": (("OpportunityClose", "mscrm.opportunityclose"), ("Status", "Edm.Int32")),
    "LoseOpportunity": (("OpportunityClose", "mscrm.opportunityclose"), ("Status", "Edm.Int32")),
    "FulfillSalesOrder": (("OrderClose", "mscrm.orderclose"), ("Status", "Edm.Int32")),
    "CancelSalesOrder": (("OrderClose", "mscrm.orderclose"), ("Status", "Edm.Int32")),
    "ConvertQuoteToSalesOrder": (("QuoteId", "Edm.Guid"), ("ColumnSet", "mscrm.ColumnSet")),
}


def edm_type(attr: AttributeDef) -> str:
    if attr.attribute_type == "DateTime":
        return "Edm.Date" if attr.date_behavior == "DateOnly" else "Edm.DateTimeOffset"
    return EDM_TYPES.get(attr.attribute_type, "Edm.Guid")


def _sub(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, tag, attrs)


def _entity_type(schema: ET.Element, entity: EntityDef, registry: Registry) -> None:
    node = _sub(schema, "EntityType", Name=entity.logical_name, BaseType="mscrm.crmbaseentity")
    _sub(_sub(node, "Key"), "PropertyRef", Name=entity.primary_id_attribute)
    for attr in entity.attributes.values():
        extra = {"Unicode": "false"} if attr.attribute_type in ("String", "Memo") else {}
        if attr.attribute_type in ("Decimal", "Money"):
            extra = {"Scale": "Variable"}
        elif attr.attribute_type == "DateTime" and attr.date_behavior != "DateOnly":
            extra = {"Precision": "0"}
        _sub(node, "Property", Name=attr.odata_name, Type=edm_type(attr), **extra)
    for rel in registry.many_to_one(entity.logical_name):
        target = registry.find(rel.referenced_entity)
        if target is None:
            continue
        nav = _sub(
            node, "NavigationProperty", Name=rel.referencing_nav, Type=f"mscrm.{target.logical_name}",
            Nullable="false", Partner=rel.referenced_nav,
        )  # fmt: skip
        _sub(
            nav, "ReferentialConstraint", Property=f"_{rel.referencing_attribute}_value",
            ReferencedProperty=target.primary_id_attribute,
        )  # fmt: skip
    for rel in registry.one_to_many(entity.logical_name):
        _sub(
            node, "NavigationProperty", Name=rel.referenced_nav,
            Type=f"Collection(mscrm.{rel.referencing_entity})", Partner=rel.referencing_nav,
        )  # fmt: skip


def _operations(schema: ET.Element) -> None:
    response = _sub(schema, "ComplexType", Name="WhoAmIResponse")
    for name in ("BusinessUnitId", "UserId", "OrganizationId"):
        _sub(response, "Property", Name=name, Type="Edm.Guid", Nullable="false")
    _sub(_sub(schema, "Function", Name="WhoAmI"), "ReturnType", Type="mscrm.WhoAmIResponse", Nullable="false")
    created = _sub(schema, "ComplexType", Name="CreateMultipleResponse")
    _sub(created, "Property", Name="Ids", Type="Collection(Edm.Guid)", Nullable="false")
    for name in _BULK_ACTIONS:
        action = _sub(schema, "Action", Name=name, IsBound="true")
        _sub(action, "Parameter", Name="entityset", Type="Collection(mscrm.crmbaseentity)", Nullable="false")
        _sub(action, "Parameter", Name="Targets", Type="Collection(mscrm.crmbaseentity)", Nullable="false")
        if name == "CreateMultiple":
            _sub(action, "ReturnType", Type="mscrm.CreateMultipleResponse", Nullable="false")
    for name, params in _UNBOUND_ACTIONS.items():
        action = _sub(schema, "Action", Name=name)
        for pname, ptype in params:
            _sub(action, "Parameter", Name=pname, Type=ptype, Nullable="false")


def _container(schema: ET.Element, registry: Registry, annotations: bool) -> None:
    container = _sub(schema, "EntityContainer", Name="System")
    for entity in registry:
        entity_set = _sub(container, "EntitySet", Name=entity.entity_set_name, EntityType=f"{NS}.{entity.logical_name}")
        for rel in registry.many_to_one(entity.logical_name):
            target = registry.find(rel.referenced_entity)
            if target is not None:
                _sub(entity_set, "NavigationPropertyBinding", Path=rel.referencing_nav, Target=target.entity_set_name)
        if annotations and entity.change_tracking:
            term = _sub(entity_set, "Annotation", Term="Org.OData.Capabilities.V1.ChangeTracking")
            _sub(_sub(term, "Record"), "PropertyValue", Property="Supported", Bool="true")
    _sub(container, "FunctionImport", Name="WhoAmI", Function=f"{NS}.WhoAmI")
    for name in _UNBOUND_ACTIONS:
        _sub(container, "ActionImport", Name=name, Action=f"{NS}.{name}")


def csdl(registry: Registry, *, annotations: bool = False) -> bytes:
    """The whole ``$metadata`` document as UTF-8 XML."""
    ET.register_namespace("edmx", EDMX_NS)
    root = ET.Element(f"{{{EDMX_NS}}}Edmx", Version="4.0")
    services = ET.SubElement(root, f"{{{EDMX_NS}}}DataServices")
    schema = ET.SubElement(services, "Schema", Namespace=NS, Alias="mscrm", xmlns=EDM_NS)
    base = _sub(schema, "EntityType", Name="crmbaseentity", Abstract="true")
    base.set("OpenType", "false")
    for entity in registry:
        _entity_type(schema, entity, registry)
    _operations(schema)
    _container(schema, registry, annotations)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
