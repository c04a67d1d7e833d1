#!/usr/bin/env bash
# Fails if the compiler spells a runtime name or constant itself instead of
# reading the runtime's definition. Each kernel name is defined once, in
# runtime/plan/Kernels.def (the compiler reads it through KernelId), and
# each approximation and approximation kind name once, in
# runtime/protocols/Approximations.def (rt::Approximation, rt::ApproxKind);
# so none of them may appear as a string literal in the code of passes/,
# backend/, driver/ or tools/. Neither may the attention-mask bias
# (rt::kSoftmaxMaskBias) as a number. Comments are not checked; tests and
# docs may name anything. A word that is another name spelled the same (a
# preset called like an approximation) carries a trailing comment
# "// check-names: not <what it is>". A ctest entry (names-defined-once) runs this.
set -euo pipefail
cd "$(dirname "$0")/.."

kernels=$(sed -n 's/^MPC_[A-Z]*_KERNEL([A-Za-z0-9]*, *"\([^"]*\)").*/\1/p' \
  runtime/plan/Kernels.def)
approx=$(sed -n \
  -e 's/^MPC_[A-Z]*_APPROX([A-Za-z0-9]*, *"\([^"]*\)".*/\1/p' \
  -e 's/^MPC_APPROX_KIND([A-Za-z0-9]*, *"\([^"]*\)".*/\1/p' \
  runtime/protocols/Approximations.def)
if [[ $(wc -w <<<"$kernels") -lt 20 || $(wc -w <<<"$approx") -lt 10 ]]; then
  echo "check-names: cannot read the names from Kernels.def and" \
    "Approximations.def (has their macro format changed?)" >&2
  exit 1
fi
names=$(printf '%s\n' $kernels $approx | sort -u | sed 's/[.]/\\./g' |
  paste -sd'|')

status=0
while IFS= read -r -d '' f; do
  # Code only: drop // comments (whole-line and trailing), and lines that
  # say why a coinciding word is another name ("check-names: not ...").
  hits=$(sed -e 's#.*// check-names: not .*##' -e 's#^\s*//.*##' \
    -e 's#\s//.*##' "$f" |
    grep -nE "\"($names)\"|[^0-9.]10000([^0-9]|\$)|1e4\b" || true)
  if [[ -n $hits ]]; then
    while IFS= read -r h; do
      echo "$f:$h" >&2
    done <<<"$hits"
    status=1
  fi
done < <(find passes backend driver tools -type f \
  \( -name '*.cpp' -o -name '*.h' -o -name '*.def' \) -print0 | sort -z)

if ((status != 0)); then
  echo "check-names: the lines above spell a kernel or approximation name" \
    "(or the mask bias) that the runtime defines: use rt::KernelId /" \
    "rt::kernelName, rt::Approximation / rt::approxName, or the runtime's" \
    "constant" >&2
  exit 1
fi
echo "check-names: $(wc -w <<<"$kernels") kernel and $(wc -w <<<"$approx")" \
  "approximation names, each spelled only in its table"
