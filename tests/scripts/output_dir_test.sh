#!/usr/bin/env bash
# The scripts that write a results folder (run.sh, bench.sh, bench_batch.sh, concurrency.sh)
# never write into a folder that holds anything (bench.sh wrote its lscpu.txt and bench.txt over
# another folder's), and bench_batch.sh takes whole numbers only: exit 2 before anything is
# installed, built or written.
set -euo pipefail
source "$(dirname "$0")/../slurm/shell_test_common.sh"  # $root, $work, fail

# Should a refusal regress, what the script does next fails at once instead of installing
# packages, building and running a study on the test machine.
mkdir -p "$work/stub"
for c in dpkg-query apt-get cmake; do
  printf '#!/bin/sh\necho "stub: %s must not run" >&2\nexit 1\n' "$c" >"$work/stub/$c"
done
chmod +x "$work/stub"/*
export PATH=$work/stub:$PATH

mkdir -p "$work/old"
echo "earlier results" >"$work/old/bench.txt"
expect_refused() {  # expect_refused MESSAGE COMMAND...
  local message=$1 rc=0
  shift
  "$@" >"$work/out" 2>"$work/err" || rc=$?
  [ "$rc" = 2 ] || fail "$* gave exit $rc, expected 2: $(cat "$work/err")"
  [ "$(wc -l <"$work/err")" = 1 ] || fail "$*: not one line: $(cat "$work/err")"
  grep -qF -- "$message" "$work/err" || fail "$*: $(cat "$work/err")"
}
for script in run.sh bench.sh bench_batch.sh concurrency.sh; do
  expect_refused "is not an empty folder" "$root/scripts/$script" "$work/old"
done
[ "$(cat "$work/old/bench.txt")" = "earlier results" ] && [ "$(ls "$work/old")" = bench.txt ] ||
  fail "a refused run changed the folder"
# A folder another run holds (its lock, taken by prepare_run for the run's lifetime) is refused,
# empty as it still is.
mkdir "$work/busy"
exec {held}<"$work/busy"
flock -n "$held" || fail "could not lock $work/busy"
for script in run.sh bench.sh bench_batch.sh concurrency.sh; do
  expect_refused "$work/busy is in use by another run" "$root/scripts/$script" "$work/busy"
done
exec {held}<&-
[ -z "$(ls -A "$work/busy")" ] || fail "a refused run wrote into a folder another run holds"
# An option where the folder goes (`run.sh --reps 3`) is named, not taken for a folder.
(cd "$work" && expect_refused "output folder '--reps' looks like an option; the first argument of run.sh is the folder" \
  "$root/scripts/run.sh" --reps 3)
[ ! -e "$work/--reps" ] || fail "run.sh --reps made a folder named --reps"
for v in N_TRIVIAL N_JOBS REPEATS; do
  for bad in 0 -1 x "1;id" 07; do
    expect_refused "$v must be a whole number" env "$v=$bad" "$root/scripts/bench_batch.sh" "$work/new"
  done
done
[ ! -e "$work/new" ] || fail "a refused bench_batch.sh made its folder"
# bench.sh names a part no job is tagged with, or a manifest it cannot read, before anything.
expect_refused "PARTS: no job of $root/scripts/bench.yaml is tagged 'gem'" env PARTS=gemm,gem "$root/scripts/bench.sh" "$work/new"
expect_refused "MANIFEST '$work/none.yaml' is not a readable file" env MANIFEST="$work/none.yaml" "$root/scripts/bench.sh" "$work/new"
[ ! -e "$work/new" ] || fail "a refused bench.sh made its folder"
# test.sh names a preset it has no tests for before installing or building anything.
expect_refused "'-L' is not a test preset" "$root/scripts/test.sh" -L mpi
expect_refused "'fuzz' is not a test preset" "$root/scripts/test.sh" fuzz
# The folder is made before the build (a second run given it is refused at once, not after
# minutes of building); a build that fails leaves no empty folder of its own behind.
mkdir -p "$work/stub2"
printf '#!/bin/sh\necho "install ok installed"\n' >"$work/stub2/dpkg-query"
printf '#!/bin/sh\n[ -d "%s/fresh/run" ] && echo made >"%s/made-before-build"\nexit 1\n' \
  "$work" "$work" >"$work/stub2/cmake"
chmod +x "$work/stub2"/*
rc=0
PATH=$work/stub2:$PATH "$root/scripts/run.sh" "$work/fresh/run" >/dev/null 2>&1 || rc=$?
[ -e "$work/made-before-build" ] || fail "run.sh made its folder only after the build"
[ "$rc" != 0 ] && [ ! -e "$work/fresh/run" ] || fail "run.sh whose build failed: exit $rc, left $work/fresh/run"
echo "result scripts: no folder of earlier results is written into"
