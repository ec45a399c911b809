#!/usr/bin/env bash
# The fault trials of issue 16, each against a real mosquitto, a real vitalsd and a real SQLite
# file, printing its figures. These are the integration tests tagged [reliability]; `.ci/run`
# runs them too, inside the whole suite.
#   - a full disk (a 4 MB tmpfs; needs root) and a deleted database file: store_failing paged,
#     /healthz 503, what is lost and when it recovers;
#   - 2,000 idle API connections under a 1,024-descriptor limit;
#   - 100,000 readings of unknown device ids: rejects and RSS;
#   - 10,000 devices silent at once: alerts raised and /healthz p99.
# Not here yet: the 20-kill and soak variants (see issue 16's note).
# Usage: scripts/reliability.sh [BUILD_DIR]   (default build/dev; builds what is missing)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

build=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
exec "$build/tests/integration/integration_tests" "[reliability]" --durations yes
