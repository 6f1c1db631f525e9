#!/usr/bin/env python3
"""implicit 0.7.3's ALS over a grid of settings on one MovieLens implicit split, one JSON line per setting, the
same lines `cargo run --release -p discount-recommend --features train --example als_grid` prints for
discount's ALS. Used to tune both libraries on a validation split (seed 1) and compare them on the reported one
(seed 42); see README.md.

Not part of CI. Needs `pip install implicit==0.7.3 pandas scipy`.

Usage (from the repository root):
    python benchmarks/cf/als_grid_implicit.py --seed 1 --out /tmp/ml100k_split_seed1.csv \
        --factors 32,64 --regularisation 10,30 --alpha 5,10 --iterations 15,30
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from implicit_split import implicit_als, write_split  # noqa: E402


def numbers(text, kind):
    return [kind(v) for v in text.split(",")]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("DISCOUNT_DATA_DIR", "../shared/data"))
    parser.add_argument("--out", required=True, help="the split file to write (MovieLens rows: keep it out of the repository)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--factors", default="32")
    parser.add_argument("--regularisation", default="30")
    parser.add_argument("--alpha", default="5")
    parser.add_argument("--iterations", default="15")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    split = write_split(args.data_dir, args.out, args.seed)
    for f in numbers(args.factors, int):
        for reg in numbers(args.regularisation, float):
            for alpha in numbers(args.alpha, float):
                for its in numbers(args.iterations, int):
                    r = implicit_als(split, dict(factors=f, regularization=reg, iterations=its, random_state=7,
                                                 num_threads=args.threads), 1.0 + alpha)
                    print(json.dumps({"factors": f, "regularisation": reg, "alpha": alpha, "iterations": its, **r}),
                          flush=True)


if __name__ == "__main__":
    main()
