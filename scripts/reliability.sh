#!/usr/bin/env bash
# The fault trials of issue 16, each against a real mosquitto, a real vitalsd and a real SQLite
# file, printing its figures. These are the integration tests tagged [reliability]; `.ci/run`
# runs them too, inside the whole suite.
#   - a full disk (a 4 MB tmpfs; needs root) and a deleted database file: store_failing paged,
#     /healthz 503, what is lost and when it recovers;
#   - 2,000 idle API connections under a 1,024-descriptor limit;
#   - 100,000 readings of unknown device ids: rejects and RSS;
#   - 10,000 devices silent at once: alerts raised and /healthz p99;
#   - kill -9 at random moments under load (3 kills in the suite): readings lost per kill,
#     notifications delivered twice, alerts left open or never delivered;
#   - the broker killed with SIGKILL, production persistence (1 kill in the suite): loss.
# Usage: scripts/reliability.sh [--kills N] [--soak MIN] [--broker-kills N] [BUILD_DIR]
#   --kills N   the kill -9 trial with N kills (20 for issue 16's figures); only that trial runs
#   --soak MIN  load for MIN minutes after the kills (with --kills 0: a soak without kills,
#               nothing may be lost; vitalsd's RSS is printed); only that trial runs
#   --broker-kills N  the broker SIGKILL trial with N kills; only that trial runs
# BUILD_DIR defaults to build/dev; what is missing is built.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

build=""
filter="[reliability]"
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --kills)
      [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "reliability: --kills needs a number" >&2; exit 2; }
      export VITALS_KILLS=$2; filter="[kill]"; shift 2 ;;
    --soak)
      [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "reliability: --soak needs minutes" >&2; exit 2; }
      export VITALS_SOAK_S=$(( $2 * 60 )); filter="[kill]"; shift 2 ;;
    --broker-kills)
      [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "reliability: --broker-kills needs a number" >&2; exit 2; }
      export VITALS_BROKER_KILLS=$2; filter="[broker_kill]"; shift 2 ;;
    -*) echo "reliability: unknown option $1 (try --help)" >&2; exit 2 ;;
    *) [ -z "$build" ] || { echo "reliability: one build dir only" >&2; exit 2; }; build=$1; shift ;;
  esac
done
build=${build:-$root/build/dev}
if [ ! -f "$build/CMakeCache.txt" ]; then
  echo "reliability: no CMake build in $build (run scripts/test.sh --quick first, or name one)" >&2
  exit 2
fi

echo "reliability: building the integration tests in $build"
cmake --build "$build" --target integration_tests vitalsd -j"$(nproc)" >/dev/null
if [ "$(id -u)" != 0 ]; then
  echo "reliability: not root: the full-disk trial will say SKIPPED (it mounts a tmpfs)" >&2
fi
# -s would print every assertion; the trials print their own figures.
exec "$build/tests/integration/integration_tests" "$filter" --durations yes
