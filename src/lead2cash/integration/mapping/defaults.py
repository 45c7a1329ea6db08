"""'Use default synchronization setup': (re)create the standard mappings as editable rows.

Running it deletes the chosen mappings with their field and option rows and creates them again from
``standard.MAPPINGS``, so it is idempotent and also repairs a setup a user has edited into a broken state.
Watermarks go with the old rows (the next run re-reads everything), but couplings, option couplings and
job logs are kept: they refer to tables by name, not to mapping rows, and per-coupling versions still keep
an unchanged record from being written again. Transformation rules are only added when missing, never
overwritten, because users edit them.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lead2cash.erp.model import Base
from lead2cash.integration.mapping import filters
from lead2cash.integration.mapping.enums import FieldStatus, TransformationKind
from lead2cash.integration.mapping.model import FieldMapping, OptionMapping, TableMapping, TransformationRule
from lead2cash.integration.mapping.spec import MappingSpec
from lead2cash.integration.mapping.standard import MAPPINGS

STANDARD_RULES = (
    ("TRIM", "Remove leading and trailing blanks", TransformationKind.TRIM),
    ("UPPERCASE", "Convert to upper case", TransformationKind.UPPERCASE),
    ("LOWERCASE", "Convert to lower case", TransformationKind.LOWERCASE),
    ("TITLECASE", "Capitalize every word", TransformationKind.TITLECASE),
    ("ALPHANUMERIC", "Keep letters and digits only", TransformationKind.REMOVE_NON_ALPHANUMERIC),
)


class SetupError(ValueError):
    """A mapping that refers to something the ERP does not have; the message names it."""


def erp_model(table_name: str) -> type:
    """The ERP (or integration) model class stored in ``table_name``."""
    for mapper in Base.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == table_name:
            return mapper.class_
    raise SetupError(f"the ERP has no table {table_name!r}")


def check_erp_side(spec: MappingSpec) -> None:
    """Every ERP field a mapping names is a column of its ERP table, and its filter compiles."""
    model = erp_model(spec.erp_table)
    columns = model.__table__.columns
    for row in spec.fields:
        if row.erp is not None and row.erp not in columns:
            raise SetupError(f"{spec.name}: {model.__name__} has no field {row.erp!r}")
    if spec.erp_filter is not None:
        try:
            filters.check(spec.erp_filter, model)
        except filters.FilterError as exc:
            raise SetupError(f"{spec.name}: table filter: {exc}") from exc


def build(spec: MappingSpec) -> TableMapping:
    """The mapping rows for ``spec`` (not yet added to a session)."""
    mapping = TableMapping(
        name=spec.name,
        kind=spec.kind,
        erp_table=spec.erp_table,
        crm_entity=spec.crm_entity,
        crm_id_attribute=spec.id_attribute,
        crm_modified_attribute="modifiedon",
        direction=spec.direction,
        erp_filter=filters.to_json(spec.erp_filter) if spec.erp_filter is not None else None,
        crm_filter=filters.to_json(spec.crm_filter) if spec.crm_filter is not None else None,
        sync_only_coupled=spec.sync_only_coupled,
        update_conflict=spec.update_conflict,
        deletion_conflict=spec.deletion_conflict,
        dependency_filter="|".join(spec.dependencies),
        create_new_if_no_match=spec.create_new_if_no_match,
        sync_after_bulk_coupling=spec.sync_after_bulk_coupling,
        disable_event_reschedule=False,
        job_interval_minutes=spec.job_interval_minutes,
        job_inactivity_timeout_minutes=spec.job_inactivity_timeout_minutes,
        job_category=spec.job_category,
        is_temporary=False,
        full_sync_running=False,
        user_defined=False,
    )
    mapping.field_mappings = [
        FieldMapping(
            erp_field=row.erp,
            crm_attribute=row.crm,
            crm_lookup_target=row.lookup,
            direction=row.direction,
            constant_value=row.constant,
            validate_erp=row.validate,
            validate_crm=False,
            clear_value_on_failed_sync=row.clear_on_failed_sync,
            not_null=row.not_null,
            status=FieldStatus.ENABLED if row.enabled else FieldStatus.DISABLED,
            use_for_matching=row.match,
            case_sensitive_matching=False,
            match_priority=0,
            user_defined=False,
        )
        for row in spec.fields
    ]
    mapping.option_mappings = [
        OptionMapping(crm_entity=entity, crm_attribute=attribute, is_primary=i == 0)
        for i, (entity, attribute) in enumerate(spec.option_sets)
    ]
    return mapping


def ensure_standard_rules(session: Session) -> None:
    existing = set(session.scalars(select(TransformationRule.code)))
    for code, description, kind in STANDARD_RULES:
        if code not in existing:
            session.add(TransformationRule(code=code, description=description, kind=kind))


def use_default_setup(session: Session, names: Iterable[str] | None = None) -> list[TableMapping]:
    """Delete and recreate the standard mappings (all, or those in ``names``) in the session's transaction."""
    by_name = {spec.name: spec for spec in MAPPINGS}
    wanted = list(by_name) if names is None else list(dict.fromkeys(names))
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise SetupError(f"no standard mapping named {', '.join(map(repr, unknown))} (known: {', '.join(by_name)})")
    for name in wanted:
        check_erp_side(by_name[name])
    ensure_standard_rules(session)
    # Row deletes through the database: field and option rows go with their mapping (ON DELETE CASCADE).
    session.execute(delete(TableMapping).where(TableMapping.name.in_(wanted)))
    session.expire_all()
    created = [build(by_name[name]) for name in wanted]
    session.add_all(created)
    session.flush()
    return created
