#!/usr/bin/env bash
# Installs dependencies, builds mpcc, and runs the main job on the bundled
# model (a BERT-style classifier exported from PyTorch at opset 17):
#   1. mpcc compile  -> model.plan (public) + model.weights (party 0 only),
#                       after checking a sample input's activation ranges
#   2. mpcc report   -> predicted per-op cost on a LAN
#   3. mpc-run local -> party 0, party 1 and the dealer as three processes
#                       on loopback, with the measured per-op profile
#   4. the secure logits next to PyTorch's
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
build=${MPCC_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target mpcc mpc-run

model=tests/fixtures/bert_17_erf_mask_static
out=$(mktemp -d /tmp/mpcc-quickstart.XXXXXX)
inputs=(--input "input_ids=$model/input_ids.npy"
        --input "token_type_ids=$model/token_type_ids.npy"
        --input "attention_mask=$model/attention_mask.npy")

echo "== 1. compile $model/model.onnx (the sample input checks --range-bits)"
"$build/tools/mpcc" compile "$model/model.onnx" -o "$out/model.plan" \
  --calibrate "input_ids=$model/input_ids.npy" \
  --calibrate "token_type_ids=$model/token_type_ids.npy" \
  --calibrate "attention_mask=$model/attention_mask.npy"

echo "== 2. predicted cost (LAN)"
"$build/tools/mpcc" report "$out/model.plan" --net lan

echo "== 3. secure two-party run (three processes on loopback)"
"$build/tools/mpc-run" local "$out/model.plan" --weights "$out/model.weights" \
  "${inputs[@]}" --output "$out/logits.npy" --profile "$out/profile.json"

echo "== 4. result"
python3 - "$out/logits.npy" "$model/logits.npy" <<'PY'
import struct, sys
def load(path):  # minimal .npy reader (float32, C order): no numpy needed
    data = open(path, "rb").read()
    hlen = struct.unpack("<H", data[8:10])[0]
    body = data[10 + hlen:]
    return list(struct.unpack("<%df" % (len(body) // 4), body))
secure, torch = load(sys.argv[1]), load(sys.argv[2])
print("secure two-party logits:", " ".join("%.5f" % v for v in secure))
print("PyTorch logits:         ", " ".join("%.5f" % v for v in torch))
err = max(abs(a - b) for a, b in zip(secure, torch))
same = secure.index(max(secure)) == torch.index(max(torch))
print("max abs error %.2e, argmax %s" % (err, "agrees" if same else "DIFFERS"))
PY
echo "files in $out"
