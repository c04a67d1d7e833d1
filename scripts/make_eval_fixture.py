#!/usr/bin/env python3
"""Writes tests/fixtures/eval/: a labelled set for `mpcc eval` and the
accuracy PyTorch gets on it.

The model is the committed fixture bert_17_erf_mask_dynamic, rebuilt in
PyTorch by scripts/make_fixtures.py's code (its logits on the fixture's
own inputs are checked against the committed logits.npy first, so this is
the model in model.onnx). Ten examples of 16 tokens with random ids and
real lengths; the labels are coin flips from a fixed seed, so the accuracy
is whatever PyTorch's argmax makes of them, recorded in expected.json with
each prediction. The random-weight model picks class 0 for about 1 input
in 100, so random inputs are drawn until PER_CLASS of them have each
prediction: a plan stuck on one class cannot pass. Inputs whose two logits
are within MARGIN of each other are skipped: the test asks the 2PC run for
exactly PyTorch's predictions, and fixed point moves logits by about 1e-3.

The archive is written by hand with zipfile, like numpy.savez writes it but
with a fixed timestamp so the file is reproducible; the inputs are
deflated and the labels stored, so a test reads both kinds of member.

    /usr/bin/python3 scripts/make_eval_fixture.py
"""
import io
import json
import os
import sys
import zipfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = "bert_17_erf_mask_dynamic"
PER_CLASS = {0: 4, 1: 6}
EXAMPLES = sum(PER_CLASS.values())
SEQ = 16
MARGIN = 0.05


def build_model():
    cfg = mf.BertConfig(**mf.TINY, gelu="erf", softmax="exp")
    torch.manual_seed(0)
    model = mf.BertForSequenceClassification(cfg).eval()
    mf.init_weights(model, mf.InitSpec())
    return model


def logits_of(model, inputs):
    with torch.no_grad():
        return model(*[torch.from_numpy(inputs[n]) for n in NAMES]).numpy()


NAMES = ["input_ids", "token_type_ids", "attention_mask"]


def write_npz(path, arrays, stored):
    with zipfile.ZipFile(path, "w") as z:
        for name, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(a),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0,
                                                             0, 0))
            info.compress_type = (zipfile.ZIP_STORED if name in stored else
                                  zipfile.ZIP_DEFLATED)
            z.writestr(info, buf.getvalue())


def main():
    torch.set_num_threads(1)
    fixture = os.path.join(ROOT, "tests", "fixtures", MODEL)
    model = build_model()
    own = {n: np.load(os.path.join(fixture, n + ".npy")) for n in NAMES}
    diff = np.abs(logits_of(model, own) -
                  np.load(os.path.join(fixture, "logits.npy"))).max()
    if diff > 1e-5:
        sys.exit(f"the rebuilt model is not {MODEL}: logits differ by {diff}")

    rng = np.random.RandomState(4321)
    found = {c: [] for c in PER_CLASS}
    while any(len(found[c]) < k for c, k in PER_CLASS.items()):
        n = int(rng.randint(2, SEQ + 1))
        row = mf.make_batch(rng, mf.TINY["vocab_size"], SEQ, [n],
                            [int(rng.randint(1, n))])
        out = logits_of(model, row)[0]
        c = int(out.argmax())
        if abs(out[0] - out[1]) >= MARGIN and len(found[c]) < PER_CLASS[c]:
            found[c].append((row, out))
    # Interleaved, so that class-0 rows fall in several batches.
    order = sorted(((i, c) for c in found for i in range(len(found[c]))))
    rows = [found[c][i] for i, c in order]
    inputs = {k: np.concatenate([r[k] for r, _ in rows]).astype(np.int64)
              for k in NAMES}
    logits = np.stack([out for _, out in rows])
    labels = rng.randint(0, 2, size=EXAMPLES).astype(np.int64)
    preds = logits.argmax(axis=1)

    out_dir = os.path.join(ROOT, "tests", "fixtures", "eval")
    os.makedirs(out_dir, exist_ok=True)
    write_npz(os.path.join(out_dir, "data.npz"),
              dict(inputs, labels=labels), stored={"labels"})
    expected = {
        "model": MODEL,
        "examples": EXAMPLES,
        "labels": labels.tolist(),
        "predictions": preds.tolist(),
        "correct": int((preds == labels).sum()),
        "accuracy": float((preds == labels).mean()),
        "min_margin": float(np.abs(logits[:, 0] - logits[:, 1]).min()),
        "versions": {"torch": torch.__version__, "numpy": np.__version__},
    }
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"eval fixture: {EXAMPLES} examples, PyTorch accuracy "
          f"{expected['accuracy']:.2f}, smallest logit margin "
          f"{expected['min_margin']:.3f}")


if __name__ == "__main__":
    main()
