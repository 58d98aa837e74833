#!/usr/bin/env bash
# A real Slurm cluster on this one machine: munge, slurmctld and N slurmd "nodes". Each slurmd
# runs in its own mount and UTS namespace (its own hostname, its own /tmp), so that multi-node
# MPI jobs work: with one hostname and one /tmp, srun --mpi=pmix steps collide on
# /tmp/spmix_appdir_* and Open MPI's shared-memory transport crashes across "nodes".
#
#   scripts/local-cluster.sh start [--nodes N]   install what is missing, configure, start (N=2)
#   scripts/local-cluster.sh status              the nodes (sinfo) and the daemons' pids
#   scripts/local-cluster.sh stop                cancel its jobs, stop what start started
#   scripts/local-cluster.sh env                 the line to eval so sbatch/squeue find it
#   scripts/local-cluster.sh kill-node NODE      a node lost: kill -9 its slurmd and every
#                                                process of its namespace (its job steps)
#   scripts/local-cluster.sh start-node NODE     the node back (it returns to service itself)
#
# All state (slurm.conf, logs, spool, job-state, each node's /tmp) lives in one folder,
# $PARARUN_CLUSTER_DIR (default /var/tmp/pararun-cluster); it must not be under /tmp, which
# each node replaces with its own. Jobs see the machine's files except /tmp: keep binaries,
# inputs and outputs elsewhere. A checkout under /tmp stays visible to the nodes (it is
# bind-mounted into each node's /tmp), as do the paths in PARARUN_CLUSTER_SHARE (colon-separated).
# PARARUN_CLUSTER_PORT (default 6817) is slurmctld's port; node K listens on PORT+100+K.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
umask 022  # what it makes (folders, slurm.conf, the TaskProlog, mount points): writable by root alone

dir=${PARARUN_CLUSTER_DIR:-/var/tmp/pararun-cluster}
port=${PARARUN_CLUSTER_PORT:-6817}
conf=$dir/slurm.conf
export SLURM_CONF=$conf

die() {
  echo "local-cluster: error: $*" >&2
  exit "${2:-1}"
}

# The folder goes into slurm.conf's paths and the nodes' mounts: plain characters only.
case "$dir" in
  /*[!A-Za-z0-9._/+=@,-]* | [!/]*) die "PARARUN_CLUSTER_DIR must be an absolute path of letters, digits and ._/+=@,- (got '$dir')" 2 ;;
  */ | */./* | */. | */../* | */.. | *//*) die "PARARUN_CLUSTER_DIR must name its folder plainly: no trailing /, no . or .. parts (got '$dir')" 2 ;;
esac

# The port goes into slurm.conf and into shell arithmetic (which would run a command in an
# array subscript): a number, with room for the nodes' ports above it.
case "$port" in
  '' | *[!0-9]* | 0*) die "PARARUN_CLUSTER_PORT must be a port number from 1024 to 65000 (got '$port')" 2 ;;
esac
[ "${#port}" -le 5 ] && [ "$port" -ge 1024 ] && [ "$port" -le 65000 ] ||
  die "PARARUN_CLUSTER_PORT must be a port number from 1024 to 65000 (got '$port')" 2

usage() {
  echo "usage: scripts/local-cluster.sh start [--nodes N] | status | stop | env | kill-node NODE | start-node NODE" >&2
  exit 2
}

# The line to eval (`eval "$(scripts/local-cluster.sh env)"`), quoted for the shell.
env_line() { printf 'export SLURM_CONF=%q\n' "$conf"; }

nodes_of_conf() { sed -n 's/^NodeName=\([^ ]*\) .*/\1/p' "$conf" 2>/dev/null; }

# pid_in FILE [NAME]: the process id FILE holds, when it is a live process (named NAME, when
# given); else nothing and false. A stale or foreign pid file never names another process
# (nor -1, which would be every process) to the kills below, run as root.
pid_in() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  case "$pid" in '' | *[!0-9]*) return 1 ;; esac
  kill -0 "$pid" 2>/dev/null || return 1
  [ -z "${2:-}" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
  echo "$pid"
}
alive() { pid_in "$@" >/dev/null; }

munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

write_conf() {
  local n=$1 host cpus sockets cores threads
  host=$(hostname -s)
  read -r cpus sockets cores threads < <(slurmd -C | sed -n 's/.*CPUs=\([0-9]*\).*SocketsPerBoard=\([0-9]*\) CoresPerSocket=\([0-9]*\) ThreadsPerCore=\([0-9]*\).*/\1 \2 \3 \4/p')
  cat >"$conf.tmp" <<EOF
# Written by scripts/local-cluster.sh: a local ParaRun test cluster ($n nodes on $host).
ClusterName=pararun
SlurmctldHost=$host
SlurmctldPort=$port
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
KillOnBadExit=1
KillWait=5
SlurmdTimeout=10
# Dependent jobs (a study's report job, a batch's merge job) start when the backfill scheduler
# next looks: every 30 s by default, a wait each such job paid. Every second here.
SchedulerParameters=bf_interval=1
InactiveLimit=0
MinJobAge=600
JobRequeue=1
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.log
AccountingStorageType=accounting_storage/none
EOF
  for k in $(seq 1 "$n"); do
    echo "NodeName=node$k NodeHostname=node$k NodeAddr=127.0.0.1 Port=$((port + 100 + k)) CPUs=$cpus Sockets=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads RealMemory=1000 Features=pararun State=UNKNOWN" >>"$conf.tmp"
  done
  echo "PartitionName=debug Nodes=node[1-$n] Default=YES MaxTime=INFINITE State=UP" >>"$conf.tmp"
  if write_task_prolog; then echo "TaskProlog=$dir/task-prolog.sh" >>"$conf.tmp"; fi
  mv "$conf.tmp" "$conf"
}

# check_private_dir DIR: the cluster's folder holds slurm.conf and the TaskProlog that slurmd
# runs for every task (as root here), so no other user may write it or replace it. Along the
# path as given and along its real path, every part that exists must be root's: the folder
# itself a real folder writable by root alone, each folder above it writable by root alone or
# sticky (/var/tmp), and a symbolic link above it root's own (no one else can point it
# elsewhere). Else exit 2. Run before anything is written, and again once the folder exists
# (another user could have made it in between).
check_private_dir() {
  check_owned_path "$1"
  local real
  real=$(realpath -m -- "$1") || die "cannot resolve $1 (PARARUN_CLUSTER_DIR)" 2
  [ "$real" = "$1" ] || check_owned_path "$real"
}
check_owned_path() {
  local p=$1 uid mode type
  while :; do
    if [ -e "$p" ] || [ -L "$p" ]; then
      read -r uid mode type < <(stat -c '%u %a %F' -- "$p")
      [ "$uid" = 0 ] || die "$p belongs to user $uid, not root: another user could change what slurmd runs as root (PARARUN_CLUSTER_DIR)" 2
      if [ "$type" = "symbolic link" ]; then
        [ "$p" != "$1" ] || die "$p is a symbolic link; PARARUN_CLUSTER_DIR must be a folder of its own" 2
      else
        [ "$type" = directory ] || die "$p is not a folder (PARARUN_CLUSTER_DIR)" 2
        # Group or others may write (octal 020 or 002): only a sticky folder above the cluster's may.
        if (( (8#$mode & 8#022) != 0 )); then
          [ "$p" != "$1" ] && (( (8#$mode & 8#1000) != 0 )) ||
            die "$p is writable by other users (chmod go-w, or another PARARUN_CLUSTER_DIR): another user could change what slurmd runs as root" 2
        fi
      fi
    fi
    [ "$p" = / ] && break
    p=$(dirname -- "$p")
  done
}

# The site's MPI settings, as an admin sets them for every task (slurm.conf's TaskProlog: each
# "export" line it prints goes into the task's environment). Open MPI 4.1.4's TCP transport
# (pml ob1, btl tcp) crashes now and then in MPI_Init across this cluster's nodes: a call
# through a null pointer in its wire-up (4 of 100 two-node steps under load; BENCHMARKS.md,
# sessions 16 and 17). Its UCX transport (pml ucx, over TCP and shared memory) did not crash
# in as many, so tasks use it where Open MPI has it. A task that sets OMPI_MCA_pml keeps its
# own choice. False (no prolog) when Open MPI has no UCX transport.
write_task_prolog() {
  rm -f "$dir/task-prolog.sh"
  command -v ompi_info >/dev/null || return 1
  # (grep reads all of it: with -q, ompi_info's SIGPIPE would fail the pipeline)
  ompi_info 2>/dev/null | grep 'MCA pml: ucx' >/dev/null || return 1
  {
    cat >"$dir/task-prolog.sh.tmp" <<'PROLOG' &&
#!/bin/sh
# Written by scripts/local-cluster.sh (write_task_prolog): Open MPI's UCX transport for every
# task that has not chosen a pml; UCX over TCP and shared memory (by default it takes only
# InfiniBand-class devices). Each variable a task sets itself stays as it is.
[ -n "${OMPI_MCA_pml:-}" ] || echo "export OMPI_MCA_pml=ucx"
[ -n "${OMPI_MCA_pml_ucx_tls:-}" ] || echo "export OMPI_MCA_pml_ucx_tls=any"
[ -n "${OMPI_MCA_pml_ucx_devices:-}" ] || echo "export OMPI_MCA_pml_ucx_devices=any"
exit 0
PROLOG
      chmod 755 "$dir/task-prolog.sh.tmp" && mv "$dir/task-prolog.sh.tmp" "$dir/task-prolog.sh"
  } || die "cannot write $dir/task-prolog.sh"
}

# Paths under /tmp that jobs must still see inside a node: the checkout and the shared list
# (PARARUN_CLUSTER_SHARE, split at colons only: a path may hold spaces or quotes).
shared_paths() {
  local p shares=()
  [ -z "${PARARUN_CLUSTER_SHARE:-}" ] || IFS=: read -r -a shares <<<"$PARARUN_CLUSTER_SHARE"
  for p in "$PARARUN_ROOT" "${shares[@]}"; do
    case "$p" in /tmp/*) printf '%s\n' "$p" ;; esac
  done
}

# The node's namespace: its hostname, the shared paths bound into its own /tmp, then slurmd.
# Every name and path reaches the inner shell as an argument, never as part of its script.
# The node's /tmp is open to every user (mode 1777, as /tmp is) and outlives the node, so a
# user could leave a symbolic link where a mount point goes, and root's mount would follow it
# onto a system folder. A node starts with a new, empty /tmp: its mount points are made (by
# root, not writable by others) before anyone else may write into it.
start_node() {
  local node=$1 node_tmp=$dir/nodes/$1/tmp p binds=()
  alive "$dir/run/slurmd-$node.pid" slurmd && die "node $node runs already (its /tmp is in use)"
  mkdir -p "$dir/spool/$node" "$dir/nodes/$node"
  # The old /tmp moved aside first (a user still writing into it cannot make rm fail the start);
  # rm never follows a link it finds inside.
  if [ -e "$node_tmp" ] || [ -L "$node_tmp" ]; then
    mv -T -- "$node_tmp" "$node_tmp.old.$$" && rm -rf -- "$node_tmp.old.$$" ||
      log "could not remove all of $node's old /tmp ($node_tmp.old.$$)"
  fi
  mkdir -m 700 -- "$node_tmp"
  while IFS= read -r p; do
    mkdir -p -- "$node_tmp/${p#/tmp/}"
    binds+=("$p" "$node_tmp/${p#/tmp/}")
  done < <(shared_paths)
  chmod 1777 "$node_tmp"
  # shellcheck disable=SC2016  # $1.. are the inner shell's
  unshare --mount --uts --propagation private sh -c '
    node=$1 node_tmp=$2 conf=$3
    shift 3
    hostname "$node" || exit
    while [ $# -ge 2 ]; do
      mount --bind "$1" "$2" || exit
      shift 2
    done
    mount --rbind "$node_tmp" /tmp && exec slurmd -N "$node" -f "$conf"' \
    sh "$node" "$node_tmp" "$conf" "${binds[@]}" >>"$dir/log/slurmd-$node.start.log" 2>&1
}

cmd_start() {
  local n=2
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) [ $# -ge 2 ] || usage; n=$2; shift 2 ;;
      --nodes=*) n=${1#--nodes=}; shift ;;
      *) usage ;;
    esac
  done
  [[ "$n" =~ ^[1-9][0-9]?$ ]] || die "--nodes takes a count from 1 to 99, got '$n'" 2
  [ "$(id -u)" = 0 ] || die "needs root (namespaces, munge and slurmd run as root)"
  check_private_dir "$dir"
  case "$dir/" in /tmp/*) die "PARARUN_CLUSTER_DIR ($dir) must not be under /tmp: each node replaces /tmp" 2 ;; esac
  if alive "$dir/run/slurmctld.pid"; then
    die "a local cluster already runs from $dir (scripts/local-cluster.sh stop first)"
  fi
  ensure_deps slurm-wlm munge
  mkdir -p "$dir"/{state,spool,run,log,nodes}
  check_private_dir "$dir"  # again: another user could have made it while packages installed

  # munge: use the machine's if it runs, else start it and remember that we did.
  if ! munge_works; then
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- munged --force
    touch "$dir/run/munge.ours"
    for _ in $(seq 50); do munge_works && break; sleep 0.1; done
    munge_works || die "munged did not start (see /var/log/munge/munged.log)"
  fi

  # The node names resolve to this machine.
  local names="" k
  for k in $(seq 1 "$n"); do
    getent hosts "node$k" >/dev/null || names+=" node$k"
  done
  [ -z "$names" ] || echo "127.0.0.1$names  # pararun local cluster" >>/etc/hosts

  write_conf "$n"
  slurmctld -c -f "$conf" || die "slurmctld did not start (see $dir/log/slurmctld.log)"
  for k in $(seq 1 "$n"); do start_node "node$k"; done

  # Wait until every node is idle.
  local idle=0
  for _ in $(seq 100); do
    idle=$(sinfo -h -N -t idle -o %N 2>/dev/null | sort -u | wc -l)
    [ "$idle" -ge "$n" ] && break
    sleep 0.2
  done
  if [ "$idle" -lt "$n" ]; then
    sinfo -N >&2 || true
    die "only $idle of $n nodes came up idle (logs in $dir/log)"
  fi
  log "local Slurm cluster up: $n nodes (node1..node$n), partition debug, state in $dir"
  if grep -q '^TaskProlog=' "$conf"; then
    log "tasks get Open MPI's UCX transport (OMPI_MCA_pml=ucx, $dir/task-prolog.sh) unless they set OMPI_MCA_pml"
  fi
  env_line
}

cmd_status() {
  [ -f "$conf" ] || die "no local cluster configured in $dir (scripts/local-cluster.sh start)"
  local any=0 f
  for f in "$dir"/run/*.pid; do
    [ -e "$f" ] || continue
    if alive "$f"; then
      echo "$(basename "$f" .pid): running (pid $(cat "$f"))"
      any=1
    else
      echo "$(basename "$f" .pid): not running"
    fi
  done
  [ "$any" = 1 ] || die "the local cluster in $dir is not running"
  sinfo -N -o "%N %T %c %P"
}

cmd_stop() {
  [ -f "$conf" ] || die "no local cluster configured in $dir"
  if alive "$dir/run/slurmctld.pid"; then
    local jobs
    jobs=$(squeue -h -o %i 2>/dev/null || true)
    if [ -n "$jobs" ]; then
      scancel --quiet $jobs 2>/dev/null || true
      for _ in $(seq 100); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.1; done
    fi
    scontrol shutdown >/dev/null 2>&1 || true
  fi
  local f node pid daemon
  for node in $(nodes_of_conf) slurmctld; do
    f=$dir/run/slurmd-$node.pid daemon=slurmd
    [ "$node" = slurmctld ] && f=$dir/run/slurmctld.pid daemon=slurmctld
    for _ in $(seq 50); do alive "$f" || break; sleep 0.1; done
    if pid=$(pid_in "$f" "$daemon"); then kill "$pid" 2>/dev/null || true; fi
  done
  if [ -f "$dir/run/munge.ours" ]; then
    if pid=$(pid_in /run/munge/munged.pid munged); then kill "$pid" 2>/dev/null || true; fi
    rm -f "$dir/run/munge.ours"
  fi
  log "local Slurm cluster in $dir stopped"
}

# kill-node NODE: what a node failure does to the jobs on it. Every process in the node's UTS
# namespace (slurmd, slurmstepd, the job's processes) gets SIGKILL; slurmctld notices after
# SlurmdTimeout, marks the node DOWN and the jobs NODE_FAIL (batch jobs are requeued).
cmd_kill_node() {
  local node=${1:-} f ns p n=0
  [ -n "$node" ] || usage
  nodes_of_conf | grep -qxF -- "$node" || die "no node $node in $conf"
  f=$dir/run/slurmd-$node.pid
  alive "$f" || die "node $node is not running (no live $f)"
  # The pid file may be stale and its pid reused: it must be a slurmd in a namespace of its
  # own, never this machine's (that would kill every process of the host).
  [ "$(cat "/proc/$(cat "$f")/comm" 2>/dev/null)" = slurmd ] || die "pid $(cat "$f") in $f is not a slurmd (a stale pid file?)"
  ns=$(readlink "/proc/$(cat "$f")/ns/uts") || die "cannot read the namespace of $node's slurmd"
  [ "$ns" != "$(readlink /proc/$$/ns/uts)" ] || die "node $node's slurmd runs in this machine's own namespace; not killing it"
  # Each process is stopped as it is found, and all are killed once the pass is over: on a node
  # that is lost no process sees another's end. Killed one by one as found (each check a
  # readlink, milliseconds apart), a job killed before its slurmstepd could be reported as
  # ended, with exit 137, and Slurm did not requeue it: slurm_node_loss failed so once in CI
  # (the glob lists pids as text: "10234" before "9876").
  for _ in 1 2 3 4 5; do  # again, for processes forked while the last pass ran
    local stopped=()
    for p in /proc/[0-9]*; do
      [ "$(readlink "$p/ns/uts" 2>/dev/null)" = "$ns" ] || continue
      kill -STOP "${p#/proc/}" 2>/dev/null && stopped+=("${p#/proc/}")
    done
    [ ${#stopped[@]} = 0 ] && break
    kill -9 "${stopped[@]}" 2>/dev/null || true
    n=$((n + ${#stopped[@]}))
    sleep 0.1
  done
  rm -f "$f"
  log "node $node lost: $n process(es) killed"
}

cmd_start_node() {
  local node=${1:-}
  [ -n "$node" ] || usage
  nodes_of_conf | grep -qxF -- "$node" || die "no node $node in $conf"
  start_node "$node"
  log "node $node started"
}

# What root reads from the folder (slurm.conf for sinfo, squeue and scancel, pid files whose
# processes stop kills, munge.ours, the node list) must be root's alone too: another user who
# made the folder first could else have root kill the machine's munged or run Slurm's tools
# under their own slurm.conf. (start checks before it installs anything, and again after.)
case "${1:-}" in
  status | stop | kill-node | start-node) [ "$(id -u)" != 0 ] || check_private_dir "$dir" ;;
esac

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  kill-node) cmd_kill_node "${2:-}" ;;
  start-node) cmd_start_node "${2:-}" ;;
  status) cmd_status ;;
  stop) cmd_stop ;;
  env) env_line ;;
  *) usage ;;
esac
