"""The simulator from Python: seeded, configurable by mapping or TOML, invalid fields named."""

from __future__ import annotations

import pytest

from discount import simulate


def test_same_seed_same_run_and_records_add_up():
    config = {"users": 400, "days": 6, "seed": 5}
    a = simulate(config, policy="uniform:10", keep_events=True, decision_truth=True)
    b = simulate(config, policy="uniform:10", keep_events=True, decision_truth=True)
    assert a == b
    assert a.summary["users"] == 400 and a.summary["days"] == 6
    assert sum(a.summary["records"].values()) == len(a.events)
    assert len(a.decisions) == a.summary["decisions"]
    assert {e["type"] for e in a.events} >= {"user", "view"}
    other = simulate({"users": 400, "days": 6, "seed": 6}, policy="uniform:10")
    assert other.summary != a.summary


def test_toml_and_mapping_configure_the_same_run():
    toml = "users = 300\ndays = 4\nseed = 9\n"
    assert simulate(toml, policy="none").summary == simulate({"users": 300, "days": 4, "seed": 9}, policy="none").summary


def test_counterfactual_gives_the_incremental_profit():
    run = simulate({"users": 300, "days": 5, "seed": 2}, policy="uniform:20", counterfactual=True)
    s = run.summary
    assert s["incremental_profit"] == s["gross_profit"] - s["counterfactual_gross_profit"]
    none = simulate({"users": 300, "days": 5, "seed": 2}, policy="none", counterfactual=True)
    assert none.summary["incremental_profit"] == 0 and none.summary["discount_spend"] == 0


def test_bad_configuration_is_named():
    with pytest.raises(ValueError, match=r"population"):
        simulate({"population": {"visit_rat": 1}})
    with pytest.raises(ValueError, match=r"greedy"):
        simulate({"users": 10, "days": 1}, policy="greedy")
