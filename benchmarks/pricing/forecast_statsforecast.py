"""AutoETS (statsforecast) on the tuna series at the same rolling origins as `discount price forecast`,
WAPE on the same weeks."""
import json
import sys
import time

import numpy as np
import pandas as pd
from statsforecast.models import AutoETS

sales_path, ours_path = sys.argv[1], sys.argv[2]
out = json.load(open(ours_path))
bt = out["backtest"]
horizon = bt["horizon"]
origins = pd.to_datetime(bt["origins"])
df = pd.read_csv(sales_path, parse_dates=["date"]).sort_values(["series", "date"])

started = time.perf_counter()
abs_err, actual, points = 0.0, 0.0, 0
for series, d in df.groupby("series"):
    for origin in origins:
        train = d[d.date <= origin]
        test = d[(d.date > origin) & (d.date <= origin + pd.Timedelta(weeks=horizon))]
        if len(train) < 40 or test.empty:
            continue
        model = AutoETS(season_length=52).fit(train.units.to_numpy(dtype=float))
        # The series has gaps: forecast by weeks after the origin, as discount does.
        steps = ((test.date - origin).dt.days // 7).to_numpy()
        mean = model.predict(h=int(steps.max()))["mean"]
        forecast = mean[steps - 1]
        abs_err += np.abs(test.units.to_numpy() - forecast).sum()
        actual += test.units.sum()
        points += len(test)
peer_seconds = time.perf_counter() - started
print(f"{points} forecasts (discount: {bt['points']})")
print(f"WAPE: discount {bt['wape']:.3f}, AutoETS {abs_err / actual:.3f}, seasonal naive {bt['wape_seasonal_naive']:.3f}")
print(f"time: AutoETS {peer_seconds:.1f} s, discount {out['seconds']:.2f} s: ratio {peer_seconds / out['seconds']:.0f}")
