#!/usr/bin/env bash
# Installs the vitalsd Debian package into a clean Debian 12 root and checks it as an operator
# would (packaging/README.md, "The install test"):
#   1. debootstrap a minimal bookworm into a temporary folder (from the host's apt sources);
#   2. `apt-get install ./vitalsd_*.deb` in a chroot: apt resolves the runtime dependencies;
#   3. files, modes, owners, the conffile, the dependencies, the system user;
#   4. `systemd-analyze verify` and `systemd-analyze security` (offline, --root) on the unit;
#      the exposure score must be 2.0 or below ("OK");
#   5. the installed vitalsd, started as the vitalsd user with the installed configuration (its
#      broker line pointed at a mosquitto on a loopback port), stores readings published to the
#      broker in /var/lib/vitalsd/vitalsd.db, and exits 0 on SIGTERM;
#   6. the same root booted with systemd-nspawn: systemd runs the enabled unit with all its
#      sandboxing (READY=1, user, capabilities, seccomp, readings stored, journal priorities,
#      a watchdog restart when the process is frozen, a clean `systemctl stop`);
#   7. `apt-get remove` keeps configuration and database; `apt-get purge` removes them.
# Needs root (debootstrap, chroot, mount). Every mount is undone and every process it started is
# ended on exit, also on failure; the folder is removed unless --keep.
# scripts/test.sh runs it on a package made from the ci build (packaging/README.md, "In CI").
# Usage: scripts/package_test.sh [--deb FILE] [--cache DIR] [--keep]
#   --deb FILE   the package (default: the newest build/package/vitalsd_*_<arch>.deb)
#   --cache DIR  keep debootstrap's downloaded packages in DIR and reuse them (checked against
#                the archive's signed Release file each time, so a cache is safe to share
#                between runs on one machine)
#   --keep       leave the root folder for inspection
set -euo pipefail
cd "$(dirname "$0")/.."

deb=""
cache=""
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --deb) deb=$(realpath "$2"); shift 2 ;;
    --cache) cache=$(realpath -m "$2"); shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: scripts/package_test.sh [--deb FILE] [--cache DIR] [--keep]" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then
  echo "package_test: needs root (debootstrap, chroot, mount)" >&2
  exit 2
fi
arch=$(dpkg --print-architecture)
if [ -z "$deb" ]; then
  deb=$(ls -t build/package/vitalsd_*_"$arch".deb 2>/dev/null | head -n 1 || true)
  [ -n "$deb" ] || { echo "package_test: no package; run scripts/package.sh first" >&2; exit 2; }
  deb=$(realpath "$deb")
fi
for p in debootstrap mosquitto mosquitto-clients systemd systemd-container; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p"
  fi
done

work=$(mktemp -d "${TMPDIR:-/var/tmp}/vitalsd-pkgtest.XXXXXX")
root=$work/root
pids=()
passed=0
failed=0

cleanup() {
  local rc=$?
  local pid m
  # Our children, and the container's init (not our child: poll for it, then SIGKILL).
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  # Every mount under the root, deepest first; never delete through a mount that remains.
  while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done < <(findmnt -rn -o TARGET | grep -F "$root" | sort -r)
  if findmnt -rn -o TARGET | grep -qF "$root"; then
    echo "package_test: mounts remain under $root; not removing $work" >&2
  elif [ "$keep" = 1 ]; then
    echo "package_test: kept $work"
  else
    rm -rf --one-file-system "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

phase_start=$(date +%s)
timings=()
phase() {  # phase NAME: ends the previous phase's timer
  local now
  now=$(date +%s)
  timings+=("$1 $((now - phase_start)) s")
  phase_start=$now
}

check() {  # check DESCRIPTION COMMAND...: counts and prints the outcome, never exits
  if "${@:2}"; then
    passed=$((passed + 1))
    echo "ok    $1"
  else
    failed=$((failed + 1))
    echo "FAIL  $1"
  fi
}

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

# stat_is PATH 'MODE OWNER:GROUP' (names resolved inside the root)
stat_is() {
  local got
  got=$(in_root stat -c '%a %U:%G' "$1" 2>/dev/null || echo missing)
  [ "$got" = "$2" ] || { echo "      $1: $got, expected $2"; return 1; }
}

# The archive the host's apt uses (first deb822 or one-line source for bookworm), or
# debootstrap's default.
host_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '/^URIs:/ {u=$2} /^Suites:/ && / bookworm( |$)/ {print u; exit}' "$f"
  done | head -n 1
  if [ -f /etc/apt/sources.list ]; then
    awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list
  fi
}
mirror=$(host_mirror | head -n 1)

echo "== package_test: $deb into $root"
debootstrap_args=(--variant=minbase)
if [ -n "$cache" ]; then
  mkdir -p "$cache"
  debootstrap_args+=(--cache-dir="$cache")
fi
debootstrap "${debootstrap_args[@]}" bookworm "$root" ${mirror:+"$mirror"} >"$work/debootstrap.log" 2>&1 ||
  { tail -n 30 "$work/debootstrap.log"; exit 1; }
phase debootstrap

mount -t proc proc "$root/proc"
# No service starts inside the root (there is no systemd running there anyway).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
# The same archive suites as the host (updates and security too), so that the versions the
# package was built against can be installed.
if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
  rm -f "$root/etc/apt/sources.list"
  cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/"
fi
if [ -s /etc/apt/sources.list ]; then cp /etc/apt/sources.list "$root/etc/apt/sources.list"; fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/"
in_root apt-get -o Dpkg::Use-Pty=0 update -qq
in_root apt-get -o Dpkg::Use-Pty=0 install -y -qq --no-install-recommends "/tmp/$(basename "$deb")" \
  >"$work/apt-install.log" 2>&1 || { tail -n 40 "$work/apt-install.log"; exit 1; }
phase "apt install"

echo "== files, modes, owners"
check "vitalsd is installed" test "$(in_root dpkg-query -W -f='${Status}' vitalsd)" = "install ok installed"
check "/usr/bin/vitalsd 0755 root:root" stat_is /usr/bin/vitalsd '755 root:root'
check "/usr/bin/vitalsctl 0755 root:root" stat_is /usr/bin/vitalsctl '755 root:root'
check "/etc/vitalsd 0755 root:root" stat_is /etc/vitalsd '755 root:root'
check "/etc/vitalsd/vitalsd.toml 0640 root:vitalsd" \
  stat_is /etc/vitalsd/vitalsd.toml '640 root:vitalsd'
check "/etc/vitalsd/vitalsd.toml is a conffile" \
  bash -c "chroot '$root' dpkg-query -W -f='\${Conffiles}' vitalsd | grep -q ' /etc/vitalsd/vitalsd.toml '"
check "/etc/vitalsd/secrets 0750 root:vitalsd" stat_is /etc/vitalsd/secrets '750 root:vitalsd'
check "/var/lib/vitalsd 0750 vitalsd:vitalsd" stat_is /var/lib/vitalsd '750 vitalsd:vitalsd'
check "the unit in /lib/systemd/system" stat_is /lib/systemd/system/vitalsd.service '644 root:root'
check "sysusers.d" stat_is /usr/lib/sysusers.d/vitalsd.conf '644 root:root'
check "tmpfiles.d" stat_is /usr/lib/tmpfiles.d/vitalsd.conf '644 root:root'
check "the unit is enabled" test -L "$root/etc/systemd/system/multi-user.target.wants/vitalsd.service"
for doc in README.md packaging.md docs/ALERTS.md examples/vitalsd.example.toml copyright \
  changelog.Debian.gz; do
  check "/usr/share/doc/vitalsd/$doc" test -s "$root/usr/share/doc/vitalsd/$doc"
done
user=$(in_root getent passwd vitalsd || true)
uid=$(echo "$user" | cut -d: -f3)
check "system user vitalsd (uid $uid < 1000)" test -n "$uid" -a "${uid:-1000}" -lt 1000
check "its home /var/lib/vitalsd, no login shell" \
  test "$(echo "$user" | cut -d: -f6,7)" = "/var/lib/vitalsd:/usr/sbin/nologin"
depends=$(in_root dpkg-query -W -f='${Depends}' vitalsd)
echo "      Depends: $depends"
for lib in libpaho-mqttpp3-1 libpaho-mqtt1.3 libsqlite3-0 libsystemd0 libssl3 libsdbus-c++1; do
  check "depends on $lib (shlibdeps)" grep -q "$lib" <<<"$depends"
done
check "does not depend on mosquitto" bash -c "! grep -q mosquitto <<<'$depends'"
check "suggests mosquitto" bash -c \
  "chroot '$root' dpkg-query -W -f='\${Suggests}' vitalsd | grep -q mosquitto"
check "mosquitto was not installed" \
  test "$(in_root dpkg-query -W -f='${db:Status-Status}' mosquitto 2>/dev/null || true)" != installed

echo "== systemd-analyze"
# Any complaint fails it: verify exits 0 on unknown keys and ignored settings, and says so.
verified() {
  systemd-analyze verify --root="$root" /lib/systemd/system/vitalsd.service >"$work/verify.txt" 2>&1 &&
    [ ! -s "$work/verify.txt" ] || { sed 's/^/      /' "$work/verify.txt"; return 1; }
}
check "systemd-analyze verify: no complaint" verified
systemd-analyze security --offline=yes --root="$root" vitalsd.service >"$work/security.txt" 2>&1 || true
score_line=$(grep "Overall exposure level" "$work/security.txt" || echo "no score")
echo "      $score_line"
score=$(sed -n 's/.*: \([0-9.]*\) .*/\1/p' <<<"$score_line")
check "exposure score ${score:-?} is 2.0 or below" \
  awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }'
echo "      the settings that still cost exposure:"
grep -E "^✗" "$work/security.txt" | sed 's/^/      /' || true
phase "checks and systemd-analyze"

echo "== the installed vitalsd as user vitalsd, against a broker"
in_root apt-get -o Dpkg::Use-Pty=0 install -y -qq --no-install-recommends sqlite3 >>"$work/apt-install.log" 2>&1
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    port_free "$p" && { echo "$p"; return; }
  done
}
broker_port=$(pick_port)
api_port=$(pick_port)
sed "s|@PORT@|$broker_port|; s|@DIR@|$work|" config/mosquitto/vitals-mosquitto.conf.in \
  >"$work/mosquitto.conf"
/usr/sbin/mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do port_free "$broker_port" || break; sleep 0.1; done

# What an operator does: point the installed configuration at the broker (and the API at a
# free port, as other tests may hold 8470 on this machine).
conf=$root/etc/vitalsd/vitalsd.toml
sed -i -e 's|^# \[mqtt\]$|[mqtt]|' \
  -e "s|^# broker = \"tcp://localhost:1883\"$|broker = \"tcp://127.0.0.1:$broker_port\"|" "$conf"
printf '\n[api]\nport = %s\n' "$api_port" >>"$conf"
# Known devices only (the default): the two patients the test publishes for.
printf '\n[[patients]]\nid = "p001"\n[[patients]]\nid = "p002"\n' >>"$conf"
check "the edited configuration is still 0640 root:vitalsd" \
  stat_is /etc/vitalsd/vitalsd.toml '640 root:vitalsd'
as_vitalsd=(setpriv --reuid=vitalsd --regid=vitalsd --init-groups --no-new-privs
  --inh-caps=-all --bounding-set=-all)
check "vitalsd --check-config as vitalsd" in_root "${as_vitalsd[@]}" \
  /usr/bin/vitalsd --config /etc/vitalsd/vitalsd.toml --check-config

# As the unit runs it: user vitalsd, no capabilities, no new privileges, in the state directory.
chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin /bin/sh -c \
  "cd /var/lib/vitalsd && exec ${as_vitalsd[*]} /usr/bin/vitalsd --config /etc/vitalsd/vitalsd.toml" \
  >"$work/vitalsd.log" 2>&1 &
daemon=$!
pids+=("$daemon")
for _ in $(seq 300); do
  grep -q subscribed "$work/vitalsd.log" && break
  kill -0 "$daemon" 2>/dev/null || break
  sleep 0.1
done
check "vitalsd runs and subscribed" grep -q subscribed "$work/vitalsd.log"
check "vitalsd runs as user vitalsd" \
  test "$(ps -o uid= -p "$daemon" 2>/dev/null | tr -d ' ')" = "$uid"
readings=20
t0=$(($(date +%s%3N) - 60000))
for i in $(seq 0 $((readings - 1))); do
  mosquitto_pub -h 127.0.0.1 -p "$broker_port" -q 1 -t vitals/p001/ox-1 \
    -m "{\"device\":\"ox-1\",\"ts\":$((t0 + i * 1000)),\"hr\":$((60 + i))}"
done
stored() { in_root "${as_vitalsd[@]}" sqlite3 /var/lib/vitalsd/vitalsd.db \
  "SELECT count(*) FROM samples" 2>/dev/null || echo 0; }
for _ in $(seq 300); do [ "$(stored)" = "$readings" ] && break; sleep 0.1; done
check "$readings readings stored in /var/lib/vitalsd/vitalsd.db" test "$(stored)" = "$readings"
kill -TERM "$daemon"
code=timeout
for _ in $(seq 600); do
  if ! kill -0 "$daemon" 2>/dev/null; then
    code=0
    wait "$daemon" || code=$?
    break
  fi
  sleep 0.1
done
check "SIGTERM: vitalsd exits 0 (got $code)" test "$code" = 0
check "its closing statistics are logged" grep -q "stopped: " "$work/vitalsd.log"
check "after the stop, all $readings readings are there" test "$(stored)" = "$readings"
check "the database is 0600 vitalsd:vitalsd" \
  stat_is /var/lib/vitalsd/vitalsd.db '600 vitalsd:vitalsd'
phase "run against a broker"

echo "== under systemd: the container boots the root (systemd-nspawn), systemd runs the unit"
# The same root, booted: systemd is PID 1 of the container, the unit runs with all its
# sandboxing, and the container shares the host's network (the broker above).
umount "$root/proc"
systemd-nspawn -D "$root" --boot --register=no --keep-unit --quiet --console=pipe \
  >"$work/nspawn.log" 2>&1 &
nspawn=$!
pids+=("$nspawn")
leader=""
for _ in $(seq 300); do  # the container's init, once nspawn's helper has become systemd
  leader=$(pgrep -P "$nspawn" -x systemd 2>/dev/null | head -n 1 || true)
  [ -n "$leader" ] && break
  sleep 0.1
done
[ -n "$leader" ] && pids+=("$leader")
in_box() { nsenter -t "$leader" -a /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
booted=""
# Until the container's systemd answers on its bus and has finished booting (up to 120 s).
for _ in $(seq 1200); do
  [ -n "$leader" ] || break
  state=$(nsenter -t "$leader" -a systemctl is-system-running 2>/dev/null || true)
  case "$state" in
    running | degraded) booted=$state; break ;;
  esac
  sleep 0.1
done
echo "      the container's systemd: ${booted:-not running}"
active_within() {  # active_within SECONDS: the unit is active (it sent READY=1)
  for _ in $(seq "$(($1 * 10))"); do
    [ "$(in_box systemctl is-active vitalsd 2>/dev/null)" = active ] && return 0
    sleep 0.1
  done
  return 1
}
unit() { in_box systemctl show -P "$1" vitalsd 2>/dev/null; }
if [ -n "$booted" ]; then
  check "systemd started the enabled unit and got READY=1 (active)" active_within 60
  check "its status line: $(unit StatusText)" bash -c "[[ '$(unit StatusText)' == running:* ]]"
  main=$(unit MainPID)
  in_box cat "/proc/$main/status" >"$work/status.txt" 2>/dev/null || true
  check "it runs as uid $uid" grep -Eq "^Uid:\s+$uid\s" "$work/status.txt"
  check "... with no capabilities" grep -Eq '^CapEff:\s+0+$' "$work/status.txt"
  check "... no new privileges" grep -Eq '^NoNewPrivs:\s+1$' "$work/status.txt"
  check "... under a seccomp filter" grep -Eq '^Seccomp:\s+2$' "$work/status.txt"
  for i in $(seq 0 9); do
    mosquitto_pub -h 127.0.0.1 -p "$broker_port" -q 1 -t vitals/p002/ox-2 \
      -m "{\"device\":\"ox-2\",\"ts\":$((t0 + i * 1000)),\"hr\":$((70 + i))}"
  done
  box_stored() { in_box sqlite3 /var/lib/vitalsd/vitalsd.db "SELECT count(*) FROM samples" \
    2>/dev/null || echo 0; }
  for _ in $(seq 300); do [ "$(box_stored)" = $((readings + 10)) ] && break; sleep 0.1; done
  check "the service stores 10 more readings ($(box_stored) in all)" \
    test "$(box_stored)" = $((readings + 10))
  in_box journalctl -u vitalsd -o cat --no-pager -p 6..6 >"$work/journal-info.txt" 2>&1 || true
  in_box journalctl -u vitalsd -o cat --no-pager -p 4..4 >"$work/journal-warning.txt" 2>&1 || true
  check "journal: 'vitalsd running' at priority info" \
    grep -q '^vitalsd running:' "$work/journal-info.txt"
  check "journal: the missing API tokens at priority warning" \
    grep -q '^API: no tokens configured' "$work/journal-warning.txt"
  in_box systemctl reload vitalsd >/dev/null 2>&1 || true
  reloaded() {
    in_box journalctl -u vitalsd -o cat --no-pager 2>/dev/null | grep -q '^configuration reloaded'
  }
  for _ in $(seq 100); do reloaded && break; sleep 0.1; done
  check "systemctl reload: vitalsd re-read its configuration (SIGHUP)" reloaded
  in_box systemd-analyze security vitalsd >"$work/security-online.txt" 2>&1 || true
  echo "      online: $(grep "Overall exposure level" "$work/security-online.txt" || echo "no score")"

  # systemd's side of the watchdog: when the pings stop (the process frozen here; a stalled
  # pipeline in tests/daemon/systemd_service_test.cpp), systemd kills and restarts vitalsd.
  mkdir -p "$root/etc/systemd/system/vitalsd.service.d"
  printf '[Service]\nWatchdogSec=3s\nTimeoutAbortSec=3s\nRestartSec=1s\n' \
    >"$root/etc/systemd/system/vitalsd.service.d/test-watchdog.conf"
  in_box systemctl daemon-reload
  in_box systemctl restart vitalsd
  active_within 60 || true
  in_box systemctl kill --signal=SIGSTOP vitalsd
  restarted() { [ "$(unit NRestarts)" -ge 1 ] 2>/dev/null && active_within 1; }
  for _ in $(seq 600); do restarted && break; sleep 0.1; done
  check "no pings: systemd's watchdog kills vitalsd and Restart= brings it back" restarted
  in_box journalctl -u vitalsd --no-pager >"$work/journal.txt" 2>&1 || true
  check "journal: systemd saw the watchdog timeout" grep -q 'Watchdog timeout' "$work/journal.txt"
  rm -r "$root/etc/systemd/system/vitalsd.service.d"
  in_box systemctl daemon-reload

  in_box systemctl stop vitalsd
  check "systemctl stop: a clean exit (Result=$(unit Result), status $(unit ExecMainStatus))" \
    test "$(unit Result)/$(unit ExecMainStatus)" = success/0
  in_box journalctl -u vitalsd -o cat --no-pager >"$work/journal.txt" 2>&1 || true
  check "journal: the closing statistics" grep -q '^stopped: ' "$work/journal.txt"
  check "every reading is still there" test "$(box_stored)" = $((readings + 10))
else
  check "the container boots (systemd-nspawn)" false
  tail -n 20 "$work/nspawn.log"
fi
kill -TERM "$nspawn" 2>/dev/null || true
for _ in $(seq 300); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.1; done
mount -t proc proc "$root/proc"
phase "under systemd"

echo "== remove, then purge"
in_root apt-get -o Dpkg::Use-Pty=0 remove -y -qq vitalsd >"$work/apt-remove.log" 2>&1
check "remove keeps the database" test -f "$root/var/lib/vitalsd/vitalsd.db"
check "remove keeps the configuration" test -f "$root/etc/vitalsd/vitalsd.toml"
in_root apt-get -o Dpkg::Use-Pty=0 purge -y -qq vitalsd >>"$work/apt-remove.log" 2>&1
check "purge removes /var/lib/vitalsd" test ! -e "$root/var/lib/vitalsd"
check "purge removes /etc/vitalsd" test ! -e "$root/etc/vitalsd"
check "purge leaves no dpkg record" bash -c "! chroot '$root' dpkg-query -W vitalsd >/dev/null 2>&1"
phase "remove and purge"

if [ "$failed" -ne 0 ]; then
  echo "== logs: vitalsd, then apt"
  tail -n 40 "$work/vitalsd.log" || true
  tail -n 20 "$work/apt-install.log" || true
fi
echo "== timings: ${timings[*]/%/;}"
echo "package_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
