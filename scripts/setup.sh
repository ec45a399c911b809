#!/usr/bin/env bash
# Installs the Debian packages vitalsd needs, and only those that are missing.
# Idempotent: a second run installs nothing and says so.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libboost-dev            # Asio, Beast, lockfree (headers)
  libssl-dev              # TLS for notifiers, HMAC signatures, constant-time token compare
  libpaho-mqttpp-dev libpaho-mqtt-dev
  libsqlite3-dev sqlite3
  libeigen3-dev
  libspdlog-dev libfmt-dev
  catch2
  libsimdjson-dev
  libtomlplusplus-dev
  libcli11-dev
  nlohmann-json3-dev
  libbenchmark-dev
  mosquitto mosquitto-clients
  libmosquitto-dev        # bench/ingest_bench: bare subscriber and flood publisher
  libsdbus-c++-dev        # BlueZ source (D-Bus)
  libsystemd-dev          # sd_notify: READY, STOPPING, STATUS and the watchdog under systemd
  dbus-daemon             # tests: a private bus for the stand-in org.bluez service
  clang libclang-rt-14-dev  # libFuzzer targets of the GATT decoders (scripts/fuzz.sh)
  universal-ctags         # scripts/check_size.sh: function extents for the size limits
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "setup: installing ${#missing[@]} missing package(s): ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
