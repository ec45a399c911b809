#!/usr/bin/env bash
# What the patient registry costs: vitalsd's RSS with N registry patients against none (the
# baseline, in the same run), and the time of one change through the API
# (`vitalsctl patient add`). The registry is written with sqlite3 into a database vitalsd made,
# then vitalsd starts on it with a file source (no broker needed) and an admin token.
# Usage: scripts/registry_cost.sh [--patients N] [--full] [BUILD_DIR]
#   --patients N  registry entries (default 10000)
#   --full        each with two devices, a care team and a personal SpO2 limit (default: one
#                 device each, as a gateway's device mapping)
# BUILD_DIR defaults to build/dev and must hold daemon/vitalsd and daemon/vitalsctl.
# Prints one line per run: entries, RSS after start, per patient against the baseline, the
# start time and one PUT's time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

n=10000
full=0
build=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --patients)
      [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "registry_cost: --patients needs a number" >&2; exit 2; }
      n=$2; shift 2 ;;
    --full) full=1; shift ;;
    -*) echo "registry_cost: unknown option $1 (try --help)" >&2; exit 2 ;;
    *) [ -z "$build" ] || { echo "registry_cost: one build dir only" >&2; exit 2; }; build=$1; shift ;;
  esac
done
build=${build:-$root/build/dev}
for b in daemon/vitalsd daemon/vitalsctl; do
  [ -x "$build/$b" ] || { echo "registry_cost: $build/$b missing (cmake --build $build)" >&2; exit 2; }
done
command -v sqlite3 >/dev/null || { echo "registry_cost: needs sqlite3 (scripts/setup.sh)" >&2; exit 2; }

work=$(mktemp -d /tmp/vitals-registry-cost-XXXXXX)
pid=""
cleanup() { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
umask 077

# One run: vitalsd on a database with $1 registry entries. Sets rss_kib, start_ms, put_ms.
run() {
  local entries=$1 dir="$work/n$1" port
  mkdir -p "$dir"
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/admin.token"
  port=$((30000 + RANDOM % 20000))
  touch "$dir/in.jsonl"
  cat >"$dir/vitalsd.toml" <<TOML
[[sources]]
type = "file"
path = "$dir/in.jsonl"
[store]
path = "$dir/vitalsd.db"
[alerts]
command_topic = ""
[api]
port = $port
[[api.tokens]]
name = "bench"
role = "admin"
token_file = "$dir/admin.token"
TOML
  # vitalsd makes the database (schema and all), then the registry is filled in.
  "$build/daemon/vitalsd" --config "$dir/vitalsd.toml" >"$dir/first.log" 2>&1 &
  pid=$!
  until grep -q "vitalsd running" "$dir/first.log"; do sleep 0.05; done
  kill -TERM "$pid"; wait "$pid" || true; pid=""
  local doc="json_object('devices', json_array(printf('cgm-%06d', i)))"
  if [ "$full" = 1 ]; then
    doc="json_object('care_team', printf('ward-%d', i % 20), 'devices', json_array(printf('cgm-%06d', i), printf('ox-%06d', i)), 'rules', json_object('spo2_low', json_object('limit', 88)))"
  fi
  if [ "$entries" -gt 0 ]; then
    sqlite3 "$dir/vitalsd.db" "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $entries - 1)
      INSERT INTO patient_registry SELECT printf('p%06d', i), $doc, 0, 'registry_cost' FROM n;"
  fi
  local t0 t1
  t0=$(date +%s%N)
  "$build/daemon/vitalsd" --config "$dir/vitalsd.toml" >"$dir/second.log" 2>&1 &
  pid=$!
  until grep -q "vitalsd running" "$dir/second.log"; do
    kill -0 "$pid" 2>/dev/null || { cat "$dir/second.log" >&2; exit 1; }
    sleep 0.01
  done
  t1=$(date +%s%N)
  start_ms=$(( (t1 - t0) / 1000000 ))
  sleep 1
  rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  t0=$(date +%s%N)
  "$build/daemon/vitalsctl" patient add p-new --device new-1 --care-team icu \
    --api "http://127.0.0.1:$port" --token-file "$dir/admin.token" >"$dir/put.log" 2>&1 ||
    { cat "$dir/put.log" >&2; exit 1; }
  t1=$(date +%s%N)
  put_ms=$(( (t1 - t0) / 1000000 ))
  kill -TERM "$pid"; wait "$pid" || true; pid=""
}

echo "registry_cost: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), build $build"
echo "registry_cost: baseline (no registry entries) ..."
run 0
base_rss=$rss_kib
printf '%8s  %12s  %12s  %10s  %10s\n' entries "RSS (MB)" "per patient" "start (s)" "PUT (s)"
awk -v r="$rss_kib" -v s="$start_ms" -v p="$put_ms" \
  'BEGIN { printf "%8d  %12.1f  %12s  %10.2f  %10.2f\n", 0, r / 1024, "-", s / 1000, p / 1000 }'
echo "registry_cost: $n entries$([ "$full" = 1 ] && echo ', full' || true) ..."
run "$n"
awk -v n="$n" -v r="$rss_kib" -v b="$base_rss" -v s="$start_ms" -v p="$put_ms" \
  'BEGIN { printf "%8d  %12.1f  %9.2f KB  %10.2f  %10.2f\n", n, r / 1024, (r - b) * 1024 / n / 1000, s / 1000, p / 1000 }'
