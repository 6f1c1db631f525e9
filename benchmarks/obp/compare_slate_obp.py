#!/usr/bin/env python3
"""Compare discount-eval's slate estimators (SIPS, IIPS, RIPS) and Plackett-Luce propensities with Open Bandit
Pipeline (obp) on one synthetic slate log.

Not part of CI. Needs obp 0.5.7 (on Python >= 3.11: `pip install --no-deps --ignore-requires-python obp==0.5.7`
plus numpy, scipy, scikit-learn, pandas, tqdm, matplotlib, seaborn). obp imports torch at the top of modules that
its slate code never calls; when torch is not installed this script puts an inert stand-in in its place.

obp's SyntheticSlateBanditDataset draws the log: contexts, a linear behaviour policy's logits, rankings sampled
from them without replacement (Plackett-Luce), binary rewards with a cascade click model, and the behaviour
propensities of three kinds. The evaluation policy's logits are another linear function of the context. We export
the rankings, rewards and both policies' logits; discount computes the propensities itself and estimates.

Usage (from the repository root):
    python benchmarks/obp/compare_slate_obp.py [--rounds 10000] [--actions 6] [--len-list 3]
Every propensity and estimate must agree to 1e-9 (relative); the script exits 1 otherwise.
"""
import argparse
import importlib.abc
import importlib.machinery
import json
import os
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np


def stand_in_for_torch():
    """Installs an inert `torch` (and any `torch.x.y`) whose every attribute is a harmless class."""

    class Anything(type):
        def __getattr__(cls, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return Anything(name, (object,), {})

        def __call__(cls, *args, **kwargs):
            return cls

        def __getitem__(cls, item):
            return cls

    class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, fullname, path, target=None):
            if fullname == "torch" or fullname.startswith("torch."):
                return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
            return None

        def create_module(self, spec):
            module = types.ModuleType(spec.name)
            module.__path__ = []
            def attribute(name):
                if name.startswith("__"):
                    raise AttributeError(name)
                return Anything(name, (object,), {})

            module.__getattr__ = attribute
            return module

        def exec_module(self, module):
            pass

    sys.meta_path.insert(0, Finder())


try:
    import torch  # noqa: F401
except ImportError:
    stand_in_for_torch()

ESTIMATORS = {
    # key: (obp class, name of the propensity argument)
    "sips": ("SlateStandardIPS", "pscore"),
    "iips": ("SlateIndependentIPS", "pscore_item_position"),
    "rips": ("SlateRewardInteractionIPS", "pscore_cascade"),
}
KEYWORDS = {"pscore": "pscore", "pscore_item_position": "item_position", "pscore_cascade": "cascade"}
OUR_KEY = {"pscore": "joint", "pscore_item_position": "item_position", "pscore_cascade": "cascade"}


def write(path, values):
    # repr() writes the shortest string that reads back to the same double.
    with open(path, "w") as f:
        f.write("\n".join(repr(float(v)) for v in np.asarray(values).reshape(-1)))
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10_000)
    parser.add_argument("--actions", type=int, default=6)
    parser.add_argument("--len-list", type=int, default=3)
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args()

    from obp.dataset import SyntheticSlateBanditDataset, linear_behavior_policy_logit, logistic_reward_function
    import obp.ope as ope

    dataset = SyntheticSlateBanditDataset(
        n_unique_action=args.actions, len_list=args.len_list, dim_context=3, reward_type="binary",
        reward_structure="cascade_additive", click_model="cascade",
        base_reward_function=logistic_reward_function, behavior_policy_function=linear_behavior_policy_logit,
        random_state=args.seed,
    )
    log = dataset.obtain_batch_bandit_feedback(n_rounds=args.rounds, return_pscore_item_position=True)
    # The behaviour logits, exactly as obtain_batch_bandit_feedback computed them (same seed).
    behaviour_logit = linear_behavior_policy_logit(
        context=log["context"], action_context=dataset.action_context, random_state=args.seed)
    evaluation_logit = 2.0 * linear_behavior_policy_logit(
        context=log["context"], action_context=dataset.action_context, random_state=args.seed + 1)
    evaluation = dict(zip(
        ["pscore", "pscore_item_position", "pscore_cascade"],
        dataset.obtain_pscore_given_evaluation_policy_logit(
            action=log["action"], evaluation_policy_logit_=evaluation_logit, return_pscore_item_position=True),
    ))

    theirs, their_seconds = {}, {}
    for key, (cls, pscore_name) in ESTIMATORS.items():
        estimator = getattr(ope, cls)(len_list=args.len_list)
        kwargs = {"slate_id": log["slate_id"], "reward": log["reward"], "position": log["position"],
                  pscore_name: log[pscore_name], f"evaluation_policy_{pscore_name}": evaluation[pscore_name]}
        start = time.perf_counter()
        theirs[key] = float(estimator.estimate_policy_value(**kwargs))
        their_seconds[key] = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "shape.txt").write_text(f"{args.rounds} {args.actions} {args.len_list}\n")
        write(d / "action.txt", log["action"])
        write(d / "reward.txt", log["reward"])
        write(d / "behaviour_logit.txt", behaviour_logit)
        write(d / "evaluation_logit.txt", evaluation_logit)
        command = os.environ.get(
            "SLATE_DUMP", "cargo run -q -p discount-recommend --example slate_ope_dump --").split()
        out = subprocess.run(command + [str(d)], check=True, capture_output=True, text=True)
        ours = json.loads(out.stdout)

    ok = True

    def agree(a, b):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))

    print(f"Synthetic slate log from obp: {args.rounds} slates of {args.len_list} over {args.actions} items, "
          f"cascade click model, seed {args.seed}\n")
    print(f"{'propensity':<34} {'max relative diff':>18}")
    for side, obp_side in [("behaviour", log), ("evaluation", evaluation)]:
        for pscore_name, our_key in OUR_KEY.items():
            diff = agree(ours[side][our_key], obp_side[pscore_name])
            good = diff <= 1e-9
            ok &= good
            print(f"{side + ' ' + pscore_name:<34} {diff:>18.1e} {'ok' if good else 'MISMATCH'}")
    print(f"\n{'estimator':<10} {'obp':>22} {'discount-eval':>22} {'rel diff':>10}")
    for key, value in theirs.items():
        mine = ours["estimates"][key]
        diff = abs(mine - value) / max(abs(value), 1e-300)
        good = diff <= 1e-9
        ok &= good
        print(f"{key:<10} {value:>22.17g} {mine:>22.17g} {diff:>10.1e} {'ok' if good else 'MISMATCH'}")
    print(f"\nestimate time: obp {sum(their_seconds.values()):.4f} s (with its input checks), "
          f"ours {ours['estimate_seconds']:.4f} s; our Plackett-Luce propensities of both policies "
          f"{ours['propensity_seconds']:.3f} s")
    print("\nall propensities and estimates agree to 1e-9" if ok else "\nMISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
