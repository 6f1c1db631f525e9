#!/usr/bin/env bash
# Learning from a logged contextual-bandit data set: Vowpal Wabbit 9.x (from PyPI) against
# `discount bandit learn` on the same files. Run from anywhere; extra arguments go to compare_vw.py
# (e.g. --cb-types mtr,ips,dr). ROWS (default 1000000) and SEED (default 17) choose the data set.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
rows="${ROWS:-1000000}"
seed="${SEED:-17}"

if [ ! -x "$here/.venv/bin/python" ]; then
    python3 -m venv "$here/.venv"
fi
"$here/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"

cargo build --release -p discount-cli
bin="$root/target/release/discount"

mkdir -p "$here/data"
prefix="$here/data/bandit-$rows-$seed"
if [ ! -s "$prefix.adf.txt" ] || [ ! -s "$prefix.cb.txt" ]; then
    "$here/.venv/bin/python" "$here/generate.py" --rows "$rows" --seed "$seed" --out "$prefix"
fi

"$here/.venv/bin/python" "$here/compare_vw.py" --discount "$bin" --prefix "$prefix" "$@"
