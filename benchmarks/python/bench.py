#!/usr/bin/env python3
"""Speed of the `discount` package against the Python peers on the same inputs, as ratios.

Peers: scikit-uplift 0.5.1 (uplift metrics), lifetimes 0.11.3 (BG/NBD and Gamma-Gamma), and for off-policy
estimators a NumPy transcription of Open Bandit Pipeline 0.5.7's estimators (obp itself needs Python < 3.11 and
PyTorch). Each case checks that both sides give the same value before timing them; a time is the median of
--repeats runs.

    python benchmarks/python/bench.py [--json] [--repeats 5] [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import discount
from discount import ltv, metrics, ope


def median_seconds(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def obp_check_ope_inputs(action_dist, position, action, reward, pscore, q=None):
    """Open Bandit Pipeline's obp.utils.check_ope_inputs, which estimate_policy_value runs first."""
    if not np.allclose(action_dist.sum(axis=1), 1):
        raise ValueError("`action_dist` must be a probability distribution")
    if not (np.issubdtype(position.dtype, np.integer) and position.min() >= 0):
        raise ValueError("`position` elements must be non-negative integers")
    if position.max() >= action_dist.shape[2]:
        raise ValueError("`position` elements must be smaller than `action_dist.shape[2]`")
    if q is not None and q.shape != action_dist.shape:
        raise ValueError("Expected `estimated_rewards_by_reg_model.shape == action_dist.shape`")
    if not (np.issubdtype(action.dtype, np.integer) and action.min() >= 0
            and action.max() < action_dist.shape[1]):
        raise ValueError("`action` elements must be integers in the range of [0, `action_dist.shape[1]`)")
    if np.any(pscore <= 0):
        raise ValueError("`pscore` must be positive")


def obp_dr(reward, action, pscore, position, action_dist, q):
    """Open Bandit Pipeline's DoublyRobust.estimate_policy_value: its input checks, then
    _estimate_round_rewards(...).mean(), as NumPy code."""
    obp_check_ope_inputs(action_dist, position, action, reward, pscore, q)
    n = action.shape[0]
    idx = np.arange(n)
    iw = action_dist[idx, action, position] / pscore
    q_hat_at_position = q[idx, :, position]
    q_hat_factual = q[idx, action, position]
    pi_e_at_position = action_dist[idx, :, position]
    estimated = np.average(q_hat_at_position, weights=pi_e_at_position, axis=1)
    return (estimated + iw * (reward - q_hat_factual)).mean()


def obp_snipw(reward, action, pscore, position, action_dist):
    obp_check_ope_inputs(action_dist, position, action, reward, pscore)
    iw = action_dist[np.arange(action.shape[0]), action, position] / pscore
    return (reward * iw / iw.mean()).mean()


def cases(data_dir: Path):
    from lifetimes import BetaGeoFitter as LBG
    from lifetimes import GammaGammaFitter as LGG
    from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value
    from sklift import metrics as sk

    rng = np.random.default_rng(0)

    # Off-policy: 1,000,000 rounds, 10 actions, 3 positions.
    n, n_actions, len_list = 1_000_000, 10, 3
    action = rng.integers(0, n_actions, n)
    position = rng.integers(0, len_list, n)
    pscore = np.full(n, 1.0 / n_actions)
    reward = rng.binomial(1, 0.1, n).astype(float)
    action_dist = rng.dirichlet(np.ones(n_actions), size=(n, len_list)).transpose(0, 2, 1).copy()
    q = rng.uniform(0, 0.2, (n, n_actions, len_list))
    arrays = dict(reward=reward, action=action, pscore=pscore, position=position, action_dist=action_dist)
    yield ("SNIPW, 1M rounds x 10 actions x 3 positions",
           lambda: ope.SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(**arrays),
           lambda: obp_snipw(reward, action, pscore, position, action_dist),
           "obp 0.5.7 checks and formulas in NumPy")
    yield ("DR, 1M rounds x 10 actions x 3 positions",
           lambda: ope.DoublyRobust().estimate_policy_value(estimated_rewards_by_reg_model=q, **arrays),
           lambda: obp_dr(reward, action, pscore, position, action_dist, q),
           "obp 0.5.7 checks and formulas in NumPy")

    # Uplift: the Hillstrom experiment tiled to 1,024,000 customers, scores with ties.
    path = data_dir / "hillstrom-minethatdata" / "Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv"
    with path.open() as f:
        rows = list(csv.DictReader(f))
    t = np.tile(np.array([0 if r["segment"] == "No E-Mail" else 1 for r in rows]), 16)
    y = np.tile(np.array([float(r["visit"]) for r in rows]), 16)
    u = np.tile(np.array([float(r["history"]) / (1.0 + float(r["recency"])) for r in rows]), 16)
    u = u + rng.normal(0, 1e-3, u.shape)
    label = "Hillstrom x16 (1,024,000)"
    yield (f"qini_auc_score, {label}", lambda: metrics.qini_auc_score(y, u, t), lambda: sk.qini_auc_score(y, u, t),
           "scikit-uplift 0.5.1")
    yield (f"uplift_auc_score, {label}", lambda: metrics.uplift_auc_score(y, u, t),
           lambda: sk.uplift_auc_score(y, u, t), "scikit-uplift 0.5.1")
    yield (f"uplift_at_k(0.3, by_group), {label}",
           lambda: metrics.uplift_at_k(y, u, t, strategy="by_group", k=0.3),
           lambda: sk.uplift_at_k(y, u, t, strategy="by_group", k=0.3), "scikit-uplift 0.5.1")
    yield (f"weighted_average_uplift, {label}", lambda: metrics.weighted_average_uplift(y, u, t),
           lambda: sk.weighted_average_uplift(y, u, t), "scikit-uplift 0.5.1")

    # Lifetime value: CDNOW (2,357 customers).
    with (data_dir / "cdnow" / "cdnow_customers_summary.csv").open() as f:
        rows = list(csv.DictReader(f))
    frequency, recency, T = (np.array([float(r[c]) for r in rows]) for c in ("frequency", "recency", "T"))
    yield ("BG/NBD fit, CDNOW (2,357 customers)",
           lambda: ltv.BetaGeoFitter().fit(frequency, recency, T).params_["r"],
           lambda: LBG().fit(frequency, recency, T).params_["r"], "lifetimes 0.11.3")
    ours = ltv.BetaGeoFitter().fit(frequency, recency, T)
    theirs = LBG().fit(frequency, recency, T)
    for name in ("r", "alpha", "a", "b"):
        theirs.params_[name] = ours.params_[name]
    big = [np.tile(v, 100) for v in (frequency, recency, T)]
    yield ("BG/NBD expected purchases (39 weeks), CDNOW x100 (235,700)",
           lambda: ours.conditional_expected_number_of_purchases_up_to_time(39, *big)[0],
           lambda: theirs.conditional_expected_number_of_purchases_up_to_time(39, *big)[0], "lifetimes 0.11.3")
    data = load_cdnow_summary_data_with_monetary_value()
    repeat = data[data["frequency"] > 0]
    f_rep, m_rep = repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy(float)
    yield ("Gamma-Gamma fit, CDNOW repeat buyers (946)",
           lambda: ltv.GammaGammaFitter().fit(f_rep, m_rep).params_["p"],
           lambda: LGG().fit(f_rep, m_rep).params_["p"], "lifetimes 0.11.3")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--repeats", type=int, default=5, help="runs per case; the median is reported")
    repo = Path(__file__).resolve().parents[2]
    parser.add_argument("--data-dir", type=Path,
                        default=Path(os.environ.get("DISCOUNT_DATA_DIR", repo.parent / "shared" / "data")))
    args = parser.parse_args()
    results = []
    for name, ours, peer, peer_name in cases(args.data_dir):
        a, b = ours(), peer()
        if not np.isclose(a, b, rtol=2e-3):
            print(f"{name}: values differ: discount {a} against {peer_name} {b}", file=sys.stderr)
            return 1
        ours_s = median_seconds(ours, args.repeats)
        peer_s = median_seconds(peer, args.repeats)
        results.append({"case": name, "peer": peer_name, "discount_s": ours_s, "peer_s": peer_s,
                        "speedup": peer_s / ours_s, "value": a})
    if args.json:
        print(json.dumps({"python": platform.python_version(), "discount": discount.__version__,
                          "repeats": args.repeats, "results": results}, indent=2))
        return 0
    width = max(len(r["case"]) for r in results)
    print(f"{'case':<{width}}  {'discount':>10}  {'peer':>10}  {'speed-up':>8}  peer")
    for r in results:
        print(f"{r['case']:<{width}}  {r['discount_s'] * 1e3:>8.1f}ms  {r['peer_s'] * 1e3:>8.1f}ms  "
              f"{r['speedup']:>7.1f}x  {r['peer']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
