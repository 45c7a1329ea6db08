"""The three-way merge against the coupling's snapshot, as a property: what it decides for any edits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lead2cash.integration.engine.conflicts import UpdateConflictError, three_way
from lead2cash.integration.engine.transfer import Row
from lead2cash.integration.mapping.enums import Direction, UpdateConflict

ROWS = [
    Row(f"f{i}|a{i}", f"f{i}", f"a{i}", None, direction, None, False, False, None, None)
    for i, direction in enumerate([Direction.BOTH, Direction.BOTH, Direction.TO_CRM, Direction.FROM_CRM])
]
values = st.sampled_from(["x", "y", "z", None])
sides = st.fixed_dictionaries({r.key: values for r in ROWS})


def apply(merge, erp, crm, policy):
    new_erp = {**erp, **{k: crm[k] for k in merge.to_erp}}
    new_crm = {**crm, **{k: erp[k] for k in merge.to_crm}}
    return new_erp, new_crm


@given(base=sides, erp=sides, crm=sides, policy=st.sampled_from(list(UpdateConflict)))
def test_merge_keeps_every_one_sided_change_and_converges(base, erp, crm, policy):
    both_ways = [r for r in ROWS if r.direction is Direction.BOTH]
    conflicting = [r for r in both_ways if erp[r.key] != base[r.key] != crm[r.key] != erp[r.key]]
    if conflicting and policy is UpdateConflict.NONE:
        with pytest.raises(UpdateConflictError):
            three_way(ROWS, erp, crm, base, policy, erp_label="E", crm_label="C")
        return
    merge = three_way(ROWS, erp, crm, base, policy, erp_label="E", crm_label="C")
    new_erp, new_crm = apply(merge, erp, crm, policy)
    for r in both_ways:  # bidirectional fields end equal on both sides
        assert new_erp[r.key] == new_crm[r.key]
        if erp[r.key] == base[r.key]:  # a change made on one side only is never lost
            assert new_erp[r.key] == crm[r.key]
        elif crm[r.key] == base[r.key]:
            assert new_crm[r.key] == erp[r.key]
    to_crm_only, from_crm_only = ROWS[2], ROWS[3]
    assert to_crm_only.key not in merge.to_erp and from_crm_only.key not in merge.to_crm


def test_conflict_message_names_the_fields():
    base = {r.key: "a" for r in ROWS}
    with pytest.raises(UpdateConflictError, match="f0 / a0"):
        three_way(ROWS, {**base, "f0|a0": "e"}, {**base, "f0|a0": "c"}, base, UpdateConflict.NONE,
                  erp_label="Customer 1", crm_label="account x")  # fmt: skip
