#!/usr/bin/env bash
# Fuzzes ParaRun's parsers with libFuzzer (clang, ASan + UBSan): the study file, the batch
# manifest, the record reader (and the report built from what it read), the tuning file, the
# value parsers (counts, size ranges, durations, byte amounts) and the input files (Matrix
# Market array and coordinate, .npy, raw float64).
#   scripts/fuzz.sh [SECONDS_PER_TARGET (default 60)] [TARGET...]
# Seeds: tests/fuzz/corpus/TARGET (in the repo); the working corpus and any finding (crash-,
# timeout-, oom-, leak- files: the input that triggers it) go to build/fuzz/work/TARGET.
# Prints one line per target and exits 1 when any target found something. New inputs that
# add coverage can be merged into the seeds with FUZZ_MERGE=1.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 2
seconds=${1:-60}
shift $(($# > 0 ? 1 : 0))
# (0 would be libFuzzer's "no limit")
case $seconds in '' | *[!0-9]* | 0) echo "fuzz.sh: error: SECONDS must be a whole number >= 1, got '$seconds'" >&2; exit 2 ;; esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_study_file fuzz_batch_manifest fuzz_records fuzz_tuning_file fuzz_values fuzz_input_files fuzz_ceilings_file)

# What the build needs besides the project's packages: clang and its libFuzzer runtime.
source "$root/scripts/common.sh"
ensure_deps clang libclang-rt-dev libomp-dev || exit 2
build_preset fuzz || exit 2

cpu_line
printf '%-22s %8s %10s %8s %8s  %s\n' target seconds runs corpus findings result
found=0
for t in "${targets[@]}"; do
  bin=build/fuzz/tests/fuzz/$t
  [ -x "$bin" ] || { echo "fuzz.sh: error: no fuzz target '$t'" >&2; exit 2; }
  work=build/fuzz/work/$t
  mkdir -p "$work/corpus"
  log=$work/log.txt
  stamp=$work/started
  touch "$stamp"  # findings of this run only: older ones stay in $work for reading
  # -rss_limit_mb=0: libFuzzer's RSS watchdog prints a heap profile that never ends in this
  # sandbox (gVisor); the malloc limit catches the same runaway allocations at their call.
  # Each input is written to /dev/shm by the target (its readers read files).
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
    timeout $((seconds + 120)) "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=0 \
    -malloc_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" \
    "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  findings=$(find "$work" -maxdepth 1 -newer "$stamp" \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' -o -name 'slow-unit-*' \) | wc -l)
  corpus=$(find "$work/corpus" -type f | wc -l)
  result=ok
  if [ "$rc" -ne 0 ] || [ "$findings" -gt 0 ]; then
    result="FOUND (exit $rc): $(grep -m1 -E 'ERROR|SUMMARY|not an InputError' "$log") - see $log"
    found=1
  fi
  printf '%-22s %8s %10s %8s %8s  %s\n' "$t" "$seconds" "${runs:-?}" "$corpus" "$findings" "$result"
  if [ "${FUZZ_MERGE:-0}" = 1 ]; then
    "$bin" -merge=1 -rss_limit_mb=0 "tests/fuzz/corpus/$t" "$work/corpus" >/dev/null 2>&1
  fi
done
# The input folders of this user's fuzzers that have ended (another user's are theirs).
while IFS= read -r -d '' f; do
  pid=${f#/dev/shm/pararun-fuzz-}
  pid=${pid%%-*}
  case $pid in '' | *[!0-9]*) continue ;; esac
  kill -0 "$pid" 2>/dev/null || rm -rf -- "$f"
done < <(find /dev/shm -maxdepth 1 -name 'pararun-fuzz-*' -user "$(id -u)" -print0 2>/dev/null)
exit $found
