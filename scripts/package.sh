#!/usr/bin/env bash
# Builds the Debian package of vitalsd with debhelper (packaging/README.md says why):
#   build/package/vitalsd_<version>_<arch>.deb   (and vitalsd-dbgsym_..., .buildinfo, .changes)
# The work tree's files (tracked, and untracked ones git does not ignore) are staged in
# build/package/src with packaging/debian as its debian/, and dpkg-buildpackage builds there with
# the `release` preset, so that the repository root stays free of debian/ and the package's
# build output. The CMake build directory (build/package/obj) is kept between runs, so a second
# run rebuilds only what changed.
# Usage: scripts/package.sh [--no-dbgsym] [--from DIR]
#   --no-dbgsym   skip the debug-symbols package (DEB_BUILD_OPTIONS=noautodbgsym)
#   --from DIR    package the vitalsd and vitalsctl of an existing CMake build in DIR (its
#                 install prefix is set to /usr; nothing is recompiled) instead of building the
#                 release preset: what scripts/test.sh does to test the packaging with the dev
#                 build's binaries. Packages to ship are built without it.
set -euo pipefail
cd "$(dirname "$0")/.."

build_options="parallel=$(nproc 2>/dev/null || echo 2)"
prebuilt=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-dbgsym) build_options+=" noautodbgsym"; shift ;;
    --from)
      [ -f "${2:-}/CMakeCache.txt" ] || { echo "package: --from ${2:-}: no CMake build there" >&2; exit 2; }
      prebuilt=$(realpath "$2"); shift 2 ;;
    *) echo "usage: scripts/package.sh [--no-dbgsym] [--from DIR]" >&2; exit 2 ;;
  esac
done

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

echo "== package: dpkg-buildpackage ($build_options${prebuilt:+; the binaries of $prebuilt})"
(cd "$stage" && VITALS_PREBUILT="$prebuilt" DEB_BUILD_OPTIONS="$build_options" \
  dpkg-buildpackage -b -us -uc)

deb=$(ls "$out"/vitalsd_"$deb_version"_*.deb)
echo "== package: $deb in $(($(date +%s) - start)) s"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
dpkg-deb --contents "$deb"
if command -v lintian >/dev/null 2>&1; then
  echo "== lintian (not fatal)"
  lintian --no-tag-display-limit "$deb" || true
fi
