#!/usr/bin/env python3
"""Vowpal Wabbit against `discount bandit learn` on the same logged bandit files.

For each format and --cb_type: runs VW (its C++ driver through the Python package: parser and
learner, progressive validation) and `discount bandit learn --json` on the same file; prints both
average losses, their relative difference, both wall times and the throughput ratio.
"""

import argparse
import json
import os
import subprocess
import sys
import time


def run_vw(args: str) -> tuple[float, float, float]:
    from vowpalwabbit import pyvw

    t0 = time.perf_counter()
    ws = pyvw.Workspace(args + " --quiet")
    ws.run_parser()
    loss = ws.get_sum_loss() / max(ws.get_weighted_examples(), 1.0)
    examples = ws.get_weighted_examples()
    ws.finish()
    return loss, examples, time.perf_counter() - t0


def run_discount(binary: str, args: list[str]) -> tuple[dict, float]:
    t0 = time.perf_counter()
    out = subprocess.run([binary, "--json", "bandit", "learn", *args], check=True,
                         capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    return json.loads(out.stdout), seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--discount", required=True, help="the discount binary")
    ap.add_argument("--prefix", required=True, help="path prefix of PREFIX.cb.txt and PREFIX.adf.txt")
    ap.add_argument("--actions", type=int, default=10)
    ap.add_argument("--cb-types", default="mtr", help="comma-separated: mtr,ips,dr")
    ap.add_argument("--formats", default="adf,cb", help="comma-separated: adf,cb")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = ap.parse_args()

    import vowpalwabbit
    rows = []
    for fmt in args.formats.split(","):
        path = f"{args.prefix}.{fmt}.txt"
        size_mb = os.path.getsize(path) / 1e6
        for cb_type in args.cb_types.split(","):
            if fmt == "adf":
                vw_args = f"--cb_explore_adf -q sa --cb_type {cb_type} -d {path}"
                d_args = ["--log", path, "--format", "vw-cb-adf", "--cb-type", cb_type]
            else:
                vw_args = f"--cb_explore {args.actions} --cb_type {cb_type} -d {path}"
                d_args = ["--log", path, "--format", "vw-cb", "--actions", str(args.actions),
                          "--cb-type", cb_type]
            print(f"vw {vw_args}", file=sys.stderr)
            vw_loss, examples, vw_s = run_vw(vw_args)
            print(f"discount bandit learn {' '.join(d_args)}", file=sys.stderr)
            rep, d_s = run_discount(args.discount, d_args)
            rows.append({
                "format": fmt, "cb_type": cb_type, "rows": rep["rows"], "file_mb": round(size_mb, 1),
                "vw_version": vowpalwabbit.__version__,
                "vw_loss": vw_loss, "vw_examples": examples, "vw_seconds": vw_s,
                "discount_loss": rep["average_loss"], "discount_seconds": d_s,
                "discount_inner_seconds": rep["seconds"],
                "logged_mean_cost": rep["logged_average_cost"],
                "loss_relative_difference": (rep["average_loss"] - vw_loss) / abs(vw_loss),
                "speed_ratio": vw_s / d_s,
            })
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"VW {vowpalwabbit.__version__} against discount, same files, wall time of each whole run")
    head = (f"{'format':7} {'cb_type':7} {'rows':>9} {'VW loss':>10} {'discount loss':>14} {'diff':>7} "
            f"{'VW s':>7} {'discount s':>10} {'VW rows/s':>10} {'discount rows/s':>15} {'ratio':>6}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['format']:7} {r['cb_type']:7} {r['rows']:>9} {r['vw_loss']:>10.5f} "
              f"{r['discount_loss']:>14.5f} {100 * r['loss_relative_difference']:>6.2f}% "
              f"{r['vw_seconds']:>7.2f} {r['discount_seconds']:>10.2f} "
              f"{r['rows'] / r['vw_seconds']:>10.0f} {r['rows'] / r['discount_seconds']:>15.0f} "
              f"{r['speed_ratio']:>5.1f}x")
    print("(loss: progressive validation, mean of pi(logged | x) * cost / probability; the logged "
          f"uniform policy's mean cost is {rows[0]['logged_mean_cost']:.5f})")


if __name__ == "__main__":
    main()
