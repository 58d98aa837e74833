#!/usr/bin/env bash
# slurm/job-common.sh without Slurm: a USR1 that comes before the job's command runs (Slurm
# may send --signal's warning up to a minute early) does not end the job script; pararun_run
# passes it on once the command runs, and returns the command's exit code.
set -uo pipefail
source "$(dirname "$0")/shell_test_common.sh"  # $root, $work, fail
# The command stands for pararun study: it stops on USR1 with exit 7 (a clean stop).
cmd='trap "echo stopped by USR1; exit 7" USR1; sleep 30 >/dev/null 2>&1 & wait'
out=$(PARARUN=/bin/true PARARUN_OUT=$work/r.jsonl bash -c '
  source "$1/slurm/job-common.sh"
  kill -USR1 $$
  echo "the job script went on"
  pararun_run sh -c "$2"
  echo "rc=$?"' job "$root" "$cmd" 2>"$work/err")
echo "$out"
grep -qx "the job script went on" <<<"$out" || fail "an early USR1 ended the job script"
grep -qx "stopped by USR1" <<<"$out" || fail "the early USR1 did not reach the command"
grep -qx "rc=7" <<<"$out" || fail "pararun_run did not return the command's exit code"
grep -q "SIGUSR1 came before the command ran, passing it on" "$work/err" || fail "$(cat "$work/err")"
# TERM (the job cancelled) wins over an earlier USR1; the script's own traps come back after.
both='trap "echo stopped by USR1; exit 7" USR1; trap "echo stopped by TERM; exit 9" TERM; sleep 30 >/dev/null 2>&1 & wait'
out=$(PARARUN=/bin/true PARARUN_OUT=$work/r.jsonl bash -c '
  trap "echo the script trap ran" USR1
  source "$1/slurm/job-common.sh"
  kill -USR1 $$
  kill -TERM $$
  kill -USR1 $$
  pararun_run sh -c "$2"
  echo "rc=$?"
  kill -USR1 $$
  echo "after"' job "$root" "$both" 2>/dev/null)
echo "$out"
grep -qx "stopped by TERM" <<<"$out" || fail "TERM did not win over USR1"
grep -qx "rc=9" <<<"$out" || fail "the TERM stop's code did not come back"
grep -qx "the script trap ran" <<<"$out" || fail "the script's own USR1 trap was not restored"
grep -qx "after" <<<"$out" || fail "the restored trap ended the script"
# A command that handles TERM alone gets an early TERM as soon as it handles it (the wait
# looks for TERM's bit in /proc/PID/status, not USR1's: that would wait the full 30 s).
term_only='trap "echo stopped by TERM; exit 9" TERM; sleep 30 >/dev/null 2>&1 & wait'
start=$SECONDS
out=$(PARARUN=/bin/true PARARUN_OUT=$work/r.jsonl bash -c '
  source "$1/slurm/job-common.sh"
  kill -TERM $$
  pararun_run sh -c "$2"
  echo "rc=$?"' job "$root" "$term_only" 2>/dev/null)
grep -qx "rc=9" <<<"$out" || fail "an early TERM did not stop a command that handles TERM: $out"
[ $((SECONDS - start)) -lt 10 ] || fail "an early TERM waited $((SECONDS - start)) s for the wrong signal"
# Without a signal the command runs to its end and its code comes back.
out=$(PARARUN=/bin/true PARARUN_OUT=$work/r.jsonl bash -c '
  source "$1/slurm/job-common.sh"
  pararun_run sh -c "exit 3"
  echo "rc=$?"' job "$root")
[ "$out" = "rc=3" ] || fail "without a signal: $out"
# A binary that dies of SIGILL (built for another CPU) ends the job at once, with one line
# that names it and the way out; nothing of the job runs.
printf '#!/bin/sh\nkill -ILL $$\n' >"$work/sigill"
chmod +x "$work/sigill"
out=$(PARARUN=$work/sigill PARARUN_OUT=$work/r.jsonl bash -c '
  source "$1/slurm/job-common.sh"
  echo "the job ran"' job "$root" 2>"$work/err")
rc=$?
[ "$rc" = 2 ] && [ -z "$out" ] || fail "a binary that dies of SIGILL: exit $rc, output '$out'"
[ "$(wc -l <"$work/err")" = 1 ] && grep -q "cannot run on the CPU of .*portable preset" "$work/err" ||
  fail "no one-line reason: $(cat "$work/err")"
# A task of pararun submit names the build that submitted it (PARARUN_BUILD_ID): a binary
# rebuilt at that path while the job waited ends the task with one line; the same build runs.
printf '#!/bin/sh\necho "pararun 0.1.0 (git abc-dirty, build id 1234abcd, Release, GNU 12.2.0)"\n' >"$work/built"
chmod +x "$work/built"
for submitted in 1234abcd 1234abc; do
  out=$(PARARUN=$work/built PARARUN_BUILD_ID=$submitted PARARUN_OUT=$work/r.jsonl bash -c '
    source "$1/slurm/job-common.sh"
    echo "the job ran"' job "$root" 2>"$work/err")
  rc=$?
  if [ "$submitted" = 1234abcd ]; then
    [ "$rc" = 0 ] && [ "$out" = "the job ran" ] || fail "the build that submitted it: exit $rc, '$out' $(cat "$work/err")"
  else
    [ "$rc" = 2 ] && [ -z "$out" ] || fail "a rebuilt binary: exit $rc, output '$out'"
    [ "$(wc -l <"$work/err")" = 1 ] &&
      grep -q "is not the build that submitted this job (build id 1234abc; now: pararun 0.1.0 (git abc-dirty, build id 1234abcd, .*submit into a new folder" "$work/err" ||
      fail "a rebuilt binary: no one-line reason: $(cat "$work/err")"
  fi
done
# A --version that fails otherwise (a library missing on the node) is no rebuild: the job
# runs, and its run records its own error.
printf '#!/bin/sh\necho "error while loading shared libraries"; exit 127\n' >"$work/broken"
chmod +x "$work/broken"
out=$(PARARUN=$work/broken PARARUN_BUILD_ID=1234abcd PARARUN_OUT=$work/r.jsonl bash -c '
  source "$1/slurm/job-common.sh"
  echo "the job ran"' job "$root" 2>"$work/err")
[ "$out" = "the job ran" ] && [ ! -s "$work/err" ] ||
  fail "a --version that failed (exit 127) was taken for a rebuild: '$out' $(cat "$work/err")"
# A PARARUN_OUT that starts with "-" is a path, not an option of dirname and mkdir (which
# made folders of dirname's --version text).
mkdir -p "$work/dash"
out=$(cd "$work/dash" && PARARUN=/bin/true PARARUN_OUT=-p/r.jsonl bash -c '
  source "$1/slurm/job-common.sh"
  echo "the job ran"' job "$root" 2>"$work/err")
[ "$out" = "the job ran" ] && [ -d "$work/dash/-p" ] && [ ! -s "$work/err" ] ||
  fail "PARARUN_OUT=-p/r.jsonl: '$out', folders: $(ls "$work/dash"), $(cat "$work/err")"
# A job script whose name scontrol does not give (not on the node, no answer) sources the
# submit folder's slurm/job-common.sh only when it and its folder are this user's alone: in a
# shared submit folder (/tmp) anyone could have put one there. (No Slurm: a scontrol that
# names nothing, the templates run by bash.)
mkdir -p "$work/bin" "$work/shared/slurm"
printf '#!/bin/sh\nexit 1\n' >"$work/bin/scontrol"
chmod +x "$work/bin/scontrol"
printf 'echo SOURCED >"%s/sourced"\n' "$work" >"$work/shared/slurm/job-common.sh"
chmod 777 "$work/shared/slurm"  # (another user's, in effect: anyone may write it)
for template in omp mpi hybrid study; do
  out=$(PATH=$work/bin:$PATH SLURM_JOB_ID=1 SLURM_SUBMIT_DIR=$work/shared PARARUN=/bin/true \
    bash "$root/slurm/$template.sbatch" 2>"$work/err")
  rc=$?
  [ "$rc" = 2 ] && [ ! -e "$work/sourced" ] || fail "$template.sbatch: exit $rc, sourced a shared job-common.sh"
  [ "$(wc -l <"$work/err")" = 1 ] && grep -q "is not this user's alone: not sourced" "$work/err" ||
    fail "$template.sbatch: no one-line reason: $(cat "$work/err")"
done
# The checkout's own, its folder this user's alone: sourced, the job runs.
if [ -O "$root/slurm" ] && [ -z "$(find "$root/slurm" "$root/slurm/job-common.sh" -maxdepth 0 -perm /022)" ]; then
  out=$(PATH=$work/bin:$PATH SLURM_JOB_ID=1 SLURM_SUBMIT_DIR=$root PARARUN=/bin/true \
    PARARUN_OUT=$work/r.jsonl bash "$root/slurm/omp.sbatch" 2>"$work/err")
  rc=$?
  [ "$rc" = 0 ] || fail "omp.sbatch from the checkout: exit $rc: $(cat "$work/err")"
fi
echo "job templates: a shared submit folder's job-common.sh is not sourced"
# A --out on the sbatch line wins over the template's (given twice, pararun refused the job
# once it started). scontrol names the job script; pararun is a stub that keeps its words.
mkdir -p "$work/bin2"
printf '#!/bin/sh\necho "   Command=%s/slurm/$TEMPLATE.sbatch"\n' "$root" >"$work/bin2/scontrol"
printf '#!/bin/sh\n[ "$1" = --version ] && exit 0\nprintf "%%s\\n" "$@" >"%s/words"\n' "$work" >"$work/bin2/pararun"
chmod +x "$work/bin2"/*
words() {  # words TEMPLATE ARGS...: pararun's words, one line
  local template=$1
  shift
  TEMPLATE=$template PATH=$work/bin2:$PATH SLURM_JOB_ID=1 PARARUN=$work/bin2/pararun \
    PARARUN_OUT=$work/r.jsonl bash "$root/slurm/$template.sbatch" "$@" >/dev/null 2>"$work/err" ||
    fail "$template.sbatch $*: $(cat "$work/err")"
  tr '\n' ' ' <"$work/words"
}
[ "$(words omp matmul -n 8)" = "run matmul -n 8 --backend omp --out $work/r.jsonl " ] ||
  fail "omp.sbatch: $(words omp matmul -n 8)"
[ "$(words omp matmul --out "$work/mine.jsonl")" = "run matmul --out $work/mine.jsonl --backend omp " ] ||
  fail "omp.sbatch --out: $(words omp matmul --out "$work/mine.jsonl")"
[ "$(words study --kernels reduction -o "$work/st")" = "study --kernels reduction -o $work/st --resume " ] ||
  fail "study.sbatch -o: $(words study --kernels reduction -o "$work/st")"
[ "$(words study --kernels reduction)" = "study --kernels reduction --out results/study-1 --resume " ] ||
  fail "study.sbatch: $(words study --kernels reduction)"
echo "job templates: a --out on the sbatch line wins"
echo "job-common.sh: an early USR1 waits for the command"
echo "job-common.sh: a binary for another CPU is named once"
