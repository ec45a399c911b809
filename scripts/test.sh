#!/usr/bin/env bash
# Installs what is missing, builds (dev preset) and runs every test with ctest.
# Usage: scripts/test.sh [extra ctest arguments, e.g. -L core or -R spine]
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
jobs=$(nproc 2>/dev/null || echo 2)

echo "== configure (dev preset)"
cmake --preset dev >/dev/null
echo "== build ($jobs jobs)"
cmake --build --preset dev -j "$jobs"
echo "== test"
ctest --preset dev -j "$jobs" "$@"
