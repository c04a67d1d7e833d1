#!/usr/bin/env python3
"""Writes tests/fixtures/distill/NAME/ for each student preset of
python/mpcc_distill (mpcformer, mpcvit, secformer): a small ViT student
distilled by the package from a teacher, exported by the package, with
PyTorch's logits on two images; and bert_NAME/ for mpcformer and mpcvit:
a small BERT student (vocabulary 100, hidden 32, 2 heads, 2 layers, FFN
64, sequence 16) with a padding mask (the 2Quad and scaling forms take
the 0/1 mask as a product), logits on two padded sequences.

The teacher (28x28x1 images, patch 7, hidden 32, 2 heads, 2 blocks, FFN 64)
is trained for one epoch on seeded random images and labels, and each
student distilled from it for one epoch per stage: the fixture checks that
the student's PyTorch forms are the forms the compiler recognises and
simulates (tests/lit/tools/distill.test), not its accuracy, which
examples/fashion measures on real data.

    /usr/bin/python3 scripts/make_distill_fixture.py
"""
import json
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
from mpcc_distill import approx, distill, models  # noqa: E402

SEED = 20261205
CONFIG = {"hidden": 32, "heads": 2, "layers": 2, "ffn": 64}
COUNT = 512


def main():
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    rng = np.random.RandomState(SEED)
    data = {"pixel_values": rng.randn(COUNT, 1, 28, 28).astype(np.float32)}
    labels = rng.randint(0, 10, COUNT)
    teacher = models.build("vit", CONFIG)
    distill.train_teacher(teacher, data, labels, epochs=1, batch=64,
                          seed=SEED)
    x = data["pixel_values"][:2]
    for name in ("mpcformer", "mpcvit", "secformer"):
        choice = approx.parse(name)
        student = models.student_of(teacher, choice)
        distill.distil(teacher, student, data, COUNT, 1, 1, batch=64,
                       seed=SEED)
        out = os.path.join(ROOT, "tests", "fixtures", "distill", name)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "model.onnx"), "wb") as f:
            f.write(distill.export_onnx(student, [x[:1]], choice))
        with torch.no_grad():
            logits = student(torch.from_numpy(x)).numpy()
        np.save(os.path.join(out, "pixel_values.npy"), x)
        np.save(os.path.join(out, "logits.npy"), logits)
        with open(os.path.join(out, "meta.json"), "w") as f:
            json.dump({"approx": approx.describe(choice), "config": CONFIG,
                       "torch": torch.__version__}, f, indent=2)
            f.write("\n")
        print(f"wrote {out}")

    bert_config = {"vocab_size": 100, "hidden_size": 32,
                   "num_hidden_layers": 2, "num_attention_heads": 2,
                   "intermediate_size": 64, "max_position_embeddings": 16}
    ids = rng.randint(3, 100, (COUNT, 16))
    mask = (np.arange(16)[None, :] < rng.randint(4, 17, (COUNT, 1))).astype(
        np.int64)
    data = {"input_ids": ids * mask, "token_type_ids": np.zeros_like(ids),
            "attention_mask": mask}
    teacher = models.build("bert", bert_config)
    distill.train_teacher(teacher, data, labels % 2, epochs=1, batch=64,
                          seed=SEED)
    rows = [int(np.argmin(mask.sum(1))), int(np.argmax(mask.sum(1)))]
    sample = {n: data[n][rows] for n in teacher.input_names}
    for name in ("mpcformer", "mpcvit"):
        choice = approx.parse(name)
        student = models.student_of(teacher, choice)
        distill.distil(teacher, student, data, COUNT, 1, 1, batch=64,
                       seed=SEED)
        out = os.path.join(ROOT, "tests", "fixtures", "distill",
                           f"bert_{name}")
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "model.onnx"), "wb") as f:
            f.write(distill.export_onnx(
                student, [sample[n][:1] for n in student.input_names],
                choice))
        with torch.no_grad():
            logits = student(*[torch.from_numpy(sample[n])
                               for n in student.input_names]).numpy()
        for n in student.input_names:
            np.save(os.path.join(out, f"{n}.npy"), sample[n])
        np.save(os.path.join(out, "logits.npy"), logits)
        with open(os.path.join(out, "meta.json"), "w") as f:
            json.dump({"approx": approx.describe(choice),
                       "config": bert_config, "torch": torch.__version__},
                      f, indent=2)
            f.write("\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
