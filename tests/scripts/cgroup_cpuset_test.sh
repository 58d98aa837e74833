#!/usr/bin/env bash
# A batch inside a cgroup cpuset (a Slurm allocation with ConstrainCores, a container) counts
# and pins the CPUs the cpuset allows, not 0..N-1 of the node: here a cpuset of the node's
# last CPU, where the batch used to pin its job to CPU 0 (refused by the kernel: the job ran
# unpinned) and count every CPU of the node. Needs root, cgroup v1's cpuset controller (as on
# this project's machines) and 2 CPUs or more; skipped (77) otherwise.
set -euo pipefail
source "$(dirname "$0")/../slurm/shell_test_common.sh"  # $root, $work, fail
pararun=$1
cpuset=/sys/fs/cgroup/cpuset
[ "$(id -u)" = 0 ] && [ -w "$cpuset" ] && [ -r /proc/self/cgroup ] || { echo "skipped: needs root and $cpuset"; exit 77; }
last=$(($(nproc --all) - 1))
[ "$last" -ge 1 ] || { echo "skipped: one CPU"; exit 77; }
group=$cpuset/pararun-test-$$
mkdir "$group" || { echo "skipped: cannot make a cpuset"; exit 77; }
trap 'rmdir "$group" 2>/dev/null; rm -rf "$work"' EXIT
echo "$last" >"$group/cpuset.cpus"
cat "$cpuset/cpuset.mems" >"$group/cpuset.mems"
printf 'jobs:\n  - {kernel: reduction, backend: seq, size: 4096, reps: 2}\n' >"$work/m.yaml"
# The batch runs in the cpuset (a shell moved into it first); the cgroup is left at its end.
sh -c 'echo $$ > "$1/tasks" && exec "$2" batch run "$3/m.yaml" -o "$3/b"' sh "$group" "$pararun" "$work" \
  >"$work/out" 2>&1 || { cat "$work/out"; fail "the batch failed in a cpuset of CPU $last"; }
grep -q "on 1 core(s)" "$work/out" || { cat "$work/out"; fail "the batch did not count the cpuset's 1 CPU"; }
python3 - "$work/b/results.jsonl" "$last" <<'PY' || fail "the job was not pinned to the cpuset's CPU"
import json, sys
r = json.loads(open(sys.argv[1]).readline())
want = sys.argv[2]
assert r["batch"]["cpus"] == want, r["batch"]["cpus"]
assert r["meta"]["cores"] == 1, r["meta"]["cores"]
assert r["meta"]["affinity"][0]["threads"] == [want], r["meta"]["affinity"]
PY
echo "a batch in a cpuset of CPU $last counted 1 CPU and pinned its job there"
