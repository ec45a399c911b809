#!/usr/bin/env bash
# Size limits of production code (issue 14): no function over 120 lines in daemon/, adapters/ or
# config/, and no production source file over 700 lines anywhere (tests, benchmarks and fuzz
# targets excepted). Function extents come from universal-ctags (a parser, not a guess from
# braces); lambdas count as part of the function that holds them.
# Usage: scripts/check_size.sh [--list N]   (exit 1 and one line per offender when a limit is passed)
set -euo pipefail
cd "$(dirname "$0")/.."
max_fn=${MAX_FUNCTION_LINES:-120}
max_file=${MAX_FILE_LINES:-700}
list=0
command -v ctags >/dev/null || { echo "check_size: universal-ctags is missing (scripts/setup.sh)" >&2; exit 2; }
[ "${1:-}" = "--list" ] && list=${2:-20}

mapfile -t prod < <(git ls-files -co --exclude-standard -- '*.cpp' '*.hpp' '*.h' \
  | grep -Ev '^(tests|bench|build)/|/tests/|_test\.cpp$|^tests/fuzz/' || true)
fail=0
for f in "${prod[@]}"; do
  [ -f "$f" ] || continue
  n=$(wc -l <"$f")
  if [ "$n" -gt "$max_file" ]; then echo "file over $max_file lines: $f ($n)"; fail=1; fi
done

fn_files=()
for f in "${prod[@]}"; do
  case "$f" in daemon/*|adapters/*|config/*) [ -f "$f" ] && fn_files+=("$f") ;; esac
done
if [ ${#fn_files[@]} -gt 0 ]; then
  while IFS=$'\t' read -r len where; do
    if [ "$len" -gt "$max_fn" ]; then echo "function over $max_fn lines: $where ($len)"; fail=1; fi
  done < <(ctags --output-format=json --fields=+ne --c++-kinds=f -f - "${fn_files[@]}" 2>/dev/null \
    | python3 -c '
import json, sys
for line in sys.stdin:
    t = json.loads(line)
    if t.get("kind") != "function" or "end" not in t or t["name"].startswith("__anon"):
        continue
    n = t["end"] - t["line"] + 1
    scope = t.get("scope")
    name = (scope + "::" if scope else "") + t["name"]
    print("%d\t%s:%d %s" % (n, t["path"], t["line"], name))
' | sort -rn)
fi
if [ "$list" -gt 0 ]; then exit 0; fi
[ "$fail" -eq 0 ] && echo "size: every production file <= $max_file lines, every function in daemon/ adapters/ config/ <= $max_fn lines"
exit "$fail"
