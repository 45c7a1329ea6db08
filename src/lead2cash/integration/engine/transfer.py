"""Field transfer: ERP values ↔ CRM values, row by row of a mapping, resolved set-based per page.

A ``Converter`` is made for one page of one pass. ``prepare`` looks up, with one query per referenced
table, everything the page's rows need: CRM ids of coupled ERP codes (foreign keys become ``@odata.bind``
lookups), option values of coupled codes (option mappings), ERP codes of coupled CRM ids (the reverse).
Converting a record is then pure computation, so a page of 500 records costs a handful of queries.

Values are compared in one *canonical* form (``canonical``): the ERP's representation normalised to JSON
(codes as text, amounts as plain decimal strings, blanks as ``None``). The coupling keeps the canonical
values of the last synchronization (its snapshot), which is the common ancestor of the three-way merge and
tells which fields really changed. Failures name the record, the field and the fix; a row with "clear value
on failed sync" clears the value instead of failing (R16), text longer than the destination is cut (R16).

Two kinds of codes are not failures. A blank currency code is the ERP's local currency: it goes out as the
CRM currency of the local currency, looked up once per run (``currencies``, R5), and comes back blank. An
option code without a CRM option (payment terms CASH when the org has no such choice) is skipped and the
choice left blank (M14); its canonical value is then blank too, since that is all the CRM can hold, and a
blank choice read back from the CRM does not clear such a code in the ERP. Both leave a note for the
page's job log (``notes``) instead of an error.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.couplings import CODE_REFERENCES, chunks
from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.engine.currencies import run_currencies
from lead2cash.integration.mapping.defaults import erp_model
from lead2cash.integration.mapping.enums import Direction
from lead2cash.integration.mapping.model import FieldMapping, OptionMapping, TableMapping, TransformationRule
from lead2cash.integration.mapping.transform import applies, apply_rule
from lead2cash.integration.option_couplings import choices_for_codes, codes_for_values, option_coupled_codes

TO, FROM = Direction.TO_CRM, Direction.FROM_CRM


class TransferError(ValueError):
    """A value that cannot be transferred; the message names record, field and fix."""


def canonical(value: Any) -> Any:
    """The JSON form used in snapshots and comparisons (blank text and NULL are the same)."""
    if value is None or value == "":
        return None
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    if isinstance(value, int | float):
        return format(Decimal(str(value)).normalize(), "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def parse_constant(text: str) -> Any:
    """A constant row's text as a CRM value: ``true``/``false``, integers, or the text itself."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        return text


def crm_json(value: Any) -> Any:
    """An ERP value as the Web API expects it (numbers as JSON numbers, dates as ISO text)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def reference_target(erp_table: str, erp_field: str) -> tuple[str, str] | None:
    """(ERP table, key field) an ERP field refers to, through a foreign key or a known code reference."""
    if (erp_table, erp_field) in CODE_REFERENCES:
        return CODE_REFERENCES[(erp_table, erp_field)]
    column = erp_model(erp_table).__table__.columns.get(erp_field)
    for fk in column.foreign_keys if column is not None else ():
        return fk.column.table.name, fk.column.name
    return None


def coupled_crm_ids(session: Session, erp_table: str, key_field: str, codes: set[str]) -> dict[str, uuid.UUID]:
    """CRM ids of the ERP records with these codes, for couplings already written to the CRM."""
    model = erp_model(erp_table)
    key = getattr(model, key_field)
    found: dict[str, uuid.UUID] = {}
    for page in chunks(codes):
        rows = session.execute(
            select(key, Coupling.crm_id)
            .join(Coupling, (Coupling.erp_id == model.id) & (Coupling.erp_table == erp_table))
            .where(key.in_(page), Coupling.crm_version.is_not(None))
        )
        found.update((code, crm_id) for code, crm_id in rows)
    return found


def coupled_codes(session: Session, erp_table: str, key_field: str, crm_entity: str, ids: set[uuid.UUID]):
    model = erp_model(erp_table)
    key = getattr(model, key_field)
    found: dict[uuid.UUID, str] = {}
    for page in chunks(ids):
        rows = session.execute(
            select(Coupling.crm_id, key)
            .join(model, model.id == Coupling.erp_id)
            .where(Coupling.erp_table == erp_table, Coupling.crm_entity == crm_entity, Coupling.crm_id.in_(page))
        )
        found.update((crm_id, code) for crm_id, code in rows)
    return found


@dataclass(frozen=True, slots=True)
class Row:
    """A field mapping row read once per page (ORM attribute access is slow in per-record loops)."""

    key: str
    erp_field: str | None
    crm_attribute: str | None
    crm_lookup_target: str | None
    direction: Direction
    constant_value: str | None
    clear_value_on_failed_sync: bool
    not_null: bool
    transformation_rule: str | None
    transformation_direction: Direction | None

    @classmethod
    def of(cls, row: FieldMapping) -> Row:
        return cls(
            row.key, row.erp_field, row.crm_attribute, row.crm_lookup_target, row.direction, row.constant_value,
            row.clear_value_on_failed_sync, row.not_null, row.transformation_rule, row.transformation_direction,
        )  # fmt: skip


@dataclass
class _Lookup:
    row: Row
    erp_table: str  # referenced ERP table
    key_field: str
    target: str  # CRM entity
    by_code: dict[str, uuid.UUID] = field(default_factory=dict)
    by_id: dict[uuid.UUID, str] = field(default_factory=dict)


@dataclass
class _Option:
    row: Row
    erp_table: str
    mapping: str  # the option mapping that couples the codes (PAYMENT TERMS)
    by_code: dict[str, int] = field(default_factory=dict)
    by_value: dict[int, str] = field(default_factory=dict)
    coupled: frozenset[str] | None = None  # every option-coupled code of the table, read when first needed


class Converter:
    """Converts the records of one page in one direction; build with ``prepare``."""

    def __init__(
        self, ctx: SyncContext, session: Session, mapping: TableMapping, direction: Direction, rule: Any = None
    ):
        self.ctx, self.session, self.mapping, self.direction = ctx, session, mapping, direction
        self.rule = rule
        self.model = erp_model(mapping.erp_table)
        self.rows = [Row.of(r) for r in mapping.fields_for(direction)]
        self.crm = ctx.entity(mapping.crm_entity)
        self.rules = {r.code: r for r in session.scalars(select(TransformationRule))}
        options = {
            (o.crm_entity, o.crm_attribute): (o.table_mapping.erp_table, o.table_mapping_name)
            for o in session.scalars(select(OptionMapping))
        }
        self.lookups: dict[str, _Lookup] = {}
        self.options: dict[str, _Option] = {}
        for row in self.rows:
            if row.erp_field is None or row.crm_attribute is None:
                continue
            if row.crm_lookup_target:
                target = reference_target(mapping.erp_table, row.erp_field)
                if target is not None:
                    self.lookups[row.key] = _Lookup(row, target[0], target[1], row.crm_lookup_target)
            elif (mapping.crm_entity, row.crm_attribute) in options:
                self.options[row.key] = _Option(row, *options[(mapping.crm_entity, row.crm_attribute)])
        #: what the user should know about the records converted, though nothing failed (options left
        #: blank, M14); distinct messages, for the job log of the page
        self.notes: list[str] = []
        #: the CRM currency of the ERP's local amounts (blank currency codes), read once per run (R5)
        self.lcy_crm_id, self.lcy_note = ctx.base_currency_id, ""
        if any(lookup.target == "transactioncurrency" for lookup in self.lookups.values()):
            currencies = run_currencies(ctx, session)
            self.lcy_crm_id = currencies.lcy_crm_id
            self.lcy_note = currencies.missing_note() if currencies.lcy_missing else ""

    # --- set-based preparation ------------------------------------------------------------------------

    def prepare_erp(self, records: list[Any]) -> Converter:
        for lookup in self.lookups.values():
            codes = {getattr(r, lookup.row.erp_field) for r in records} - {None, ""}
            special = self.rule.crm_ids_for(self.ctx, self.session, lookup.row.erp_field, codes) if self.rule else None
            if special is not None:
                lookup.by_code = special
                continue
            lookup.by_code = coupled_crm_ids(self.session, lookup.erp_table, lookup.key_field, codes)
        for option in self.options.values():
            codes = {getattr(r, option.row.erp_field) for r in records} - {None, ""}
            found = choices_for_codes(self.session, option.erp_table, codes)
            option.by_code = {code: choice.value for code, choice in found.items()}
        return self

    def prepare_crm(self, rows: list[dict]) -> Converter:
        for lookup in self.lookups.values():
            read = f"_{lookup.row.crm_attribute}_value"
            ids = {uuid.UUID(r[read]) for r in rows if r.get(read)}
            lookup.by_id = coupled_codes(self.session, lookup.erp_table, lookup.key_field, lookup.target, ids)
        for option in self.options.values():
            values = {r.get(option.row.crm_attribute) for r in rows} - {None}
            option.by_value = codes_for_values(
                self.session, option.erp_table, self.mapping.crm_entity, option.row.crm_attribute, values
            )
        return self

    # --- ERP -> CRM -----------------------------------------------------------------------------------

    def erp_values(self, record: Any) -> dict[str, Any]:
        """The record's value per row (transformation rules applied), in canonical form."""
        out: dict[str, Any] = {}
        for row in self.rows:
            if row.erp_field is None or row.crm_attribute is None:
                continue
            value = getattr(record, row.erp_field)
            if applies(row, TO) and row.transformation_rule in self.rules:
                value = apply_rule(self.rules[row.transformation_rule], value)
            value = canonical(value)
            if value is not None and row.key in self.options and value not in self.options[row.key].by_code:
                value = None  # M14: a code without a CRM option is blank as far as the CRM can tell
            out[row.key] = value
        return out

    def to_crm(self, record: Any, keys: set[str] | None = None, values: dict | None = None) -> dict[str, Any]:
        """The CRM payload for the rows in ``keys`` (all rows and constants when ``None``)."""
        label = f"{self.model.label()} {record.key_value}"
        payload: dict[str, Any] = {}
        values = values if values is not None else self.erp_values(record)
        for row in self.rows:
            if row.crm_attribute is None:
                continue
            if row.erp_field is None:  # a constant written to the CRM
                if keys is None:
                    payload[row.crm_attribute] = parse_constant(row.constant_value or "")
                continue
            if keys is not None and row.key not in keys:
                continue
            self._to_crm_field(label, row, values[row.key], payload)
            if values[row.key] is None and row.key in self.options:
                self._note_blank_option(self.options[row.key], getattr(record, row.erp_field))
        return payload

    def _note_blank_option(self, option: _Option, code: Any) -> None:
        """M14: a code without a CRM option is skipped and the option left blank; the job says so."""
        if code is None or code == "":
            return
        table = erp_model(option.erp_table).label()
        note = (
            f"{table} {code} has no CRM option in {self.mapping.crm_entity}.{option.row.crm_attribute}: left blank "
            f"on the {self.model.label().lower()} records that use it (M14). To send it, give the choice the label "
            f"{code} in the CRM and run the {option.mapping} mapping."
        )
        if note not in self.notes:
            self.notes.append(note)

    def _to_crm_field(self, label: str, row: Row, value: Any, payload: dict[str, Any]) -> None:
        attr = self.crm.attributes.get(row.crm_attribute)
        lookup = self.lookups.get(row.key)
        if lookup is not None or (attr is not None and attr.is_lookup):
            target = row.crm_lookup_target or (attr.targets[0] if attr and attr.targets else "")
            if value is None:
                crm_id = self.lcy_crm_id if target == "transactioncurrency" else None
                if crm_id is not None and self.lcy_note and self.lcy_note not in self.notes:
                    self.notes.append(self.lcy_note)
                if crm_id is None and row.not_null:
                    return  # a blank reference keeps the CRM's value (the owner stays who it is)
            else:
                crm_id = lookup.by_code.get(value) if lookup else None
                if crm_id is None and not row.clear_value_on_failed_sync:
                    table = erp_model(lookup.erp_table).label() if lookup else row.erp_field
                    via = f" ({lookup.target})" if lookup else ""
                    raise TransferError(
                        f"{label}: {table} {value} ({row.erp_field}) is not coupled to a CRM row{via}. "
                        f"Couple or synchronize {table} {value} first."
                    )
            key, ref = self.ctx.bind(self.mapping.crm_entity, row.crm_attribute, target, crm_id)
            payload[key] = ref
            return
        option = self.options.get(row.key)
        if option is not None:
            payload[row.crm_attribute] = option.by_code.get(value) if value is not None else None
            return
        if value is not None and attr is not None and attr.type in ("Integer", "BigInt"):
            value = int(Decimal(value))
        raw = crm_json(Decimal(value) if _numeric(attr) and value is not None else value)
        if isinstance(raw, str) and attr is not None and attr.max_length and len(raw) > attr.max_length:
            raw = raw[: attr.max_length]  # R16: text longer than the destination is cut
        payload[row.crm_attribute] = raw

    # --- CRM -> ERP -----------------------------------------------------------------------------------

    def crm_values(self, row_data: dict, *, label: str) -> dict[str, Any]:
        """The CRM row's value per field row, in canonical ERP form; raises ``TransferError``."""
        out: dict[str, Any] = {}
        for row in self.rows:
            if row.erp_field is None:
                continue
            if row.crm_attribute is None:  # a constant written to the ERP
                out[row.key] = canonical(row.constant_value)
                continue
            out[row.key] = self._from_crm_field(label, row, row_data)
        return out

    def _from_crm_field(self, label: str, row: Row, data: dict) -> Any:
        lookup = self.lookups.get(row.key)
        attr = self.crm.attributes.get(row.crm_attribute)
        if lookup is not None or (attr is not None and attr.is_lookup):
            raw = data.get(f"_{row.crm_attribute}_value")
            if raw is None:
                return None
            crm_id = uuid.UUID(str(raw))
            if lookup is not None and lookup.target == "transactioncurrency" and crm_id == self.lcy_crm_id:
                return None  # the CRM currency of the ERP's local currency (blank code), R5
            code = lookup.by_id.get(crm_id) if lookup else None
            if code is None and not row.clear_value_on_failed_sync:
                raise TransferError(
                    f"{label}: {row.crm_attribute} refers to {row.crm_lookup_target} {crm_id}, which is not "
                    f"coupled to an ERP record. Couple or synchronize it first."
                )
            return code
        option = self.options.get(row.key)
        if option is not None:
            return option.by_value.get(data.get(row.crm_attribute))  # blank choice or not coupled: blank code
        value = data.get(row.crm_attribute)
        if applies(row, FROM) and row.transformation_rule in self.rules:
            value = apply_rule(self.rules[row.transformation_rule], value)
        return canonical(self.erp_typed(row.erp_field, value))

    def erp_typed(self, erp_field: str, value: Any) -> Any:
        """A CRM or canonical value as the ERP column's type, text cut to the column length."""
        column = self.model.__table__.columns[erp_field]
        if value is None or value == "":
            return None if column.nullable else ("" if _is_text(column) else value)
        try:
            kind = column.type.python_type
        except NotImplementedError:
            kind = str
        if kind is Decimal:
            return Decimal(str(value))
        if kind is bool:
            return bool(value)
        if kind is date and isinstance(value, str):
            return date.fromisoformat(value[:10])
        if isinstance(value, str) and getattr(column.type, "length", None):
            return value[: column.type.length]
        return value

    def erp_changes(self, record: Any | None, values: dict[str, Any], keys: set[str] | None = None) -> dict:
        """ERP field values to write (typed), for the rows in ``keys`` whose value differs from the record."""
        changes: dict[str, Any] = {}
        for row in self.rows:
            if row.erp_field is None or row.key not in values or (keys is not None and row.key not in keys):
                continue
            typed = self.erp_typed(row.erp_field, values[row.key])
            enum_type = getattr(self.model.__table__.columns[row.erp_field].type, "enum_class", None)
            if enum_type is not None and typed is not None:
                typed = enum_type(typed)
            current = getattr(record, row.erp_field) if record is not None else None
            if typed is None and row.key in self.options and not self._has_option(self.options[row.key], current):
                continue  # M14: the CRM shows a code without an option as blank; that blank does not clear it
            if record is None or canonical(current) != canonical(typed):
                changes[row.erp_field] = typed
        return changes

    def _has_option(self, option: _Option, code: Any) -> bool:
        """Whether an ERP code can be shown in the CRM (it is option-coupled); blank codes count as shown."""
        if code is None or code == "":
            return True
        if option.coupled is None:  # once per converter, and only when a blank choice meets an ERP code
            option.coupled = frozenset(option_coupled_codes(self.session, option.erp_table))
        return code in option.coupled


def _numeric(attr: Any) -> bool:
    return attr is not None and attr.type in ("Money", "Decimal", "Double")


def _is_text(column: Any) -> bool:
    return getattr(column.type, "length", None) is not None
