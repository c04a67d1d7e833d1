"""Training a teacher, MPCFormer's two-stage distillation of a student, and
the ONNX export `mpcc compile` reads.

Stage 1 (layer-wise): the student learns every block's hidden states and
every head's attention scores from the teacher (mean squared error, summed
over blocks). Stage 2 (predictions): soft cross-entropy between the
teacher's and the student's logits at temperature T. Both are MPCFormer's
(papers.md: src/main/transformer/task_distill.py, stage 2 = --pred_distill).
"""
import io
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F

from . import approx


def load_npz(path, input_names):
    """The arrays by input name and `labels`, as mpcc eval reads them."""
    with np.load(path) as z:
        missing = [n for n in input_names + ["labels"] if n not in z.files]
        if missing:
            raise ValueError(f"{path}: no array named {missing} "
                             f"(has {sorted(z.files)})")
        return {n: z[n] for n in input_names}, z["labels"].astype(np.int64)


def _batches(n, batch, rng):
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for s in range(0, n, batch):
        yield order[s:s + batch]


def _inputs(model, data, rows):
    return [torch.from_numpy(data[name][rows]) for name in model.input_names]


def _loop(model, data, count, epochs, batch, lr, loss_fn, what, seed):
    """AdamW with a linear warm-up and decay; one line of progress per
    epoch (loss, seconds, ETA)."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps = max(1, epochs * ((count + batch - 1) // batch))
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 1 - s / steps))
    rng = np.random.RandomState(seed)
    start = time.time()
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for rows in _batches(count, batch, rng):
            loss = loss_fn(rows)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(rows)
        model.eval()
        spent = time.time() - start
        eta = spent / (epoch + 1) * (epochs - epoch - 1)
        print(f"{what}: epoch {epoch + 1}/{epochs}, loss {total / count:.4f}"
              f" ({spent:.0f} s, ETA {eta:.0f} s)", flush=True)
    return time.time() - start


def train_teacher(model, data, labels, epochs=5, batch=128, lr=1e-3,
                  seed=0):
    def loss_fn(rows):
        logits = model(*_inputs(model, data, rows))
        return F.cross_entropy(logits, torch.from_numpy(labels[rows]))
    return _loop(model, data, len(labels), epochs, batch, lr, loss_fn,
                 "teacher", seed)


def distil(teacher, student, data, count, stage1_epochs=2, stage2_epochs=2,
           batch=128, lr=5e-4, temperature=1.0, seed=0):
    """MPCFormer's two stages; returns the seconds each took."""
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)

    def targets(rows):
        with torch.no_grad():
            return teacher(*_inputs(teacher, data, rows), internals=True)

    def layerwise(rows):
        _, t_hidden, t_scores = targets(rows)
        _, s_hidden, s_scores = student(*_inputs(student, data, rows),
                                        internals=True)
        loss = 0.0
        for s, t in zip(s_hidden + s_scores, t_hidden + t_scores):
            loss = loss + F.mse_loss(s, t)
        return loss

    def predictions(rows):
        t_logits = targets(rows)[0]
        s_logits = student(*_inputs(student, data, rows))
        soft = F.softmax(t_logits / temperature, dim=-1)
        return -(soft * F.log_softmax(s_logits / temperature,
                                      dim=-1)).sum(-1).mean()

    seconds = [_loop(student, data, count, stage1_epochs, batch, lr,
                     layerwise, "distil stage 1 (layer-wise)", seed),
               _loop(student, data, count, stage2_epochs, batch, lr,
                     predictions, "distil stage 2 (predictions)", seed + 1)]
    return seconds


def predict(model, data, count, batch=512):
    model.eval()
    out = []
    with torch.no_grad():
        for rows in _batches(count, batch, None):
            out.append(model(*_inputs(model, data, rows)))
    return torch.cat(out).numpy()


def export_onnx(model, sample, choice, opset=17):
    """ONNX bytes with a dynamic batch; metadata_props records the forms the
    model was trained with (mpcc_distill.approx, e.g. gelu=quad,...)."""
    model.eval()
    names = model.input_names
    buf = io.BytesIO()
    torch.onnx.export(model, tuple(torch.from_numpy(s) for s in sample),
                      buf, opset_version=opset, input_names=names,
                      output_names=["logits"],
                      dynamic_axes={n: {0: "batch"}
                                    for n in names + ["logits"]},
                      do_constant_folding=True)
    proto = onnx.load_from_string(buf.getvalue())
    entry = proto.metadata_props.add()
    entry.key, entry.value = "mpcc_distill.approx", approx.describe(choice)
    onnx.checker.check_model(proto)
    return proto.SerializeToString()
