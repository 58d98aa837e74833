#!/usr/bin/env bash
# Fault injection with counts: studies and batches killed (-9, TERM, USR1, INT) at a random
# moment and resumed, a rank killed in the middle of an MPI point, a half-written last line
# before --resume, a full disk under a finished study and under a batch being resumed, a node
# of a local Slurm cluster lost under a submitted study (root and Slurm only). After
# each trial it counts, against the study's points (or the batch's jobs): records lost (a
# point with no verified record after the resume: must be 0) and points duplicated (more
# than one verified record: must be 0).
#   scripts/chaos.sh [TRIALS (default 3)]      exit 1 when anything was lost or duplicated
# Needs root for the full-disk trial (a small tmpfs); it is skipped otherwise.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
trials=${1:-3}
case $trials in '' | *[!0-9]* | 0) echo "chaos.sh: error: TRIALS must be a whole number >= 1, got '$trials'" >&2; exit 2 ;; esac
ensure_deps || exit 2
build_preset release || exit 2
P=$PARARUN_ROOT/build/release/apps/pararun
# The trials count records, not speed: no warm-up time (1 s per run by default), so that a kill
# at a random moment lands in the points' work.
export PARARUN_WARMUP_TIME=0
work=$(mktemp -d /var/tmp/pararun-chaos.XXXXXX) || exit 2  # (else the trials wrote to /)
# CHAOS_KEEP=1 keeps the trials' folders to look at.
trap 'mountpoint -q "$work/full" && umount "$work/full"; [ "${CHAOS_KEEP:-0}" = 1 ] && echo "kept: $work" || rm -rf "$work"' EXIT
study=(study --kernels reduction,matmul --backends seq,omp,mpi --threads 1,2 --ranks 2
       --sizes reduction=2^24,matmul=512 --reps 5)
runs=0 faults=0 lost=0 dup=0
declare -A by_kind

# tally DIR KIND HIT: lost and duplicated points of the study or batch in DIR, added to the
# totals; HIT 1 when the fault was injected (0: the run had ended before it).
tally() {
  local out l u n bl bd f
  out=$(python3 - "$1" <<'PY'
import json, os, sys
d = sys.argv[1]
if os.path.exists(d + "/study.json"):
    want = json.load(open(d + "/study.json"))["points"]
else:
    want = [j["id"] for j in json.load(open(d + "/batch.json"))["jobs"]]
ok = {}
for line in open(d + "/results.jsonl", errors="replace"):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if isinstance(r, dict) and r.get("status") == "ok" and "time" in r:
        ok[r.get("point")] = ok.get(r.get("point"), 0) + 1
print(sum(1 for p in want if p not in ok), sum(1 for p in want if ok.get(p, 0) > 1))
PY
) || out="999 0"
  read -r l u <<<"$out"
  lost=$((lost + l)) dup=$((dup + u))
  by_kind[$2]="${by_kind[$2]:-0 0 0 0}"
  read -r n f bl bd <<<"${by_kind[$2]}"
  by_kind[$2]="$((n + 1)) $((f + $3)) $((bl + l)) $((bd + u))"
  faults=$((faults + $3))
  runs=$((runs + 1))
}

# started PATTERN: waits (up to 10 s) until a file matching PATTERN has content, then a
# random 0 to 1 s more: the fault lands at a random moment of a run that is under way.
started() {
  for _ in $(seq 200); do
    compgen -G "$1" >/dev/null && [ -n "$(find $1 -size +0 2>/dev/null | head -1)" ] && break
    sleep 0.05
  done
  sleep "$(python3 -c "import random; print(round(random.uniform(0, 1), 2))")"
}

# Studies and batches stopped by a signal at a random moment, then resumed.
cat >"$work/m.yaml" <<'YAML'
jobs:
  - kernel: reduction
    backend: [seq, omp]
    threads: [1, 2]
    size: 2^24
    reps: 20
    seed: 1:5:+1
YAML
for sig in KILL TERM USR1 INT; do
  for t in $(seq "$trials"); do
    d=$work/study-$sig-$t
    "$P" "${study[@]}" --out "$d" >/dev/null 2>&1 &
    pid=$!
    started "$d/results.jsonl"
    hit=0
    kill -s "$sig" "$pid" 2>/dev/null && hit=1
    wait "$pid" 2>/dev/null
    sleep 0.5  # a point the killed study leaves is ended by its parent-death signal
    "$P" "${study[@]}" --out "$d" --resume >/dev/null 2>&1
    tally "$d" "study $sig" "$hit"

    d=$work/batch-$sig-$t
    "$P" batch run "$work/m.yaml" --out "$d" >/dev/null 2>&1 &
    pid=$!
    started "$d/jobs/*.jsonl"
    hit=0
    kill -s "$sig" "$pid" 2>/dev/null && hit=1
    wait "$pid" 2>/dev/null
    sleep 0.5
    "$P" batch run "$work/m.yaml" --out "$d" --resume >/dev/null 2>&1
    tally "$d" "batch $sig" "$hit"
  done
done

# A rank killed while an MPI point runs: the point gets an error record, the study goes on;
# --resume runs it again. Also timed: how long mpirun takes to end after the kill.
slowest_end=0
for t in $(seq "$trials"); do
  d=$work/rank-$t
  # A session of its own: the ranks searched for are this study's, no one else's.
  setsid "$P" study --kernels matmul --backends mpi --ranks 2 --sizes 1500 --reps 20 --max-reps 20 \
    --out "$d" >/dev/null 2>&1 &
  pid=$!
  rank="" hit=0
  for _ in $(seq 100); do
    rank=$(pgrep -s "$pid" -f "^/[^ ]*/pararun run matmul --backend mpi" | head -1)
    [ -n "$rank" ] && break
    sleep 0.1
  done
  sleep 1
  if [ -n "$rank" ]; then
    killed_at=$(date +%s.%N)
    kill -9 "$rank" && hit=1
    for _ in $(seq 600); do  # at most 30 s
      pgrep -s "$pid" -x mpirun >/dev/null || break
      sleep 0.05
    done
    slowest_end=$(python3 -c "print(max($slowest_end, round($(date +%s.%N) - $killed_at, 2)))")
  fi
  wait "$pid" 2>/dev/null
  "$P" study --kernels matmul --backends mpi --ranks 2 --sizes 1500 --reps 20 --max-reps 20 \
    --out "$d" --resume >/dev/null 2>&1
  tally "$d" "rank kill -9" "$hit"
done

# A half-written last line (a writer that died mid-append), then --resume.
partial_ok=0
for t in $(seq "$trials"); do
  d=$work/partial-$t
  "$P" "${study[@]}" --out "$d" >/dev/null 2>&1 &
  pid=$!
  started "$d/results.jsonl"
  hit=0
  kill -9 "$pid" 2>/dev/null && hit=1
  wait "$pid" 2>/dev/null
  sleep 0.5
  printf '{"schema":"pararun.record/2","kind":"run","kernel":"redu' >>"$d/results.jsonl"
  "$P" "${study[@]}" --out "$d" --resume >/dev/null 2>&1
  tally "$d" "partial line" "$hit"
  # The partial line stays one bad line of its own; every other line is a whole record.
  bad=$(python3 - "$d/results.jsonl" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    try:
        json.loads(line)
    except ValueError:
        n += 1
print(n)
PY
)
  [ "$bad" = 1 ] && partial_ok=$((partial_ok + 1))
done

# A full disk under a finished study: report and --resume must fail (exit 3) and keep every
# record already written.
full="skipped (not root)"
if [ "$(id -u)" = 0 ] && mkdir -p "$work/full" && mount -t tmpfs -o size=4m tmpfs "$work/full" 2>/dev/null; then
  full_ok=0
  for t in $(seq "$trials"); do
    d=$work/full/s-$t
    "$P" study --kernels reduction --backends seq,omp --threads 1,2 --sizes 2^16 --reps 3 \
      --out "$d" >/dev/null 2>&1
    before=$(md5sum <"$d/results.jsonl")
    dd if=/dev/zero of="$work/full/fill-$t" bs=4k 2>/dev/null  # until the disk is full
    "$P" report "$d" --csv "$d/again.csv" >/dev/null 2>&1
    rc1=$?
    "$P" study --kernels reduction --backends seq,omp --threads 1,2,3 --sizes 2^16 --reps 3 \
      --out "$d-more" >/dev/null 2>&1
    rc2=$?
    after=$(md5sum <"$d/results.jsonl")
    [ "$before" = "$after" ] && [ "$rc1" = 3 ] && [ "$rc2" = 3 ] && full_ok=$((full_ok + 1))
    tally "$d" "full disk" 1
    rm -f "$work/full/fill-$t"
  done
  # A batch that gained jobs, resumed on a full disk (exit 3, nothing changed), then resumed
  # with space again: every job exactly once.
  batch_ok=0
  for t in $(seq "$trials"); do
    b=$work/full/b-$t m=$work/full/b-$t.yaml
    printf 'jobs:\n  - {kernel: reduction, backend: seq, size: [1000, 2000]}\n' >"$m"
    "$P" batch run "$m" -o "$b" >/dev/null 2>&1
    printf '  - {kernel: reduction, backend: seq, size: [3000, 4000]}\n' >>"$m"
    before=$(cat "$b"/*.json "$b/results.jsonl" | md5sum)
    dd if=/dev/zero of="$work/full/fill-b$t" bs=4k 2>/dev/null
    "$P" batch run "$m" -o "$b" --resume >/dev/null 2>&1
    rc1=$?
    after=$(cat "$b"/*.json "$b/results.jsonl" | md5sum)
    rm -f "$work/full/fill-b$t"
    "$P" batch run "$m" -o "$b" --resume >/dev/null 2>&1
    rc2=$?
    [ "$before" = "$after" ] && [ "$rc1" = 3 ] && [ "$rc2" = 0 ] && batch_ok=$((batch_ok + 1))
    tally "$b" "full disk batch" 1
  done
  full="studies: $full_ok of $trials kept every record and exited 3; batches: $batch_ok of $trials kept every file, exited 3, then resumed"
fi

# A node lost under a study submitted to Slurm (a local cluster of 2 nodes, at a site that
# does not requeue: --no-requeue): the report job records the lost point as failed (Slurm's
# NODE_FAIL), and `submit --resume` runs it again; then every point has one verified record.
nodes="skipped (needs root and Slurm: scripts/local-cluster.sh)"
if [ "$(id -u)" = 0 ] && command -v slurmctld >/dev/null; then
  export PARARUN_CLUSTER_DIR=$work/cluster PARARUN_CLUSTER_PORT=7917 SLURM_CONF=$work/cluster/slurm.conf
  if "$PARARUN_ROOT/scripts/local-cluster.sh" start --nodes 2 >/dev/null 2>&1; then
    trap 'PARARUN_CLUSTER_DIR=$work/cluster "$PARARUN_ROOT/scripts/local-cluster.sh" stop >/dev/null 2>&1; mountpoint -q "$work/full" && umount "$work/full"; [ "${CHAOS_KEEP:-0}" = 1 ] && echo "kept: $work" || rm -rf "$work"' EXIT
    job_end() {  # job_end ID: waits (up to 3 min) until the job has ended
      for _ in $(seq 360); do
        slurm_state_active "$(slurm_job_state "$1")" || return 0
        sleep 0.5
      done
    }
    recorded=0
    for t in $(seq "$trials"); do
      d=$work/nodes-$t
      args=(--kernels matmul --backends omp --threads 1,2 --sizes 1800 --reps 40 --max-reps 40
            --out "$d" --sbatch-arg=--no-requeue)
      report=$("$P" submit "${args[@]}" 2>/dev/null | sed -n 's/^submitted report job \([0-9]*\).*/\1/p')
      hit=0
      for _ in $(seq 120); do
        squeue -h -r -t RUNNING -o %N | grep -qx node2 && { sleep "$(python3 -c "import random; print(round(random.uniform(0, 1), 2))")"; hit=1; break; }
        sleep 0.5
      done
      [ "$hit" = 1 ] && "$PARARUN_ROOT/scripts/local-cluster.sh" kill-node node2 >/dev/null 2>&1
      [ -n "$report" ] && job_end "$report"
      "$PARARUN_ROOT/scripts/local-cluster.sh" start-node node2 >/dev/null 2>&1
      grep -q '"slurm_state":"NODE_FAIL"' "$d/results.jsonl" 2>/dev/null && recorded=$((recorded + 1))
      for _ in $(seq 60); do sinfo -h -n node2 -o %T | grep -q idle && break; sleep 0.5; done
      report=$("$P" submit "${args[@]}" --resume 2>/dev/null | sed -n 's/^submitted report job \([0-9]*\).*/\1/p')
      [ -n "$report" ] && job_end "$report"
      tally "$d" "node loss" "$hit"
    done
    nodes="$recorded of $trials lost points recorded as NODE_FAIL by the report job, then run again by submit --resume"
  else
    nodes="skipped (the local cluster did not start)"
  fi
fi

cpu_line
printf '%-16s %6s %7s %12s %12s\n' experiment trials faults "records lost" duplicated
for k in "${!by_kind[@]}"; do
  read -r n f bl bd <<<"${by_kind[$k]}"
  printf '%-16s %6s %7s %12s %12s\n' "$k" "$n" "$f" "$bl" "$bd"
done | sort
echo "runs $runs, faults injected $faults, records lost $lost, points duplicated $dup"
echo "partial line: isolated as one bad line in $partial_ok of $trials; full disk: $full"
echo "a killed rank ended mpirun within ${slowest_end} s (slowest of $trials)"
echo "node loss: $nodes"
[ "$lost" = 0 ] && [ "$dup" = 0 ]
