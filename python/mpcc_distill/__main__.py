"""Command line: train a teacher, distil a student, export ONNX.

    python3 -m mpcc_distill teacher --family vit --data train.npz \\
        --out teacher.pt [--config hidden=64,layers=4] [--epochs 5]
    python3 -m mpcc_distill student --teacher teacher.pt --data train.npz \\
        --approx mpcformer --out student.onnx [--checkpoint student.pt] \\
        [--stage1-epochs 2] [--stage2-epochs 2] [--eval heldout.npz]
    python3 -m mpcc_distill export --model teacher.pt --out teacher.onnx

DATA.npz holds the model's inputs by name (vit: pixel_values, float32
[N, C, H, W]; bert: input_ids, token_type_ids, attention_mask, int64
[N, S]) and `labels` — the layout `mpcc eval` reads. --approx is a
student preset (mpcformer, secformer, mpcvit) or gelu=NAME,softmax=NAME
with the registry's names (approx.py lists them).
"""
import argparse
import dataclasses
import json
import sys

import torch

from . import approx, distill, models


def _config(text, family):
    """KEY=VALUE,... typed by the family's config fields (unknown keys are
    left for models.build to name)."""
    types = {f.name: f.type
             for f in dataclasses.fields(models.FAMILIES[family][1])}
    out = {}
    for item in filter(None, (text or "").split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--config '{item}': expected KEY=VALUE")
        try:
            out[key] = types.get(key, str)(value)
        except ValueError:
            raise ValueError(f"--config {key}={value}: expected "
                             f"{types[key].__name__}") from None
    return out


def _accuracy(model, path):
    data, labels = distill.load_npz(path, model.input_names)
    pred = distill.predict(model, data, len(labels)).argmax(1)
    return float((pred == labels).mean()), len(labels)


def _export(model, data, choice, out):
    sample = [data[n][:1] for n in model.input_names]
    with open(out, "wb") as f:
        f.write(distill.export_onnx(model, sample, choice))
    print(f"wrote {out} ({approx.describe(choice)})", flush=True)


def cmd_teacher(args):
    model = models.build(args.family, _config(args.config, args.family))
    data, labels = distill.load_npz(args.data, model.input_names)
    seconds = distill.train_teacher(model, data, labels, args.epochs,
                                    args.batch, args.lr, args.seed)
    models.save(model, args.out)
    print(f"wrote {args.out} (trained {seconds:.0f} s)", flush=True)
    return {"training_seconds": seconds}


def cmd_student(args):
    teacher = models.load(args.teacher)
    choice = approx.parse(args.approx)
    student = models.student_of(teacher, choice)
    data, labels = distill.load_npz(args.data, student.input_names)
    seconds = distill.distil(teacher, student, data, len(labels),
                             args.stage1_epochs, args.stage2_epochs,
                             args.batch, args.lr, args.temperature,
                             args.seed)
    if args.checkpoint:
        models.save(student, args.checkpoint)
    _export(student, data, choice, args.out)
    result = {"approx": approx.describe(choice),
              "stage1_seconds": seconds[0], "stage2_seconds": seconds[1]}
    if args.eval:
        for name, model in (("teacher", teacher), ("student", student)):
            acc, n = _accuracy(model, args.eval)
            result[f"{name}_accuracy"] = acc
            print(f"{name} accuracy on {args.eval}: {100 * acc:.2f}% "
                  f"({n} examples)", flush=True)
    return result


def cmd_export(args):
    model = models.load(args.model)
    choice = {"gelu": model.cfg.gelu, "softmax": model.cfg.softmax}
    sample = dict(zip(model.input_names, model.example_inputs()))
    _export(model, sample, choice, args.out)
    return {}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m mpcc_distill",
                                 description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--batch", type=int, default=128)
    common.add_argument("--seed", type=int, default=0)
    common.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1)")
    common.add_argument("--json", help="write the figures to this file")

    t = sub.add_parser("teacher", parents=[common],
                       help="train a teacher on DATA.npz")
    t.add_argument("--family", default="vit", choices=sorted(models.FAMILIES))
    t.add_argument("--config", help="KEY=VALUE,... (e.g. hidden=64,layers=4)")
    t.add_argument("--data", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--epochs", type=int, default=5)
    t.add_argument("--lr", type=float, default=1e-3)

    s = sub.add_parser("student", parents=[common],
                       help="distil a student from a teacher checkpoint")
    s.add_argument("--teacher", required=True)
    s.add_argument("--data", required=True)
    s.add_argument("--approx", required=True,
                   help=f"{', '.join(p for p in approx.PRESETS if p != 'teacher')}"
                   " or gelu=NAME,softmax=NAME")
    s.add_argument("--out", required=True, help="student ONNX file")
    s.add_argument("--checkpoint", help="also save the student checkpoint")
    s.add_argument("--stage1-epochs", type=int, default=2)
    s.add_argument("--stage2-epochs", type=int, default=2)
    s.add_argument("--lr", type=float, default=5e-4)
    s.add_argument("--temperature", type=float, default=1.0)
    s.add_argument("--eval", help="report teacher and student accuracy on "
                   "this labelled set")

    e = sub.add_parser("export", parents=[common],
                       help="export a checkpoint to ONNX")
    e.add_argument("--model", required=True)
    e.add_argument("--out", required=True)

    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    try:
        result = {"teacher": cmd_teacher, "student": cmd_student,
                  "export": cmd_export}[args.command](args)
    except (ValueError, OSError) as err:
        print(f"mpcc_distill: error: {err}", file=sys.stderr)
        return 1
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
