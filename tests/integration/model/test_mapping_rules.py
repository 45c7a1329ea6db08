"""Transformation rules and the checks run on a mapping a user edited."""

from __future__ import annotations

import pytest

from lead2cash.integration.mapping import filters
from lead2cash.integration.mapping.defaults import build
from lead2cash.integration.mapping.enums import Direction, FieldStatus, TransformationKind
from lead2cash.integration.mapping.model import FieldMapping, TransformationRule
from lead2cash.integration.mapping.standard import MAPPINGS
from lead2cash.integration.mapping.transform import RuleError, applies, apply_rule, check_rule
from lead2cash.integration.mapping.validation import problems

K = TransformationKind


@pytest.mark.parametrize(
    ("kind", "options", "value", "expected"),
    [
        (K.TRIM, {}, "  Contoso  ", "Contoso"),
        (K.UPPERCASE, {}, "net 30", "NET 30"),
        (K.LOWERCASE, {}, "NET 30", "net 30"),
        (K.TITLECASE, {}, "aNNA van DER berg", "Anna Van Der Berg"),
        (K.REPLACE, {"find_value": "Ltd.", "replace_value": "Limited"}, "Contoso Ltd.", "Contoso Limited"),
        (K.REGEX_REPLACE, {"find_value": r"\s+", "replace_value": " "}, "a  b\t c", "a b c"),
        (K.SUBSTRING, {"start_position": 4, "length": 3}, "ABCDEFG", "DEF"),
        (K.SUBSTRING, {"start_position": 3, "length": 0}, "ABCDEFG", "CDEFG"),
        (K.SUBSTRING, {"start_position": 9, "length": 2}, "ABC", ""),
        (K.REMOVE_NON_ALPHANUMERIC, {}, "+31 (0)20-555 Ä!", "31020555Ä"),
        (K.UPPERCASE, {}, 42, 42),
        (K.TRIM, {}, None, None),
    ],
)
def test_rules(kind, options, value, expected):
    assert apply_rule(TransformationRule(code="R", kind=kind, **options), value) == expected


def test_bad_rules_are_named():
    with pytest.raises(RuleError, match="rule BAD: '\\(' is not a valid pattern"):
        check_rule(TransformationRule(code="BAD", kind=K.REGEX_REPLACE, find_value="("))
    with pytest.raises(RuleError, match="rule S: start must be 1"):
        check_rule(TransformationRule(code="S", kind=K.SUBSTRING, start_position=0, length=0))


def test_rule_direction_follows_the_row():
    to_crm = FieldMapping(direction=Direction.TO_CRM, transformation_rule="TRIM")
    both_to = FieldMapping(
        direction=Direction.BOTH, transformation_rule="TRIM", transformation_direction=Direction.TO_CRM
    )
    both_any = FieldMapping(direction=Direction.BOTH, transformation_rule="TRIM")
    none = FieldMapping(direction=Direction.BOTH)
    assert [applies(r, Direction.TO_CRM) for r in (to_crm, both_to, both_any, none)] == [True, True, True, False]
    assert [applies(r, Direction.FROM_CRM) for r in (to_crm, both_to, both_any, none)] == [False, False, True, False]


@pytest.mark.parametrize("spec", MAPPINGS, ids=lambda s: s.name)
def test_standard_mappings_have_no_problems(spec):
    assert problems(build(spec)) == []


def test_problems_of_an_edited_mapping_are_named():
    mapping = build(next(s for s in MAPPINGS if s.name == "PAYMENT TERMS"))
    mapping.direction = Direction.BOTH
    assert problems(mapping)[0] == "PAYMENT TERMS: option mappings synchronize to or from the CRM, not both ways."

    customer = build(next(s for s in MAPPINGS if s.name == "CUSTOMER"))
    customer.field_mappings[1].erp_field = "nickname"
    customer.field_mappings[2].not_null = True
    customer.field_mappings[2].clear_value_on_failed_sync = True
    customer.field_mappings.append(FieldMapping(crm_attribute="description", direction=Direction.TO_CRM))
    customer.erp_filter = filters.to_json(filters.eq("blocked", "Sometimes"))
    found = problems(customer)
    assert "CUSTOMER row nickname / name: Customer has no field 'nickname'." in found
    assert (
        "CUSTOMER row address / address1_line1: 'clear value on failed sync' and 'not null' exclude each other."
        in found
    )
    assert any("enter the constant value" in p for p in found)
    assert any("ERP table filter: 'Sometimes' is not a value of Customer.blocked" in p for p in found)

    salespeople = build(next(s for s in MAPPINGS if s.name == "SALESPEOPLE"))
    for row in salespeople.field_mappings:
        row.status = FieldStatus.DISABLED
    assert problems(salespeople) == ["SALESPEOPLE: no enabled field row synchronizes from crm."]


def test_rules_are_stored(erp_db):
    with erp_db.sessions() as session, session.begin():
        session.add(TransformationRule(code="STRIP-LTD", kind=K.REPLACE, find_value=" Ltd.", replace_value=""))
    with erp_db.sessions() as session:
        rule = session.get(TransformationRule, "STRIP-LTD")
        assert apply_rule(rule, "Contoso Ltd.") == "Contoso"
