#!/bin/sh
# Rewrites the README's supported-op table from `mpcc ops` (the frontend's
# op table, frontend/OnnxOps.def). tests/lit/tools/op-table.test fails when
# the README and `mpcc ops` differ.
#   scripts/update-op-table.sh [path/to/mpcc]
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
mpcc=${1:-$root/build/tools/mpcc}
"$mpcc" ops > "$root/README.md.ops"
/usr/bin/python3 - "$root/README.md" "$root/README.md.ops" <<'PY'
import re, sys
readme, table = sys.argv[1], open(sys.argv[2]).read()
text = open(readme).read()
new, n = re.subn(r"(<!-- BEGIN mpcc ops[^\n]*-->\n).*?(<!-- END mpcc ops -->)",
                 lambda m: m.group(1) + table + m.group(2), text, flags=re.S)
if n != 1:
    sys.exit("README.md: no <!-- BEGIN mpcc ops --> ... <!-- END mpcc ops --> section")
open(readme, "w").write(new)
PY
rm -f "$root/README.md.ops"
