"""BG/NBD and Gamma-Gamma on the CDNOW sample with the Python `lifetimes` library, timed, next to
`discount train ltv`.

    pip install lifetimes pandas
    python benchmarks/ltv/lifetimes_bgnbd.py /work/shared/data/cdnow [path/to/discount]

Prints the fitted parameters and the fit time of each library, and the ratio.
"""

import json
import subprocess
import sys
import time

import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/cdnow"
    discount = sys.argv[2] if len(sys.argv) > 2 else "target/release/discount"

    log = pd.read_csv(
        f"{data}/CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["original_id", "customer", "date", "cds", "dollars"],
        dtype={"date": str},
    )
    log["date"] = pd.to_datetime(log["date"], format="%Y%m%d")
    calibration_end = pd.Timestamp("1997-09-30")
    holdout_end = pd.Timestamp("1998-06-30")
    daily = log.groupby(["customer", "date"], as_index=False)["dollars"].sum()
    first = daily.groupby("customer")["date"].min().rename("first")
    daily = daily.join(first, on="customer")
    cal = daily[daily["date"] <= calibration_end]
    summary = pd.DataFrame(
        {
            "frequency": cal.groupby("customer").size() - 1,
            "recency": (cal.groupby("customer")["date"].max() - first).dt.days / 7.0,
            "T": (calibration_end - first).dt.days / 7.0,
        }
    )
    repeat = cal[cal["date"] > cal["first"]]
    summary["monetary"] = repeat.groupby("customer")["dollars"].mean()
    summary["monetary"] = summary["monetary"].fillna(0.0)
    holdout = daily[(daily["date"] > calibration_end) & (daily["date"] <= holdout_end)]
    summary["holdout"] = holdout.groupby("customer").size()
    summary["holdout"] = summary["holdout"].fillna(0)

    start = time.perf_counter()
    bg = BetaGeoFitter(penalizer_coef=0.0)
    bg.fit(summary["frequency"], summary["recency"], summary["T"])
    rep = summary[summary["frequency"] > 0]
    gg = GammaGammaFitter(penalizer_coef=0.0)
    gg.fit(rep["frequency"], rep["monetary"])
    python_seconds = time.perf_counter() - start
    predicted = bg.conditional_expected_number_of_purchases_up_to_time(
        39, summary["frequency"], summary["recency"], summary["T"]
    )
    print("lifetimes BG/NBD:", {k: round(v, 4) for k, v in bg.params_.items()})
    print("lifetimes Gamma-Gamma:", {k: round(v, 4) for k, v in gg.params_.items()})
    print("lifetimes forecast total weeks 40-78: %.1f (actual %d), correlation %.4f"
          % (predicted.sum(), summary["holdout"].sum(), predicted.corr(summary["holdout"])))
    print("lifetimes fit seconds (both models): %.3f" % python_seconds)

    start = time.perf_counter()
    out = subprocess.run([discount, "train", "ltv", "--json"], check=True,
                         capture_output=True, text=True,
                         env={"DISCOUNT_DATA_DIR": data.rsplit("/cdnow", 1)[0], "PATH": ""})
    wall = time.perf_counter() - start
    rust = json.loads(out.stdout)
    print("discount BG/NBD:", rust["bgnbd"], "LL", round(rust["bgnbd_log_likelihood"], 2))
    print("discount Gamma-Gamma:", rust["gamma_gamma"])
    print("discount fit seconds (both models): %.3f (whole command %.3f s)"
          % (rust["fit_seconds"], wall))
    print("ratio lifetimes / discount fit time: %.1f" % (python_seconds / rust["fit_seconds"]))


if __name__ == "__main__":
    main()
