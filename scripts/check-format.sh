#!/usr/bin/env bash
# Fails if any C++ source file (.cpp, .h) of the repository differs from
# .clang-format (LLVM style) as clang-format-14 formats it, and prints the
# command that fixes it. The .def tables (X-macro lists aligned by hand) and
# generated files are not checked. CI runs this from scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

fmt=${CLANG_FORMAT:-clang-format-14}
if ! command -v "$fmt" >/dev/null; then
  echo "check-format: $fmt not found (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard \
    -- '*.cpp' '*.h')
else
  mapfile -t files < <(find . -path ./build -prune -o -path './build-*' \
    -prune -o \( -name '*.cpp' -o -name '*.h' \) -print | sed 's|^\./||')
fi

# One clang-format process for all files; its diagnostics name the files.
status=0
out=$("$fmt" --dry-run -Werror "${files[@]}" 2>&1) || status=$?
mapfile -t bad < <(printf '%s\n' "$out" |
  sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' |
  sort -u)
if ((status != 0 && ${#bad[@]} == 0)); then
  printf '%s\n' "$out" >&2
  echo "check-format: $fmt failed (exit $status)" >&2
  exit 1
fi
if ((${#bad[@]} > 0)); then
  echo "check-format: ${#bad[@]} file(s) are not formatted as .clang-format" \
    "says:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "Fix them with:" >&2
  echo "  $fmt -i ${bad[*]}" >&2
  exit 1
fi
echo "check-format: ${#files[@]} C++ files formatted"
