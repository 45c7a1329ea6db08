"""'Use default synchronization setup': exactly the standard mappings and rows, idempotent, and every row
naming a real ERP field and a real CRM attribute (checked against the CRM server's own table catalog)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from lead2cash.crm.catalog import standard_registry
from lead2cash.crm.odata.filter import FilterContext, compile_filter
from lead2cash.crm.store import build_table
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.mapping import filters
from lead2cash.integration.mapping.defaults import SetupError, erp_model, use_default_setup
from lead2cash.integration.mapping.enums import Direction, FieldStatus, MappingKind
from lead2cash.integration.mapping.model import FieldMapping, OptionMapping, TableMapping, TransformationRule
from lead2cash.integration.mapping.standard import MAPPINGS, OMITTED

CRM = standard_registry()

#: mapping -> (ERP table, CRM entity, direction, enabled rows, disabled rows)
EXPECTED = {
    "SALESPEOPLE": ("salesperson", "systemuser", Direction.FROM_CRM, 3, 0),
    "CUSTOMER": ("customer", "account", Direction.BOTH, 18, 2),
    "CONTACT": ("contact", "contact", Direction.BOTH, 16, 0),
    "CURRENCY": ("currency", "transactioncurrency", Direction.TO_CRM, 3, 0),
    "PAYMENT TERMS": ("payment_terms", "account", Direction.TO_CRM, 1, 0),
    "SHIPMENT METHOD": ("shipment_method", "account", Direction.TO_CRM, 1, 0),
    "SHIPPING AGENT": ("shipping_agent", "account", Direction.TO_CRM, 1, 0),
    "UNIT OF MEASURE": ("unit_of_measure", "uomschedule", Direction.TO_CRM, 1, 0),
    "ITEM-PRODUCT": ("item", "product", Direction.BOTH, 6, 0),
    "RESOURCE-PRODUCT": ("resource", "product", Direction.BOTH, 7, 0),
    "CUSTPRCGRP-PRICE": ("customer_price_group", "pricelevel", Direction.TO_CRM, 1, 0),
    "SALESPRC-PRODPRICE": ("sales_price", "productpricelevel", Direction.TO_CRM, 5, 0),
    "OPPORTUNITY": ("opportunity", "opportunity", Direction.BOTH, 8, 0),
    "POSTEDSALESINV-INV": ("sales_invoice_header", "invoice", Direction.TO_CRM, 25, 0),
    "POSTEDSALESLINE-INV": ("sales_invoice_line", "invoicedetail", Direction.TO_CRM, 6, 0),
    "SALESORDER-ORDER": ("sales_header", "salesorder", Direction.TO_CRM, 23, 1),
}

#: reference §7.5 (full-synchronization test strings, without VENDOR which this ERP does not have)
DEPENDENCIES = {
    "SALESPEOPLE": "",
    "CURRENCY": "",
    "PAYMENT TERMS": "",
    "SHIPMENT METHOD": "",
    "SHIPPING AGENT": "",
    "UNIT OF MEASURE": "",
    "CUSTOMER": "SALESPEOPLE|CURRENCY|PAYMENT TERMS|SHIPMENT METHOD|SHIPPING AGENT",
    "CONTACT": "CUSTOMER",
    "ITEM-PRODUCT": "UNIT OF MEASURE",
    "RESOURCE-PRODUCT": "UNIT OF MEASURE",
    "CUSTPRCGRP-PRICE": "CURRENCY|ITEM-PRODUCT",
    "SALESPRC-PRODPRICE": "CUSTPRCGRP-PRICE|ITEM-PRODUCT",
    "OPPORTUNITY": "CONTACT",
    "POSTEDSALESINV-INV": "ITEM-PRODUCT|RESOURCE-PRODUCT|OPPORTUNITY",
}


def snapshot(session) -> dict:
    """Everything the setup wrote, without generated ids."""
    out = {}
    for m in session.scalars(sa.select(TableMapping).order_by(TableMapping.name)):
        cols = {
            c.key: getattr(m, c.key)
            for c in TableMapping.__table__.columns
            if c.key not in ("created_at", "modified_at")
        }
        rows = [
            {c.key: getattr(r, c.key) for c in FieldMapping.__table__.columns if c.key != "id"}
            for r in m.field_mappings
        ]
        options = sorted((o.crm_entity, o.crm_attribute, o.is_primary) for o in m.option_mappings)
        out[m.name] = (cols, rows, options)
    return out


@pytest.fixture
def setup_db(erp_db):
    with erp_db.sessions() as session, session.begin():
        use_default_setup(session)
    return erp_db


def test_creates_exactly_the_standard_mappings(setup_db):
    with setup_db.sessions() as session:
        mappings = {m.name: m for m in session.scalars(sa.select(TableMapping))}
        assert set(mappings) == set(EXPECTED)
        for name, (table, entity, direction, enabled, disabled) in EXPECTED.items():
            m = mappings[name]
            assert (m.erp_table, m.crm_entity, m.direction) == (table, entity, direction), name
            statuses = [r.status for r in m.field_mappings]
            assert statuses.count(FieldStatus.ENABLED) == enabled, name
            assert statuses.count(FieldStatus.DISABLED) == disabled, name
            assert m.dependency_filter == DEPENDENCIES.get(name, m.dependency_filter), name
        assert {r.code for r in session.scalars(sa.select(TransformationRule))} >= {"TRIM", "UPPERCASE"}


def test_mapping_settings_follow_the_reference(setup_db):
    with setup_db.sessions() as session:
        m = {m.name: m for m in session.scalars(sa.select(TableMapping))}
        not_only_coupled = {n for n, x in m.items() if not x.sync_only_coupled}
        assert not_only_coupled == {"SALESPRC-PRODPRICE", "OPPORTUNITY", "POSTEDSALESLINE-INV"}
        assert {n for n, x in m.items() if x.job_interval_minutes is None} == {"OPPORTUNITY", "POSTEDSALESLINE-INV"}
        assert m["CURRENCY"].create_new_if_no_match and m["CURRENCY"].sync_after_bulk_coupling
        assert m["CUSTOMER"].crm_id_attribute == "accountid"
        assert (
            m["PAYMENT TERMS"].kind is MappingKind.OPTION and m["PAYMENT TERMS"].crm_id_attribute == "paymenttermscode"
        )
        owner = next(r for r in m["CUSTOMER"].field_mappings if r.crm_attribute == "ownerid")
        assert (owner.erp_field, owner.crm_lookup_target, owner.not_null, owner.direction) == (
            "salesperson_code",
            "systemuser",
            True,
            Direction.TO_CRM,
        )
        contact = next(r for r in m["CUSTOMER"].field_mappings if r.crm_attribute == "primarycontactid")
        assert contact.clear_value_on_failed_sync and not contact.not_null
        assert [r.erp_field for r in m["CURRENCY"].field_mappings if r.use_for_matching] == ["code"]
        assert filters.to_odata(m["CUSTOMER"].crm_filter_tree()) == "(statecode eq 0 and customertypecode eq 3)"
        assert filters.to_odata(m["SALESPRC-PRODPRICE"].erp_filter_tree()) == (
            "(sales_type eq 'Customer Price Group' and sales_code ne '')"
        )


def test_is_idempotent_and_keeps_couplings(setup_db):
    with setup_db.sessions() as session:
        before = snapshot(session)
    with setup_db.sessions() as session, session.begin():
        session.add(Coupling(erp_table="customer", erp_id=uuid.uuid4(), crm_entity="account", crm_id=uuid.uuid4()))
        customer = session.get(TableMapping, "CUSTOMER")
        customer.erp_row_version_watermark = 42
        customer.field_mappings[1].status = FieldStatus.DISABLED  # a user edit
        session.get(TableMapping, "CONTACT").erp_row_version_watermark = 7
    with setup_db.sessions() as session, session.begin():
        use_default_setup(session, ["CUSTOMER"])
    with setup_db.sessions() as session:
        after = snapshot(session)
        assert after["CONTACT"][0]["erp_row_version_watermark"] == 7  # not recreated
        after["CONTACT"][0]["erp_row_version_watermark"] = None
        assert after == before  # CUSTOMER restored: edit undone, watermark reset
        assert session.scalar(sa.select(sa.func.count()).select_from(Coupling)) == 1
    with setup_db.sessions() as session, session.begin():
        use_default_setup(session)
    with setup_db.sessions() as session:
        assert snapshot(session) == before
        assert session.scalar(sa.select(sa.func.count()).select_from(FieldMapping)) == sum(
            e + d for *_, e, d in EXPECTED.values()
        )


def test_unknown_mapping_name_is_refused(setup_db):
    with setup_db.sessions() as session, session.begin(), pytest.raises(SetupError, match="no standard mapping"):
        use_default_setup(session, ["VENDOR"])


# --- every row against both models -----------------------------------------------------------------------


@pytest.mark.parametrize("spec", MAPPINGS, ids=lambda s: s.name)
def test_every_field_row_names_a_real_erp_field_and_crm_attribute(spec):
    model = erp_model(spec.erp_table)
    entity = CRM.get(spec.crm_entity)
    for row in spec.fields:
        where = f"{spec.name}: {row.erp} / {row.crm}"
        if row.erp is not None:
            assert row.erp in model.__table__.columns, f"{where}: {model.__name__} has no {row.erp}"
        if row.crm is None:
            continue
        attr = entity.attribute(row.crm)
        assert attr is not None, f"{where}: {spec.crm_entity} has no {row.crm}"
        writes_crm = row.direction is not Direction.FROM_CRM
        if writes_crm:
            assert attr.valid_for_create or attr.valid_for_update, f"{where}: read-only in the CRM"
        if row.lookup is not None:
            assert attr.is_lookup and row.lookup in attr.targets, f"{where}: not a lookup to {row.lookup}"
        elif attr.is_lookup:
            pytest.fail(f"{where}: a lookup row must name its target entity")
        if row.constant is not None and attr.is_option:
            assert int(row.constant) in {o.value for o in attr.options}, where


@pytest.mark.parametrize("spec", [s for s in MAPPINGS if s.kind is MappingKind.OPTION], ids=lambda s: s.name)
def test_option_mappings_name_real_choice_columns(spec):
    (entity, primary), *documents = spec.option_sets
    assert entity == spec.crm_entity
    for entity_name, attribute in spec.option_sets:
        attr = CRM.get(entity_name).attribute(attribute)
        assert attr is not None and attr.attribute_type == "Picklist", (entity_name, attribute)
    assert {e for e, _ in documents} == {"quote", "salesorder", "invoice"}
    assert spec.fields[0].crm == primary


@pytest.mark.parametrize("spec", [s for s in MAPPINGS if s.crm_filter is not None], ids=lambda s: s.name)
def test_crm_filters_compile_and_run_on_the_crm_servers_filter_engine(spec):
    metadata = sa.MetaData()
    tables = {e.logical_name: build_table(e, metadata) for e in CRM}
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    text = filters.to_odata(spec.crm_filter)
    context = FilterContext(resolve=lambda n: (CRM.get(n), tables[n]))
    condition = compile_filter(text, CRM.get(spec.crm_entity), tables[spec.crm_entity], context=context)
    with engine.connect() as conn:
        assert conn.execute(sa.select(tables[spec.crm_entity]).where(condition)).all() == []


def test_erp_filters_run_on_the_erp_database(setup_db):
    with setup_db.sessions() as session:
        for m in session.scalars(sa.select(TableMapping).where(TableMapping.erp_filter.is_not(None))):
            model = erp_model(m.erp_table)
            condition = filters.erp_condition(m.erp_filter_tree(), model, setup_db.dialect)
            assert session.scalars(sa.select(model).where(condition)).all() == []


def test_dependencies_name_mappings_and_have_no_cycle():
    names = {s.name for s in MAPPINGS}
    graph = {s.name: set(s.dependencies) for s in MAPPINGS}
    for name, deps in graph.items():
        assert deps <= names, (name, deps - names)
    done: set[str] = set()
    while graph.keys() - done:
        ready = {n for n in graph.keys() - done if graph[n] <= done}
        assert ready, f"cycle among {graph.keys() - done}"
        done |= ready


def test_omitted_rows_are_really_absent():
    by_name = {s.name: s for s in MAPPINGS}
    for omitted in OMITTED:
        assert omitted.mapping in by_name and omitted.reason
        if ">" in omitted.row:
            crm = omitted.row.split(">")[1].split()[0]
            assert crm not in {r.crm for r in by_name[omitted.mapping].fields}, omitted


def test_option_rows_are_stored(setup_db):
    with setup_db.sessions() as session:
        rows = session.scalars(sa.select(OptionMapping).where(OptionMapping.is_primary.is_(True))).all()
        assert sorted((r.table_mapping_name, r.crm_attribute) for r in rows) == [
            ("PAYMENT TERMS", "paymenttermscode"),
            ("SHIPMENT METHOD", "address1_freighttermscode"),
            ("SHIPPING AGENT", "address1_shippingmethodcode"),
        ]
