# Sourced by the shell tests that need no cluster (job_common_test.sh,
# local_cluster_args_test.sh): $root, the checkout; $work, a scratch folder removed at exit;
# fail MESSAGE.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d /var/tmp/pararun-shell-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
