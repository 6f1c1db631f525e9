#!/usr/bin/env python3
"""A logged contextual-bandit data set, written in both of Vowpal Wabbit's text formats.

Each row: a context of 20 features x ~ N(0, 1) rounded to 3 decimals; one of 10 actions logged
uniformly at random (probability 0.1); a reward r ~ Bernoulli(sigmoid(x . theta_a - 2)) of the
logged action, where theta_a ~ N(0, 0.3^2) per feature is drawn once from the seed. The cost VW
learns from is -r (a reward of 1 is a cost of -1).

Writes, for the same rows:
  PREFIX.cb.txt   `--cb_explore 10` lines:  `a:cost:0.1 |s 0:x0 1:x1 ...` (a = 1..10)
  PREFIX.adf.txt  `--cb_explore_adf` blocks: `shared |s 0:x0 ...`, one `|a a` line per action
                  (a = 0..9) with `0:cost:0.1` on the logged one, and a blank line

Pure Python (no dependencies), seeded: the same arguments always write the same bytes.
"""

import argparse
import math
import random

FEATURES = 20
ACTIONS = 10
PROBABILITY = 0.1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--out", default="bandit", help="path prefix of the two files")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    theta = [[rng.gauss(0.0, 0.3) for _ in range(FEATURES)] for _ in range(ACTIONS)]
    names = [str(i) for i in range(FEATURES)]
    action_lines = [f"|a {a}\n" for a in range(ACTIONS)]
    rewarded = 0
    with open(f"{args.out}.cb.txt", "w") as cb, open(f"{args.out}.adf.txt", "w") as adf:
        for _ in range(args.rows):
            x = [round(rng.gauss(0.0, 1.0), 3) for _ in range(FEATURES)]
            a = rng.randrange(ACTIONS)
            z = sum(t * v for t, v in zip(theta[a], x)) - 2.0
            r = 1 if rng.random() < 1.0 / (1.0 + math.exp(-z)) else 0
            rewarded += r
            cost = -r
            feats = " ".join(f"{n}:{v:.3f}" for n, v in zip(names, x))
            cb.write(f"{a + 1}:{cost}:{PROBABILITY} |s {feats}\n")
            block = [f"shared |s {feats}\n"]
            for k in range(ACTIONS):
                block.append(f"0:{cost}:{PROBABILITY} {action_lines[k]}" if k == a else action_lines[k])
            block.append("\n")
            adf.write("".join(block))
    print(f"{args.rows} rows, {ACTIONS} actions, {FEATURES} features, seed {args.seed}: "
          f"mean reward {rewarded / max(args.rows, 1):.4f} -> {args.out}.cb.txt, {args.out}.adf.txt")


if __name__ == "__main__":
    main()
