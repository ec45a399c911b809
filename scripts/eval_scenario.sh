#!/usr/bin/env bash
# Detection quality on a simulated scenario, end to end: vitals-sim plays the scenario at full
# speed through a private mosquitto into vitalsd (with the per-patient settings a clinician would
# give the scenario's patients: vitals-sim --patient-config), then vitals-eval scores vitalsd's
# alerts against the simulator's labels: per event kind sensitivity, alerts per event, delay;
# false alerts per patient-day; alerts on artifacts. Table (or JSON) on stdout, progress on stderr.
# Usage: scripts/eval_scenario.sh [BUILD_DIR] [--scenario FILE] [--vitalsd-config FILE] [--json]
#                                 [--out FILE] [--keep]
#   BUILD_DIR             with daemon/vitalsd and simulators/vitals-{sim,eval} (build/dev)
#   --scenario FILE       simulators/scenarios/eval-week.toml (4 days, 40 patients) by default
#   --vitalsd-config FILE TOML appended to vitalsd's generated config
#   --json                vitals-eval's JSON instead of the table
#   --out FILE            also write the report to FILE
#   --keep                keep the temp dir (database, config, labels, logs) and print its path
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/harness.sh
source "$root/scripts/lib/harness.sh"

build=""
scenario="$root/simulators/scenarios/eval-week.toml"
extra_config=""
json=0
out=""
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --scenario) scenario=$2; shift 2 ;;
    --vitalsd-config) extra_config=$2; shift 2 ;;
    --json) json=1; shift ;;
    --out) out=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "eval_scenario: unknown option $1 (try --help)" >&2; exit 2 ;;
    *) [ -z "$build" ] || { echo "eval_scenario: one build dir only" >&2; exit 2; }; build=$1; shift ;;
  esac
done
build=${build:-$root/build/dev}
sim=$build/simulators/vitals-sim
eval_bin=$build/simulators/vitals-eval
for b in "$sim" "$eval_bin"; do
  [ -x "$b" ] || { echo "eval_scenario: $b not found: build it first" >&2; exit 1; }
done
[ -f "$scenario" ] || { echo "eval_scenario: $scenario not found" >&2; exit 1; }

umask 077
config=$(mktemp "${TMPDIR:-/tmp}/vitals-scenario-config.XXXXXX")
"$sim" --scenario "$scenario" --patient-config "$config" --log-level error
[ -z "$extra_config" ] || cat "$extra_config" >>"$config"
harness_start eval-scenario "$config"
rm -f "$config"

harness_progress "vitals-sim $(basename "$scenario") at full speed"
"$sim" --scenario "$scenario" --speed max --batch 30 --broker "$broker" \
  --labels "$tmp/labels.jsonl" --progress-every 30 2>"$tmp/sim.log" ||
  harness_die "vitals-sim failed; its log: $(tail -20 "$tmp/sim.log")"
harness_wait_stored
harness_stop

format=()
[ "$json" = 1 ] && format=(--json)
"$eval_bin" --labels "$tmp/labels.jsonl" --db "$db" "${format[@]}" >"$tmp/report"
cat "$tmp/report"
if [ -n "$out" ]; then
  cp "$tmp/report" "$out"
  harness_progress "report written to $out"
fi
