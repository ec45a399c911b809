#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test three times: the `ci` build (the
# dev build as a unity build: a fresh build in less time), under AddressSanitizer +
# UndefinedBehaviorSanitizer (asan preset) and under ThreadSanitizer (tsan: the suites whose code
# runs threads). After the first tests, two things run side by side: the libFuzzer targets of
# tests/fuzz/ for FUZZ_SECONDS (15) each (scripts/fuzz.sh; skipped when clang++ is missing or
# FUZZ_SECONDS=0), and the Debian package, made from the ci build's binaries and installed into a
# clean Debian 12 root (scripts/package.sh --from, scripts/package_test.sh: needs root and the
# Debian archive; PACKAGE_TEST=0 skips it, and without root it is skipped with a message).
# Usage: scripts/test.sh [--quick] [extra ctest arguments, e.g. -L core or -R spine]
#   --quick   the dev build and its tests only (incremental, for development)
set -euo pipefail
cd "$(dirname "$0")/.."

presets=(ci asan tsan)
if [ "${1:-}" = "--quick" ]; then presets=(dev); shift; fi

bash scripts/setup.sh
jobs=$(nproc 2>/dev/null || echo 2)
fuzz_pid=""
trap '[ -z "$fuzz_pid" ] || kill "$fuzz_pid" 2>/dev/null || true' EXIT

# The fuzzers (one core each, in the background) and the package test (mostly downloads).
fuzz_and_package() {
  local build=$1
  echo "== [fuzz] libFuzzer targets, ${FUZZ_SECONDS:-15} s each, beside the package test" \
    "(output below when done)"
  bash scripts/fuzz.sh >build/fuzz.log 2>&1 &
  fuzz_pid=$!
  if [ "${PACKAGE_TEST:-1}" = 0 ] || [ "$#" -gt 1 ]; then
    echo "== [package] skipped (PACKAGE_TEST=0 or a filtered ctest run)"
  elif [ "$(id -u)" -ne 0 ]; then
    echo "== [package] SKIPPED: installing the package into a Debian root needs root" \
      "(run scripts/package.sh and sudo scripts/package_test.sh)"
  else
    echo "== [package] the .deb from $build, installed into a clean Debian 12 root"
    bash scripts/package.sh --from "$build" --no-dbgsym >"$build/package.log" 2>&1 ||
      { tail -n 40 "$build/package.log"; exit 1; }
    bash scripts/package_test.sh
  fi
  local rc=0
  wait "$fuzz_pid" || rc=$?
  fuzz_pid=""
  cat build/fuzz.log
  [ "$rc" -eq 0 ] || exit 1
}

for preset in "${presets[@]}"; do
  start=$(date +%s)
  echo "== [$preset] configure"
  cmake --preset "$preset" >/dev/null
  echo "== [$preset] build ($jobs jobs)"
  cmake --build --preset "$preset" -j "$jobs"
  echo "== [$preset] built in $(( $(date +%s) - start )) s; test"
  # ctest's own summary stays the last line of each preset's tests.
  ctest --preset "$preset" -j "$jobs" "$@"
  if [ "$preset" = ci ]; then fuzz_and_package "build/$preset" "$@"; fi
done
