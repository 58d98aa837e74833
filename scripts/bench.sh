#!/usr/bin/env bash
# Benchmark, not a test: ParaRun's GEMM and reduction side by side with OpenBLAS (as shipped
# and with its best kernel for this CPU), Eigen, naive loops, this machine's measured ceilings
# and likwid-bench's independent ceilings (Debian likwid, installed when missing), in one
# invocation. Prints GFLOP/s or GB/s and the ratios, headed by the CPU model; keeps every record.
#
#   scripts/bench.sh [OUTPUT_DIR]      (default: results/bench-<UTC time>)
# What runs is data: scripts/bench.yaml, a batch manifest (`pararun batch run`, one job at a
# time on every core, each labelled). This script measures the ceilings before and after it
# and prints the tables (scripts/bench_table.py).
# Environment: PARTS ("gemm mpi reduction kernels npb": the manifest's tags that run),
# MANIFEST (scripts/bench.yaml: a copy with other sizes, reps or jobs), PAIRED_ROUNDS (3: rounds
# of likwid-bench and ParaRun one right after the other: its load, then the reduction, with
# "reduction" in PARTS; its FMA peak, then GEMM and OpenBLAS at n = 1024 and 2048, with "gemm").
# GEMM: `blocked` is ParaRun's best micro-kernel; on an AVX-512 CPU `blocked-avx2` runs too,
# so both paths are measured on whichever machine runs this. OpenBLAS's AVX-512 kernel
# (OPENBLAS_CORETYPE=SkylakeX) runs only where the CPU has AVX-512 (it dies with SIGILL on a
# Zen 3; the manifest's cpu_flags leave it out there); elsewhere its own choice is its best.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PARTS=${PARTS:-gemm mpi reduction kernels npb}
MANIFEST=${MANIFEST:-$PARARUN_ROOT/scripts/bench.yaml}
PAIRED_ROUNDS=${PAIRED_ROUNDS:-3}
case $PAIRED_ROUNDS in '' | *[!0-9]*)
  echo "bench.sh: error: PAIRED_ROUNDS must be a whole number >= 0, got '$PAIRED_ROUNDS'" >&2
  exit 2 ;;
esac
# The manifest and its parts, checked before anything is installed, built or measured (a typo
# in PARTS was seen only after the build and the ceilings, as "no job is left to run").
PARTS=${PARTS//,/ }
if [ ! -f "$MANIFEST" ] || [ ! -r "$MANIFEST" ]; then
  echo "bench.sh: error: MANIFEST '$MANIFEST' is not a readable file" >&2
  exit 2
fi
read -ra parts <<<"$PARTS"  # (words, never globbed: PARTS='*' named this folder's files)
for part in ${parts[@]+"${parts[@]}"}; do
  # (A word of the manifest outside its comments: tags may be a list, a block, any words.)
  if ! grep -v '^[[:space:]]*#' "$MANIFEST" | grep -Fqw -- "$part"; then
    echo "bench.sh: error: PARTS: no job of $MANIFEST is tagged '$part'" >&2
    exit 2
  fi
done
[ -n "${PARTS// /}" ] || { echo "bench.sh: error: PARTS is empty" >&2; exit 2; }
prepare_run bench batch "${1:-}"
# likwid-bench's independent ceilings (the reduction's target is against its load): installed
# where the package archive has it; the benchmark runs without them otherwise.
ensure_deps likwid || log "likwid could not be installed; its ceilings are left out"

has_avx512=0
grep -qw avx512f /proc/cpuinfo && has_avx512=1
lscpu > "$out_dir/lscpu.txt"
threads="1"; [ "$(nproc)" -gt 1 ] && threads="1 $(nproc)"

# likwid-bench (Debian likwid), when installed: ceilings from code that is not ParaRun's.
# The FMA peak and the loads with the widest vectors the CPU has, as `pararun ceilings` uses
# (like with like: on an Emerald Rapids Xeon 256-bit loads read 9.5 GB/s on one core, 512-bit
# loads 12.3).
if command -v likwid-bench >/dev/null; then
  log "likwid-bench ceilings"
  fma_test=peakflops_avx_fma load_test=load_avx
  [ $has_avx512 = 1 ] && fma_test=peakflops_avx512_fma load_test=load_avx512
  {
    for t in $threads; do
      likwid-bench -t $fma_test -w "S0:32kB:$t" 2>/dev/null | sed "s/^/fma $t /"
      likwid-bench -t $load_test -w "S0:1GB:$t" 2>/dev/null | sed "s/^/load $t /"
    done
  } > "$out_dir/likwid.txt" || log "likwid-bench failed; its ceilings are left out"
fi

# Ceilings are measured before and after the runs; the table takes the higher of the two
# (a dip from the shared host lowers one sample, never raises it).
log "measuring ceilings"
"$exe" ceilings --json > "$out_dir/ceilings-before.json"

# This machine's environment may pin OpenBLAS to a core type; "as shipped" means unset (the
# manifest's OpenBLAS jobs set their own).
unset OPENBLAS_CORETYPE
log "running $MANIFEST (tags: $PARTS)"
# A failed job is recorded as failed and left out of the tables; the batch goes on.
"$exe" batch run "$MANIFEST" --out "$out_dir/batch" --tags "${PARTS// /,}" ||
  log "exit $? from the batch: see $out_dir/batch (pararun batch status)"

log "measuring ceilings again"
"$exe" ceilings --json > "$out_dir/ceilings-after.json"

# Ratios side by side, each round's runs right after its likwid-bench: this host's memory
# bandwidth drifts by 20% within minutes and its FMA rate by several percent, and the batch's
# jobs run minutes after the ceilings above (issue #14 asks for ratios measured side by side).
# Reduction: likwid-bench's load, then the reduction's variants. GEMM: likwid-bench's FMA peak,
# then ParaRun's `blocked` and OpenBLAS's best kernel for this CPU (SkylakeX where AVX-512
# exists: the batch's table takes the best of it and OpenBLAS as shipped), n = 1024 and 2048.
paired=()
want_gemm=0 want_reduction=0
[[ " $PARTS " == *" gemm "* ]] && want_gemm=1
[[ " $PARTS " == *" reduction "* ]] && want_reduction=1
if [ $((want_gemm + want_reduction)) -gt 0 ] && [ -s "$out_dir/likwid.txt" ] && [ "$PAIRED_ROUNDS" -gt 0 ]; then
  log "ParaRun and likwid-bench in alternation, $PAIRED_ROUNDS rounds"
  # OpenBLAS as the manifest runs it: its own threads unbound (bound, both share core 0), and
  # its AVX-512 kernel where the CPU has AVX-512.
  best_blas=(env -u OMP_PLACES OMP_PROC_BIND=false)
  [ $has_avx512 = 1 ] && best_blas+=(OPENBLAS_CORETYPE=SkylakeX)
  # One run of the round, labelled with it, on t threads; a failure is logged.
  paired_run() {
    env PARARUN_LABEL=round$round "$@" -b $backend -t "$t" --out "$out_dir/paired-runs.jsonl" \
      > /dev/null || log "exit $? from a paired run (${*: -6}, $t threads)"
  }
  for round in $(seq "$PAIRED_ROUNDS"); do
    for t in $threads; do
      backend=seq; [ "$t" -gt 1 ] && backend=omp
      if [ $want_gemm = 1 ]; then
        likwid-bench -t $fma_test -w "S0:32kB:$t" 2>/dev/null | sed "s/^/round$round fma $t /" \
          >> "$out_dir/paired-likwid.txt" || true
        for n in 1024 2048; do  # which of the two runs first alternates from round to round
          blocked=("$exe" run matmul -v blocked -n $n -r 5)
          blas=("${best_blas[@]}" "$exe" run matmul -v blas -n $n -r 5)
          if [ $((round % 2)) = 1 ]; then
            paired_run "${blocked[@]}"; paired_run "${blas[@]}"
          else
            paired_run "${blas[@]}"; paired_run "${blocked[@]}"
          fi
        done
      fi
      if [ $want_reduction = 1 ]; then
        likwid-bench -t $load_test -w "S0:1GB:$t" 2>/dev/null | sed "s/^/round$round load $t /" \
          >> "$out_dir/paired-likwid.txt" || true
        for variant in simd reproducible; do
          paired_run "$exe" run reduction -v $variant -n 2^26 -r 10
        done
      fi
    done
  done
  [ -s "$out_dir/paired-runs.jsonl" ] && [ -s "$out_dir/paired-likwid.txt" ] &&
    paired=(--paired "$out_dir/paired-likwid.txt" "$out_dir/paired-runs.jsonl")
fi

likwid=(); [ -s "$out_dir/likwid.txt" ] && likwid=(--likwid "$out_dir/likwid.txt")
python3 "$PARARUN_ROOT/scripts/bench_table.py" "${likwid[@]}" "${paired[@]}" \
  "$out_dir/batch/results.jsonl" "$out_dir/ceilings-before.json" "$out_dir/ceilings-after.json" |
  tee "$out_dir/bench.txt"
