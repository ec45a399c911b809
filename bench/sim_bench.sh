#!/usr/bin/env bash
# sim_bench: how fast vitals-sim produces and publishes readings for many patients, and whether it
# outruns vitalsd (so that an end-to-end load test measures the daemon, not the simulator).
#
# Usage: bench/sim_bench.sh [--build DIR] [--patients N] [--duration D] [--repeat R] [--batch S]
#   --build DIR     a Release build with vitalsd and vitals-sim (default: build-bench)
#   --patients N    simulated patients (default 1000; half healthy, half type 1 diabetic)
#   --duration D    simulated time per run (default 2m: N x 120 oximeter readings)
#   --repeat R      runs of each measurement; medians are printed (default 3)
#   --batch S       vitals-sim --batch S for the publish and e2e runs (default 0: a message per
#                   reading)
#
# Three measurements, each on a fresh private mosquitto (the shipped configuration):
#   generate  vitals-sim --dry-run > /dev/null: the generator and payload formatting alone
#   publish   vitals-sim to the broker at QoS 1, nobody subscribed: the publishing simulator
#   e2e       vitals-sim to the broker at QoS 1 while vitalsd (Release, default config) ingests:
#             readings/s of the simulator (until its last publish is acknowledged) and of
#             vitalsd (until the last sample is stored) in the same run, and their ratio = how
#             much sooner the simulator finishes (above 1: it is not the bottleneck)
# Readings: one oximeter second (HR + SpO2) or one CGM value; the generate run counts them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

build=build-bench
patients=1000
duration=2m
repeat=3
batch=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --patients) patients=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "sim_bench: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
sim=$root/$build/simulators/vitals-sim
daemon=$root/$build/daemon/vitalsd
for b in "$sim" "$daemon"; do
  [ -x "$b" ] || { echo "sim_bench: $b missing; build it: cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build $build -j2 --target vitalsd vitals-sim" >&2; exit 2; }
done

work=$(mktemp -d)
broker_pid=""
daemon_pid=""
cleanup() {
  [ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  [ -n "$broker_pid" ] && kill -TERM "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  for _ in $(seq 50); do
    local p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "sim_bench: no free port" >&2
  exit 1
}

start_broker() {
  port=$(free_port)
  sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$work|g" config/mosquitto/vitals-mosquitto.conf.in >"$work/mosquitto.conf"
  /usr/sbin/mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
  broker_pid=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return; sleep 0.05; done
  echo "sim_bench: mosquitto did not start" >&2
  exit 1
}

stop_broker() {
  kill -TERM "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null || true
  broker_pid=""
}

# The simulator's own summary: "done: N messages published (...), ..., R msg/s overall".
sim_rate() { sed -n 's/.*done: .* \([0-9]*\) msg\/s overall.*/\1/p' "$1" | tail -1; }
sim_count() { sed -n 's/.*done: \([0-9]*\) messages published.*/\1/p' "$1" | tail -1; }

common=(--scenario none --patients "$patients" --speed max --duration "$duration" --seed 1
        --start 2026-01-01T00:00:00Z --progress-every 3600 --log-level info)

median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.0f\n", (a[NR/2]+a[NR/2+1])/2}'; }

now() { date +%s.%N; }
per_s() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN {printf "%.0f", n / (b - a)}'; }

gen=() pub=() e2e_sim=() e2e_daemon=() ratio=()
for r in $(seq "$repeat"); do
  # generate: every reading is one message here, so its count is the number of readings
  "$sim" "${common[@]}" --dry-run >/dev/null 2>"$work/gen.log"
  readings=$(sim_count "$work/gen.log")
  gen+=("$(sim_rate "$work/gen.log")")

  # publish, nobody subscribed
  start_broker
  a=$(now)
  "$sim" "${common[@]}" --batch "$batch" --broker "tcp://127.0.0.1:$port" --qos 1 2>"$work/pub.log"
  b=$(now)
  pub+=("$(per_s "$readings" "$a" "$b")")
  stop_broker

  # end to end: vitalsd subscribed first (persistent session), then the simulator
  start_broker
  rm -f "$work"/vitalsd.db*
  cat >"$work/vitalsd.toml" <<TOML
[mqtt]
broker = "tcp://127.0.0.1:$port"
[[sources]]
type = "mqtt"
client_id = "vitalsd-bench"
[store]
path = "$work/vitalsd.db"
[api]
port = 0
TOML
  "$daemon" --config "$work/vitalsd.toml" >"$work/vitalsd.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 100); do grep -q "subscribed" "$work/vitalsd.log" 2>/dev/null && break; sleep 0.1; done
  t0=$(now)
  "$sim" "${common[@]}" --batch "$batch" --broker "tcp://127.0.0.1:$port" --qos 1 2>"$work/e2e.log"
  ts=$(now)
  # The daemon is done when the sample count stops growing; t1 = the last poll that saw it grow.
  last=-1
  t1=$ts
  while :; do
    n=$(sqlite3 "$work/vitalsd.db" "SELECT count(*) FROM samples" 2>/dev/null || echo 0)
    [ "$n" = "$last" ] && break
    [ "$last" != -1 ] && t1=$(now)
    last=$n
    sleep 0.25
  done
  kill -TERM "$daemon_pid" && wait "$daemon_pid" 2>/dev/null || true
  daemon_pid=""
  stop_broker
  s=$(per_s "$readings" "$t0" "$ts")
  d=$(per_s "$readings" "$t0" "$t1")
  e2e_sim+=("$s")
  e2e_daemon+=("$d")
  ratio+=("$(awk -v a="$t0" -v s="$ts" -v d="$t1" 'BEGIN {printf "%.2f", (d - a) / (s - a)}')")
  echo "run $r: $readings readings; generate ${gen[-1]} messages/s; publish ${pub[-1]} readings/s; e2e: simulator $s readings/s, vitalsd $d readings/s ($last samples stored), ratio ${ratio[-1]}" >&2
done

echo "vitals-sim, $patients patients, $duration simulated, --batch $batch, QoS 1, medians of $repeat runs:"
echo "  generate (dry run, no broker):           $(printf '%s\n' "${gen[@]}" | median) readings/s"
echo "  publish, nobody subscribed:              $(printf '%s\n' "${pub[@]}" | median) readings/s"
echo "  e2e: vitals-sim publishing:              $(printf '%s\n' "${e2e_sim[@]}" | median) readings/s"
echo "  e2e: vitalsd storing:                    $(printf '%s\n' "${e2e_daemon[@]}" | median) readings/s"
echo "  ratio (vitalsd's time / vitals-sim's time, same run): $(printf '%s\n' "${ratio[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
