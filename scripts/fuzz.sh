#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ (clang, ASan + UBSan) in build/fuzz and runs each
# one for a bounded time on a copy of its committed corpus (tests/fuzz/corpus/<target>/ is never
# written). Fails on a crash, a sanitizer report, a timeout or an out-of-memory; a crashing input
# is kept in build/fuzz/artifacts/. See tests/fuzz/README.md.
# Usage: scripts/fuzz.sh [target...]      (default: every target)
#   FUZZ_SECONDS=15   time per target; 0 skips fuzzing
#   FUZZ_JOBS=1       libFuzzer worker processes per target (-fork); 1 = one plain process
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-15}
jobs=${FUZZ_JOBS:-1}
build=build/fuzz
all=(fuzz_hr fuzz_plx_continuous fuzz_plx_spot_check fuzz_cgm fuzz_cgm_session_start fuzz_hex)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

if [ "$seconds" = 0 ]; then
  echo "fuzz: FUZZ_SECONDS=0, fuzz targets SKIPPED"
  exit 0
fi
if ! command -v clang++ >/dev/null 2>&1 || ! command -v clang >/dev/null 2>&1; then
  echo "fuzz: clang++ not found, fuzz targets SKIPPED (scripts/setup.sh installs clang and" \
    "libclang-rt-14-dev)"
  exit 0
fi

launcher=()
if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
echo "== [fuzz] configure and build ($build)"
cmake -S tests/fuzz -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target "${targets[@]}"

work=$(mktemp -d "${TMPDIR:-/tmp}/vitals-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/artifacts"

failed=()
summary=()
for t in "${targets[@]}"; do
  corpus="$work/$t"
  mkdir -p "$corpus"
  if [ -d "tests/fuzz/corpus/$t" ]; then cp -R "tests/fuzz/corpus/$t/." "$corpus/"; fi
  log="$work/$t.log"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=1024
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-")
  if [ "$jobs" -gt 1 ]; then args+=(-fork="$jobs"); fi
  echo "== [fuzz] $t: ${seconds} s on a copy of tests/fuzz/corpus/$t ($(ls "$corpus" | wc -l) inputs)"
  rc=0
  "$build/$t" "${args[@]}" "$corpus" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  if [ "$rc" -ne 0 ] ||
    grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz invariant violated' "$log"; then
    failed+=("$t")
    summary+=("$(printf '%-24s FAILED (exit %s) after %s executions' "$t" "$rc" "${execs:-?}")")
    echo "-- $t FAILED (exit $rc):"
    grep -E 'invariant|runtime error|ERROR:|SUMMARY: [A-Za-z]*Sanitizer|Test unit written|^Base64' \
      "$log" | head -12 || true
    grep -E '^ +#[0-9]+ .* in (vitals::|LLVMFuzzerTestOneInput)' "$log" | head -8 || true
  else
    summary+=("$(printf '%-24s ok  %12s executions, %s, corpus %s -> %s' "$t" "${execs:-?}" \
      "${cov:-cov: ?}" "$(ls "tests/fuzz/corpus/$t" 2>/dev/null | wc -l)" "$(ls "$corpus" | wc -l)")")
  fi
done

echo "== [fuzz] summary (${seconds} s per target)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (crashing inputs in $build/artifacts/; tests/fuzz/README.md" \
    "says how to reproduce)"
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran without a crash or sanitizer report"
