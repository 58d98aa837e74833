#!/usr/bin/env bash
# Benchmark, not a test: ParaRun's GEMM and reduction side by side with OpenBLAS (as shipped
# and with its best kernel for this CPU), Eigen, naive loops, this machine's measured ceilings
# and, when installed, likwid-bench's independent ceilings, in one invocation. Prints GFLOP/s or
# GB/s and the ratios, headed by the CPU model; keeps every record.
#
#   scripts/bench.sh [OUTPUT_DIR]      (default: results/bench-<UTC time>)
# Environment: SIZES ("512 1024 2048 4096"), THREADS ("1 2"), MPI_N (4096), REPS (5),
# PARTS ("gemm mpi reduction kernels npb": which sections run; kernels = stream, stencil with
# blocking vs overlapped halos, mandelbrot schedules and distributions; npb = NPB CG and EP,
# class NPB_CLASS (A), every backend).
# GEMM: `blocked` is ParaRun's best micro-kernel; on an AVX-512 CPU `blocked-avx2` runs too,
# so both paths are measured on whichever machine runs this. OpenBLAS's AVX-512 kernel
# (OPENBLAS_CORETYPE=SkylakeX) runs only where the CPU has AVX-512 (it dies with SIGILL on a
# Zen 3); elsewhere its own choice is its best.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SIZES=${SIZES:-512 1024 2048 4096}
THREADS=${THREADS:-1 2}
MPI_N=${MPI_N:-4096}
REPS=${REPS:-5}
prepare_run bench bench.jsonl "${1:-}"
records="$out_dir/bench.jsonl"

has_avx512=0
unbound=(-u OMP_PLACES OMP_PROC_BIND=false)
grep -qw avx512f /proc/cpuinfo && has_avx512=1
lscpu > "$out_dir/lscpu.txt"

# likwid-bench (Debian likwid), when installed: ceilings from code that is not ParaRun's.
# The FMA peak and the loads with the widest vectors the CPU has, as `pararun ceilings` uses
# (like with like: on an Emerald Rapids Xeon 256-bit loads read 9.5 GB/s on one core, 512-bit
# loads 12.3).
if command -v likwid-bench >/dev/null; then
  log "likwid-bench ceilings"
  fma_test=peakflops_avx_fma load_test=load_avx
  [ $has_avx512 = 1 ] && fma_test=peakflops_avx512_fma load_test=load_avx512
  {
    for t in $THREADS; do
      likwid-bench -t $fma_test -w "S0:32kB:$t" 2>/dev/null | sed "s/^/fma $t /"
      likwid-bench -t $load_test -w "S0:1GB:$t" 2>/dev/null | sed "s/^/load $t /"
    done
  } > "$out_dir/likwid.txt" || log "likwid-bench failed; its ceilings are left out"
fi

# Ceilings are measured before and after the runs; the table takes the higher of the two
# (a dip from the shared host lowers one sample, never raises it).
log "measuring ceilings"
"$exe" ceilings --json > "$out_dir/ceilings-before.json"

# This machine's environment may pin OpenBLAS to a core type; "as shipped" means unset.
unset OPENBLAS_CORETYPE
run() {  # run LABEL ENV... -- pararun run arguments
  local label=$1; shift
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  log "$label: $*"
  env "${envs[@]}" PARARUN_LABEL="$label" "$exe" run "$@" --reps "$REPS" --max-reps $((REPS * 2)) \
    --out "$records" >/dev/null || log "exit $? for $label $*"
}

PARTS=${PARTS:-gemm mpi reduction kernels npb}
NPB_CLASS=${NPB_CLASS:-A}
part() { [[ " $PARTS " == *" $1 "* ]]; }

part gemm && for n in $SIZES; do
  for t in $THREADS; do
    b=seq; [ "$t" -gt 1 ] && b=omp
    th=(); [ "$b" = omp ] && th=(-t "$t")
    run pararun -- matmul -b $b -v blocked -n "$n" "${th[@]}"
    if [ $has_avx512 = 1 ]; then
      run pararun-avx2 -- matmul -b $b -v blocked-avx2 -n "$n" "${th[@]}"
    fi
    # OpenBLAS's own threads (Debian's pthread build) inherit the main thread's binding: with
    # OMP_PROC_BIND set, both would share core 0 (49.6 instead of 105 GFLOP/s at n=1024 on
    # 2 threads, Zen 4). Its runs leave the binding to the OS.
    run openblas-shipped "${unbound[@]}" OPENBLAS_NUM_THREADS="$t" -- matmul -b $b -v blas -n "$n" "${th[@]}"
    if [ $has_avx512 = 1 ]; then
      run openblas-skylakex "${unbound[@]}" OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS="$t" -- \
        matmul -b $b -v blas -n "$n" "${th[@]}"
      # OpenBLAS's AVX2 kernel: what blocked-avx2 is compared with.
      run openblas-haswell "${unbound[@]}" OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS="$t" -- \
        matmul -b $b -v blas -n "$n" "${th[@]}"
    fi
    run eigen -- matmul -b $b -v eigen -n "$n" "${th[@]}"
    [ "$n" -le 2048 ] && run naive -- matmul -b $b -v naive -n "$n" "${th[@]}"
  done
done
# MPI runs start the way studies start them: ParaRun's one launcher policy (pararun launcher).
launch_words() {  # launch_words BACKEND RANKS THREADS: sets the array `launch`
  mapfile -t launch < <("$exe" launcher mpirun --backend "$1" --ranks "$2" --threads "$3" --cores "$(nproc)")
  [ ${#launch[@]} -gt 0 ] || { log "pararun launcher failed for $*"; exit 3; }
}
part mpi && for p in 1 2 4; do
  log "mpi: $p ranks"
  launch_words mpi "$p" 1
  PARARUN_LABEL=pararun-mpi "${launch[@]}" "$exe" run matmul -b mpi -v blocked \
    -n "$MPI_N" --reps "$REPS" --max-reps $((REPS * 2)) --out "$records" >/dev/null ||
    log "exit $? for mpi $p"
done
part reduction && for t in $THREADS; do
  b=seq; [ "$t" -gt 1 ] && b=omp
  th=(); [ "$b" = omp ] && th=(-t "$t")
  run pararun -- reduction -b $b -v simd -n 2^26 "${th[@]}"
  run plain -- reduction -b $b -v plain -n 2^26 "${th[@]}"
  run reproducible -- reduction -b $b -v reproducible -n 2^26 "${th[@]}"
done

mpi_run() {  # mpi_run BACKEND RANKS THREADS pararun run arguments
  local b=$1 p=$2 t=$3; shift 3
  log "$b $p rank(s) x $t thread(s): $*"
  launch_words "$b" "$p" "$t"
  PARARUN_LABEL=pararun-mpi "${launch[@]}" "$exe" run "$@" --reps "$REPS" \
    --max-reps $((REPS * 2)) --out "$records" >/dev/null || log "exit $? for $b $p $*"
}
if part kernels; then
  for t in $THREADS; do
    b=seq; [ "$t" -gt 1 ] && b=omp
    th=(); [ "$b" = omp ] && th=(-t "$t")
    for op in copy scale add triad; do run stream -- stream -b $b -v $op -n 2^25 "${th[@]}"; done
    run stencil -- stencil -b $b -v plain -n 4096 "${th[@]}"
  done
  for p in 2 4; do
    for v in blocking overlapped; do mpi_run mpi "$p" 1 stencil -b mpi -v $v -n 4096; done
  done
  run mandelbrot -- mandelbrot -b seq -n 2000
  for v in static dynamic guided; do run mandelbrot -- mandelbrot -b omp -v $v -t 2 -n 2000; done
  for v in block cyclic; do mpi_run mpi 2 1 mandelbrot -b mpi -v $v -n 2000; mpi_run mpi 3 1 mandelbrot -b mpi -v $v -n 2000; done
fi

if part npb; then
  for k in cg ep; do
    run npb -- $k -b seq -n "$NPB_CLASS"
    run npb -- $k -b omp -t 2 -n "$NPB_CLASS"
    for p in 2 4; do mpi_run mpi "$p" 1 $k -b mpi -n "$NPB_CLASS"; done
    # One rank with both cores (the policy maps it to 2 cores: plain mpirun would bind it,
    # and both threads, to one).
    mpi_run hybrid 1 2 $k -b hybrid -t 2 -n "$NPB_CLASS"
  done
fi

log "measuring ceilings again"
"$exe" ceilings --json > "$out_dir/ceilings-after.json"
likwid=(); [ -s "$out_dir/likwid.txt" ] && likwid=(--likwid "$out_dir/likwid.txt")
python3 "$PARARUN_ROOT/scripts/bench_table.py" "${likwid[@]}" "$records" \
  "$out_dir/ceilings-before.json" "$out_dir/ceilings-after.json" | tee "$out_dir/bench.txt"
