"""discount's gradient-boosted trees against scikit-learn's HistGradientBoostingClassifier on the same folds.

Usage (from the repository root; benchmarks/gbdt/run.sh does all of this):
    discount train propensity --dataset online-shoppers --model logistic --write-folds benchmarks/gbdt/folds.csv
    python3 benchmarks/gbdt/compare_hgb.py --folds benchmarks/gbdt/folds.csv --discount target/release/discount

discount is run as `discount train propensity --dataset online-shoppers --model gbdt --folds FILE --json`; its per-fold AUC and fit
time (the model scored on the fold, not the calibration copy) are read from that JSON. scikit-learn is fitted
twice per fold: with discount's settings (300 trees, learning rate 0.05, depth 3, L2 1, 255 bins, no early
stopping) and with its own defaults. Both libraries use every core. Features are encoded as the Rust loader
does (see benchmarks/propensity/sklearn_baseline.py).
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

parser = argparse.ArgumentParser()
parser.add_argument("--data-dir", default=os.environ.get("DISCOUNT_DATA_DIR", "../shared/data"))
parser.add_argument("--folds", required=True, help="row,fold CSV written by discount --write-folds")
parser.add_argument("--discount", default="target/release/discount", help="the discount binary")
parser.add_argument("--models-dir", default="benchmarks/gbdt/models", help="where discount saves its artifact")
args = parser.parse_args()

raw = pd.read_csv(os.path.join(args.data_dir, "uci-online-shoppers-intention/online_shoppers_intention.csv"))
page_cols = raw.columns[:8]
durations = ["Administrative_Duration", "Informational_Duration", "ProductRelated_Duration"]
missing = raw[page_cols].isna().any(axis=1) | (raw[durations] == -1).any(axis=1)
x = raw.iloc[:, :10].copy()
x[durations] = x[durations].where(x[durations] != -1)
x = x.fillna(0.0)
for c in ["Administrative", "Administrative_Duration", "Informational", "Informational_Duration",
          "ProductRelated", "ProductRelated_Duration", "PageValues"]:
    x[c] = np.log1p(x[c])
x["pages_missing"] = missing.astype(float)
cats = pd.get_dummies(raw[["Month", "OperatingSystems", "Browser", "Region", "TrafficType", "VisitorType"]].astype(str))
x = pd.concat([x, cats.astype(float)], axis=1)
x["Weekend"] = raw["Weekend"].astype(float)
y = raw["Revenue"].astype(int).to_numpy()
x = x.to_numpy()

assignment = pd.read_csv(args.folds)
if list(assignment.columns) != ["row", "fold"]:
    sys.exit(f"{args.folds}: expected the header row,fold, found {list(assignment.columns)}")
folds = np.full(len(y), -1)
folds[assignment["row"].to_numpy()] = assignment["fold"].to_numpy()
if (folds < 0).any():
    sys.exit(f"{args.folds}: {int((folds < 0).sum())} rows have no fold")
k = folds.max() + 1

command = [args.discount, "train", "propensity", "--dataset", "online-shoppers", "--model", "gbdt", "--folds", args.folds,
           "--data-dir", args.data_dir, "--models-dir", args.models_dir, "--json"]
started = time.perf_counter()
completed = subprocess.run(command, check=True, capture_output=True, text=True)
discount_wall = time.perf_counter() - started
ours = json.loads(completed.stdout)[0]
if [f["fold"] for f in ours["folds"]] != list(range(k)):
    sys.exit("discount scored different folds: %s" % [f["fold"] for f in ours["folds"]])

settings = {
    "HGB, discount's settings": dict(max_iter=300, learning_rate=0.05, max_depth=3, l2_regularization=1.0,
                                     max_bins=255, early_stopping=False, random_state=0),
    "HGB, scikit-learn defaults": dict(random_state=0),
}
results = {}
for name, params in settings.items():
    aucs, seconds = [], []
    for f in range(k):
        train, test = folds != f, folds == f
        model = HistGradientBoostingClassifier(**params)
        started = time.perf_counter()
        model.fit(x[train], y[train])
        seconds.append(time.perf_counter() - started)
        aucs.append(roc_auc_score(y[test], model.predict_proba(x[test])[:, 1]))
    results[name] = (aucs, seconds)

print(f"{len(y)} sessions, {y.sum()} purchases, {x.shape[1]} features, {k} folds from {args.folds}, "
      f"{os.cpu_count()} cores")
names = ["discount gbdt"] + list(results)
aucs = {"discount gbdt": [f["auc"] for f in ours["folds"]], **{n: r[0] for n, r in results.items()}}
secs = {"discount gbdt": [f["fit_seconds"] for f in ours["folds"]], **{n: r[1] for n, r in results.items()}}
print()
print(f"{'fold':>5}  " + "  ".join(f"{n:>28}" for n in names))
for f in range(k):
    print(f"{f:>5}  " + "  ".join(f"{'AUC %.4f  fit %6.2fs' % (aucs[n][f], secs[n][f]):>28}" for n in names))
print(f"{'mean':>5}  " + "  ".join(
    f"{'AUC %.4f  fit %6.2fs' % (np.mean(aucs[n]), np.mean(secs[n])):>28}" for n in names))
print(f"{'median':>6} " + "  ".join(
    f"{'AUC %.4f  fit %6.2fs' % (np.median(aucs[n]), np.median(secs[n])):>28}" for n in names))
print()
# Medians as well as totals: on a shared machine one slow fold (other jobs, OpenMP threads waiting for a
# busy core) can dominate a total.
total = {n: sum(secs[n]) for n in names}
median = {n: float(np.median(secs[n])) for n in names}
for n in names[1:]:
    print(f"fit time {n} / discount gbdt: {total[n] / total['discount gbdt']:.2f} on totals "
          f"({total[n]:.2f}s vs {total['discount gbdt']:.2f}s over {k} folds), "
          f"{median[n] / median['discount gbdt']:.2f} on per-fold medians")
print(f"discount's mean AUC from its JSON: {ours['mean_auc']:.4f}; whole command (CV, calibration copies, "
      f"refit, artifact) {discount_wall:.1f}s")
