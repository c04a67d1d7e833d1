#!/usr/bin/env python3
"""A tiny distillation run end to end (seconds): python/mpcc_distill trains
a ViT teacher and distils an mpcformer student on seeded random images,
exports it; `mpcc compile` must recognise the student's forms
(gelu.quad, softmax.2quad), and `mpc-run local` must give PyTorch's logits
within the fixed-point bound and PyTorch's argmax (where PyTorch's
top two logits are further apart than twice the bound). The same for a BERT
teacher with a padding mask and its mpcvit student (scaling attention).

    distill_e2e.py --mpcc BUILD/tools/mpcc --mpc-run BUILD/tools/mpc-run

Exits 77 (ctest: skipped) when python3-torch or python3-onnx is missing;
scripts/test.sh installs them (MPCC_WITH_TORCH=1 scripts/install-deps.sh).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

try:
    import onnx  # noqa: F401
    import torch
except ImportError as err:
    print(f"distill_e2e: skipped, {err} (MPCC_WITH_TORCH=1 "
          "scripts/install-deps.sh installs python3-torch and python3-onnx)")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
from mpcc_distill import approx, distill, models  # noqa: E402

BOUND = 1e-2  # fixed point (16 fractional bits) through a 1-2 block model


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if r.returncode != 0:
        sys.exit(f"FAILED ({r.returncode}): {' '.join(cmd)}\n{r.stdout}")
    return r.stdout


def check(name, family, config, data, preset, patterns, args, work):
    labels = np.arange(len(next(iter(data.values())))) % 2
    teacher = models.build(family, config)
    distill.train_teacher(teacher, data, labels, epochs=1, batch=32, seed=1)
    choice = approx.parse(preset)
    student = models.student_of(teacher, choice)
    distill.distil(teacher, student, data, len(labels), 1, 1, batch=32,
                   seed=1)
    names = student.input_names
    sample = [data[n][:2] for n in names]
    onnx_path = os.path.join(work, f"{name}.onnx")
    with open(onnx_path, "wb") as f:
        f.write(distill.export_onnx(student, [s[:1] for s in sample],
                                    choice))
    with torch.no_grad():
        expected = student(*[torch.from_numpy(s) for s in sample]).numpy()
    inputs = []
    for n, s in zip(names, sample):
        np.save(os.path.join(work, f"{name}.{n}.npy"), s)
        inputs.append(f"--input={n}={os.path.join(work, f'{name}.{n}.npy')}")
    plan = os.path.join(work, f"{name}.plan")
    stats = run([args.mpcc, "compile", onnx_path, "-o", plan, "--stats"] +
                [f"--input-shape={n}={'x'.join(map(str, s.shape))}"
                 for n, s in zip(names, sample)])
    for p in patterns:
        if p not in stats:
            sys.exit(f"FAILED {name}: pattern '{p}' not recognised:\n{stats}")
    out = os.path.join(work, f"{name}.out.npy")
    run([args.mpc_run, "local", plan, "--weights",
         plan[:-len(".plan")] + ".weights", f"--output={out}"] + inputs)
    got = np.load(out)
    err = float(np.abs(got - expected).max())
    # The argmax must agree wherever PyTorch's top two logits are further
    # apart than the bound allows the 2PC run to move them.
    top2 = np.sort(expected, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 2 * BOUND
    same = bool((got.argmax(1) == expected.argmax(1))[clear].all())
    print(f"{name}: {approx.describe(choice)}, 2PC vs PyTorch max abs error "
          f"{err:.3g} (bound {BOUND}), argmax {'same' if same else 'DIFFERS'}")
    if err > BOUND or not same:
        sys.exit(f"FAILED {name}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mpcc", required=True)
    ap.add_argument("--mpc-run", dest="mpc_run", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(1)
    rng = np.random.RandomState(1)
    with tempfile.TemporaryDirectory() as work:
        vit = {"pixel_values": rng.randn(64, 1, 28, 28).astype(np.float32)}
        check("vit_mpcformer", "vit",
              {"hidden": 16, "heads": 2, "layers": 1, "ffn": 32}, vit,
              "mpcformer", ["gelu.quad=1", "softmax.2quad=1"], args, work)
        ids = rng.randint(3, 50, (64, 12))
        mask = (np.arange(12)[None, :] <
                rng.randint(3, 13, (64, 1))).astype(np.int64)
        bert = {"input_ids": ids * mask, "token_type_ids": np.zeros_like(ids),
                "attention_mask": mask}
        check("bert_mpcvit", "bert",
              {"vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 1,
               "num_attention_heads": 2, "intermediate_size": 32,
               "max_position_embeddings": 12}, bert, "mpcvit", ["embedding"],
              args, work)


if __name__ == "__main__":
    main()
