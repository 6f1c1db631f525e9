"""scikit-uplift peers of `discount train uplift` on the same seeded held-out split.

Usage (from the repository root):
    discount train uplift --dataset hillstrom --write-split benchmarks/uplift/split.csv
    pip install scikit-uplift scikit-learn pandas
    python3 benchmarks/uplift/sklift.py [--data-dir ../shared/data] [--outcome conversion]

Each e-mail is compared with no e-mail separately (TwoModels and ClassTransformation are two-arm
methods), with LogisticRegression bases, on the features the Rust loader builds.
"""

import argparse
import os
import sys

# This file is named like the package it compares with; keep its own folder off the import path.
here = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != here]

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklift.metrics import qini_auc_score, uplift_at_k, uplift_auc_score
from sklift.models import ClassTransformation, TwoModels

parser = argparse.ArgumentParser()
parser.add_argument("--data-dir", default=os.environ.get("DISCOUNT_DATA_DIR", "../shared/data"))
parser.add_argument("--split", default=os.path.join(here, "split.csv"))
parser.add_argument("--outcome", default="conversion", choices=["conversion", "visit"])
args = parser.parse_args()

raw = pd.read_csv(os.path.join(
    args.data_dir,
    "hillstrom-minethatdata/Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv"))
x = pd.DataFrame({
    "recency": raw["recency"].astype(float),
    "history": np.log1p(raw["history"]),
    "mens": raw["mens"], "womens": raw["womens"], "newbie": raw["newbie"],
})
for z in ["Urban", "Surburban", "Rural"]:
    x[f"zip_code={z}"] = (raw["zip_code"] == z).astype(float)
for c in ["Phone", "Web", "Multichannel"]:
    x[f"channel={c}"] = (raw["channel"] == c).astype(float)
x = x.to_numpy(dtype=float)
y = raw[args.outcome].to_numpy()
arm = raw["segment"].to_numpy()
holdout = pd.read_csv(args.split)["holdout"].to_numpy() == 1
assert len(holdout) == len(y)

def base():
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))

print(f"outcome {args.outcome}: {(~holdout).sum()} to fit, {holdout.sum()} held out")
for email in ["Mens E-Mail", "Womens E-Mail"]:
    rows = (arm == email) | (arm == "No E-Mail")
    tr, te = rows & ~holdout, rows & holdout
    t_tr, t_te = (arm[tr] == email).astype(int), (arm[te] == email).astype(int)
    for name, model in [
        ("TwoModels", TwoModels(estimator_trmnt=base(), estimator_ctrl=base(), method="vanilla")),
        ("ClassTransformation", ClassTransformation(estimator=base())),
    ]:
        model.fit(x[tr], y[tr], t_tr)
        u = model.predict(x[te])
        print(f"{email:14s} {name:20s} Qini {qini_auc_score(y[te], u, t_te):.4f}  "
              f"AUUC {uplift_auc_score(y[te], u, t_te):.4f}  "
              f"uplift@30% {uplift_at_k(y[te], u, t_te, strategy='overall', k=0.3):.5f}")
