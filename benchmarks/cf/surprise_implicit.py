"""Surprise SVD / SVD++ and implicit ALS on the same MovieLens 100K folds and split as
`discount train cf`, timed next to it.

    pip install scikit-surprise implicit pandas scipy
    discount train cf --dataset movielens-100k --model svd --write-split /tmp/folds.csv
    discount train cf --dataset movielens-100k --model als --write-split /tmp/implicit.csv
    python benchmarks/cf/surprise_implicit.py /tmp/folds.csv /tmp/implicit.csv [path/to/discount]

The files hold MovieLens rows (user, item, rating, fold / set): keep them out of the repository.
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd


def surprise_cv(folds_csv):
    from surprise import SVD, SVDpp, Dataset, Reader, accuracy

    rows = pd.read_csv(folds_csv)
    reader = Reader(rating_scale=(1, 5))
    settings = {
        "SVD defaults": lambda: SVD(random_state=7),
        "SVD tuned (discount svd)": lambda: SVD(n_factors=100, n_epochs=30, lr_all=0.01,
                                                reg_bu=0.02, reg_bi=0.02, reg_pu=0.08,
                                                reg_qi=0.08, random_state=7),
        "SVD++ defaults": lambda: SVDpp(random_state=7),
    }
    if os.environ.get("SLOW_SVDPP"):
        # Several minutes per fold in Surprise: opt in with SLOW_SVDPP=1.
        settings["SVD++ tuned (discount svdpp)"] = lambda: SVDpp(n_factors=50, n_epochs=30, lr_all=0.01,
                                                      reg_bu=0.02, reg_bi=0.02, reg_pu=0.1,
                                                      reg_qi=0.1, reg_yj=0.1, random_state=7)
    out = {}
    for name, make in settings.items():
        rmses, seconds = [], 0.0
        for f in sorted(rows["fold"].unique()):
            train = rows[rows["fold"] != f]
            test = rows[rows["fold"] == f]
            data = Dataset.load_from_df(train[["user", "item", "rating"]], reader)
            trainset = data.build_full_trainset()
            algo = make()
            start = time.perf_counter()
            algo.fit(trainset)
            seconds += time.perf_counter() - start
            preds = algo.test(list(zip(test["user"], test["item"], test["rating"])))
            rmses.append(accuracy.rmse(preds, verbose=False))
        out[name] = (float(np.mean(rmses)), seconds)
        print("Surprise %-30s mean RMSE %.4f  fit %.2f s (5 folds)" % (name, *out[name]))
    return out


def implicit_als(split_csv):
    import scipy.sparse as sp
    from implicit.als import AlternatingLeastSquares

    rows = pd.read_csv(split_csv)
    users = {u: k for k, u in enumerate(rows["user"].unique())}
    items = {i: k for k, i in enumerate(rows["item"].unique())}
    rows["u"] = rows["user"].map(users)
    rows["i"] = rows["item"].map(items)
    train = rows[rows["set"] == "train"]
    test = rows[rows["set"] == "test"]
    # Confidence 1 + alpha * 1 with alpha = 5, as discount's ALS (implicit reads the value as c_ui).
    matrix = sp.csr_matrix((np.full(len(train), 6.0, dtype=np.float32),
                            (train["u"], train["i"])), shape=(len(users), len(items)))
    model = AlternatingLeastSquares(factors=32, regularization=30.0, iterations=15,
                                    random_state=7, use_gpu=False)
    start = time.perf_counter()
    model.fit(matrix, show_progress=False)
    seconds = time.perf_counter() - start
    truth = test.groupby("u")["i"].apply(set)
    ids, _ = model.recommend(np.array(truth.index), matrix[np.array(truth.index)], N=10,
                             filter_already_liked_items=True)
    precision, ndcg = [], []
    for row, u in zip(ids, truth.index):
        relevant = truth[u]
        hits = [1.0 if i in relevant else 0.0 for i in row]
        precision.append(sum(hits) / 10)
        dcg = sum(h / np.log2(k + 2) for k, h in enumerate(hits))
        idcg = sum(1 / np.log2(k + 2) for k in range(min(10, len(relevant))))
        ndcg.append(dcg / idcg)
    print("implicit ALS (32 factors, reg 30, alpha 5): p@10 %.4f NDCG@10 %.4f fit %.2f s"
          % (np.mean(precision), np.mean(ndcg), seconds))
    return seconds


def discount_run(discount, model):
    out = subprocess.run([discount, "train", "cf", "--model", model, "--json"], check=True,
                         capture_output=True, text=True, env=dict(os.environ))
    return json.loads(out.stdout)


def main():
    folds_csv, split_csv = sys.argv[1], sys.argv[2]
    discount = sys.argv[3] if len(sys.argv) > 3 else "target/release/discount"
    surprise = surprise_cv(folds_csv)
    als_seconds = implicit_als(split_csv)
    for model, name in [("svd", "SVD tuned (discount svd)"),
                        ("svdpp", "SVD++ tuned (discount svdpp)")]:
        r = discount_run(discount, model)
        if name not in surprise:
            # Surprise's SVD++ at its defaults (20 factors, 20 epochs) does less work than ours.
            name = "SVD++ defaults"
        print("discount %-6s mean RMSE %.4f  fit %.2f s (5 folds); Surprise / discount time %.1f"
              % (model, r["mean_rmse"], r["total_fit_seconds"],
                 surprise[name][1] / r["total_fit_seconds"]))
    r = discount_run(discount, "als")
    print("discount als    p@10 %.4f NDCG@10 %.4f fit %.2f s; implicit / discount time %.2f"
          % (r["report"]["precision"], r["report"]["ndcg"], r["fit_seconds"],
             als_seconds / r["fit_seconds"]))


if __name__ == "__main__":
    main()
