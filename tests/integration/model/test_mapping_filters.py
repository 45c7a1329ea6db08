"""Table filters as data: stored form, OData rendering, and SQL on real ERP rows agreeing with Python."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lead2cash.erp.model import Item, Opportunity, Salesperson, UnitOfMeasure
from lead2cash.erp.model.enums import ItemType, OpportunityStatus
from lead2cash.integration.mapping import filters as f
from lead2cash.integration.mapping.filters import And, Cmp, FilterError, In, Not, Or

# --- stored form and rendering ---------------------------------------------------------------------------


def test_json_round_trip_keeps_types():
    tree = And(
        (
            Cmp("blocked", "eq", False),
            Or((Cmp("unit_price", "ge", Decimal("10.50")), In("no", ("A", "B")))),
            Not(Cmp("created", "lt", datetime(2024, 1, 2, 3, tzinfo=UTC))),
            Cmp("day", "le", date(2024, 5, 1)),
            Cmp("ref", "eq", uuid.UUID(int=7)),
            Cmp("code", "ne", None),
        )
    )
    stored = f.to_json(tree)
    assert f.from_json(stored) == tree
    assert stored["and"][1]["or"][0] == {"field": "unit_price", "op": "ge", "value": {"decimal": "10.50"}}


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ({"field": "x", "op": "like", "value": "a"}, "unknown operator"),
        ({"field": "x; drop table customer", "op": "eq", "value": 1}, "not a field name"),
        ({"field": "x", "op": "eq", "value": 1.5}, "not a literal"),
        ({"field": "x", "op": "gt", "value": None}, "null can only be compared"),
        ({"field": "x", "op": "lt", "value": True}, "true can only be compared"),
        ({"field": "x", "in": []}, "at least one value"),
        ({"and": []}, "at least one condition"),
        ({"field": "x", "op": "eq", "value": {"decimal": "abc"}}, "not a valid decimal"),
        ({"sql": "1=1"}, "not a filter condition"),
    ],
)
def test_malformed_filters_are_refused_with_a_reason(stored, message):
    with pytest.raises(FilterError, match=message):
        f.from_json(stored)


def test_odata_rendering():
    tree = And(
        (
            Cmp("statecode", "eq", 0),
            Cmp("name", "ne", "O'Neil"),
            In("customertypecode", (3, 11)),
            Cmp("parentcustomerid_account/accountid", "ne", None),
            Not(Cmp("creditlimit", "gt", Decimal("1000.5"))),
            Cmp("_ownerid_value", "eq", uuid.UUID("5a1c3f3e-0000-4000-8000-000000000001")),
            Cmp("modifiedon", "ge", datetime(2024, 3, 1, 8, 0, tzinfo=UTC)),
            Cmp("isdisabled", "eq", False),
        )
    )
    assert f.to_odata(tree) == (
        "(statecode eq 0 and name ne 'O''Neil' and (customertypecode eq 3 or customertypecode eq 11)"
        " and parentcustomerid_account/accountid ne null and not (creditlimit gt 1000.5)"
        " and _ownerid_value eq 5a1c3f3e-0000-4000-8000-000000000001"
        " and modifiedon ge 2024-03-01T08:00:00Z and isdisabled eq false)"
    )


def test_erp_condition_names_unknown_fields_and_misfit_literals():
    with pytest.raises(FilterError, match="Item has no field 'colour'"):
        f.check(Cmp("colour", "eq", "red"), Item)
    with pytest.raises(FilterError, match=r"not a value of Item\.type"):
        f.check(Cmp("type", "eq", "Gadget"), Item)
    with pytest.raises(FilterError, match="holds bool values"):
        f.check(Cmp("blocked", "eq", "yes"), Item)


def test_literals_are_bound_parameters_not_sql_text():
    condition = f.erp_condition(Cmp("description", "eq", "x' OR '1'='1"), Item)
    compiled = condition.compile()
    assert "x' OR" not in str(compiled)
    assert "x' OR '1'='1" in compiled.params.values()


# --- SQL on the ERP agrees with Python --------------------------------------------------------------------

UOMS = ("BOX", "PCS")
ITEM_ROWS = [
    {"no": f"I{n:02}", "description": desc, "type": typ, "unit_price": price, "blocked": blocked,
     "base_unit_of_measure": uom}
    for n, (desc, typ, price, blocked, uom) in enumerate(
        [
            ("Bicycle", ItemType.INVENTORY, Decimal("100"), False, "PCS"),
            ("bicycle", ItemType.INVENTORY, Decimal("99.99999"), True, None),
            ("", ItemType.SERVICE, Decimal("0"), False, "BOX"),
            ("Zebra", ItemType.NON_INVENTORY, Decimal("-5.5"), False, None),
            ("Ärger", ItemType.SERVICE, Decimal("12.34567"), True, "PCS"),
            ("a", ItemType.INVENTORY, Decimal("100.00001"), False, "BOX"),
            ("B", ItemType.NON_INVENTORY, Decimal("1"), True, "PCS"),
        ]
    )
]  # fmt: skip
OPP_ROWS = [
    {"no": f"OP{n}", "description": d, "status": s, "probability_pct": p, "estimated_closing_date": c,
     "salesperson_code": sp, "estimated_value_lcy": v}
    for n, (d, s, p, c, sp, v) in enumerate(
        [
            ("Deal", OpportunityStatus.NOT_STARTED, 10, date(2024, 1, 31), "SP1", Decimal("1000")),
            ("deal", OpportunityStatus.IN_PROGRESS, 50, None, None, Decimal("0")),
            ("Big", OpportunityStatus.WON, 100, date(2023, 12, 1), "SP1", Decimal("25000.5")),
            ("", OpportunityStatus.LOST, 0, date(2024, 6, 1), None, Decimal("-1")),
        ]
    )
]  # fmt: skip

TEXT = st.sampled_from(["", "a", "B", "Bicycle", "bicycle", "Zebra", "Ärger", "Deal", "PCS", "BOX", "SP1", "Z"])
LITERALS = {
    (Item, "description"): TEXT,
    (Item, "no"): st.sampled_from(["I00", "I03", "I06", "I9", ""]),
    (Item, "type"): st.sampled_from([t.value for t in ItemType]),
    (Item, "unit_price"): st.decimals(min_value=-10, max_value=200, places=5) | st.integers(-10, 200),
    (Item, "blocked"): st.booleans(),
    (Item, "base_unit_of_measure"): st.sampled_from([None, "", *UOMS, "KG"]),
    (Opportunity, "description"): TEXT,
    (Opportunity, "status"): st.sampled_from([s.value for s in OpportunityStatus]),
    (Opportunity, "probability_pct"): st.integers(-1, 101),
    (Opportunity, "estimated_closing_date"): st.none() | st.dates(date(2023, 11, 1), date(2024, 7, 1)),
    (Opportunity, "salesperson_code"): st.sampled_from([None, "", "SP1", "SP2"]),
    (Opportunity, "estimated_value_lcy"): st.decimals(min_value=-2, max_value=30000, places=2),
}


def _atoms(model):
    names = [name for (m, name) in LITERALS if m is model]

    @st.composite
    def atom(draw):
        name = draw(st.sampled_from(names))
        value = draw(LITERALS[(model, name)])
        if draw(st.booleans()):
            return In(name, tuple(draw(st.lists(LITERALS[(model, name)], min_size=1, max_size=3))))
        ops = ["eq", "ne"] if value is None or isinstance(value, bool) else list(f.OPS)
        return Cmp(name, draw(st.sampled_from(ops)), value)

    return atom()


def trees(model):
    return st.recursive(
        _atoms(model),
        lambda children: st.one_of(
            st.lists(children, min_size=1, max_size=3).map(lambda xs: And(tuple(xs))),
            st.lists(children, min_size=1, max_size=3).map(lambda xs: Or(tuple(xs))),
            children.map(Not),
        ),
        max_leaves=6,
    )


@pytest.fixture(scope="module")
def erp_rows(erp_module_db):
    """A migrated ERP database (SQLite, and PostgreSQL when configured) with a few items and opportunities."""
    with erp_module_db.sessions() as session, session.begin():
        session.add_all([UnitOfMeasure(code=c) for c in UOMS] + [Salesperson(code="SP1", name="One")])
        session.flush()
        session.add_all([Item(**row) for row in ITEM_ROWS] + [Opportunity(**row) for row in OPP_ROWS])
    with erp_module_db.sessions() as session:
        rows = {m: session.scalars(sa.select(m)).all() for m in (Item, Opportunity)}
    return erp_module_db.engine, rows


def _agree(erp_rows, model, tree):
    engine, rows = erp_rows
    with engine.connect() as conn:
        in_sql = set(conn.scalars(sa.select(model.no).where(f.erp_condition(tree, model, engine.dialect.name))))
    in_python = {r.no for r in rows[model] if f.matches(tree, r)}
    assert in_sql == in_python, f.to_odata(tree)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=trees(Item))
def test_sql_and_python_agree_on_items(erp_rows, tree):
    _agree(erp_rows, Item, tree)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=trees(Opportunity))
def test_sql_and_python_agree_on_opportunities(erp_rows, tree):
    _agree(erp_rows, Opportunity, tree)


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        (Cmp("base_unit_of_measure", "eq", ""), {"I01", "I03"}),  # blank code = NULL
        (Cmp("base_unit_of_measure", "ne", ""), {"I00", "I02", "I04", "I05", "I06"}),
        (Cmp("base_unit_of_measure", "eq", None), {"I01", "I03"}),
        (Not(Cmp("base_unit_of_measure", "eq", "PCS")), {"I01", "I02", "I03", "I05"}),
        (Cmp("description", "eq", "bicycle"), {"I01"}),  # exact, case-sensitive
        (Cmp("unit_price", "gt", Decimal("99.99999")), {"I00", "I05"}),
    ],
)
def test_blank_codes_and_exact_values(erp_rows, tree, expected):
    engine, rows = erp_rows
    with engine.connect() as conn:
        assert set(conn.scalars(sa.select(Item.no).where(f.erp_condition(tree, Item, engine.dialect.name)))) == expected
    assert {r.no for r in rows[Item] if f.matches(tree, r)} == expected
