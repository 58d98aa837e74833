#!/usr/bin/env bash
# The main job: installs what is missing, builds Release, and runs the default scaling study
# on this machine: matmul (n = 1024) and reduction (n = 2^26) as seq (every variant), omp on 1
# and 2 threads, mpi on 1 and 2 ranks plus a labelled oversubscribed 4-rank point, and hybrid
# (ranks x threads), strong scaling. Every run is verified; the report prints the speedup of
# each against the best sequential variant with that baseline's absolute time.
#
#   scripts/run.sh [OUTPUT_DIR] [-- more `pararun study` options]
# Environment: MATMUL_N (1024), REDUCTION_N (2^26), THREADS (1,2), RANKS (1,2), REPS (5).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

dir=""
if [ $# -gt 0 ] && [ "$1" != "--" ]; then dir=$1; shift; fi
[ "${1:-}" = "--" ] && shift
prepare_run study results.jsonl "$dir"
"$exe" study --kernels matmul,reduction --backends seq,omp,mpi,hybrid \
  --sizes "matmul=${MATMUL_N:-1024},reduction=${REDUCTION_N:-2^26}" \
  --threads "${THREADS:-1,2}" --ranks "${RANKS:-1,2}" --oversubscribed-ranks 4 \
  --reps "${REPS:-5}" --out "$out_dir" "$@"
