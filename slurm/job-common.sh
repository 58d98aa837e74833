# Sourced by ParaRun's job scripts (the templates in this folder and the scripts that
# `pararun submit` writes). Finds the pararun binary, sets the MPI and OpenMP environment,
# and runs a command that Slurm's warning signal reaches.

# The site's setup (module loads, a spack env, paths): PARARUN_SETUP, a script sourced first
# (pararun submit --setup writes it into its job scripts). A setup that fails ends the job.
if [ -n "${PARARUN_SETUP:-}" ]; then
  # shellcheck disable=SC1090
  source "$PARARUN_SETUP" || {
    echo "pararun: error: the setup script $PARARUN_SETUP failed (exit $?)" >&2
    exit 2
  }
fi

# Open MPI refuses to run as root unless told (containers and test clusters run as root).
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# Threads on their own cores, kept close (a user's settings win).
export OMP_PLACES=${OMP_PLACES:-cores} OMP_PROC_BIND=${OMP_PROC_BIND:-close}

pararun_home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The binary: $PARARUN, else `pararun` on PATH, else this checkout's release build.
PARARUN=${PARARUN:-$(command -v pararun || echo "$pararun_home/build/release/apps/pararun")}
if [ ! -x "$PARARUN" ]; then
  echo "pararun: error: no pararun binary at $PARARUN; build it first (scripts/test.sh, or" \
       "cmake --preset release && cmake --build --preset release in $pararun_home) or set" \
       "PARARUN=/path/to/pararun" >&2
  exit 2
fi

# A binary built for another CPU (-march=native: the release preset, on a login node whose
# CPU the compute nodes lack) dies of SIGILL at once: named here, once, instead of every
# point ending with exit 132.
pararun_probe=0
{ pararun_version=$("$PARARUN" --version 2>&1); } 2>/dev/null || pararun_probe=$?  # (bash's notice of the signal too)
if [ "$pararun_probe" = 132 ]; then
  echo "pararun: error: $PARARUN cannot run on the CPU of $(hostname)" \
       "($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)): it was" \
       "built for another (-march=native, the release preset); build the portable preset" \
       "(cmake --preset portable && cmake --build --preset portable) and set PARARUN to it" >&2
  exit 2
fi

# The build that submitted the job (PARARUN_BUILD_ID: pararun submit and batch submit write it
# into their array tasks' scripts). A binary rebuilt at that path while the job waited would
# measure these points with another build than the rest: the task ends here, with one line.
# (A --version that failed otherwise is left to the run, which records its own error.)
if [ -n "${PARARUN_BUILD_ID:-}" ] && [ "$pararun_probe" = 0 ]; then
  case $pararun_version in
    *"build id $PARARUN_BUILD_ID,"*) ;;
    *)
      echo "pararun: error: $PARARUN is not the build that submitted this job (build id" \
           "$PARARUN_BUILD_ID; now: ${pararun_version%%$'\n'*}): rebuilt since? Not run," \
           "so that one study or batch is not measured by two builds; build that one again and" \
           "submit --resume, or submit into a new folder" >&2
      exit 2 ;;
  esac
fi

# The result file of the templates: PARARUN_OUT, else results/slurm-jobs.jsonl in the
# folder the job was submitted from. Records carry the job, array task, step, partition
# and nodes (meta.slurm) and every rank's host and CPUs (meta.affinity).
pararun_out=${PARARUN_OUT:-${SLURM_SUBMIT_DIR:-.}/results/slurm-jobs.jsonl}
mkdir -p -- "$(dirname -- "$pararun_out")"  # (-- : a path may start with -)

# pararun_user_out ARGS...: the -o/--out a user put on the sbatch line among ARGS (printed;
# status 1 when there is none). The templates then leave theirs out: given twice, pararun
# refused the job once it started, after its wait in the queue.
pararun_user_out() {
  local a prev=""
  for a in "$@"; do
    case $prev in -o | --out) printf '%s\n' "$a"; return 0 ;; esac
    case $a in
      --out=*) printf '%s\n' "${a#--out=}"; return 0 ;;
      -o?*) printf '%s\n' "${a#-o}"; return 0 ;;
    esac
    prev=$a
  done
  return 1
}

# USR1 or TERM before the command runs (Slurm may send --signal's warning up to a minute
# early) must not end the job script: it is kept (TERM over USR1), and pararun_run passes it
# on. The traps the script or its setup had come back after each run.
pararun_saved_traps=$(trap -p USR1 TERM)
pararun_pending_signal=""
pararun_keep_signals() {
  trap '[ "$pararun_pending_signal" = TERM ] || pararun_pending_signal=USR1' USR1
  trap 'pararun_pending_signal=TERM' TERM
}
pararun_keep_signals

# pararun_catches PID SIGNAL: true once process PID handles SIGNAL (USR1 or TERM) itself.
pararun_catches() {
  local mask bit
  mask=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$mask" ] || return 1
  case "$2" in  # signal number - 1
    USR1) bit=9 ;;
    TERM) bit=14 ;;
    *) return 1 ;;
  esac
  (((16#$mask >> bit) & 1))
}

# pararun_run CMD...: runs CMD and returns its exit code. USR1 (sent before the time limit
# with --signal=B:USR1@SECONDS) and TERM are passed on to it: pararun study stops cleanly
# and writes its checkpoint; a single run is abandoned without writing a record.
pararun_run() {
  "$@" &
  local pid=$! rc sig
  trap 'echo "pararun-job: SIGUSR1 (time limit near), passing it on" >&2; kill -USR1 $pid' USR1
  trap 'echo "pararun-job: SIGTERM, passing it on" >&2; kill -TERM $pid' TERM
  if [ -n "$pararun_pending_signal" ]; then  # it came before: once the command handles it
    sig=$pararun_pending_signal
    pararun_pending_signal=""
    echo "pararun-job: SIG$sig came before the command ran, passing it on" >&2
    for _ in $(seq 300); do  # up to 30 s
      pararun_catches "$pid" "$sig" || ! kill -0 "$pid" 2>/dev/null && break
      sleep 0.1
    done
    kill -"$sig" "$pid" 2>/dev/null
  fi
  while :; do
    wait "$pid"
    rc=$?
    kill -0 "$pid" 2>/dev/null || break  # a signal interrupted wait: wait again
  done
  trap - USR1 TERM
  eval "$pararun_saved_traps"
  return "$rc"
}

# pararun_launch LAUNCHER [pararun launcher options]: sets the array `launch` to the words
# ParaRun starts ranks with (its one launcher policy, the same as studies and submit use).
pararun_launch() {
  mapfile -t launch < <("$PARARUN" launcher "$@")
  if [ ${#launch[@]} -eq 0 ]; then
    echo "pararun: error: 'pararun launcher $*' printed no launch command" >&2
    return 2
  fi
}
