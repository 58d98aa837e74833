#!/usr/bin/env bash
# A build without MPI or OpenMP (PARARUN_MPI=OFF / PARARUN_OPENMP=OFF; the serial preset has
# neither) runs what it has and refuses the rest:
# - every kernel's variants of every backend it has run and verify, and an injected fault fails;
# - a backend it does not have is refused with exit 2 and one line naming the build option,
#   for run, study and batch, and nothing is written;
# - a default study runs only its backends, and its report is written;
# - without MPI, started as 2 ranks by mpirun (when one is installed), it refuses at once.
#   serial_test.sh PARARUN WORK_DIR DATA_DIR
set -uo pipefail
exe=$1 work=$2 data=$3
failures=0
fail() {
  echo "FAILED: $*" >&2
  failures=$((failures + 1))
}
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1

# What this build has, as it says itself.
info=$("$exe" info --json) || { echo "FAILED: pararun info" >&2; exit 1; }
read -r mpi openmp backends < <(/usr/bin/python3 -c '
import json, sys
b = json.loads(sys.argv[1])
print("mpi" in b["backends"], "omp" in b["backends"], ",".join(b["backends"]))' "$info")
echo "this build runs: $backends"
[ "$mpi" = True ] && [ "$openmp" = True ] && fail "a build with MPI and OpenMP runs the serial test"
if [ "$mpi" = False ]; then
  grep -q '"mpi_library": "none (built without MPI' <<<"$info" || fail "info does not say: no MPI"
fi
if [ "$openmp" = False ]; then
  grep -q '"openmp": "none (built without OpenMP' <<<"$info" || fail "info does not say: no OpenMP"
fi

# Every variant of every backend this build has, at a small size, verified; 2 threads on omp.
runs=0
while read -r kernel backend variant size; do
  args=(run "$kernel" -b "$backend" -v "$variant" -r 2 --max-reps 2 --json)
  if [ "$size" = input ]; then args+=(--input "$data/laplace_4.mtx"); else args+=(-n "$size"); fi
  [ "$backend" = omp ] && args+=(-t 2)
  [ "$backend" = mpi ] && continue  # ranks need a launcher: the MPI tests cover them
  out=$("$exe" "${args[@]}" 2>&1) || { fail "pararun ${args[*]}: $out"; continue; }
  grep -q '"status":"ok"' <<<"$out" || fail "pararun ${args[*]} did not verify: $out"
  runs=$((runs + 1))
  if [ "$runs" -le 3 ]; then  # a fault must fail (exit 1), as in any build
    "$exe" "${args[@]}" --inject-fault >/dev/null 2>&1
    [ $? -eq 1 ] || fail "pararun ${args[*]} --inject-fault did not fail verification"
  fi
done < <("$exe" list --json | /usr/bin/python3 -c '
import json, sys
for k in json.load(sys.stdin):
    size = "input" if k["name"] == "cgsolve" else (min(k["named_sizes"], key=k["named_sizes"].get) if k["named_sizes"] else "64")
    for backend, variants in k["backends"].items():
        for v in variants:
            print(k["name"], backend, v["name"], size)')
[ "$runs" -ge 9 ] || fail "only $runs runs verified: every kernel has seq variants"
echo "$runs runs verified"

# expect_refused WHAT ARG...: exit 2, one stderr line naming the build option, no file written.
expect_refused() {
  local what=$1 option=$2
  shift 2
  local before after err code
  before=$(find . | sort)
  err=$("$@" 2>&1 >/dev/null)
  code=$?
  after=$(find . | sort)
  [ "$code" -eq 2 ] || fail "$what: exit $code, not 2"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "$what: not one stderr line: $err"
  grep -q "^pararun: error: .*$option" <<<"$err" || fail "$what: the line does not name $option: $err"
  [ "$before" = "$after" ] || fail "$what: files changed: $after"
}
printf 'jobs:\n  - kernel: reduction\n    backend: BACKEND\n    size: 1000\n' >manifest.tmpl
for missing in mpi omp hybrid; do
  if grep -q "\b$missing\b" <<<"${backends//,/ }"; then continue; fi
  option=PARARUN_OPENMP=OFF
  [ "$missing" = mpi ] || { [ "$missing" = hybrid ] && [ "$mpi" = False ]; } && option=PARARUN_MPI=OFF
  expect_refused "run -b $missing" "$option" "$exe" run reduction -b "$missing" -n 1000 -o r.jsonl
  expect_refused "study --backends seq,$missing" "$option" \
    "$exe" study --kernels reduction --backends "seq,$missing" --sizes 1000 --out "st-$missing"
  sed "s/BACKEND/$missing/" manifest.tmpl >"manifest-$missing.yaml"
  expect_refused "batch run of a $missing job" "$option" \
    "$exe" batch run "manifest-$missing.yaml" --out "batch-$missing"
done

# Without OpenMP, ceilings read with one thread: more would be one thread's numbers times N.
[ "$openmp" = False ] &&
  expect_refused "ceilings -t 2" PARARUN_OPENMP=OFF "$exe" ceilings -t 2

# A default study runs the backends this build has, and reports.
"$exe" study --kernels reduction --sizes 100000 --reps 2 --max-reps 2 --out study >study.log 2>&1 ||
  fail "the default study: $(tail -3 study.log)"
[ -s study/report.md ] || fail "the default study wrote no report.md"
studied=$(/usr/bin/python3 -c '
import json, sys
print(",".join(sorted({json.loads(l)["backend"] for l in open("study/results.jsonl") if l.strip()})))')
expected=$(tr ',' '\n' <<<"$backends" | grep -vx hybrid | sort | paste -sd,)
[ "$studied" = "$expected" ] || fail "the default study ran backends $studied, not $expected"

# Started by mpirun as 2 ranks, a build without MPI refuses: one line, exit 2, no record.
if [ "$mpi" = False ] && command -v mpirun >/dev/null; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  over=()  # Open MPI refuses more ranks than cores unless told; MPICH knows no such flag
  mpirun --version 2>&1 | grep -q "Open MPI" && over=(--oversubscribe)
  err=$(timeout 60 mpirun -n 2 "${over[@]}" "$exe" run reduction -n 1000 -o ranks.jsonl 2>&1 >/dev/null)
  code=$?
  [ "$code" -ne 0 ] || fail "mpirun -n 2 of a build without MPI exited 0"
  grep -q "started as 2 ranks, but this pararun was built without MPI" <<<"$err" ||
    fail "mpirun -n 2: no line saying the build has no MPI: $err"
  [ ! -e ranks.jsonl ] || fail "mpirun -n 2 of a build without MPI wrote records"
fi

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
echo "this build runs $backends, verified; it refuses the other backends"
