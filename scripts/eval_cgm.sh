#!/usr/bin/env bash
# Hypoglycaemia alerting on every recorded CGM set of ../shared/data (cgm-*: D1NAMO, HUPA-UCM,
# T1D-UOM 5-min and 15-min, Hall 2018, Colas 2019; sources and licences in their NOTICE files):
# vitalsd's pipeline replayed in-process over every trace (vitals-eval-cgm), each person's
# diabetes type from metadata.csv, scored with the data README's rules next to the four
# baselines, one table per set and group and one pooled table per group; then the
# leave-one-dataset-out choice of the glucose detector's parameters over GRID, with each left-out
# set's figures. The figures of docs/DETECTION.md ("Real CGM data"). Takes about 2 minutes.
# Usage: scripts/eval_cgm.sh [BUILD_DIR] [--data DIR] [--tables-only] [--lodo-only] [--out FILE]
#   BUILD_DIR      with simulators/vitals-eval-cgm (build/dev)
#   --data DIR     the folder holding the cgm-* sets (../shared/data next to the repository)
#   --out FILE     also write the report to FILE
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

build=""
data="${VITALS_SHARED_DATA:-$root/../shared/data}"
tables=1
lodo=1
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data=$2; shift 2 ;;
    --tables-only) lodo=0; shift ;;
    --lodo-only) tables=0; shift ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "eval_cgm: unknown option $1 (try --help)" >&2; exit 2 ;;
    *) [ -z "$build" ] || { echo "eval_cgm: one build dir only" >&2; exit 2; }; build=$1; shift ;;
  esac
done
build=${build:-$root/build/dev}
bin=$build/simulators/vitals-eval-cgm
[ -x "$bin" ] || { echo "eval_cgm: $bin not found: cmake --build $build --target vitals-eval-cgm" >&2; exit 1; }
[ -d "$data" ] || { echo "eval_cgm: $data not found (--data DIR)" >&2; exit 1; }

# The grid: the forecast's confidence above level 1, its horizon, the readings that confirm it,
# and whether below 70 mg/dL the point forecast is enough (0 = no). confidence=0.5,
# point_below=0, horizon 20, 2 readings is the detector before issue 18.
grid=(--grid point_below=0,70 --grid confidence=0.5,0.7,0.8,0.9,0.95
      --grid horizon_min=20,25,30 --grid min_readings=1,2)

report=$(mktemp)
trap 'rm -f "$report"' EXIT
{
  echo "# scripts/eval_cgm.sh at $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), data $data"
  if [ "$tables" = 1 ]; then
    echo
    echo "## vitalsd (defaults) and the baselines, per set, group and pooled"
    "$bin" --data-root "$data" || [ $? = 3 ]
  fi
  if [ "$lodo" = 1 ]; then
    echo
    echo "## leave-one-dataset-out"
    "$bin" --data-root "$data" "${grid[@]}"
  fi
} >"$report"
cat "$report"
if [ -n "$out" ]; then cp "$report" "$out"; echo "eval_cgm: report written to $out" >&2; fi
