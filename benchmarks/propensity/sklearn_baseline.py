"""scikit-learn peers of `discount train propensity --dataset online-shoppers` on the same seeded folds.

Usage (from the repository root):
    discount train propensity --dataset online-shoppers --model all --write-folds benchmarks/propensity/folds.csv
    pip install scikit-learn pandas
    python3 benchmarks/propensity/sklearn_baseline.py [--data-dir ../shared/data]

Features are encoded as the Rust loader does: log(1 + x) for page counts, durations and PageValues, a
missing indicator for empty or -1 page columns, one-hot Month, OperatingSystems, Browser, Region,
TrafficType and VisitorType, Weekend as 0/1.
"""

import argparse
import os
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

here = os.path.dirname(os.path.abspath(__file__))
parser = argparse.ArgumentParser()
parser.add_argument("--data-dir", default=os.environ.get("DISCOUNT_DATA_DIR", "../shared/data"))
parser.add_argument("--folds", default=os.path.join(here, "folds.csv"))
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
folds = pd.read_csv(args.folds)["fold"].to_numpy()
assert len(folds) == len(y)

models = {
    "LogisticRegression(C=1)": lambda: make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)),
    "GradientBoostingClassifier": lambda: GradientBoostingClassifier(random_state=0),
}
print(f"{len(y)} sessions, {y.sum()} purchases, {x.shape[1]} features, {folds.max() + 1} folds")
for name, build in models.items():
    aucs, losses, seconds = [], [], 0.0
    for f in range(folds.max() + 1):
        train, test = folds != f, folds == f
        model = build()
        started = time.perf_counter()
        model.fit(x[train], y[train])
        seconds += time.perf_counter() - started
        p = model.predict_proba(x[test])[:, 1]
        aucs.append(roc_auc_score(y[test], p))
        losses.append(log_loss(y[test], p))
    print(f"{name:28s} AUC {np.mean(aucs):.4f}  log-loss {np.mean(losses):.4f}  fit {seconds:.2f}s (5 folds)  "
          f"per-fold AUC {' '.join(f'{a:.4f}' for a in aucs)}")
