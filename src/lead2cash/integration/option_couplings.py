"""Option couplings: ERP code records (payment terms, shipment methods, shipping agents) ↔ CRM choices.

Field transfer turns a customer's ``payment_terms_code`` into the account's ``paymenttermscode`` value and
back through these rows. M14: only existing choices are coupled (by label, ``manual.matching``; no options
are created in the CRM), so a code without a choice stays uncoupled, and a record using it is not refused:
its choice is left blank in the CRM and the job log says so (``engine.transfer``). Look-ups are one query
per page of codes or values, like record couplings.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lead2cash.integration.coupling_model import OptionCoupling
from lead2cash.integration.couplings import CouplingError, chunks
from lead2cash.integration.mapping.defaults import erp_model
from lead2cash.integration.mapping.model import OptionMapping, TableMapping


@dataclass(frozen=True)
class Choice:
    value: int
    label: str


def option_set(session: Session, crm_entity: str, crm_attribute: str) -> tuple[TableMapping, OptionMapping] | None:
    """The option mapping that manages a CRM choice column, if any (account ``paymenttermscode`` → PAYMENT TERMS)."""
    row = session.scalars(
        select(OptionMapping).where(
            OptionMapping.crm_entity == crm_entity, OptionMapping.crm_attribute == crm_attribute
        )
    ).first()
    return (row.table_mapping, row) if row is not None else None


def primary_option_set(mapping: TableMapping) -> OptionMapping:
    primary = [o for o in mapping.option_mappings if o.is_primary]
    if len(primary) != 1:
        raise CouplingError(f"{mapping.name}: an option mapping needs exactly one primary option set")
    return primary[0]


def choices_for_codes(session: Session, erp_table: str, codes: Iterable[str]) -> dict[str, Choice]:
    """The CRM choices coupled to these ERP codes (uncoupled codes are absent)."""
    found: dict[str, Choice] = {}
    for page in chunks({c for c in codes if c}):
        rows = session.execute(
            select(OptionCoupling.erp_code, OptionCoupling.option_value, OptionCoupling.option_label).where(
                OptionCoupling.erp_table == erp_table, OptionCoupling.erp_code.in_(page)
            )
        )
        found.update((code, Choice(value, label)) for code, value, label in rows)
    return found


def option_coupled_codes(session: Session, erp_table: str) -> list[str]:
    """Every option-coupled code of a code table (code tables are short: payment terms, shipment methods)."""
    return list(session.scalars(select(OptionCoupling.erp_code).where(OptionCoupling.erp_table == erp_table)))


def codes_for_values(
    session: Session, erp_table: str, crm_entity: str, crm_attribute: str, values: Iterable[int]
) -> dict[int, str]:
    """The ERP codes coupled to these choice values of one CRM column."""
    found: dict[int, str] = {}
    for page in chunks({v for v in values if v is not None}):
        rows = session.execute(
            select(OptionCoupling.option_value, OptionCoupling.erp_code).where(
                OptionCoupling.erp_table == erp_table,
                OptionCoupling.crm_entity == crm_entity,
                OptionCoupling.crm_attribute == crm_attribute,
                OptionCoupling.option_value.in_(page),
            )
        )
        found.update((value, code) for value, code in rows)
    return found


def couple_option(session: Session, mapping: TableMapping, erp_id: uuid.UUID, choice: Choice) -> OptionCoupling:
    """Couple one ERP code record to a choice of the mapping's primary option set."""
    target = primary_option_set(mapping)
    model = erp_model(mapping.erp_table)
    record = session.get(model, erp_id)
    if record is None:
        raise CouplingError(f"no {model.label()} with id {erp_id}: only existing records can be coupled.")
    code = record.key_value
    where = f"{target.crm_entity}.{target.crm_attribute}"
    existing = session.scalars(
        select(OptionCoupling).where(
            (OptionCoupling.erp_table == mapping.erp_table) & (OptionCoupling.erp_id == erp_id)
            | (OptionCoupling.crm_entity == target.crm_entity)
            & (OptionCoupling.crm_attribute == target.crm_attribute)
            & (OptionCoupling.option_value == choice.value)
        )
    ).all()
    for other in existing:
        if other.erp_id == erp_id and other.option_value == choice.value:
            return other
        if other.erp_id == erp_id:
            raise CouplingError(f"{model.label()} {code} is already coupled to {where} option {other.option_value}.")
        raise CouplingError(f"{where} option {choice.value} ({other.option_label}) is already coupled to "
                            f"{model.label()} {other.erp_code}.")  # fmt: skip
    coupling = OptionCoupling(
        erp_table=mapping.erp_table,
        erp_id=erp_id,
        erp_code=code,
        crm_entity=target.crm_entity,
        crm_attribute=target.crm_attribute,
        option_value=choice.value,
        option_label=choice.label,
    )
    try:
        with session.begin_nested():
            session.add(coupling)
    except IntegrityError as exc:
        raise CouplingError(
            f"{model.label()} {code} or {where} option {choice.value} was coupled at the same time."
        ) from exc
    return coupling


def uncouple_options(session: Session, erp_table: str, erp_ids: Iterable[uuid.UUID]) -> int:
    count = 0
    for page in chunks(set(erp_ids)):
        stmt = delete(OptionCoupling).where(OptionCoupling.erp_table == erp_table, OptionCoupling.erp_id.in_(page))
        count += session.execute(stmt).rowcount
    return count
