#!/usr/bin/env bash
# cmake --install of this build into a fresh prefix, then examples/out-of-tree-kernel built
# against it with find_package(ParaRun): its binary must offer the out-of-tree kernel beside
# ParaRun's, verify it under mpirun, and the installed pararun must find its data files under
# the prefix.
#   install_test.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
build=$1 src=$2 work=$3
fail() { echo "FAILED: $*" >&2; exit 1; }
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" || fail "cmake --install (see $work/install.log)"
for f in bin/pararun share/pararun/scripts/plot_study.py share/pararun/slurm/job-common.sh \
         lib/cmake/ParaRun/ParaRunConfig.cmake lib/cmake/ParaRun/ParaRunConfigVersion.cmake \
         include/pararun/described_kernel.hpp include/pararun/cli.hpp; do
  [ -e "$work/prefix/$f" ] || fail "the install has no $f"
done
"$work/prefix/bin/pararun" info --json | python3 -c '
import json, sys
d = json.load(sys.stdin)["data_dir"]
assert d == sys.argv[1], (d, sys.argv[1])' "$work/prefix/share/pararun" || fail "the installed pararun does not find its data files under the prefix"

cmake -S "$src/examples/out-of-tree-kernel" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "configure the example"; }
cmake --build "$work/build" -j 2 >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; fail "build the example"; }
exe=$work/build/my-pararun
list=$("$exe" list)
grep -Eq "^sumsq +mpi +plain" <<<"$list" || fail "my-pararun list has no sumsq/mpi: $list"
grep -Eq "^matmul +seq +blocked" <<<"$list" || fail "my-pararun list lost ParaRun's own kernels"
out=$(mpirun -n 2 --oversubscribe "$exe" run sumsq -b mpi -n 1000000 -r 3 --json) || fail "mpirun my-pararun run sumsq"
python3 -c '
import json, sys
r = json.loads(sys.argv[1])
assert r["kernel"] == "sumsq" and r["ranks"] == 2 and r["status"] == "ok", r
n = 1000000
exact = n * (n + 1) * (2 * n + 1) // 6
assert abs(r["results"]["sum"] - exact) <= exact * 1e-9, (r["results"], exact)' "$out" || fail "the sumsq record"
"$exe" run sumsq -b omp -t 2 -n 1000 --inject-fault >/dev/null && fail "an injected fault verified"
echo "installed to $work/prefix; my-pararun offers sumsq beside ParaRun's kernels, verified under mpirun -n 2"
