"""The registry rendered as Dataverse metadata objects: EntityMetadata, AttributeMetadata and its derived
types, option sets, alternate keys and one-to-many relationships.

Clients read these objects to discover entity set names and primary keys, to turn option labels into
values, to learn date behaviours and lookup targets, and to find navigation-property names for
``@odata.bind``. The property names, nesting (``Label.LocalizedLabels``, managed properties as
``{"Value", "CanBeChanged", "ManagedPropertyLogicalName"}``) and ``@odata.type`` names follow what a real
org answers, so code written against one works against the other.
"""

from __future__ import annotations

from typing import Any

from lead2cash.crm.metadata import AlternateKeyDef, AttributeDef, EntityDef, RelationshipDef, metadata_id

NS = "Microsoft.Dynamics.CRM"
LANGUAGE = 1033
# AttributeType → the derived AttributeMetadata type that describes it.
METADATA_TYPE = {
    "String": "StringAttributeMetadata",
    "Memo": "MemoAttributeMetadata",
    "Integer": "IntegerAttributeMetadata",
    "BigInt": "BigIntAttributeMetadata",
    "Decimal": "DecimalAttributeMetadata",
    "Double": "DoubleAttributeMetadata",
    "Money": "MoneyAttributeMetadata",
    "Boolean": "BooleanAttributeMetadata",
    "DateTime": "DateTimeAttributeMetadata",
    "Uniqueidentifier": "UniqueIdentifierAttributeMetadata",
    "Lookup": "LookupAttributeMetadata",
    "Owner": "LookupAttributeMetadata",
    "Customer": "LookupAttributeMetadata",
    "Picklist": "PicklistAttributeMetadata",
    "State": "StateAttributeMetadata",
    "Status": "StatusAttributeMetadata",
    "EntityName": "EntityNameAttributeMetadata",
}
# Type-cast segment → the attribute types it selects (base classes select all their derived types).
CASTS: dict[str, frozenset[str]] = {name: frozenset() for name in set(METADATA_TYPE.values())}
for _type, _name in METADATA_TYPE.items():
    CASTS[_name] = CASTS[_name] | {_type}
CASTS["EnumAttributeMetadata"] = frozenset({"Picklist", "State", "Status"})
CASTS["AttributeMetadata"] = frozenset(METADATA_TYPE)
_INT32 = (-2147483648, 2147483647)
_INT64 = (-9223372036854775808, 9223372036854775807)
_MONEY = (-922337203685477.0, 922337203685477.0)
_DECIMAL = (-100000000000.0, 100000000000.0)


def label(text: str | None, owner_id: str = "") -> dict[str, Any]:
    if not text:
        return {"LocalizedLabels": [], "UserLocalizedLabel": None}
    localized = {
        "Label": text,
        "LanguageCode": LANGUAGE,
        "IsManaged": True,
        "MetadataId": metadata_id("label", owner_id, text),
        "HasChanged": None,
    }
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": dict(localized)}


def managed(value: Any, logical_name: str, can_be_changed: bool = True) -> dict[str, Any]:
    return {"Value": value, "CanBeChanged": can_be_changed, "ManagedPropertyLogicalName": logical_name}


def _words(name: str) -> str:
    return name.replace("_", " ").title()


def entity_json(entity: EntityDef) -> dict[str, Any]:
    mid = entity.metadata_id
    display = entity.display_name or _words(entity.logical_name)
    return {
        "MetadataId": mid,
        "LogicalName": entity.logical_name,
        "SchemaName": entity.schema_name,
        "EntitySetName": entity.entity_set_name,
        "LogicalCollectionName": entity.entity_set_name,
        "CollectionSchemaName": f"{entity.schema_name}s",
        "PrimaryIdAttribute": entity.primary_id_attribute,
        "PrimaryNameAttribute": entity.primary_name_attribute,
        "PrimaryImageAttribute": None,
        "ObjectTypeCode": entity.object_type_code,
        "OwnershipType": entity.ownership,
        "TableType": "Standard",
        "IsCustomEntity": entity.is_custom,
        "IsManaged": not entity.is_custom,
        "IsActivity": entity.is_activity,
        "IsIntersect": False,
        "IsPrivate": False,
        "IsLogicalEntity": False,
        "IsValidForAdvancedFind": True,
        "HasNotes": False,
        "HasActivities": False,
        "ChangeTrackingEnabled": entity.change_tracking,
        "CanChangeTrackingBeEnabled": managed(True, "canchangetrackingbeenabled"),
        "IsCustomizable": managed(True, "iscustomizable"),
        "IsAuditEnabled": managed(False, "canmodifyauditsettings"),
        "DisplayName": label(display, mid),
        "DisplayCollectionName": label(entity.display_collection_name or f"{display}s", mid + "/c"),
        "Description": label(None),
    }


def _required_level(attr: AttributeDef, entity: EntityDef) -> dict[str, Any]:
    if attr.logical_name == entity.primary_id_attribute:
        level = "SystemRequired"
    else:
        level = "ApplicationRequired" if attr.required else "None"
    return managed(level, "canmodifyrequirementlevelsettings")


def attribute_json(attr: AttributeDef, entity: EntityDef) -> dict[str, Any]:
    """An attribute with the properties of its derived type (``OptionSet`` only when expanded)."""
    t = attr.attribute_type
    mid = attr.metadata_id
    out: dict[str, Any] = {
        "@odata.type": f"#{NS}.{METADATA_TYPE[t]}",
        "MetadataId": mid,
        "LogicalName": attr.logical_name,
        "SchemaName": attr.schema_name,
        "EntityLogicalName": entity.logical_name,
        "AttributeType": t,
        "AttributeTypeName": {"Value": "UniqueidentifierType" if t == "Uniqueidentifier" else f"{t}Type"},
        "AttributeOf": None,
        "ColumnNumber": list(entity.attributes).index(attr.logical_name) + 1,
        "IsPrimaryId": attr.logical_name == entity.primary_id_attribute,
        "IsPrimaryName": attr.logical_name == entity.primary_name_attribute,
        "IsCustomAttribute": attr.is_custom,
        "IsManaged": not attr.is_custom,
        "IsLogical": False,
        "IsValidForRead": True,
        "IsValidForCreate": attr.valid_for_create,
        "IsValidForUpdate": attr.valid_for_update,
        "IsValidForAdvancedFind": managed(True, "canmodifysearchsettings"),
        "IsAuditEnabled": managed(False, "canmodifyauditsettings"),
        "RequiredLevel": _required_level(attr, entity),
        "DisplayName": label(attr.display_name or _words(attr.logical_name), mid),
        "Description": label(None),
    }
    if t in ("String", "Memo"):
        out |= {"MaxLength": attr.max_length, "DatabaseLength": (attr.max_length or 0) * 2}
        out |= {"Format": "Text" if t == "String" else "TextArea", "FormatName": {"Value": "Text"}}
    elif t == "Integer":
        out |= {"MinValue": _INT32[0], "MaxValue": _INT32[1], "Format": "None"}
    elif t == "BigInt":
        out |= {"MinValue": _INT64[0], "MaxValue": _INT64[1]}
    elif t in ("Decimal", "Double"):
        out |= {"Precision": attr.precision if attr.precision is not None else 2}
        out |= {"MinValue": _DECIMAL[0], "MaxValue": _DECIMAL[1]}
    elif t == "Money":
        out |= {"Precision": attr.precision if attr.precision is not None else 2, "PrecisionSource": 2}
        out |= {"MinValue": _MONEY[0], "MaxValue": _MONEY[1]}
        out |= {"IsBaseCurrency": attr.logical_name.endswith("_base"), "CalculationOf": None}
    elif t == "Boolean":
        out["DefaultValue"] = False
    elif t == "DateTime":
        date_only = attr.date_behavior == "DateOnly"
        out |= {"Format": "DateOnly" if date_only else "DateAndTime"}
        out |= {"DateTimeBehavior": {"Value": attr.date_behavior}}
        out |= {"CanChangeDateTimeBehavior": managed(attr.is_custom, "canchangedatetimebehavior")}
    elif attr.is_lookup:
        out |= {"Targets": list(attr.targets), "Format": "None"}
    elif t == "Picklist":
        out |= {"DefaultFormValue": -1}
    return out


def option_set_json(attr: AttributeDef, entity: EntityDef) -> dict[str, Any] | None:
    """The ``OptionSet`` navigation property of a choice or Boolean attribute (``None`` otherwise)."""
    t = attr.attribute_type
    name = attr.option_set_name or f"{entity.logical_name}_{attr.logical_name}"
    mid = metadata_id("optionset", name)
    base = {"MetadataId": mid, "Name": name, "IsGlobal": False, "IsCustomOptionSet": attr.is_custom}
    base |= {"IsManaged": not attr.is_custom, "DisplayName": label(attr.display_name or _words(attr.logical_name))}
    if t == "Boolean":
        yes, no = _option(1, "Yes", mid), _option(0, "No", mid)
        return (
            base
            | {"@odata.type": f"#{NS}.BooleanOptionSetMetadata", "OptionSetType": "Boolean"}
            | {
                "TrueOption": yes,
                "FalseOption": no,
            }
        )
    if not attr.is_option:
        return None
    options = []
    for opt in attr.options:
        item = _option(opt.value, opt.label, mid)
        if t == "State":
            item |= {"@odata.type": f"#{NS}.StateOptionMetadata", "DefaultStatus": opt.default_status}
            item["InvariantName"] = opt.label.replace(" ", "")
        elif t == "Status":
            item |= {"@odata.type": f"#{NS}.StatusOptionMetadata", "State": opt.state}
        options.append(item)
    kind = {"Picklist": "Picklist", "State": "State", "Status": "Status"}[t]
    return base | {"@odata.type": f"#{NS}.OptionSetMetadata", "OptionSetType": kind, "Options": options}


def _option(value: int, text: str, set_id: str) -> dict[str, Any]:
    return {
        "Value": value,
        "Label": label(text, f"{set_id}/{value}"),
        "Description": label(None),
        "Color": None,
        "IsManaged": True,
        "ExternalValue": None,
        "ParentValues": [],
        "Tag": None,
        "MetadataId": None,
        "HasChanged": None,
    }


def key_json(key: AlternateKeyDef, entity: EntityDef) -> dict[str, Any]:
    return {
        "MetadataId": key.metadata_id,
        "LogicalName": key.logical_name,
        "SchemaName": key.schema_name or key.logical_name,
        "DisplayName": label(key.display_name or key.logical_name, key.metadata_id),
        "EntityLogicalName": entity.logical_name,
        "KeyAttributes": list(key.key_attributes),
        "EntityKeyIndexStatus": "Active",
        "IsManaged": False,
        "IsCustomizable": managed(True, "iscustomizable"),
        "AsyncJob": None,
    }


def relationship_json(rel: RelationshipDef, parental: bool) -> dict[str, Any]:
    """A one-to-many relationship; ``parental`` when deleting the referenced row deletes the children."""
    cascade = "Cascade" if parental else "NoCascade"
    return {
        "@odata.type": f"#{NS}.OneToManyRelationshipMetadata",
        "MetadataId": rel.metadata_id,
        "SchemaName": rel.schema_name,
        "RelationshipType": "OneToManyRelationship",
        "IsCustomRelationship": False,
        "IsManaged": True,
        "IsValidForAdvancedFind": True,
        "IsHierarchical": rel.referenced_entity == rel.referencing_entity,
        "ReferencedEntity": rel.referenced_entity,
        "ReferencedAttribute": rel.referenced_attribute,
        "ReferencingEntity": rel.referencing_entity,
        "ReferencingAttribute": rel.referencing_attribute,
        "ReferencedEntityNavigationPropertyName": rel.referenced_nav,
        "ReferencingEntityNavigationPropertyName": rel.referencing_nav,
        "CascadeConfiguration": {
            "Assign": cascade,
            "Delete": "Cascade" if parental else "RemoveLink",
            "Merge": cascade,
            "Reparent": cascade,
            "Share": cascade,
            "Unshare": cascade,
            "RollupView": "NoCascade",
        },
    }
