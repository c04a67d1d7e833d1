#!/usr/bin/env python3
"""Fashion-MNIST: a small ViT teacher trained here, MPC-friendly students
distilled from it with mpcc_distill, and every model's accuracy under
two-party computation with `mpcc eval`.

    /usr/bin/python3 examples/fashion/fashion_example.py [--build build] \\
        [--work build/examples/fashion] [--limit 500] [--batch 25] \\
        [--students mpcformer,mpcvit] [--epochs 5] [--distil-epochs 2,2]

1. reads Fashion-MNIST from Debian's dataset-fashion-mnist
   (/usr/share/datasets/fashion-mnist: 60000 training and 10000 test
   images, 28x28, 10 classes) and normalises the pixels;
2. trains a ViT teacher (patch 7 by a strided Conv2d, 16 patches and a
   class token, hidden 64, 4 heads, 4 pre-LN blocks, FFN 128) on the
   training set;
3. distils each student (python/mpcc_distill: MPCFormer's stage 1 on hidden
   states and attention scores, then stage 2 on predictions) from the
   teacher on the training set: mpcformer (GeLU quad, softmax 2quad),
   mpcvit (MPCViT+: GeLU relu, scaling attention), secformer (2quad
   softmax, GeLU unchanged);
4. exports each model to ONNX, compiles it for batches of --batch images
   with `mpcc compile` (no --approx: the student's forms are in the graph)
   and runs `mpcc eval --model` on the first --limit test images: PyTorch,
   mpcc float and 2PC accuracy, their agreement, online cost per image.

Everything goes to WORK; WORK/results.json holds the figures and
WORK/results.md the table for the README.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO_ROOT, "python"))
from mpcc_distill import approx, distill, models  # noqa: E402

DATA_DIR = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530
SEED = 20261205
CONFIG = {"hidden": 64, "heads": 4, "layers": 4, "ffn": 128}


def read_idx(name):
    path = os.path.join(DATA_DIR, name)
    if not os.path.exists(path):
        sys.exit(f"{path} is missing: apt-get install dataset-fashion-mnist "
                 "(or MPCC_WITH_TORCH=1 scripts/install-deps.sh)")
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big")
             for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def split(kind):
    images = read_idx(f"{kind}-images-idx3-ubyte.gz")
    labels = read_idx(f"{kind}-labels-idx1-ubyte.gz").astype(np.int64)
    pixels = ((images.astype(np.float32) / 255.0 - MEAN) / STD)[:, None]
    return {"pixel_values": pixels}, labels


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"command failed ({r.returncode}): {' '.join(cmd)}")
    return r.stdout


def evaluate(name, model, choice, test, labels, args, work):
    onnx_path = os.path.join(work, f"{name}.onnx")
    with open(onnx_path, "wb") as f:
        f.write(distill.export_onnx(model, [test["pixel_values"][:1]],
                                    choice))
    plan = os.path.join(work, f"{name}.plan")
    run([args.mpcc, "compile", onnx_path, "-o", plan,
         f"--input-shape=pixel_values={args.batch}x1x28x28"])
    n = args.limit
    data_path = os.path.join(work, "test.npz")
    ev = json.loads(run([args.mpcc, "eval", plan, "--data", data_path,
                         "--model", onnx_path, "--limit", str(n),
                         "--format", "json"]))
    torch_pred = distill.predict(model, test, len(labels)).argmax(1)
    return {
        "model": name, "approx": approx.describe(choice),
        "torch_accuracy_test": float((torch_pred == labels).mean()),
        "torch_accuracy_evaluated": float((torch_pred[:n] == labels[:n]).mean()),
        "float_accuracy": ev["float"]["accuracy"],
        "secure_accuracy": ev["accuracy"],
        "argmax_agreement": ev["float"]["agreement"],
        "evaluated": ev["examples"], "batch": ev["batch"],
        "online_seconds_per_example": ev["online"]["seconds_per_example"],
        "online_bytes_per_example": ev["online"]["bytes_per_example"],
        "rounds_per_run": ev["online"]["rounds_per_run"],
        "wall_seconds": ev["wall_seconds"],
    }


def table(rows):
    out = ["| model | approximations | PyTorch (10000) | PyTorch | mpcc float"
           " | 2PC | agreement | online s / image | online MB / image |"
           " rounds / batch |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(
            f"| {r['model']} | {r['approx']} | "
            f"{100 * r['torch_accuracy_test']:.2f}% | "
            f"{100 * r['torch_accuracy_evaluated']:.2f}% | "
            f"{100 * r['float_accuracy']:.2f}% | "
            f"{100 * r['secure_accuracy']:.2f}% | "
            f"{100 * r['argmax_agreement']:.2f}% | "
            f"{r['online_seconds_per_example']:.3f} | "
            f"{r['online_bytes_per_example'] / 1e6:.2f} | "
            f"{r['rounds_per_run']} |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO_ROOT, "build"))
    ap.add_argument("--work", help="default: BUILD/examples/fashion")
    ap.add_argument("--limit", type=int, default=500,
                    help="test images evaluated under 2PC (default 500)")
    ap.add_argument("--batch", type=int, default=25,
                    help="the plan's batch (default 25)")
    ap.add_argument("--students", default="mpcformer,mpcvit,secformer")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--distil-epochs", default="2,2",
                    help="stage 1, stage 2 epochs (default 2,2)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    work = args.work or os.path.join(args.build, "examples", "fashion")
    os.makedirs(work, exist_ok=True)
    args.mpcc = os.path.join(args.build, "tools", "mpcc")
    if args.limit % args.batch:
        sys.exit(f"--limit {args.limit} is not a multiple of --batch "
                 f"{args.batch}")
    stage1, stage2 = (int(x) for x in args.distil_epochs.split(","))
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)

    train, train_labels = split("train")
    test, test_labels = split("t10k")
    np.savez(os.path.join(work, "test.npz"), labels=test_labels, **test)
    print(f"Fashion-MNIST: {len(train_labels)} training, {len(test_labels)} "
          f"test images; 2PC on the first {args.limit}", flush=True)

    teacher_path = os.path.join(work, "teacher.pt")
    figures = {}
    if os.path.exists(teacher_path):
        teacher = models.load(teacher_path)
        print(f"reusing {teacher_path}", flush=True)
    else:
        teacher = models.build("vit", CONFIG)
        figures["teacher_training_seconds"] = distill.train_teacher(
            teacher, train, train_labels, args.epochs, seed=SEED)
        models.save(teacher, teacher_path)
    rows = [evaluate("teacher", teacher, approx.PRESETS["teacher"], test,
                     test_labels, args, work)]
    for name in filter(None, args.students.split(",")):
        choice = approx.parse(name)
        student = models.student_of(teacher, choice)
        start = time.time()
        distill.distil(teacher, student, train, len(train_labels), stage1,
                       stage2, seed=SEED)
        figures[f"{name}_distil_seconds"] = time.time() - start
        rows.append(evaluate(name, student, choice, test, test_labels, args,
                             work))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    figures["rows"] = rows
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(figures, f, indent=2)
        f.write("\n")
    with open(os.path.join(work, "results.md"), "w") as f:
        f.write(table(rows))
    print(table(rows))


if __name__ == "__main__":
    main()
