#!/usr/bin/env bash
# The main job: installs what is missing, builds Release, and runs the default scaling study
# on this machine: matmul (n = 1024) and reduction (n = 2^26) as seq (every variant), omp on 1,
# 2, 4, ... threads and mpi on 1, 2, 4, ... ranks up to the CPUs it may use (1 and 2 on two),
# plus a labelled oversubscribed point of twice as many ranks, and hybrid (ranks x threads
# within the CPUs), strong scaling. Every run is verified; the report prints the speedup of
# each against the best sequential variant with that baseline's absolute time.
#
#   scripts/run.sh [OUTPUT_DIR] [-- more `pararun study` options]
# Environment: MATMUL_N (1024), REDUCTION_N (2^26), THREADS (auto), RANKS (auto), REPS (5).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

dir=""
if [ $# -gt 0 ] && [ "$1" != "--" ]; then dir=$1; shift; fi
[ "${1:-}" = "--" ] && shift
prepare_run study results.jsonl "$dir"
"$exe" study --kernels matmul,reduction --backends seq,omp,mpi,hybrid \
  --sizes "matmul=${MATMUL_N:-1024},reduction=${REDUCTION_N:-2^26}" \
  --threads "${THREADS:-auto}" --ranks "${RANKS:-auto}" --oversubscribed-ranks "$((2 * $(nproc)))" \
  --reps "${REPS:-5}" --out "$out_dir" "$@"
