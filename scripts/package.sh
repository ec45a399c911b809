#!/usr/bin/env bash
# Builds the Debian package of vitalsd with debhelper (packaging/README.md says why):
#   build/package/vitalsd_<version>_<arch>.deb   (and vitalsd-dbgsym_..., .buildinfo, .changes)
# The work tree's files (tracked, and untracked ones git does not ignore) are staged in
# build/package/src with packaging/debian as its debian/, and dpkg-buildpackage builds there with
# the `release` preset, so that the repository root stays free of debian/ and the package's
# build output. The CMake build directory (build/package/obj) is kept between runs, so a second
# run rebuilds only what changed.
# Usage: scripts/package.sh [--no-dbgsym]
#   --no-dbgsym   skip the debug-symbols package (DEB_BUILD_OPTIONS=noautodbgsym)
set -euo pipefail
cd "$(dirname "$0")/.."

build_options="parallel=$(nproc 2>/dev/null || echo 2)"
if [ "${1:-}" = "--no-dbgsym" ]; then build_options+=" noautodbgsym"; shift; fi
if [ $# -ne 0 ]; then
  echo "usage: scripts/package.sh [--no-dbgsym]" >&2
  exit 2
fi

start=$(date +%s)
bash scripts/setup.sh
# The packaging tools, beyond setup.sh's build dependencies.
missing=()
for p in debhelper dpkg-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -ne 0 ]; then
  echo "package: installing ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

# One version: CMake's project version is the upstream part of debian/changelog's.
cmake_version=$(sed -n 's/^project(vitalsd VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
deb_version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
if [ "${deb_version%-*}" != "$cmake_version" ]; then
  echo "package: packaging/debian/changelog says $deb_version, CMakeLists.txt $cmake_version;" \
    "add a changelog entry (dch -v ${cmake_version}-1)" >&2
  exit 1
fi

out=build/package
stage=$out/src
mkdir -p "$out/obj"
rm -rf "$stage" "$out"/vitalsd*_"$deb_version"_*
mkdir -p "$stage"
# tar keeps modification times, so the kept build directory rebuilds only what changed.
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -xf - -C "$stage"
cp -r packaging/debian "$stage/debian"
ln -s ../obj "$stage/build-deb"

echo "== package: dpkg-buildpackage ($build_options)"
(cd "$stage" && DEB_BUILD_OPTIONS="$build_options" dpkg-buildpackage -b -us -uc)

deb=$(ls "$out"/vitalsd_"$deb_version"_*.deb)
echo "== package: $deb in $(($(date +%s) - start)) s"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
dpkg-deb --contents "$deb"
if command -v lintian >/dev/null 2>&1; then
  echo "== lintian (not fatal)"
  lintian --no-tag-display-limit "$deb" || true
fi
