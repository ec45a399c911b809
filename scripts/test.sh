#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test three times: the dev build, under
# AddressSanitizer + UndefinedBehaviorSanitizer (asan preset) and under ThreadSanitizer (tsan).
# After the dev tests, the libFuzzer targets of tests/fuzz/ run for FUZZ_SECONDS (15) each
# (scripts/fuzz.sh; skipped when clang++ is missing or FUZZ_SECONDS=0), and the Debian package
# is made from the dev build's binaries and installed into a clean Debian 12 root
# (scripts/package.sh --from build/dev, scripts/package_test.sh: needs root and the Debian
# archive; PACKAGE_TEST=0 skips it, and without root it is skipped with a message).
# Usage: scripts/test.sh [--quick] [extra ctest arguments, e.g. -L core or -R spine]
#   --quick   dev build only (the sanitizer builds take a few minutes each on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."

presets=(dev asan tsan)
if [ "${1:-}" = "--quick" ]; then presets=(dev); shift; fi

bash scripts/setup.sh
jobs=$(nproc 2>/dev/null || echo 2)

for preset in "${presets[@]}"; do
  start=$(date +%s)
  echo "== [$preset] configure"
  cmake --preset "$preset" >/dev/null
  echo "== [$preset] build ($jobs jobs)"
  cmake --build --preset "$preset" -j "$jobs"
  echo "== [$preset] built in $(( $(date +%s) - start )) s; test"
  # ctest's own summary stays the last line of the run.
  ctest --preset "$preset" -j "$jobs" "$@"
  if [ "$preset" = dev ]; then
    echo "== [fuzz] libFuzzer targets, ${FUZZ_SECONDS:-15} s each"
    bash scripts/fuzz.sh
    if [ "${PACKAGE_TEST:-1}" = 0 ] || [ $# -ne 0 ]; then
      echo "== [package] skipped (PACKAGE_TEST=0 or a filtered ctest run)"
    elif [ "$(id -u)" -ne 0 ]; then
      echo "== [package] SKIPPED: installing the package into a Debian root needs root" \
        "(run scripts/package.sh and sudo scripts/package_test.sh)"
    else
      echo "== [package] the .deb from the dev build, installed into a clean Debian 12 root"
      bash scripts/package.sh --from build/dev --no-dbgsym >build/dev/package.log 2>&1 ||
        { tail -n 40 build/dev/package.log; exit 1; }
      bash scripts/package_test.sh
    fi
  fi
done
