"""Create, read, update, delete and list any ERP master record, with the checks every record shares.

Per-table business rules live in ``rules``; this module applies what holds for all tables: keys are
unique, references point at existing records (checked before the database would refuse them, so the
message can name the field and the fix), a record still referenced cannot be deleted, optimistic
concurrency by row version, and keyset paging (``WHERE (sort, id) > (:last_sort, :last_id)``, never OFFSET).
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Column, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lead2cash.erp.errors import Conflict, ErpError, NotFound, PreconditionFailed, ValidationFailed, invalid
from lead2cash.erp.model import Base, Versioned
from lead2cash.erp.services import noseries


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


@dataclass
class RecordType:
    """How the service layer treats one table (its rules come from ``rules.RULES``)."""

    model: type[Versioned]
    number_series_field: str | None = None  # SalesSetup field naming the series for automatic numbers
    filters: tuple[str, ...] = ()
    sortable: tuple[str, ...] = field(default_factory=tuple)

    @property
    def key(self) -> str:
        return self.model.__key__

    @property
    def label(self) -> str:
        return self.model.label()


def describe(obj: Versioned) -> str:
    return f"{obj.label()} {obj.key_value}"


@cache
def _model_for_table(table_name: str) -> type[Versioned]:
    for mapper in Base.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == table_name:
            return mapper.class_
    raise KeyError(table_name)


def get(session: Session, model: type[Versioned], ref: str | uuid.UUID, *, for_update: bool = False) -> Versioned:
    """Find a record by its SystemId or by its key (no./code); 404 naming both when missing."""
    if "\x00" in str(ref):  # no key holds NUL, and PostgreSQL refuses to even compare with it
        raise NotFound(
            f"{model.label()} {ref!r} does not exist.", record=model.label(), fix="Remove the NUL character."
        )
    try:
        ident = ref if isinstance(ref, uuid.UUID) else uuid.UUID(str(ref))
        condition = model.id == ident
    except ValueError:
        if model.__key__ not in model.__table__.c:
            raise NotFound(f"{model.label()} '{ref}' does not exist.", record=f"{model.label()} {ref}") from None
        condition = getattr(model, model.__key__) == str(ref).upper()
    stmt = select(model).where(condition)
    if for_update:
        stmt = stmt.with_for_update()
    obj = session.scalars(stmt).first()
    if obj is None:
        raise NotFound(
            f"{model.label()} '{ref}' does not exist.",
            record=f"{model.label()} {ref}",
            fix=f"Check the {model.__key__} or list the {model.label().lower()} records.",
        )
    return obj


def check_references(session: Session, obj: Versioned, fields: set[str] | None = None) -> None:
    """Every filled-in reference of ``obj`` must point at an existing record."""
    for column in obj.__table__.c:
        if not column.foreign_keys or (fields is not None and column.key not in fields):
            continue
        value = getattr(obj, column.key)
        if value in (None, ""):
            continue
        target: Column = next(iter(column.foreign_keys)).column
        if target.table is obj.__table__ and value == getattr(obj, target.key):
            continue  # a self-reference to itself (a company contact's company no.)
        found = session.execute(select(target).where(target == value).limit(1)).first()
        if found is None:
            raise _missing_reference(obj, column, value)


def _missing_reference(obj: Versioned, column: Column, value: Any) -> ErpError:
    """The refusal of a reference that points at nothing: the record, the field and what to use instead."""
    target: Column = next(iter(column.foreign_keys)).column
    target_label = _model_for_table(target.table.name).label()
    return invalid(
        describe(obj),
        column.key,
        f"'{value}' does not exist as a {target_label.lower()}",
        f"Use an existing {target_label.lower()} {target.key} or create {target_label} '{value}' first.",
    )


@cache
def _referencing(table_name: str) -> list[tuple[Column, Column]]:
    """(referencing column, referenced column) pairs pointing at ``table_name``."""
    pairs = []
    for table in Base.metadata.tables.values():
        for fk in table.foreign_keys:
            if fk.column.table.name == table_name:
                pairs.append((fk.parent, fk.column))
    return pairs


def check_not_in_use(session: Session, obj: Versioned) -> None:
    """Refuse to delete a record other records still refer to, naming one of them and the count."""
    for parent, referenced in _referencing(obj.__tablename__):
        value = getattr(obj, referenced.key)
        if value in (None, ""):
            continue
        user_model = _model_for_table(parent.table.name)
        key_col = user_model.__table__.c.get(user_model.__key__, user_model.__table__.c.id)
        condition = parent == value
        if parent.table is obj.__table__:
            condition = and_(condition, user_model.__table__.c.id != obj.id)
        rows = session.execute(select(key_col, func.count().over()).where(condition).limit(1)).first()
        if rows is not None:
            first_key, count = rows
            more = f" and {count - 1} more" if count > 1 else ""
            raise Conflict(
                f"{describe(obj)} cannot be deleted: it is used as {parent.key} by "
                f"{user_model.label().lower()} {first_key}{more}.",
                record=describe(obj),
                field=parent.key,
                fix=f"Change {parent.key} on those {user_model.label().lower()} records first.",
            )


def _run_rules(session: Session, obj: Versioned, changed: set[str]) -> None:
    from lead2cash.erp.services.rules import RULES

    for rule in RULES.get(type(obj), ()):
        rule(session, obj, changed)


def _flush(session: Session, obj: Versioned, *, refresh: bool = True) -> None:
    try:
        with session.begin_nested():
            session.flush()
        if refresh:  # a deleted record has nothing left to refresh
            session.refresh(obj)
    except IntegrityError as exc:
        raise Conflict(
            f"{describe(obj)} conflicts with an existing record: {exc.orig}",
            record=describe(obj),
            fix="Use a different key or change the existing record.",
        ) from None


def create(session: Session, rtype: RecordType, data: dict[str, Any]) -> Versioned:
    model = rtype.model
    data = {k: v for k, v in data.items() if v is not None or k in model.__table__.c}
    if model.__key__ in model.__table__.c and not data.get(model.__key__):
        if not rtype.number_series_field:
            raise ValidationFailed(
                f"{model.label()}: {model.__key__} is required.",
                record=model.label(),
                field=model.__key__,
                fix=f"Give the {model.__key__}.",
            )
        from lead2cash.erp.services.setup import sales_setup

        series = getattr(sales_setup(session), rtype.number_series_field)
        data[model.__key__] = noseries.next_no(session, series, record=model.label())
    for column in model.__table__.c:
        # column defaults apply at INSERT; the rules below must already see them (exchange rate amount 1 …)
        default = column.default
        if column.key not in data and default is not None and default.is_scalar:
            data[column.key] = default.arg
    key = data.get(model.__key__)
    if (
        key is not None
        and session.execute(select(model.id).where(getattr(model, model.__key__) == key)).first() is not None
    ):
        raise Conflict(
            f"{model.label()} {key} already exists.",
            record=f"{model.label()} {key}",
            field=model.__key__,
            fix=f"Use another {model.__key__} or change the existing record.",
        )
    obj = model(**data)
    check_references(session, obj)
    _run_rules(session, obj, set(data))
    session.add(obj)
    _flush(session, obj)
    return obj


def create_many(
    session: Session, rtype: RecordType, items: list[dict[str, Any]]
) -> list[Versioned | ErpError | ValueError]:
    """Create several records of one type with the checks of ``create``, asking the database per batch what
    ``create`` asks per record: one look-up per reference column, one for the keys, one run of the number
    series, one flush. A record refused by a check gets its error in its place and the others go ahead
    (numbers are taken only for the records that passed). If the database still refuses the batch — a
    constraint no check covers — each record is created on its own, as ``create`` does."""
    model = rtype.model
    table = model.__table__
    key = model.__key__ if model.__key__ in table.c else None
    later = _referring_to_batch(model, items)
    if later and len(later) < len(items):  # the records they refer to first, so the rules can see them
        first = [i for i in range(len(items)) if i not in later]
        done = dict(zip(first, create_many(session, rtype, [items[i] for i in first]), strict=True))
        done |= dict(zip(later, create_many(session, rtype, [items[i] for i in later]), strict=True))
        return [done[i] for i in range(len(items))]
    results: list[Any] = [None] * len(items)
    datas: list[dict[str, Any]] = []
    for raw in items:
        data = {k: v for k, v in raw.items() if v is not None or k in table.c}
        for column in table.c:
            default = column.default
            if column.key not in data and default is not None and default.is_scalar:
                data[column.key] = default.arg
        datas.append(data)
    missing = _missing_references(session, model, datas)
    passed: list[tuple[int, dict[str, Any], Versioned]] = []
    for i, data in enumerate(datas):
        obj = model(**data)
        try:
            _refuse_missing_references(obj, missing)
            _run_rules(session, obj, set(data))
        except (ErpError, ValueError) as exc:
            results[i] = exc
            continue
        passed.append((i, data, obj))
    if key is not None:
        passed = _give_keys(session, rtype, key, passed, results)
    if passed:
        try:
            with session.begin_nested():
                session.add_all([obj for _, _, obj in passed])
                session.flush()
        except IntegrityError:
            for i, data, _ in passed:  # one by one, so only the refused record fails
                try:
                    with session.begin_nested():
                        results[i] = create(session, rtype, data)
                except (ErpError, ValueError) as exc:
                    results[i] = exc
            return results
        ids = [obj.id for _, _, obj in passed]
        for start in range(0, len(ids), 500):  # what the database filled in, one query per 500
            chunk = ids[start : start + 500]
            session.execute(select(model).where(model.id.in_(chunk)).execution_options(populate_existing=True)).all()
        for i, _, obj in passed:
            results[i] = obj
    return results


def _referring_to_batch(model: type[Versioned], items: list[dict]) -> list[int]:
    """Positions of the items whose reference to their own table names another item of the batch."""
    later = []
    for column in model.__table__.c:
        if not column.foreign_keys:
            continue
        target: Column = next(iter(column.foreign_keys)).column
        if target.table is not model.__table__:
            continue
        keys = {d.get(target.key) for d in items} - {None, ""}
        refers = column.key
        later += [i for i, d in enumerate(items) if d.get(refers) in keys and d.get(refers) != d.get(target.key)]
    return sorted(set(later))


def _missing_references(session: Session, model: type[Versioned], datas: list[dict]) -> set[tuple[str, Any]]:
    """(column, value) pairs of the batch's filled-in references that point at nothing (one query a column)."""
    missing: set[tuple[str, Any]] = set()
    for column in model.__table__.c:
        if not column.foreign_keys:
            continue
        target: Column = next(iter(column.foreign_keys)).column
        values = {d.get(column.key) for d in datas} - {None, ""}
        if target.table is model.__table__:  # records of the batch itself count as existing
            values -= {d.get(target.key) for d in datas}
        found: set[Any] = set()
        listed = list(values)
        for start in range(0, len(listed), 500):
            found |= set(session.scalars(select(target).where(target.in_(listed[start : start + 500]))))
        missing |= {(column.key, v) for v in values - found}
    return missing


def _refuse_missing_references(obj: Versioned, missing: set[tuple[str, Any]]) -> None:
    for column in obj.__table__.c:
        value = getattr(obj, column.key)
        if column.foreign_keys and value not in (None, "") and (column.key, value) in missing:
            raise _missing_reference(obj, column, value)


def _give_keys(
    session: Session, rtype: RecordType, key: str, passed: list[tuple[int, dict, Versioned]], results: list
) -> list[tuple[int, dict, Versioned]]:
    """Numbers from the series for the records without one; a key already used (or twice in the batch) is
    refused as ``create`` refuses it."""
    model = rtype.model
    need = [(data, obj) for _, data, obj in passed if not data.get(key)]
    if need:
        if not rtype.number_series_field:
            for i, data, _ in passed:
                if not data.get(key):
                    results[i] = ValidationFailed(
                        f"{model.label()}: {key} is required.", record=model.label(), field=key,
                        fix=f"Give the {key}.",
                    )  # fmt: skip
            passed = [t for t in passed if t[1].get(key)]
        else:
            from lead2cash.erp.services.setup import sales_setup

            series = getattr(sales_setup(session), rtype.number_series_field)
            numbers = noseries.next_nos(session, series, len(need), record=model.label())
            for (data, obj), number in zip(need, numbers, strict=True):
                data[key] = number
                setattr(obj, key, number)
    keys = [data[key] for _, data, _ in passed]
    column = getattr(model, key)
    taken: set[Any] = set()
    for start in range(0, len(keys), 500):
        taken |= set(session.scalars(select(column).where(column.in_(keys[start : start + 500]))))
    kept, seen = [], set()
    for i, data, obj in passed:
        value = data[key]
        if value in taken or value in seen:
            results[i] = Conflict(
                f"{model.label()} {value} already exists.",
                record=f"{model.label()} {value}",
                field=key,
                fix=f"Use another {key} or change the existing record.",
            )
            continue
        seen.add(value)
        kept.append((i, data, obj))
    return kept


def update(session: Session, obj: Versioned, changes: dict[str, Any], *, if_version: int | None = None) -> Versioned:
    if if_version is not None and obj.row_version != if_version:
        raise PreconditionFailed(
            f"{describe(obj)} was changed by someone else (version {obj.row_version}, you had {if_version}).",
            record=describe(obj),
            fix="Read the record again and reapply your change.",
        )
    if obj.__key__ in changes and changes[obj.__key__] != getattr(obj, obj.__key__):
        raise invalid(
            describe(obj),
            obj.__key__,
            "cannot be renamed",
            "Create a new record with the new key and delete this one.",
        )
    changed = {k for k, v in changes.items() if getattr(obj, k) != v}
    for name in changed:
        setattr(obj, name, changes[name])
    if changed:
        # The checks query the database; flushing the half-checked change first would let the database
        # refuse it (a bare IntegrityError) before the check could explain what is wrong.
        with session.no_autoflush:
            check_references(session, obj, changed)
            _run_rules(session, obj, changed)
        _flush(session, obj)
    return obj


def delete(session: Session, obj: Versioned) -> None:
    check_not_in_use(session, obj)
    session.delete(obj)
    _flush(session, obj, refresh=False)


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode()


def decode_cursor(cursor: str) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(values, list) or len(values) != 2:
            raise ValueError
        return values
    except (ValueError, TypeError, json.JSONDecodeError):
        raise ValidationFailed(
            "The paging cursor is not valid.",
            field="after",
            fix="Pass the 'next' value of the previous page unchanged.",
        ) from None


def _cursor_value(value: Any, python_type: type) -> Any:
    """The cursor's sort value, checked against the sort column (a cursor is client input: it may be forged)."""
    if python_type is int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError(value)
        value = int(value)
        if not -(2**63) <= value < 2**63:
            raise ValueError(value)
        return value
    if not isinstance(value, python_type):
        raise TypeError(value)
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(value)
    return value


def list_page(
    session: Session,
    rtype: RecordType,
    filters: dict[str, Any],
    *,
    order_by: str | None = None,
    limit: int = 100,
    after: str | None = None,
    row_version_gt: int | None = None,
) -> Page:
    model = rtype.model
    sort_name = order_by or (rtype.key if rtype.key in model.__table__.c else "row_version")
    sort_col = model.__table__.c[sort_name]
    stmt = select(model)
    for name, value in filters.items():
        if value is not None:
            stmt = stmt.where(model.__table__.c[name] == value)
    if row_version_gt is not None:
        stmt = stmt.where(model.row_version > row_version_gt)
    if after:
        last_sort, last_id = decode_cursor(after)
        try:
            last_id = uuid.UUID(str(last_id))
            last_sort = _cursor_value(last_sort, sort_col.type.python_type)
        except (ValueError, TypeError):
            raise ValidationFailed(
                "The paging cursor is not valid.",
                field="after",
                fix="Pass the 'next' value of the previous page unchanged.",
            ) from None
        stmt = stmt.where(or_(sort_col > last_sort, and_(sort_col == last_sort, model.id > last_id)))
    rows = list(session.scalars(stmt.order_by(sort_col, model.id).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([getattr(last, sort_col.key), str(last.id)])
    return Page(rows, next_cursor)
