#!/usr/bin/env python3
"""Compare discount-eval's off-policy estimators with Open Bandit Pipeline (obp) on identical inputs.

Not part of CI. Needs `pip install obp` (obp 0.5.7 declares Python < 3.11 and torch 1.12; on newer Pythons
install it with `pip install --no-deps --ignore-requires-python obp==0.5.7` plus numpy, scipy, scikit-learn,
pandas, pyyaml, tqdm, matplotlib, seaborn and torch).

Two comparisons:
1. Open Bandit Dataset, BTS estimated from the random log: obp computes the BTS action distribution and
   cross-fitted rewards (logistic regression); both are exported and both libraries estimate from them.
2. A large synthetic log: same, and the two are timed (point estimates only).

Usage (from the repository root):
    python benchmarks/obp/compare_obp.py [--data-dir ../shared/data] [--rounds 1000000]
Every estimate must agree to 1e-9 (absolute and relative); the script exits 1 otherwise.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ESTIMATORS = {
    # key: (our spec, obp factory)
    "ipw": ("ips", lambda o: o.InverseProbabilityWeighting()),
    "ipw-clip50": ("ips:50", lambda o: o.InverseProbabilityWeighting(lambda_=50.0)),
    "snipw": ("snips", lambda o: o.SelfNormalizedInverseProbabilityWeighting()),
    "dm": ("dm", lambda o: o.DirectMethod()),
    "dr": ("dr", lambda o: o.DoublyRobust()),
    "dr-clip50": ("dr:50", lambda o: o.DoublyRobust(lambda_=50.0)),
    "sndr": ("sndr", lambda o: o.SelfNormalizedDoublyRobust()),
    "switch-dr": ("switch-dr:100", lambda o: o.SwitchDoublyRobust(lambda_=100.0)),
    "dr-os": ("dr-os:100", lambda o: o.DoublyRobustWithShrinkage(lambda_=100.0)),
}


def export(directory, action, position, reward, pscore, action_dist, estimated_rewards):
    directory.mkdir(parents=True, exist_ok=True)
    n, a, p = action_dist.shape
    (directory / "shape.txt").write_text(f"{n} {a} {p}\n")
    for name, values in [
        ("action", action), ("position", position), ("reward", reward), ("pscore", pscore),
        ("action_dist", action_dist.reshape(-1)), ("estimated_rewards", estimated_rewards.reshape(-1)),
    ]:
        # repr() writes the shortest string that reads back to the same double.
        with open(directory / f"{name}.txt", "w") as f:
            f.write("\n".join(repr(float(v)) for v in values))
            f.write("\n")
    (directory / "estimators.txt").write_text("\n".join(f"{k} {v[0]}" for k, v in ESTIMATORS.items()) + "\n")


def run_ours(directory):
    out = subprocess.run(
        os.environ.get("OPE_DUMP", "cargo run --release -q -p discount-eval --example ope_dump --").split() + [str(directory)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout)


def run_obp(action, position, reward, pscore, action_dist, estimated_rewards):
    import obp.ope as o
    estimates, seconds = {}, {}
    for key, (_, factory) in ESTIMATORS.items():
        estimator = factory(o)
        kwargs = dict(reward=reward, action=action, position=position, pscore=pscore, action_dist=action_dist,
                      estimated_rewards_by_reg_model=estimated_rewards)
        start = time.perf_counter()
        estimates[key] = float(estimator.estimate_policy_value(**kwargs))
        seconds[key] = time.perf_counter() - start
    return estimates, seconds


def compare(title, ours, theirs):
    ok = True
    print(f"\n{title}\n{'estimator':<12} {'obp':>22} {'discount-eval':>22} {'abs diff':>10}")
    for key, value in theirs.items():
        mine = ours["estimates"][key]
        diff = abs(mine - value)
        good = diff <= 1e-9 and diff <= 1e-9 * max(abs(value), 1e-300) + 1e-15
        ok &= good
        print(f"{key:<12} {value:>22.17g} {mine:>22.17g} {diff:>10.1e} {'ok' if good else 'MISMATCH'}")
    return ok


def load_obd(data_dir, behavior="random", campaign="all"):
    """The log as obp's OpenBanditDataset reads it (sorted by timestamp, positions 0..2, one-hot user features
    with the first category dropped, label-encoded item features). Done here with pandas because obp 0.5.7's own
    loader breaks on pandas >= 2."""
    import pandas as pd
    from scipy.stats import rankdata

    root = Path(data_dir) / "open-bandit-dataset" / behavior / campaign
    data = pd.read_csv(root / f"{campaign}.csv", index_col=0).sort_values("timestamp")
    items = pd.read_csv(root / "item_context.csv", index_col=0)
    user_cols = [c for c in data.columns if "user_feature" in c]
    context = pd.get_dummies(data[user_cols], drop_first=True).values.astype(float)
    cats = items.drop(columns=["item_id", "item_feature_0"]).apply(lambda c: c.astype("category").cat.codes)
    action_context = pd.concat([cats, items[["item_feature_0"]]], axis=1).values.astype(float)
    return dict(
        action=data["item_id"].values.astype(int),
        position=(rankdata(data["position"].values, "dense") - 1).astype(int),
        reward=data["click"].values.astype(float),
        pscore=data["propensity_score"].values.astype(float),
        context=context,
        action_context=action_context,
        n_actions=len(items),
    )


def obd_inputs(data_dir, n_sim):
    from obp.ope import RegressionModel
    from obp.policy import BernoulliTS
    from sklearn.linear_model import LogisticRegression

    log = load_obd(data_dir)
    n_rounds, len_list = len(log["action"]), 3
    bts = BernoulliTS(n_actions=log["n_actions"], len_list=len_list, is_zozotown_prior=True,
                      campaign="all", random_state=12345)
    action_dist = bts.compute_batch_action_dist(n_sim=n_sim, n_rounds=n_rounds)
    model = RegressionModel(n_actions=log["n_actions"], len_list=len_list, action_context=log["action_context"],
                            base_model=LogisticRegression(max_iter=1000, C=100, random_state=12345))
    estimated = model.fit_predict(context=log["context"], action=log["action"], reward=log["reward"],
                                  position=log["position"], pscore=log["pscore"], n_folds=3, random_state=12345)
    return (log["action"], log["position"], log["reward"], log["pscore"], action_dist, estimated)


def synthetic_inputs(n_rounds, n_actions, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n_rounds, n_actions))
    behavior = np.exp(0.5 * logits)
    behavior /= behavior.sum(axis=1, keepdims=True)
    u = rng.random(n_rounds)[:, None]
    action = np.minimum((behavior.cumsum(axis=1) < u).sum(axis=1), n_actions - 1)
    pscore = behavior[np.arange(n_rounds), action]
    target = np.exp(1.5 * (logits + rng.normal(scale=0.5, size=logits.shape)))
    target /= target.sum(axis=1, keepdims=True)
    q = 1 / (1 + np.exp(-(logits - 2)))
    reward = (rng.random(n_rounds) < q[np.arange(n_rounds), action]).astype(float)
    q_hat = np.clip(q + rng.normal(scale=0.05, size=q.shape), 0, 1)
    return (action, np.zeros(n_rounds, dtype=int), reward, pscore, target[:, :, None], q_hat[:, :, None])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("DISCOUNT_DATA_DIR", "../shared/data"))
    parser.add_argument("--rounds", type=int, default=1_000_000)
    parser.add_argument("--actions", type=int, default=10)
    parser.add_argument("--n-sim", type=int, default=100_000)
    args = parser.parse_args()

    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        inputs = obd_inputs(args.data_dir, args.n_sim)
        export(Path(tmp) / "obd", *inputs)
        theirs, _ = run_obp(*inputs)
        ok &= compare("Open Bandit Dataset: BTS from the random log (obp's action_dist and rewards)",
                      run_ours(Path(tmp) / "obd"), theirs)

        inputs = synthetic_inputs(args.rounds, args.actions, 7)
        export(Path(tmp) / "synthetic", *inputs)
        theirs, obp_seconds = run_obp(*inputs)
        ours = run_ours(Path(tmp) / "synthetic")
        ok &= compare(f"Synthetic log: {args.rounds} rounds, {args.actions} actions", ours, theirs)
        print(f"\npoint-estimate time, {args.rounds} rounds (ours includes nothing but the estimate; "
              f"our one-off per-round preparation took {ours['prepare_seconds']:.3f} s)")
        for key in ESTIMATORS:
            print(f"{key:<12} obp {obp_seconds[key]:8.4f} s   ours {ours['seconds'][key]:8.4f} s   "
                  f"ratio {obp_seconds[key] / max(ours['seconds'][key], 1e-9):7.1f}x")
        total_obp, total_ours = sum(obp_seconds.values()), sum(ours["seconds"].values())
        print(f"{'all':<12} obp {total_obp:8.4f} s   ours {total_ours:8.4f} s (+{ours['prepare_seconds']:.3f} s "
              f"preparation)   ratio {total_obp / (total_ours + ours['prepare_seconds']):.1f}x including it")
    print("\nall estimates agree to 1e-9" if ok else "\nMISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
