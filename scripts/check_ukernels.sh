#!/usr/bin/env bash
# Checks the generated code of ParaRun's GEMM micro-kernels in a built binary (or object):
# every micro-kernel must exist, do its multiply-adds in vector registers, and never store a
# vector register to the stack (an accumulator kept in memory: GCC 12 did that with a
# `__m256d acc[6][2]` array, at 0.45x the speed). A compiler change that undoes it fails here.
#
#   scripts/check_ukernels.sh BINARY_OR_OBJECT [MICRO_KERNEL...]   (default: avx512 avx2 portable)
# Prints one line per micro-kernel: vector multiply(-add)s and stack stores; exit 1 on a
# violation, 2 on bad usage, 77 (CTest's skip) when objdump is missing.
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 BINARY_OR_OBJECT [MICRO_KERNEL...]" >&2
  exit 2
fi
bin=$1
shift
kernels=("$@")
[ ${#kernels[@]} -eq 0 ] && kernels=(avx512 avx2 portable)
command -v objdump >/dev/null || { echo "$0: objdump not found (Debian package binutils); skipped" >&2; exit 77; }
[ -r "$bin" ] || { echo "$0: cannot read '$bin'" >&2; exit 2; }

listing=$(mktemp)
trap 'rm -f "$listing"' EXIT
objdump -d --no-show-raw-insn -C "$bin" >"$listing"

bad=0
for mk in "${kernels[@]}"; do
  # The function's body: from its label to the next blank line.
  body=$(awk -v fn="ukernel_${mk}(" 'index($0, fn) && /^[0-9a-f]+ </ {p=1; next} p && /^$/ {exit} p' "$listing")
  if [ -z "$body" ]; then
    echo "ukernel_${mk}: not found in $bin" >&2
    bad=1
    continue
  fi
  # Vector multiply-adds (FMA, or multiply and add when the target has no FMA).
  fmas=$(grep -cE 'v?(fmadd|fnmadd)[0-9]*pd|v?mulpd' <<<"$body" || true)
  # A vector register stored to a stack slot: mov of %xmm/%ymm/%zmm to (%rsp) or (%rbp).
  spills=$(grep -cE 'mov[a-z]*[[:space:]]+%[xyz]mm[0-9]+,[^,]*\((%rsp|%rbp)(,[^)]*)?\)' <<<"$body" || true)
  echo "ukernel_${mk}: ${fmas} vector multiply(-add)s, ${spills} vector stores to the stack"
  if [ "$fmas" -eq 0 ] || [ "$spills" -ne 0 ]; then bad=1; fi
done
exit $bad
