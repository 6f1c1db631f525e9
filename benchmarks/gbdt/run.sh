#!/usr/bin/env bash
# Gradient-boosted trees: discount's against scikit-learn's HistGradientBoostingClassifier on the same
# five folds of the UCI online shoppers sessions. Run from anywhere; extra arguments go to compare_hgb.py.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

if [ ! -x "$here/.venv/bin/python" ]; then
    python3 -m venv "$here/.venv"
fi
"$here/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"

cargo build --release -p discount-cli
bin="$root/target/release/discount"

# The seeded folds (seed 2026), written by discount itself; the logistic model is the quickest way there.
"$bin" train propensity --dataset online-shoppers --model logistic --write-folds "$here/folds.csv" \
    --models-dir "$here/models" --json > /dev/null

"$here/.venv/bin/python" "$here/compare_hgb.py" --folds "$here/folds.csv" --discount "$bin" \
    --models-dir "$here/models" "$@"
