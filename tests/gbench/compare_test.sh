#!/usr/bin/env bash
# Google Benchmark's own tools/compare.py (Debian libbenchmark-tools) reads what
# `pararun report --format gbench` writes: the same configuration measured twice is compared
# per repetition, with its U test.
#   compare_test.sh PARARUN WORK_DIR
set -euo pipefail
exe=$1 work=$2
compare=/usr/share/benchmark/compare.py
if [ ! -f "$compare" ] || ! /usr/bin/python3 -c 'import scipy' 2>/dev/null; then
  echo "Google Benchmark's compare.py (libbenchmark-tools, python3-scipy) is not installed: skipped"
  exit 77
fi
fail() { echo "FAILED: $*" >&2; exit 1; }
rm -rf "$work" && mkdir -p "$work" && cd "$work"
export PARARUN_TUNING=$work/no-tuning.json
for f in before after; do
  "$exe" run reduction -b seq -v simd -n 2^14 -r 9 --max-reps 9 -o "$f.jsonl" >/dev/null
  "$exe" report "$f.jsonl" --format gbench >"$f.json" || fail "report --format gbench"
done
out=$(/usr/bin/python3 "$compare" --no-color benchmarks before.json after.json 2>&1) || fail "compare.py: $out"
echo "$out"
grep -q "^reduction/seq/simd/n16384/t1/r1 " <<<"$out" || fail "compare.py names no repetition of the point"
grep -q "^reduction/seq/simd/n16384/t1/r1_pvalue " <<<"$out" || fail "compare.py made no U test"
grep -q "^reduction/seq/simd/n16384/t1/r1_median " <<<"$out" || fail "compare.py has no median row"
