#!/usr/bin/python3
"""Cost of two standard shapes: ViT-Base (224x224, patch 16) and GPT-2 small.

Builds each model with random weights from the export-style classes of
scripts/make_export_fixtures.py (timm's VisionTransformer, HF's
GPT2LMHeadModel with its bool causal buffer and torch.where), at the real
sizes: 12 layers, hidden 768, 12 heads, FFN 3072; ViT-Base with 1000
classes, GPT-2 small with its 50257-token vocabulary and tied lm_head at
seq 128 (logits for every position). For each it exports ONNX (opset 17),
compiles with `mpcc compile`, and prints the plan's predicted cost from
`mpcc report` (online bytes each way, rounds, dealer bytes, set-up bytes).
With --run it also runs the secure inference once with `mpc-run local`
(three processes on loopback) and the float interpreter, and adds measured
online/offline seconds, peak memory and the error against PyTorch.
Figures, not assertions; bench/bench_bert.py gives bert-base's.

    bench/bench_shapes.py [--build build] [--models vit-base,gpt2-small]
                          [--work /tmp/mpcc-bench-shapes] [--run]
                          [--seq 128] [--layers 12]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import make_export_fixtures as mef  # noqa: E402
import torch  # noqa: E402


def run(cmd):
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    secs = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(f"command failed ({proc.returncode}): {' '.join(cmd)}\n")
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        sys.exit(1)
    return proc, secs


def configure(model, layers, seq):
    """Sets the fixture script's sizes (its classes read them when built)."""
    mef.HIDDEN, mef.HEADS, mef.FFN, mef.LAYERS = 768, 12, 3072, layers
    if model == "vit-base":
        mef.IMAGE, mef.PATCH, mef.CLASSES = 224, 16, 1000
    else:
        mef.VOCAB, mef.MAX_POS = 50257, max(1024, seq)


def build(model, seq, out_dir):
    rng = np.random.RandomState(7)
    if model == "vit-base":
        net, names = mef.TimmViT(), ["pixel_values"]
        inputs = mef._timm_inputs(rng, "a")
    else:
        net, names = mef.GPT2LMHeadModel(), ["input_ids"]
        inputs = {"input_ids": rng.randint(0, mef.VOCAB, size=(1, seq))
                  .astype(np.int64)}
    mef.init_like_libraries(net)
    net.eval()
    torch.set_num_threads(1)
    logits = mef.forward(net, inputs, names)
    args = tuple(torch.from_numpy(inputs[n]) for n in names)
    path = os.path.join(out_dir, "model.onnx")
    torch.onnx.export(net, args, path, opset_version=17,
                      do_constant_folding=True, input_names=names,
                      output_names=["logits"])
    files = []
    for n in names:
        f = os.path.join(out_dir, n + ".npy")
        np.save(f, inputs[n])
        files.append(f"{n}={f}")
    np.save(os.path.join(out_dir, "logits.npy"), logits)
    return path, files, logits


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--models", default="vit-base,gpt2-small")
    ap.add_argument("--work", default="/tmp/mpcc-bench-shapes")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--run", action="store_true",
                    help="also run mpc-run local once per model (slow)")
    args = ap.parse_args()
    mpcc = os.path.join(args.build, "tools", "mpcc")
    mpcrun = os.path.join(args.build, "tools", "mpc-run")
    for tool in (mpcc, mpcrun):
        if not os.path.exists(tool):
            sys.exit(f"{tool} not found: build first (cmake --build {args.build})")

    rows = []
    for model in args.models.split(","):
        if model not in ("vit-base", "gpt2-small"):
            sys.exit(f"--models: unknown model '{model}' (vit-base, gpt2-small)")
        d = os.path.join(args.work, model)
        os.makedirs(d, exist_ok=True)
        configure(model, args.layers, args.seq)
        print(f"[{model}] exporting with PyTorch ...", flush=True)
        onnx_path, inputs, logits = build(model, args.seq, d)
        print(f"[{model}] compiling ...", flush=True)
        plan = os.path.join(d, "model.plan")
        _, compile_s = run([mpcc, "compile", onnx_path, "-o", plan])
        rep, _ = run([mpcc, "report", plan, "--format", "json"])
        t = json.loads(rep.stdout)["total"]
        row = {"model": model, "compile_s": compile_s, "rounds": t["rounds"],
               "mb_01": t["bytes_p0_to_p1"] / 1e6,
               "mb_10": t["bytes_p1_to_p0"] / 1e6,
               "dealer_mb": t["dealer_bytes"] / 1e6,
               "setup_mb": t["setup_bytes"] / 1e6,
               "pred_online_s": t["online_seconds"]}
        if args.run:
            print(f"[{model}] secure run (mpc-run local) ...", flush=True)
            out = os.path.join(d, "secure.npy")
            prof = os.path.join(d, "profile.json")
            _, wall = run([mpcrun, "local", plan, "--weights",
                           os.path.join(d, "model.weights"), "--output", out,
                           "--profile", prof, "--quiet"]
                          + sum([["--input", i] for i in inputs], []))
            p = json.load(open(prof))["total"]
            secure = np.load(out).astype(np.float64)
            ref = logits.astype(np.float64)
            row.update({
                "online_s": p["online_seconds"],
                "offline_s": p["offline_seconds"], "wall_s": wall,
                "peak": {k: v / 2**20
                         for k, v in p.get("peak_rss_bytes", {}).items()},
                "err_torch": float(np.abs(secure - ref).max()),
                "largest": float(np.abs(ref).max()),
                "argmax_same": bool((secure.argmax(-1) == ref.argmax(-1)).all()),
            })
        rows.append(row)

    print()
    hdr = ["model", "compile s", "rounds", "online MB (P0->P1 / P1->P0)",
           "dealer MB", "set-up MB", "predicted online s (LAN)"]
    if args.run:
        hdr += ["online s", "offline s", "peak MB (P0/P1/dealer)",
                "err vs torch (largest)", "argmax"]
    print(" | ".join(hdr))
    print(" | ".join("---" for _ in hdr))
    for r in rows:
        cells = [r["model"], f"{r['compile_s']:.1f}", str(r["rounds"]),
                 f"{r['mb_01']:.1f} / {r['mb_10']:.1f}", f"{r['dealer_mb']:.1f}",
                 f"{r['setup_mb']:.1f}", f"{r['pred_online_s']:.2f}"]
        if args.run:
            peaks = "/".join(f"{r['peak'].get(k, float('nan')):.0f}"
                             for k in ("party0", "party1", "dealer"))
            cells += [f"{r['online_s']:.2f}", f"{r['offline_s']:.2f}", peaks,
                      f"{r['err_torch']:.2e} ({r['largest']:.2f})",
                      "same" if r["argmax_same"] else "DIFFERENT"]
        print(" | ".join(cells))
    json.dump(rows, open(os.path.join(args.work, "results.json"), "w"),
              indent=1)


if __name__ == "__main__":
    main()
