#!/usr/bin/env bash
# Concurrency is not parallelism, measured: runs `pararun concurrency`, keeps the records and
# draws the bar chart.
#   scripts/concurrency.sh [OUTPUT_DIR] [-- pararun concurrency options, e.g. --tasks 8]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
dir=""
if [ $# -gt 0 ] && [ "$1" != "--" ]; then dir=$1; shift; fi
[ "${1:-}" = "--" ] && shift
prepare_run concurrency concurrency.jsonl "$dir"
"$exe" concurrency --out "$out_dir/concurrency.jsonl" "$@" | tee "$out_dir/concurrency.txt"
/usr/bin/python3 "$PARARUN_ROOT/scripts/plot_concurrency.py" "$out_dir/concurrency.jsonl" \
  "$out_dir/concurrency.png" >/dev/null
echo "Records: $out_dir/concurrency.jsonl   Plot: $out_dir/concurrency.png"
