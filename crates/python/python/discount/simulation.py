"""The market simulator: customers with known ground truth visit a shop day by day and a policy decides
which offer of the ladder each visit gets. Everything is seeded: the same configuration gives the same run.

>>> from discount.simulation import simulate
>>> run = simulate({"users": 500, "days": 7, "seed": 1}, policy="uniform:10")
>>> run.summary["users"]
500
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Union

from . import _native


@dataclass
class SimulationResult:
    """What a run returns.

    * ``summary``: revenue, discount spend, gross profit (minor units), orders, redemption rate, records by type,
      and, with ``counterfactual=True``, the incremental profit against no offers on the same seed;
    * ``events``: the records as ``discount ingest`` JSON objects, in time order (with ``keep_events=True``);
    * ``decisions``: each decision's ground truth, its true incremental profit included (with
      ``decision_truth=True``).
    """

    summary: Dict[str, Any]
    events: List[Dict[str, Any]] = field(default_factory=list)
    decisions: List[Dict[str, Any]] = field(default_factory=list)


def simulate(
    config: Union[Mapping[str, Any], str, None] = None,
    policy: str = "uniform:10",
    *,
    counterfactual: bool = False,
    keep_events: bool = False,
    decision_truth: bool = False,
) -> SimulationResult:
    """Runs the simulator.

    ``config``: a mapping with the fields of the simulator's TOML configuration (nested tables as nested
    mappings; only what changes need be named, e.g. ``{"users": 10000, "days": 30, "seed": 7}``), or the TOML
    text itself, or None for the defaults. ``policy``: ``none``, ``uniform:PERCENT``, ``random`` or ``oracle``.
    An unknown field or an invalid value raises ``ValueError`` naming it.
    """
    config_toml: Optional[str] = None
    config_json: Optional[str] = None
    if isinstance(config, str):
        config_toml = config
    elif config is not None:
        config_json = json.dumps(dict(config))
    summary, events, decisions = _native.simulate(
        config_toml=config_toml,
        config_json=config_json,
        policy=policy,
        counterfactual=bool(counterfactual),
        keep_events=bool(keep_events),
        decision_truth=bool(decision_truth),
    )
    return SimulationResult(
        summary=json.loads(summary),
        events=[json.loads(line) for line in events],
        decisions=json.loads(decisions),
    )


__all__ = ["SimulationResult", "simulate"]
