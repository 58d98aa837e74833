# Shared by the scripts: install what is missing (Debian, as root) and build with a preset.
# Source it; it defines ensure_deps and build_preset.

PARARUN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PARARUN_PACKAGES=(g++ cmake ninja-build make git libopenmpi-dev openmpi-bin libeigen3-dev libgtest-dev
                  libcli11-dev nlohmann-json3-dev libopenblas-dev libyaml-cpp-dev python3-matplotlib
                  python3-jsonschema python3-pandas)

# Open MPI refuses to run as root unless told; CI and this machine run as root.
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

log() { printf '[pararun] %s\n' "$*" >&2; }

# slurm_job_state ID: the job's state as scontrol shows it ("" while Slurm does not know it).
slurm_job_state() {
  scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'
}
# slurm_state_active STATE: true while a job in STATE has not ended ("" too: not known yet).
# The states of slurm_state_active() in runtime/orchestration/src/slurm.cpp: SIGNALING, for
# one, while a --signal is delivered before the time limit.
slurm_state_active() {
  case "$1" in
    PENDING | RUNNING | CONFIGURING | COMPLETING | REQUEUED | RESIZING | SUSPENDED | STAGE_OUT | \
      SIGNALING | RESV_DEL_HOLD | REQUEUE_FED | REQUEUE_HOLD | "") return 0 ;;
    *) return 1 ;;
  esac
}

# cpu_line: the CPU every figure is measured on, as one line (model, family, model number).
cpu_line() {
  local l
  l=$(lscpu)
  echo "CPU: $(sed -n 's/^Model name: *//p' <<<"$l" | head -1) (family $(sed -n 's/^CPU family: *//p' <<<"$l" | head -1) model $(sed -n 's/^Model: *//p' <<<"$l" | head -1)), $(nproc) CPUs"
}

# ensure_deps [EXTRA_PACKAGE...]: installs the build packages (and the extras) that are missing.
ensure_deps() {
  local missing=()
  for p in "${PARARUN_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    log "missing Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]})"
    return 1
  fi
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# build_preset NAME: configure and build build/NAME with the CMake preset NAME.
build_preset() {
  local preset="$1" cache="$PARARUN_ROOT/build/$1/CMakeCache.txt"
  # A build folder of another generator (the presets used Unix Makefiles before Ninja): CMake
  # will not switch it, so it is configured anew.
  if [ -f "$cache" ] && ! grep -qx 'CMAKE_GENERATOR:INTERNAL=Ninja' "$cache"; then
    log "build/$preset was made by another CMake generator: configuring it anew with Ninja"
    rm -rf -- "$cache" "$PARARUN_ROOT/build/$preset/CMakeFiles"
  fi
  log "building preset '$preset'"
  (cd "$PARARUN_ROOT" && cmake --preset "$preset" >/dev/null &&
     cmake --build --preset "$preset" -j "$(nproc)" >/dev/null) || {
    log "build of preset '$preset' failed; rerun: cmake --build --preset $preset"
    return 1
  }
}

# prepare_run DEFAULT_NAME FILE [OUTPUT_DIR [EXTRA_PACKAGE...]]: refuses an output folder that
# already holds FILE or anything else (results are never overwritten: bench.sh wrote its
# lscpu.txt and bench.txt over those of a folder without FILE), installs what is missing,
# builds Release, creates the folder; sets out_dir and exe. Threads go on their own cores, as on a cluster node (the
# settings are recorded in every record's meta.env).
prepare_run() {
  local name=$1 file=$2
  out_dir=${3:-$PARARUN_ROOT/results/$name-$(date -u +%Y%m%d-%H%M%S)}
  shift 3 || shift $#
  # `scripts/run.sh --reps 3` took --reps for the folder (and failed after the build).
  case "$out_dir" in
    -*)
      echo "pararun: error: output folder '$out_dir' looks like an option; the first argument of $(basename "$0") is the folder (see its head)" >&2
      exit 2
      ;;
  esac
  if [ -e "$out_dir/$file" ]; then
    echo "pararun: error: $out_dir/$file exists; choose a new folder" >&2
    exit 2
  fi
  if [ -e "$out_dir" ] && [ ! -d "$out_dir" ]; then
    echo "pararun: error: $out_dir exists and is not an empty folder; choose a new folder" >&2
    exit 2
  fi
  # Claimed now, before the install and build (minutes): a second run given the same folder,
  # or a default name made in the same second, is refused here instead of writing into it too.
  local made=""
  if [ ! -e "$out_dir" ]; then
    mkdir -p -- "$(dirname -- "$out_dir")" 2>/dev/null || true  # (said just below)
    if ! mkdir -- "$out_dir" 2>/dev/null; then
      echo "pararun: error: cannot make $out_dir (another run made it meanwhile, or no permission); choose a new folder" >&2
      exit 2
    fi
    made=1
  fi
  # Locked for as long as this script runs (what it starts inherits the lock): two runs given
  # the same existing empty folder both found it empty and wrote into it. Whether it is empty
  # is checked under the lock (a run that ended meanwhile left its results there).
  if ! { exec {PARARUN_OUT_LOCK}<"$out_dir"; } 2>/dev/null; then
    echo "pararun: error: cannot open $out_dir to lock it (no permission?); choose a new folder" >&2
    exit 2
  fi
  # (75: held by another run. A filesystem without flock (NFS emulates it with POSIX locks,
  # which a read-only folder cannot take; Lustre without -o flock): a note, and no lock.)
  local locked=0
  flock -n -E 75 "$PARARUN_OUT_LOCK" 2>/dev/null || locked=$?
  if [ "$locked" = 75 ]; then
    echo "pararun: error: $out_dir is in use by another run; choose a new folder" >&2
    exit 2
  elif [ "$locked" != 0 ]; then
    log "note: $out_dir cannot be locked here (flock exit $locked); two runs given it at once would both write into it"
  fi
  if [ -n "$(ls -A -- "$out_dir")" ]; then
    echo "pararun: error: $out_dir exists and is not an empty folder; choose a new folder" >&2
    exit 2
  fi
  # (An install or build that fails leaves no empty folder of its own behind.)
  local rc=0
  { ensure_deps "$@" && build_preset release; } || rc=$?
  if [ "$rc" != 0 ]; then
    [ -z "$made" ] || rmdir -- "$out_dir" 2>/dev/null
    exit "$rc"
  fi
  exe="$PARARUN_ROOT/build/release/apps/pararun"
  export OMP_PLACES=${OMP_PLACES:-cores} OMP_PROC_BIND=${OMP_PROC_BIND:-close}
}
