#!/usr/bin/env bash
# The main job: installs what is missing, builds Release, runs matmul and reduction as seq,
# omp, mpi and hybrid, verifies every run and prints the speedup of each against the best
# sequential variant, with that baseline's absolute time.
#
#   scripts/run.sh [OUTPUT_DIR]        (default: results/run-<UTC time>)
# Environment: MATMUL_N (1024), REDUCTION_N (2^26), THREADS (2), RANKS (2),
#              HYBRID ("1x2": ranks x threads per rank), REPS (5).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

MATMUL_N=${MATMUL_N:-1024}
REDUCTION_N=${REDUCTION_N:-2^26}
THREADS=${THREADS:-2}
RANKS=${RANKS:-2}
HYBRID=${HYBRID:-1x2}
REPS=${REPS:-5}
prepare_run run results.jsonl "${1:-}"
results="$out_dir/results.jsonl"
hybrid_ranks=${HYBRID%x*}
hybrid_threads=${HYBRID#*x}

failed=0
point() {  # point LAUNCHER... -- pararun run arguments
  local launcher=()
  while [ "$1" != "--" ]; do launcher+=("$1"); shift; done
  shift
  log "$* ${launcher[*]:+(${launcher[*]})}"
  local rc=0
  "${launcher[@]}" "$exe" run "$@" --reps "$REPS" --out "$results" >/dev/null || rc=$?
  case $rc in
    0) ;;
    1) failed=$((failed + 1)); log "verification FAILED (recorded, no speedup)" ;;
    *) log "pararun exited with $rc; stopping"; exit "$rc" ;;
  esac
}

variants() { "$exe" list | awk -v k="$1" -v b="$2" '$1 == k && $2 == b { print $3 }'; }

for spec in "matmul $MATMUL_N" "reduction $REDUCTION_N"; do
  set -- $spec
  kernel=$1 size=$2
  for v in $(variants "$kernel" seq); do point -- "$kernel" -b seq -v "$v" -n "$size"; done
  for v in $(variants "$kernel" omp); do point -- "$kernel" -b omp -v "$v" -n "$size" -t "$THREADS"; done
  for v in $(variants "$kernel" mpi); do
    point mpirun -n "$RANKS" --bind-to core -- "$kernel" -b mpi -v "$v" -n "$size"
  done
  for v in $(variants "$kernel" hybrid); do
    point mpirun -n "$hybrid_ranks" --map-by "slot:PE=$hybrid_threads" --bind-to core -- \
      "$kernel" -b hybrid -v "$v" -n "$size" -t "$hybrid_threads"
  done
done

echo
"$exe" report "$results" --csv "$out_dir/speedup.csv"
echo
echo "Records: $results   Table: $out_dir/speedup.csv"
[ "$failed" -eq 0 ] || { echo "$failed run(s) failed verification" >&2; exit 1; }
