#!/usr/bin/env python3
"""MovieLens 100K implicit: implicit 0.7.3's ALS and `discount train cf --model als --split FILE` on one split.

Not part of CI. Needs `pip install implicit==0.7.3 pandas scipy`.

1. Writes the split: ratings >= 4 become interactions, shuffled with --seed, 20% test; columns
   user_raw,item_raw,set (MovieLens ids). The file holds MovieLens rows: keep it out of the repository.
2. Fits implicit's ALS on the train rows with discount's settings (32 factors, regularisation 30, 15 iterations,
   confidence 1 + 5 = 6 on every interaction) and with implicit's defaults, and scores both with
   implicit.evaluation.ranking_metrics_at_k (precision = hits / sum(min(K, |test_u|)), NDCG@10), plus
   hits / (K x users).
3. Runs discount on the same file (--json) and prints both with the fit-time ratio.

Usage (from the repository root):
    cargo build --release -p discount-cli
    python benchmarks/cf/implicit_split.py --out /tmp/ml100k_split.csv [--discount target/release/discount]
"""
import argparse
import json
import os
import subprocess
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

K = 10


def write_split(data_dir, out, seed):
    ratings = pd.read_csv(os.path.join(data_dir, "movielens-100k", "ml-100k.inter"), sep="\t")
    ratings.columns = [c.split(":")[0] for c in ratings.columns]
    positives = ratings[ratings["rating"] >= 4][["user_id", "item_id"]].reset_index(drop=True)
    order = np.random.default_rng(seed).permutation(len(positives))
    n_test = int(round(0.2 * len(positives)))
    sets = np.array(["train"] * len(positives), dtype=object)
    sets[order[:n_test]] = "test"
    split = pd.DataFrame({"user_raw": positives["user_id"], "item_raw": positives["item_id"], "set": sets})
    split.to_csv(out, index=False)
    return split


def implicit_als(split, settings, confidence):
    from implicit.als import AlternatingLeastSquares
    from implicit.evaluation import ranking_metrics_at_k

    users = {u: k for k, u in enumerate(split["user_raw"].unique())}
    items = {i: k for k, i in enumerate(split["item_raw"].unique())}
    u = split["user_raw"].map(users).values
    i = split["item_raw"].map(items).values
    train, test = (split["set"] == "train").values, (split["set"] == "test").values
    shape = (len(users), len(items))
    train_m = sp.csr_matrix((np.full(train.sum(), confidence, dtype=np.float32), (u[train], i[train])), shape=shape)
    test_m = sp.csr_matrix((np.ones(test.sum(), dtype=np.float32), (u[test], i[test])), shape=shape)
    model = AlternatingLeastSquares(**settings, use_gpu=False)
    start = time.perf_counter()
    model.fit(train_m, show_progress=False)
    seconds = time.perf_counter() - start
    metrics = ranking_metrics_at_k(model, train_m, test_m, K=K, show_progress=False)
    # hits / (K x users), from the implicit-definition precision.
    likes = np.diff(test_m.indptr)
    tested = likes > 0
    hits = metrics["precision"] * np.minimum(K, likes[tested]).sum()
    return {
        "precision_at_10": float(hits / (K * tested.sum())),
        "precision_at_10_implicit": float(metrics["precision"]),
        "ndcg_at_10": float(metrics["ndcg"]),
        "fit_seconds": seconds,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("DISCOUNT_DATA_DIR", "../shared/data"))
    parser.add_argument("--out", default="/tmp/ml100k_implicit_split.csv")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--discount", default="target/release/discount")
    parser.add_argument("--threads", type=int, default=0, help="implicit's num_threads (0: all cores)")
    args = parser.parse_args()

    split = write_split(args.data_dir, args.out, args.seed)
    print(f"split: {len(split)} interactions ({(split['set'] == 'test').sum()} test) -> {args.out}\n")
    runs = {
        "implicit ALS, discount's settings": implicit_als(
            split, dict(factors=32, regularization=30.0, iterations=15, random_state=7, num_threads=args.threads),
            6.0),
        "implicit ALS, its defaults": implicit_als(
            split, dict(random_state=7, num_threads=args.threads), 1.0),
    }
    out = subprocess.run([args.discount, "train", "cf", "--model", "als", "--split", args.out, "--json"],
                         check=True, capture_output=True, text=True)
    ours = json.loads(out.stdout)
    runs["discount als"] = {k: ours[k] for k in
                            ["precision_at_10", "precision_at_10_implicit", "ndcg_at_10", "fit_seconds"]}
    print(f"{'model':<36} {'P@10 (hits/K·users)':>20} {'P@10 (implicit)':>16} {'NDCG@10':>8} {'fit s':>7}")
    for name, r in runs.items():
        print(f"{name:<36} {r['precision_at_10']:>20.4f} {r['precision_at_10_implicit']:>16.4f} "
              f"{r['ndcg_at_10']:>8.4f} {r['fit_seconds']:>7.2f}")
    same = runs["implicit ALS, discount's settings"]
    print(f"\nfit time implicit (discount's settings) / discount: {same['fit_seconds'] / ours['fit_seconds']:.2f}")


if __name__ == "__main__":
    main()
