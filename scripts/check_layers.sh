#!/usr/bin/env bash
# The layering of DESIGN.md, checked on the sources (not only through CMake's include paths,
# which a public header included from a lower layer's consumer would slip past):
#   core/      includes nothing of ours but core
#   config/    includes core only: it knows no adapter (plugins reach it through the registry)
#   adapters/  includes core and adapters only, and no other folder's files by relative path
# (tests may use every layer: they are left out)
# Usage: scripts/check_layers.sh [ROOT]   (exit 1 and one line per offending include)
#        scripts/check_layers.sh --plant   check a copy with a planted violation (must exit 1)
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}

if [ "$root" = "--plant" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  src=$(cd "$(dirname "$0")/.." && pwd)
  mkdir -p "$tmp/config/src"
  printf '#include <vitals/adapters/mqtt/mqtt_source.hpp>\n' >"$tmp/config/src/planted.cpp"
  exec "$0" "$tmp"
fi

cd "$root"
fail=0
check() {  # check FOLDER REGEX WHAT
  local folder=$1 pattern=$2 what=$3
  [ -d "$folder" ] || return 0
  while IFS= read -r hit; do
    echo "layering: $hit ($what)"
    fail=1
  done < <(grep -rnE --exclude-dir=tests --include='*.hpp' --include='*.cpp' --include='*.h' "$pattern" "$folder" || true)
}
check core '#include\s*[<"]vitals/(adapters|config|daemon|simulators|test)/' \
  "core depends on nothing of ours"
check config '#include\s*[<"]vitals/(adapters|daemon|simulators|test)/' \
  "config knows no adapter: plugins reach it through core::plugin_registry"
check config/include '#include\s*"' "public config headers include by <vitals/...>"
check adapters '#include\s*[<"]vitals/(config|daemon|simulators)/' \
  "adapters depend on core only"
check adapters '#include\s*"\.\./' "an adapter family includes another's files by path"
if [ "$fail" -eq 0 ]; then
  echo "layering: core, config and adapters include only what DESIGN.md allows"
fi
exit "$fail"
