#!/usr/bin/env bash
# Regenerates the plugin blocks (between '## >>> ID' and '## <<< ID' lines) of every plugin
# folder's sample.toml and of config/vitalsd.example.toml from the plugins' option tables, with
# the vitalsctl of a built tree. Run it after changing a plugin's options; tests/config compares
# the committed files with what the build generates.
# Usage: scripts/update_samples.sh [BUILD_DIR]   (default build/dev)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/dev}
vitalsctl="$build/daemon/vitalsctl"
if [ ! -x "$vitalsctl" ]; then
  echo "update_samples: $vitalsctl not found; build first (cmake --build --preset dev)" >&2
  exit 1
fi
"$vitalsctl" config-update config/vitalsd.example.toml adapters/*/sample.toml
