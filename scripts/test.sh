#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test with CTest.
#   scripts/test.sh                 release build, then the ASan+UBSan build
#   scripts/test.sh release|asan|debug   one preset only
#   extra arguments after the preset go to ctest, e.g. scripts/test.sh release -L mpi
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

presets=(release asan)
if [ $# -gt 0 ]; then
  presets=("$1")
  shift
fi

# stress-ng: a noisy neighbour for the disturbed-host test; Google Benchmark's compare.py (with
# scipy) reads `report --format gbench` in a test.
ensure_deps stress-ng libbenchmark-tools python3-scipy
# The slurm-labelled tests run a local Slurm cluster (tests/slurm/slurm_test.sh); without
# these packages they skip and say why.
ensure_deps slurm-wlm munge || log "Slurm could not be installed: the slurm tests will be skipped"
status=0
for preset in "${presets[@]}"; do
  build_preset "$preset"
  log "testing preset '$preset'"
  (cd "$PARARUN_ROOT" && ctest --preset "$preset" -j "$(nproc)" "$@") || status=1
done
exit $status
