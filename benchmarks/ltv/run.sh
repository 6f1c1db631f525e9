#!/usr/bin/env bash
# Installs lifetimes into benchmarks/ltv/.venv (once) and compares it with discount on CDNOW.
#   benchmarks/ltv/run.sh [path/to/discount] [data dir]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
discount="${1:-$root/target/release/discount}"
data="${2:-${DISCOUNT_DATA_DIR:-$root/../shared/data}}"
if [ ! -x "$here/.venv/bin/python" ]; then
    python3 -m venv "$here/.venv"
    "$here/.venv/bin/pip" install --quiet -r "$here/requirements.txt"
fi
"$here/.venv/bin/python" "$here/compare_lifetimes.py" --discount "$discount" --data-dir "$data"
