#!/usr/bin/env bash
# scripts/local-cluster.sh passes every path and name to the shell it starts in a node's
# namespace as an argument, never as script text: a quote, a space or a `;` in
# PARARUN_CLUSTER_SHARE is a path, not a command. unshare, hostname, mount and slurmd are
# stubs here (they print what they were asked to do), so no cluster and no root are needed.
set -euo pipefail
source "$(dirname "$0")/shell_test_common.sh"  # $root, $work, fail

mkdir -p "$work/bin" "$work/cluster/run" "$work/cluster/log"
printf '#!/bin/sh\nshift 4\nexec "$@"\n' >"$work/bin/unshare"  # drops --mount --uts --propagation private
for c in hostname mount slurmd; do printf '#!/bin/sh\necho %s: "$@"\n' "$c" >"$work/bin/$c"; done
chmod +x "$work/bin"/*
echo "NodeName=node1 CPUs=1" >"$work/cluster/slurm.conf"
planted=$work/planted
evil="/tmp/x';touch \${IFS}$planted;echo '"
PATH=$work/bin:$PATH PARARUN_CLUSTER_DIR=$work/cluster \
  PARARUN_CLUSTER_SHARE="$evil:/tmp/a b:/tmp/c\"d:/not-tmp" \
  "$root/scripts/local-cluster.sh" start-node node1 >/dev/null
log=$work/cluster/log/slurmd-node1.start.log
[ ! -e "$planted" ] || fail "a share path ran a command"
grep -qxF "mount: --bind $evil $work/cluster/nodes/node1/tmp/${evil#/tmp/}" "$log" ||
  fail "the quoted path was not bound as one path: $(cat "$log")"
grep -qxF "mount: --bind /tmp/a b $work/cluster/nodes/node1/tmp/a b" "$log" || fail "path with a space"
grep -qxF "mount: --bind /tmp/c\"d $work/cluster/nodes/node1/tmp/c\"d" "$log" || fail "path with a quote"
grep -q "not-tmp" "$log" && fail "a path outside /tmp was bound"
grep -qxF "slurmd: -N node1 -f $work/cluster/slurm.conf" "$log" || fail "slurmd not started: $(cat "$log")"

# A node's /tmp (open to all, mode 1777) starts empty: a link another user left where a mount
# point goes is not followed (root's mkdir and mount would land on the link's target).
mkdir -p "$work/target"
ln -s "$work/target" "$work/cluster/nodes/node1/tmp/x"
PATH=$work/bin:$PATH PARARUN_CLUSTER_DIR=$work/cluster PARARUN_CLUSTER_SHARE=/tmp/x/sub \
  "$root/scripts/local-cluster.sh" start-node node1 >/dev/null
[ ! -L "$work/cluster/nodes/node1/tmp/x" ] && [ -d "$work/cluster/nodes/node1/tmp/x/sub" ] ||
  fail "the link left in the node's /tmp was kept"
[ -d "$work/target" ] && [ -z "$(ls -A "$work/target")" ] || fail "start-node wrote through the link"
[ "$(stat -c %a "$work/cluster/nodes/node1/tmp")" = 1777 ] || fail "the node's /tmp is not 1777"
grep -qxF "mount: --bind /tmp/x/sub $work/cluster/nodes/node1/tmp/x/sub" "$log" ||
  fail "the share was not bound: $(cat "$log")"

# A node name that is not in slurm.conf is refused, whatever it holds.
if PATH=$work/bin:$PATH PARARUN_CLUSTER_DIR=$work/cluster "$root/scripts/local-cluster.sh" \
  kill-node '../../x' 2>"$work/err"; then
  fail "kill-node accepted a node that is not in slurm.conf"
fi
grep -q "no node ../../x" "$work/err" || fail "kill-node: $(cat "$work/err")"

# `env` prints a line that eval gives back unchanged; a folder name that is not plain is refused.
dir_eval=$(PARARUN_CLUSTER_DIR=$work/cluster "$root/scripts/local-cluster.sh" env)
(eval "$dir_eval" && [ "$SLURM_CONF" = "$work/cluster/slurm.conf" ]) || fail "env printed: $dir_eval"
set +e
PARARUN_CLUSTER_DIR="/var/tmp/c;touch $planted" "$root/scripts/local-cluster.sh" env >"$work/out" 2>"$work/err"
rc=$?
set -e
[ "$rc" = 2 ] || fail "a folder with ';' gave exit $rc, expected 2"
[ ! -s "$work/out" ] && [ ! -e "$planted" ] || fail "a folder with ';' printed $(cat "$work/out")"
grep -q "PARARUN_CLUSTER_DIR must be" "$work/err" || fail "no reason given: $(cat "$work/err")"

# The port is a number: it goes into shell arithmetic, where an array subscript runs a command.
for port in "BASH_VERSINFO[\$(touch $planted)0]" 80 65535 06817; do
  set +e
  PARARUN_CLUSTER_PORT=$port PARARUN_CLUSTER_DIR=$work/cluster "$root/scripts/local-cluster.sh" \
    status >"$work/out" 2>"$work/err"
  rc=$?
  set -e
  [ "$rc" = 2 ] && [ ! -e "$planted" ] || fail "PARARUN_CLUSTER_PORT='$port' gave exit $rc"
  grep -q "PARARUN_CLUSTER_PORT must be a port number" "$work/err" || fail "port '$port': $(cat "$work/err")"
done

# `stop` signals only the daemons its pid files name: never a pid that is another process
# (a stale file) or -1 (every process).
sleep 300 &
victim=$!
echo "$victim" >"$work/cluster/run/slurmd-node1.pid"
echo "-1" >"$work/cluster/run/slurmctld.pid"
PATH=$work/bin:$PATH PARARUN_CLUSTER_DIR=$work/cluster "$root/scripts/local-cluster.sh" stop \
  >/dev/null 2>&1 || true
kill -0 "$victim" 2>/dev/null || fail "stop killed a process that is not a slurmd"
kill "$victim"

# The cluster's folder holds slurm.conf and the TaskProlog slurmd runs as root: `start` refuses
# one another user owns, one others may write, and a symbolic link, before it runs anything
# (exit 2; nothing written into it). Only root gets that far (start needs root first).
# Should the check let one through, the stubs below fail what `start` would run next (package
# installation, munge, slurmctld) instead of running it on this machine.
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$work/stop" "$work/theirs" "$work/open" "$work/real"
  for c in dpkg-query apt-get munge munged runuser slurmctld squeue scancel scontrol sinfo; do
    printf '#!/bin/sh\necho "stub: %s must not run" >&2\nexit 1\n' "$c" >"$work/stop/$c"
  done
  chmod +x "$work/stop"/*
  chown 65534 "$work/theirs" 2>/dev/null || echo "65534" >"$work/no-chown"
  chmod 775 "$work/open"
  ln -s "$work/real" "$work/link"
  ln -s "$work/real" "$work/theirlink" && chown -h 65534 "$work/theirlink" 2>/dev/null || true
  for case in "theirs:belongs to user 65534, not root" "open:is writable by other users" \
    "link:is a symbolic link" "link/:must name its folder plainly" \
    "theirlink/x:theirlink belongs to user 65534"; do
    d=$work/${case%%:*}
    case "${case%%:*}" in theirs | theirlink/x) [ ! -e "$work/no-chown" ] || continue ;; esac  # (uid 65534 unmapped)
    set +e
    PATH=$work/stop:$work/bin:$PATH PARARUN_CLUSTER_DIR=$d "$root/scripts/local-cluster.sh" start \
      >"$work/out" 2>"$work/err"
    rc=$?
    set -e
    [ "$rc" = 2 ] || fail "start in $d gave exit $rc, expected 2: $(cat "$work/err")"
    grep -qF "${case#*:}" "$work/err" || fail "start in $d: $(cat "$work/err")"
    [ -z "$(ls -A "$work/real/")" ] && [ -z "$(ls -A "$work/theirs/")" ] &&
      [ -z "$(ls -A "$work/open/")" ] || fail "start in $d wrote into a folder"
  done

  # stop, status, kill-node and start-node read slurm.conf and pid files from the folder and
  # act on them as root (squeue and scancel under its slurm.conf, kill the machine's munged
  # when it holds munge.ours): a folder another user made is refused in the same way.
  if [ ! -e "$work/no-chown" ]; then
    mkdir -p "$work/foreign/run"
    echo "NodeName=node1 CPUs=1" >"$work/foreign/slurm.conf"
    echo 1 >"$work/foreign/run/slurmctld.pid"
    touch "$work/foreign/run/munge.ours"
    chown -R 65534 "$work/foreign"
    for cmd in stop status "kill-node node1" "start-node node1"; do
      set +e
      # shellcheck disable=SC2086  # the command and its node, two words
      PATH=$work/stop:$work/bin:$PATH PARARUN_CLUSTER_DIR=$work/foreign \
        "$root/scripts/local-cluster.sh" $cmd >"$work/out" 2>"$work/err"
      rc=$?
      set -e
      [ "$rc" = 2 ] || fail "$cmd in a folder of user 65534 gave exit $rc, expected 2: $(cat "$work/err")"
      grep -qF "belongs to user 65534, not root" "$work/err" || fail "$cmd: $(cat "$work/err")"
      [ -e "$work/foreign/run/munge.ours" ] || fail "$cmd acted on the folder"
    done
  fi
fi
echo "local-cluster.sh: paths and names stay arguments"
