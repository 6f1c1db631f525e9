"""BG/NBD and Gamma-Gamma: Python lifetimes against `discount train ltv` on one summary file.

1. Runs `discount train ltv --dataset cdnow --write-summary S --predictions P --json`: discount
   fits both models and writes the CDNOW calibration summary (customer,frequency,recency,T,
   monetary_value; weeks, dollars) and its per-customer forecast (39 weeks ahead, P(alive)).
2. Fits lifetimes' BetaGeoFitter and GammaGammaFitter (no penalty) on that same summary S.
3. Also builds the summary with lifetimes' own summary_data_from_transaction_data (freq="D",
   times divided by 7) from the raw CDNOW log, and reports its largest difference from discount's.
4. Prints one table: parameters, log-likelihoods (both at each library's own parameters, summed
   over customers with lifetimes' own likelihood functions), the largest per-customer difference
   of P(alive) and of the expected purchases, and the fit time of each with their ratio.

    benchmarks/ltv/run.sh [path/to/discount] [data dir]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data

HORIZON_WEEKS = 39


def bgnbd_ll(params, s):
    """Summed BG/NBD log-likelihood with lifetimes' own function (it returns the mean negative)."""
    n = len(s)
    log_params = np.log([params["r"], params["alpha"], params["a"], params["b"]])
    mean_nll = BetaGeoFitter._negative_log_likelihood(
        log_params, s["frequency"].values, s["recency"].values, s["T"].values, np.ones(n), 0.0)
    return -float(mean_nll) * n


def gamma_gamma_ll(params, rep):
    n = len(rep)
    log_params = np.log([params["p"], params["q"], params["v"]])
    mean_nll = GammaGammaFitter._negative_log_likelihood(
        log_params, rep["frequency"].values, rep["monetary_value"].values, np.ones(n), 0.0)
    return -float(mean_nll) * n


def lifetimes_summary(data_dir):
    """lifetimes' summary of the CDNOW calibration weeks, from the raw log, in weeks."""
    log = pd.read_csv(f"{data_dir}/cdnow/CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["original_id", "customer", "date", "cds", "dollars"],
                      dtype={"date": str, "customer": str})
    log["date"] = pd.to_datetime(log["date"], format="%Y%m%d")
    log["customer"] = log["customer"].astype(int).astype(str)  # "0001" -> "1", discount's id
    log = log[log["date"] <= pd.Timestamp("1997-09-30")]
    s = summary_data_from_transaction_data(log, "customer", "date", monetary_value_col="dollars",
                                           observation_period_end="1997-09-30", freq="D")
    s["recency"] /= 7.0
    s["T"] /= 7.0
    return s


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--discount", default="target/release/discount")
    parser.add_argument("--data-dir", default=os.environ.get("DISCOUNT_DATA_DIR", "../shared/data"))
    args = parser.parse_args()

    work = tempfile.mkdtemp()
    summary_csv, predictions_csv = f"{work}/cdnow_summary.csv", f"{work}/cdnow_predictions.csv"
    out = subprocess.run(
        [args.discount, "--json", "train", "ltv", "--dataset", "cdnow", "--data-dir", args.data_dir,
         "--write-summary", summary_csv, "--predictions", predictions_csv,
         "--horizon", str(HORIZON_WEEKS)],
        check=True, capture_output=True, text=True)
    ours = json.loads(out.stdout)
    ours_pred = pd.read_csv(predictions_csv, dtype={"customer": str}).set_index("customer")

    s = pd.read_csv(summary_csv, dtype={"customer": str}).set_index("customer")
    rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    start = time.perf_counter()
    bg = BetaGeoFitter(penalizer_coef=0.0)
    bg.fit(s["frequency"], s["recency"], s["T"])
    bg_seconds = time.perf_counter() - start
    start = time.perf_counter()
    gg = GammaGammaFitter(penalizer_coef=0.0)
    gg.fit(rep["frequency"], rep["monetary_value"])
    gg_seconds = time.perf_counter() - start
    lifetimes_seconds = bg_seconds + gg_seconds

    theirs_alive = bg.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
    theirs_purchases = bg.conditional_expected_number_of_purchases_up_to_time(
        HORIZON_WEEKS, s["frequency"], s["recency"], s["T"])
    ours_pred = ours_pred.loc[s.index]
    max_alive = float(np.max(np.abs(ours_pred["p_alive"].values - np.asarray(theirs_alive))))
    max_purchases = float(np.max(np.abs(ours_pred["expected_purchases"].values
                                        - np.asarray(theirs_purchases))))

    theirs_summary = lifetimes_summary(args.data_dir).loc[s.index]
    summary_diff = {c: float(np.max(np.abs(s[c].values - theirs_summary[c].values)))
                    for c in ("frequency", "recency", "T", "monetary_value")}

    ob, og = ours["bgnbd"], ours["gamma_gamma"]
    tb, tg = dict(bg.params_), dict(gg.params_)
    rows = [(f"BG/NBD {k}", ob[k], tb[k]) for k in ("r", "alpha", "a", "b")]
    rows.append(("BG/NBD log-likelihood", bgnbd_ll(ob, s), bgnbd_ll(tb, s)))
    rows += [(f"Gamma-Gamma {k}", og[k], tg[k]) for k in ("p", "q", "v")]
    rows.append(("Gamma-Gamma log-likelihood", gamma_gamma_ll(og, rep), gamma_gamma_ll(tg, rep)))

    print(f"CDNOW summary from discount: {len(s)} customers, {len(rep)} with repeat spend "
          f"(lifetimes {__import__('lifetimes').__version__}, numpy {np.__version__}, "
          f"pandas {pd.__version__})\n")
    print(f"{'quantity':<34}{'discount':>14}{'lifetimes':>14}{'abs diff':>12}")
    for name, a, b in rows:
        print(f"{name:<34}{a:>14.6f}{b:>14.6f}{abs(a - b):>12.2e}")
    for c, d in summary_diff.items():
        print(f"{'max |summary ' + c + ' diff|':<34}{'':>14}{'':>14}{d:>12.2e}")
    print(f"{'max |P(alive) diff| per customer':<34}{'':>14}{'':>14}{max_alive:>12.2e}")
    print(f"{'max |E[purchases, 39 wk] diff|':<34}{'':>14}{'':>14}{max_purchases:>12.2e}")
    print(f"{'fit seconds (both models)':<34}{ours['fit_seconds']:>14.4f}{lifetimes_seconds:>14.4f}"
          f"{'':>12}")
    print(f"fit time ratio lifetimes / discount: {lifetimes_seconds / ours['fit_seconds']:.1f}")


if __name__ == "__main__":
    sys.exit(main())
