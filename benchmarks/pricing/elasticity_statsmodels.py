"""Per-brand log-log elasticities with store and week dummies and store-clustered errors (statsmodels),
against `discount price elasticity --method fe` on the same file."""
import json
import sys
import time

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

sales_path, ours_path = sys.argv[1], sys.argv[2]
ours = json.load(open(ours_path))["fixed_effects"]
ours_seconds = json.load(open(ours_path))["fixed_effects_seconds"]
df = pd.read_csv(sales_path)
df = df[df.units > 0].copy()
df["ln_units"] = np.log(df.units)
df["ln_price"] = np.log(df.price)
# Other brands' log prices in the same store and week.
wide = df.pivot_table(index=["market", "date"], columns="product", values="ln_price")
products = sorted(df["product"].unique())
names = {p: f"p{i}" for i, p in enumerate(products)}
wide.columns = [names[c] for c in wide.columns]
wide = wide.fillna(wide.groupby(level="market").transform("mean"))
df = df.join(wide, on=["market", "date"])

started = time.perf_counter()
rows = []
for product in products:
    d = df[df["product"] == product]
    cross = [names[p] for p in products if p != product]
    formula = "ln_units ~ ln_price + " + " + ".join(cross) + " + promo + feature + C(market) + C(date)"
    fit = smf.ols(formula, data=d).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(d["market"])[0]})
    lo, hi = fit.conf_int().loc["ln_price"]
    rows.append((product, fit.params["ln_price"], lo, hi))
peer_seconds = time.perf_counter() - started

ours_by = {p["product"]: p["own_price"] for p in ours["per_product"]}
inside = 0
print(f"{'product':24} {'discount':>9} {'interval':>20} {'statsmodels':>11} {'interval':>20}  both inside")
for product, est, lo, hi in rows:
    o = ours_by[product]
    both = o["lower"] <= est <= o["upper"] and lo <= o["estimate"] <= hi
    inside += both
    print(f"{product:24} {o['estimate']:9.3f} [{o['lower']:7.3f}, {o['upper']:7.3f}] {est:11.3f} [{lo:7.3f}, {hi:7.3f}]  {both}")
print(f"\n{inside} of {len(rows)} estimates inside each other's intervals; max |difference| "
      f"{max(abs(ours_by[p]['estimate'] - e) for p, e, _, _ in rows):.2e}")
print(f"time: statsmodels {peer_seconds:.1f} s (11 brand regressions), discount {ours_seconds:.2f} s "
      f"(11 brands and pooled): ratio {peer_seconds / ours_seconds:.1f}")
