#!/usr/bin/env bash
# Benchmark, not a test: what `pararun batch` costs and what it gains on this node.
#   1. Scheduling overhead per job: N_TRIVIAL trivial jobs (a 1000-element reduction, one
#      repetition) through `pararun batch run --cores 1`, against the same `pararun run`
#      commands one after another in a shell loop; (batch - loop) / jobs, median of REPEATS.
#   2. Throughput of single-core jobs: N_JOBS GEMM jobs (n = 640, ~0.1 s each) on 1 core and
#      on every core: the ratio of the makespans (target >= 1.9x on 2 cores).
#   3. The same cores spent two ways (`batch run --compare`): every job at once with one core
#      each, or one job at a time with every core; for a GEMM that scales, a memory-bound
#      reduction, and NPB CG class S, which does not scale at this size.
#   Sections 2 and 3 run without the runs' warm-up time (PARARUN_WARMUP_TIME=0).
#
#   scripts/bench_batch.sh [OUTPUT_DIR]      (default: results/bench-batch-<UTC time>)
# Environment: N_TRIVIAL (1000), N_JOBS (40), REPEATS (3).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

N_TRIVIAL=${N_TRIVIAL:-1000}
N_JOBS=${N_JOBS:-40}
REPEATS=${REPEATS:-3}
for v in N_TRIVIAL N_JOBS REPEATS; do  # (they go into the manifests and the arithmetic below)
  case ${!v} in '' | 0* | *[!0-9]*)
    echo "bench_batch.sh: error: $v must be a whole number of at least 1, got '${!v}'" >&2
    exit 2 ;;
  esac
done
prepare_run bench-batch summary.txt "${1:-}"
cores=$(nproc)
lscpu >"$out_dir/lscpu.txt"
model=$(sed -n 's/^Model name: *//p' "$out_dir/lscpu.txt")
family=$(sed -n 's/^CPU family: *//p' "$out_dir/lscpu.txt")
cpu_model=$(sed -n 's/^Model: *//p' "$out_dir/lscpu.txt")
summary="$out_dir/summary.txt"
say() { echo "$*" | tee -a "$summary"; }
seconds() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["makespan_s"])' "$1"; }
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
now() { date +%s.%N; }
# quietly LOG CMD...: runs CMD with its output in LOG; a failure stops the benchmark with its
# reason (the figures after it would be of a run that did not happen).
quietly() {
  local log=$1 rc=0
  shift
  "$@" >"$log" 2>&1 || rc=$?
  [ "$rc" = 0 ] && return 0
  echo "bench_batch: $* failed (exit $rc); the end of its output ($log):" >&2
  tail -5 "$log" >&2
  exit 1
}

say "pararun batch on $model (family $family, model $cpu_model), $cores CPUs, $(date -u +%FT%TZ)"

# 1. Overhead per job.
cat >"$out_dir/trivial.yaml" <<EOF
jobs:
  - kernel: reduction
    backend: seq
    size: 1000
    reps: 1
    max_reps: 1
    warmup: 0
    seed: 1:$N_TRIVIAL:+1
EOF
batch_s=() loop_s=() idle_ms=()
for rep in $(seq "$REPEATS"); do
  log "overhead, round $rep: $N_TRIVIAL trivial jobs through batch (1 core) and a shell loop"
  d="$out_dir/trivial-$rep"
  quietly "$d.log" "$exe" batch run "$out_dir/trivial.yaml" --cores 1 -o "$d"
  batch_s+=("$(seconds "$d/summary.json")")
  idle_ms+=("$(python3 -c 'import json,sys; print(1e3*json.load(open(sys.argv[1]))["idle_core_s_per_job"])' "$d/summary.json")")
  t0=$(now)
  for i in $(seq "$N_TRIVIAL"); do
    taskset -c 0 "$exe" run reduction -b seq -n 1000 -r 1 --max-reps 1 -w 0 -s "$i" \
      -o "$out_dir/loop-$rep.jsonl" >/dev/null
  done
  loop_s+=("$(python3 -c "print($(now) - $t0)")")
done
b=$(median "${batch_s[@]}") l=$(median "${loop_s[@]}") i=$(median "${idle_ms[@]}")
say "1. $N_TRIVIAL trivial jobs on 1 core, median of $REPEATS: batch $(printf %.2f "$b") s, shell loop $(printf %.2f "$l") s"
say "   overhead per job: $(python3 -c "print(f'{($b - $l) / $N_TRIVIAL * 1e3:.2f}')") ms over the loop (target <= 5 ms); the core stood idle $(printf %.2f "$i") ms per job between jobs"

# 2. Throughput of single-core jobs on 1 core and on every core (without the 1 s warm-up
# time: the jobs stay ~0.1 s, so the batch's own costs show).
cat >"$out_dir/single.yaml" <<EOF
jobs:
  - kernel: matmul
    backend: seq
    size: 640
    reps: 3
    max_reps: 3
    seed: 1:$N_JOBS:+1
EOF
one=() all=()
for rep in $(seq "$REPEATS"); do
  log "throughput, round $rep: $N_JOBS single-core jobs on 1 and on $cores cores"
  # (The jobs inherit the batch's PARARUN_WARMUP_TIME; a manifest's env cannot set it.)
  PARARUN_WARMUP_TIME=0 quietly "$out_dir/single-1core-$rep.log" \
    "$exe" batch run "$out_dir/single.yaml" --cores 1 -o "$out_dir/single-1core-$rep"
  PARARUN_WARMUP_TIME=0 quietly "$out_dir/single-${cores}cores-$rep.log" \
    "$exe" batch run "$out_dir/single.yaml" --cores "$cores" -o "$out_dir/single-${cores}cores-$rep"
  one+=("$(seconds "$out_dir/single-1core-$rep/summary.json")")
  all+=("$(seconds "$out_dir/single-${cores}cores-$rep/summary.json")")
done
o=$(median "${one[@]}") a=$(median "${all[@]}")
say "2. $N_JOBS single-core GEMM jobs (n=640), median of $REPEATS: 1 core $(printf %.2f "$o") s, $cores cores $(printf %.2f "$a") s: $(python3 -c "print(f'{$o / $a:.2f}')")x throughput (target >= 1.9x on 2 cores)"

# 3. Throughput against latency on the same cores.
cat >"$out_dir/compare.yaml" <<EOF
jobs:
  - kernel: matmul
    backend: omp
    size: 768
    reps: 3
    repeat: 8
  - kernel: reduction
    backend: omp
    size: 2^24
    reps: 5
    repeat: 8
  - kernel: cg
    backend: omp
    size: S
    reps: 3
    repeat: 8
EOF
for kernel in matmul reduction cg; do
  python3 - "$out_dir/compare.yaml" "$out_dir/compare-$kernel.yaml" "$kernel" <<'PY'
import sys
text = open(sys.argv[1]).read().split("  - ")
head, jobs = text[0], text[1:]
open(sys.argv[2], "w").write(head + "".join("  - " + j for j in jobs if j.startswith("kernel: " + sys.argv[3])))
PY
  log "throughput vs latency: $kernel"
  say "3. $kernel:"
  # A failed job leaves the comparison of the others standing: said, and the next kernel runs.
  # No warm-up time: a fixed second per job would hide how the kernels scale.
  PARARUN_WARMUP_TIME=0 "$exe" batch run "$out_dir/compare-$kernel.yaml" --compare -o "$out_dir/compare-$kernel" \
    2>"$out_dir/compare-$kernel.log" | tee -a "$summary" ||
    say "   a job of $kernel failed (exit ${PIPESTATUS[0]}): see $out_dir/compare-$kernel.log"
done
say "records and summaries: $out_dir"
