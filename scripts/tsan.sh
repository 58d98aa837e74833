#!/usr/bin/env bash
# ThreadSanitizer on ParaRun's OpenMP code: clang, libomp and its Archer tool (which tells
# TSan about OpenMP's barriers, reductions and locks), uninstrumented libraries (libomp,
# Open MPI) ignored. Runs every seq/omp variant of every kernel and the runtime's timing loop
# (unit_tests), then the MPI tests on 2 ranks (hybrid kernels: ranks x threads).
#   scripts/tsan.sh        prints the races found per suite; exit 1 when there is any
# First a race planted on purpose must be found: a TSan that reports nothing proves nothing.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 2
source "$root/scripts/common.sh"
ensure_deps clang libomp-dev || exit 2
archer=/usr/lib/llvm-$(clang++ -dumpversion | cut -d. -f1)/lib/libarcher.so  # this clang's
[ -f "$archer" ] || { echo "tsan.sh: error: no libarcher.so (Debian libomp-dev)" >&2; exit 2; }
{ cmake --preset tsan >/dev/null && cmake --build --preset tsan -j"$(nproc)" --target unit_tests mpi_tests >/dev/null; } ||
  { echo "tsan.sh: error: the TSan build failed (cmake --build --preset tsan)" >&2; exit 2; }
export OMP_TOOL_LIBRARIES=$archer
export TSAN_OPTIONS="halt_on_error=0 ignore_noninstrumented_modules=1 ${TSAN_OPTIONS:-}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 GTEST_COLOR=no
work=build/tsan/tsan-logs
mkdir -p "$work"
echo "$(cpu_line); Archer: $archer"

# The canary: an unsynchronised += from two threads.
cat >"$work/race.cpp" <<'CPP'
#include <cstdio>
int main() {
  long sum = 0;
#pragma omp parallel for num_threads(2)
  for (int i = 0; i < 100000; ++i) sum += i;
  std::printf("%ld\n", sum);
}
CPP
clang++ -fopenmp=libomp -fsanitize=thread -g -O1 "$work/race.cpp" -o "$work/race" || exit 2
planted=$("$work/race" 2>&1 | grep -c "WARNING: ThreadSanitizer")
[ "$planted" -ge 1 ] || { echo "tsan.sh: error: TSan did not report the planted race" >&2; exit 1; }
echo "planted race: reported ($planted report)"

races=0
suite() {  # suite NAME LOG COMMAND...
  local name=$1 log=$2
  shift 2
  "$@" >"$log" 2>&1
  local rc=$? n
  n=$(grep -c "WARNING: ThreadSanitizer" "$log")
  races=$((races + n))
  printf '%-34s exit %-3s races %-3s %s\n' "$name" "$rc" "$n" "$(grep -E '^\[  (PASSED|FAILED)  \]' "$log" | tr '\n' ' ')"
  [ "$rc" -eq 0 ] || races=$((races + 1))
}
suite "unit_tests (seq/omp, OMP 2 threads)" "$work/unit.log" build/tsan/tests/unit_tests
suite "mpi_tests on 2 ranks (hybrid)" "$work/mpi.log" \
  mpirun -n 2 --oversubscribe --bind-to none -x OMP_TOOL_LIBRARIES -x TSAN_OPTIONS -x GTEST_COLOR build/tsan/tests/mpi_tests
echo "logs: $work/"
[ "$races" -eq 0 ]
