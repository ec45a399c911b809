#!/usr/bin/env bash
# Hypoglycaemia alerting on real CGM data, end to end: replays the nine D1NAMO traces
# (../shared/data/cgm-d1namo/, CC BY-SA 4.0, see its README) through a private mosquitto into
# vitalsd, then scores vitalsd's alerts with vitals-eval --episodes against hypo_episodes.csv,
# side by side with the baselines (reading <= 55, reading < 70, Nightscout AR2, linear
# extrapolation) replayed on the same traces. Prints the table (or JSON) on stdout, progress on
# stderr. Everything else lives in a temp dir removed at the end.
# Usage: scripts/eval_d1namo.sh [BUILD_DIR] [--data DIR] [--vitalsd-config FILE] [--json]
#                               [--out FILE] [--keep]
#   BUILD_DIR             with daemon/vitalsd and simulators/vitals-{sim,eval} (build/dev)
#   --data DIR            the CGM folder (../shared/data/cgm-d1namo next to the repository)
#   --vitalsd-config FILE TOML appended to vitalsd's generated config (rules, detectors)
#   --json                vitals-eval's JSON instead of the table
#   --out FILE            also write the report to FILE
#   --keep                keep the temp dir (database, config, logs) and print its path
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

build=""
data="$root/../shared/data/cgm-d1namo"
extra_config=""
json=0
out=""
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data=$2; shift 2 ;;
    --vitalsd-config) extra_config=$2; shift 2 ;;
    --json) json=1; shift ;;
    --out) out=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "eval_d1namo: unknown option $1 (try --help)" >&2; exit 2 ;;
    *) [ -z "$build" ] || { echo "eval_d1namo: one build dir only" >&2; exit 2; }; build=$1; shift ;;
  esac
done
build=${build:-$root/build/dev}

# shellcheck source=lib/harness.sh
source "$root/scripts/lib/harness.sh"
progress() { harness_progress "$@"; }
die() { echo "eval_d1namo: $*" >&2; exit 1; }

sim=$build/simulators/vitals-sim
eval_bin=$build/simulators/vitals-eval
for b in "$sim" "$eval_bin"; do
  [ -x "$b" ] || die "$b not found: build it first (cmake --build $build --target vitalsd vitals-sim vitals-eval)"
done
[ -f "$data/hypo_episodes.csv" ] || die "$data/hypo_episodes.csv not found (--data DIR)"
data=$(cd "$data" && pwd)

traces=()
for f in "$data"/[0-9][0-9][0-9].csv; do traces+=("$f"); done
[ ${#traces[@]} -gt 0 ] || die "no NNN.csv traces in $data"

harness_start eval-d1namo "$extra_config"

# One patient per file: 001.csv -> d001. Local times replayed as UTC (+00:00), the same offset
# as vitals-eval reads the episodes with.
offset="+00:00"
rows_total=0
eval_args=()
for f in "${traces[@]}"; do
  name=$(basename "$f")
  patient="d${name%.csv}"
  rows=$(grep -c '^[0-9]' "$f" || true)
  progress "replay $name as $patient: $rows rows"
  if ! "$sim" replay --csv "$f" --patient "$patient" --vital glucose --speed max \
      --broker "$broker" --client-id "vitals-sim-d1namo-$patient" --utc-offset "$offset" \
      >"$tmp/replay-$patient.log" 2>&1; then
    die "vitals-sim replay of $name failed; its log: $(cat "$tmp/replay-$patient.log")"
  fi
  rows_total=$((rows_total + rows))
  eval_args+=(--trace "$f")
done

harness_wait_stored "$rows_total"
harness_stop

format=()
[ "$json" = 1 ] && format=(--json)
"$eval_bin" --episodes "$data/hypo_episodes.csv" "${eval_args[@]}" --patient-prefix d \
  --utc-offset "$offset" --db "$db" --baselines "${format[@]}" --out "$tmp/report"
cat "$tmp/report"
if [ -n "$out" ]; then
  cp "$tmp/report" "$out"
  progress "report written to $out"
fi
