#!/usr/bin/python3
"""make_fuzz_corpus.py: the seed corpus of the fuzz targets (fuzz/corpus).

Writes small valid inputs for each target of fuzz/CMakeLists.txt:
  npy          .npy files of every dtype the reader takes, header v1/v2/v3
  tensorproto  TensorProto .pb files, raw_data and typed fields
  onnx         a micro BERT (hidden 8, one layer) exported by PyTorch at
               opsets 13/17, static and dynamic, erf/tanh/quad GeLU, and the
               lit tests' text models converted to binary
  plan         plans `mpcc compile` makes from those models (several presets)
  weights      the weights file of fuzz/weights.plan (the weights target's
               fixed plan: the micro BERT's)
  hello        handshake hellos of each role (layout: runtime/plan/Handshake.h;
               the version numbers are read from the headers)
Everything is deterministic; the whole corpus stays far below 1 MB.

  make_fuzz_corpus.py BUILD_DIR     (BUILD_DIR/tools/mpcc compiles the plans)

Run with Debian's interpreter (/usr/bin/python3: python3-torch, python3-onnx,
python3-numpy).
"""

import hashlib
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnx.parser
import torch
from onnx import helper, numpy_helper

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "scripts"))
import make_fixtures as mf  # noqa: E402

FUZZ_DIR = os.path.join(REPO_ROOT, "fuzz")
CORPUS = os.path.join(FUZZ_DIR, "corpus")

MICRO = dict(vocab_size=16, hidden_size=8, num_hidden_layers=1,
             num_attention_heads=2, intermediate_size=16,
             max_position_embeddings=8, type_vocab_size=2, num_labels=2)
SEQ = 4


def target_dir(name):
    d = os.path.join(CORPUS, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def npy_bytes(arr, version):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, version=version)
    return buf.getvalue()


def make_npy():
    d = target_dir("npy")
    rng = np.random.RandomState(7)
    arrays = {
        "f4_2x3": rng.randn(2, 3).astype("<f4"),
        "f8_scalar": np.array(1.5, dtype="<f8"),
        "i8_ids_1x4": np.array([[1, 5, 9, 0]], dtype="<i8"),
        "i4_1x2x2": np.arange(4, dtype="<i4").reshape(1, 2, 2),
        "b1_3": np.array([True, False, True]),
        "f4_empty_0x4": np.zeros((0, 4), dtype="<f4"),
    }
    for name, arr in arrays.items():
        write(os.path.join(d, f"{name}.npy"), npy_bytes(arr, (1, 0)))
    write(os.path.join(d, "f4_v2.npy"), npy_bytes(arrays["f4_2x3"], (2, 0)))
    write(os.path.join(d, "i8_v3.npy"), npy_bytes(arrays["i8_ids_1x4"],
                                                  (3, 0)))


def make_tensorproto():
    d = target_dir("tensorproto")
    rng = np.random.RandomState(11)
    raw = {
        "float_raw": rng.randn(2, 3).astype(np.float32),
        "double_raw": rng.randn(3).astype(np.float64),
        "int64_raw": np.array([[1, 2, 3, 0]], dtype=np.int64),
        "int32_raw": np.array([4, -5], dtype=np.int32),
        "bool_raw": np.array([True, False]),
        "scalar_raw": np.array(2.0, dtype=np.float32),
    }
    for name, arr in raw.items():
        t = numpy_helper.from_array(arr, name=name)
        write(os.path.join(d, f"{name}.pb"), t.SerializeToString())
    typed = [
        ("float_typed", onnx.TensorProto.FLOAT, [2, 2], [0.5, -1.0, 2.0, 3.0]),
        ("double_typed", onnx.TensorProto.DOUBLE, [2], [1.0, 2.0]),
        ("int64_typed", onnx.TensorProto.INT64, [1, 3], [7, 8, 9]),
        ("int32_typed", onnx.TensorProto.INT32, [2], [1, -1]),
        ("bool_typed", onnx.TensorProto.BOOL, [3], [1, 0, 1]),
        ("empty_typed", onnx.TensorProto.FLOAT, [0, 2], []),
    ]
    for name, dt, dims, vals in typed:
        t = helper.make_tensor(name, dt, dims, vals, raw=False)
        write(os.path.join(d, f"{name}.pb"), t.SerializeToString())


def micro_bert(opset, gelu, softmax, with_mask, dynamic):
    cfg = mf.BertConfig(**MICRO, gelu=gelu, softmax=softmax)
    torch.manual_seed(0)
    model = mf.BertForSequenceClassification(cfg).eval()
    mf.init_weights(model, mf.InitSpec())
    rng = np.random.RandomState(1234)
    inputs = mf.make_batch(rng, cfg.vocab_size, SEQ, [3], [2])
    names = ["input_ids", "token_type_ids"]
    if with_mask:
        names.append("attention_mask")
    return mf.export_onnx(model, inputs, names, opset, dynamic)


MODELS = [
    # (file, opset, gelu, softmax, mask, dynamic)
    ("bert_17_erf_mask_static", 17, "erf", "exp", True, False),
    ("bert_13_tanh_mask_dynamic", 13, "tanh", "exp", True, True),
    ("bert_14_erf_nomask_dynamic", 14, "erf", "exp", False, True),
    ("bert_17_quad_2quad_static", 17, "quad", "2quad", True, False),
]


def text_model(path):
    lines = [ln for ln in open(path).read().split("\n")
             if not ln.lstrip().startswith("//")]
    return onnx.parser.parse_model("\n".join(lines))


def make_onnx():
    d = target_dir("onnx")
    for name, opset, gelu, softmax, mask, dynamic in MODELS:
        write(os.path.join(d, f"{name}.onnx"),
              micro_bert(opset, gelu, softmax, mask, dynamic))
    for sub in ("frontend", "errors"):
        lit = os.path.join(REPO_ROOT, "tests", "lit", sub)
        for f in sorted(os.listdir(lit)):
            if not f.endswith(".onnxtext"):
                continue
            try:
                m = text_model(os.path.join(lit, f))
            except Exception as e:  # a lit test of a parse error
                print(f"skipped {sub}/{f}: {e}")
                continue
            write(os.path.join(d, f"lit_{f[:-len('.onnxtext')]}.onnx"),
                  m.SerializeToString())


PLAN_FLAGS = [
    # (suffix, mpcc compile flags)
    ("accurate", []),
    ("mpcformer", ["--approx", "mpcformer"]),
    ("puma_frac12", ["--approx", "gelu=puma", "--frac-bits", "12"]),
    ("range20", ["--range-bits", "20"]),
]


def compile_plan(mpcc, model, out_plan, flags):
    cmd = [mpcc, "compile", model, "-o", out_plan] + flags
    if "dynamic" in os.path.basename(model):
        cmd += ["--input-shape", f"input_ids=1x{SEQ}",
                "--input-shape", f"token_type_ids=1x{SEQ}"]
        if "nomask" not in model:
            cmd += ["--input-shape", f"attention_mask=1x{SEQ}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)}:\n{r.stderr}")


def make_plans(mpcc):
    plans = target_dir("plan")
    weights = target_dir("weights")
    onnx_dir = os.path.join(CORPUS, "onnx")
    with tempfile.TemporaryDirectory() as tmp:
        for name, *_ in MODELS:
            model = os.path.join(onnx_dir, f"{name}.onnx")
            for suffix, flags in PLAN_FLAGS:
                out = os.path.join(tmp, f"{name}_{suffix}.plan")
                compile_plan(mpcc, model, out, flags)
                shutil.copy(out, plans)
        for f in sorted(os.listdir(onnx_dir)):
            if not f.startswith("lit_"):
                continue
            out = os.path.join(tmp, f[:-len(".onnx")] + ".plan")
            r = subprocess.run([mpcc, "compile", os.path.join(onnx_dir, f),
                                "-o", out], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            if r.returncode == 0:
                shutil.copy(out, plans)
        # The weights target's plan and its weights file.
        main = os.path.join(tmp, "bert_17_erf_mask_static_accurate")
        shutil.copy(main + ".plan", os.path.join(FUZZ_DIR, "weights.plan"))
        shutil.copy(main + ".weights",
                    os.path.join(weights, "bert_17_erf_mask_static.weights"))


def header_constant(path, name):
    """The value of `constexpr ... NAME = VALUE;` in a repository header."""
    text = open(os.path.join(REPO_ROOT, path)).read()
    m = re.search(rf"\b{name}\s*=\s*(\d+)\s*;", text)
    if not m:
        sys.exit(f"{path}: no constant {name}")
    return int(m.group(1))


def make_hellos():
    d = target_dir("hello")
    version = header_constant("runtime/plan/Handshake.h", "kHelloVersion")
    plan_format = header_constant("runtime/plan/PlanReader.h",
                                  "kPlanFormatVersion")
    any_role = header_constant("runtime/plan/Handshake.h", "kAnyRole")
    digest = hashlib.sha256(b"plan").digest()
    session = hashlib.sha256(b"session").digest()
    binding = hashlib.sha256(b"binding").digest()
    # (file, role, peer role, flags, window MiB, session)
    hellos = [
        ("dealer_to_party0", 2, 0, 0, 0, session),
        ("dealer_insecure", 2, any_role, 0, 0, session),
        ("party1_to_dealer", 1, 2, 0, 512, bytes(32)),
        ("party0_to_party1_reveal_both", 0, 1, 1, 512, session),
    ]
    for name, role, peer, flags, window, sess in hellos:
        b = (b"MPCCRUN" + bytes([0x30 + version]) +
             struct.pack("<II", version, plan_format) +
             bytes([role, peer, 0, 0]) + struct.pack("<II", flags, window) +
             digest + sess + binding)
        write(os.path.join(d, f"{name}.hello"), b)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    mpcc = os.path.join(os.path.abspath(sys.argv[1]), "tools", "mpcc")
    if not os.access(mpcc, os.X_OK):
        sys.exit(f"{mpcc}: not found (build mpcc first)")
    torch.set_num_threads(1)
    make_npy()
    make_tensorproto()
    make_onnx()
    make_plans(mpcc)
    make_hellos()
    total = 0
    for root, _, files in os.walk(CORPUS):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    total += os.path.getsize(os.path.join(FUZZ_DIR, "weights.plan"))
    print(f"fuzz corpus: {total} bytes")


if __name__ == "__main__":
    main()
