#!/usr/bin/python3
"""Approximation presets and --approx auto, predicted and measured.

For each choice (the presets accurate, crypten, puma, mpcformer, secformer,
--approx auto at each budget, and accurate with --frac-bits auto) on each
model, it compiles the plan,
predicts its online time with `mpcc report --net lan --work-rates` (ring
work rates measured once per run of this script), runs it with
`mpc-run local` (three processes on loopback, TLS) --runs times on the
first held-out batch (round-robin over the choices, so that the machine's
load moves them alike) and once on each further one, and prints the
predicted and measured (median) online seconds, online bytes (both
directions), rounds, the max |secure - float| over the held-out batches
(float: `mpcc float` of the model without approximations) and the argmax
agreement with float.

Models:
  bert-base  scripts/make_fixtures.py --preset bert-base --seq SEQ (random
             weights, batch 1). Calibration (auto): its fixture input and
             --bert-calib - 1 more made like it (one file, a batch each).
             Held out: --bert-heldout inputs made like it with other seeds.
  spam       the SpamAssassin BERT that examples/spam/spam_example.py trains
             (run it first; --spam-work is its WORK folder: spam_bert.onnx,
             heldout.npz). Calibration (auto): held-out emails
             [0, K B) (K = --spam-calib batches, one file); held out: the
             next --spam-heldout batches of B (--spam-batch), disjoint from
             the calibration ones.

Then, per budget E, auto is compared with the fastest uniform preset that
meets E on the same held-out batches (max |secure - float| <= E and every
argmax the float one), by predicted and by measured online time.

    bench/bench_presets.py [--build build] [--work /tmp/mpcc-presets]
        [--models bert-base,spam] [--seq 32] [--runs 3] [--work-profile P]
        [--spam-work build/examples/spam] [--spam-batch 8] [--spam-calib 4]
        [--bert-calib 2]
        [--budgets 1e-1,1e-2,1e-3]

With --work-profile PROFILE (an `mpc-run local --profile` of any plan on
this machine) auto prices its choice with local work as that run measured
it, and every prediction is `mpcc report --work-profile` (mpcc report,
backend/CostReport.h); without it auto prices rounds and bytes only.

Figures, not assertions; this shared machine's load moves the measured
times (the load average is printed before and after each model).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESETS = ["accurate", "crypten", "puma", "mpcformer", "secformer"]
# A choice "PRESET + frac auto": the preset with `--frac-bits auto`.
SCALES_AUTO = " + frac auto"
NAMES = ["input_ids", "token_type_ids", "attention_mask"]


def run(cmd, check=True):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        sys.stderr.write(f"command failed ({proc.returncode}): {' '.join(cmd)}\n")
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        sys.exit(1)
    return proc


def save_inputs(d, tag, tensors):
    """Writes each input as d/tag.NAME.npy; returns the NAME=FILE list."""
    out = []
    for n, t in tensors.items():
        p = os.path.join(d, f"{tag}.{n}.npy")
        np.save(p, t)
        out.append(f"{n}={p}")
    return out


def flags(flag, items):
    return sum([[flag, i] for i in items], [])


class Bench:
    def __init__(self, args):
        self.args = args
        self.mpcc = os.path.join(args.build, "tools", "mpcc")
        self.rates = None
        self.mpcrun = os.path.join(args.build, "tools", "mpc-run")
        for tool in (self.mpcc, self.mpcrun):
            if not os.path.exists(tool):
                sys.exit(f"{tool} not found: build first")

    def work_rates(self, plan):
        """The ring work rates for every prediction (mpcc report
        --work-rates): the median of three reports' measurements, taken
        once, since rates measured under this machine's varying load at
        each report would make the predictions of two plans incomparable."""
        if self.rates is None:
            got = []
            for _ in range(3):
                head = run([self.mpcc, "report", plan, "--net", "lan"]).stdout
                m = re.search(r"ring work ([0-9.]+) GMAC/s \(matrix\), "
                              r"([0-9.]+) G/s", head)
                got.append((float(m.group(1)), float(m.group(2))))
            self.rates = (statistics.median(g[0] for g in got),
                          statistics.median(g[1] for g in got))
            print(f"ring work rates for the predictions: "
                  f"{self.rates[0]:.2f} GMAC/s, "
                  f"{self.rates[1]:.3f} G element ops/s", flush=True)
        return f"{self.rates[0]},{self.rates[1]}"

    def float_ref(self, d, onnx, tag, inputs):
        out = os.path.join(d, f"{tag}.float.npy")
        run([self.mpcc, "float", onnx, "--output", out] + flags("--input", inputs))
        return np.load(out).astype(np.float64)

    def compile(self, d, onnx, name, approx, shape_flags, calib):
        """Compiles one choice and predicts it; returns its row (with the
        reason when the compiler refused it). With --reuse, a plan compiled
        by an earlier run (its log beside it) is taken as it is."""
        plan = os.path.join(d, f"{name}.plan")
        log = os.path.join(d, f"{name}.compile.log")
        row = {"choice": name, "plan": plan}
        if not (self.args.reuse and os.path.exists(plan)
                and os.path.exists(log)):
            cmd = [self.mpcc, "compile", onnx, "-o", plan] + shape_flags
            if approx.startswith("auto:"):
                cmd += ["--approx", "auto", "--max-error", approx[5:],
                        "--net", "lan"] + flags("--calibrate", calib)
                if self.args.work_profile:
                    cmd += ["--work-profile", self.args.work_profile]
            elif approx.endswith(SCALES_AUTO):
                cmd += ["--approx", approx[:-len(SCALES_AUTO)],
                        "--frac-bits", "auto"] + flags("--calibrate", calib)
            else:
                cmd += ["--approx", approx]
            if os.path.exists(plan):
                os.remove(plan)
            proc = run(cmd, check=False)
            with open(log, "w") as f:
                f.write(proc.stderr)
        stderr = open(log).read()
        if not os.path.exists(plan):
            row["refused"] = stderr.strip().splitlines()[-1]
            return row
        if approx.startswith("auto:"):
            row["auto_table"] = [line for line in stderr.splitlines()
                                 if line.startswith("mpcc:   ")
                                 and "tried " not in line]
        rep = json.loads(run([self.mpcc, "report", plan, "--net", "lan",
                              "--format", "json", "--work-rates",
                              self.work_rates(plan)]
                             + (["--work-profile", self.args.work_profile]
                                if self.args.work_profile else [])
                             ).stdout)["total"]
        row["pred_online_s"] = rep["online_seconds"]
        row["pred_bytes"] = rep["bytes_p0_to_p1"] + rep["bytes_p1_to_p0"]
        row["pred_rounds"] = rep["rounds"]
        row.update(onlines=[], errs=[], agree=(0, 0))
        return row

    def secure_run(self, d, row, k, inputs, ref):
        """One `mpc-run local` of the row's plan on held-out batch k."""
        name, plan = os.path.basename(row["plan"])[:-5], row["plan"]
        out = os.path.join(d, f"{name}.secure{k}.npy")
        prof = os.path.join(d, f"{name}.profile.json")
        run([self.mpcrun, "local", plan, "--weights",
             plan[:-len(".plan")] + ".weights", "--output", out,
             "--profile", prof, "--quiet"] + flags("--input", inputs))
        t = json.load(open(prof))["total"]
        if k == 0:
            row["onlines"].append(t["online_seconds"])
            row["bytes"] = t["bytes_p0_to_p1"] + t["bytes_p1_to_p0"]
            row["rounds"] = t["rounds"]
        return np.load(out).astype(np.float64)

    def model(self, label, d, onnx, shape_flags, calib, heldout):
        print(f"[{label}] float references ...", flush=True)
        refs = [self.float_ref(d, onnx, f"heldout{k}", inp)
                for k, inp in enumerate(heldout)]
        choices = [(p, p) for p in PRESETS] + [
            (f"auto E={e}", f"auto:{e}") for e in self.args.budgets.split(",")]
        # The default preset with each nonlinear op's own scale (not a
        # uniform preset: auto is not compared with it).
        choices += [(f"accurate{SCALES_AUTO}", f"accurate{SCALES_AUTO}")]
        rows = []
        for name, approx in choices:
            print(f"[{label}] compiling {name} ...", flush=True)
            rows.append(self.compile(d, onnx, name.replace(" ", "_"), approx,
                                     shape_flags, calib))
            rows[-1]["choice"] = name
        live = [r for r in rows if "refused" not in r]
        # Timed runs round-robin over the choices, so that the machine's
        # load (other processes) moves them alike; then each further
        # held-out batch once.
        load = [os.getloadavg()[0]]
        for rep in range(self.args.runs):
            print(f"[{label}] timed runs, round {rep + 1}/{self.args.runs} ...",
                  flush=True)
            for r in live:
                self.secure_run(d, r, 0, heldout[0], refs[0])
        load.append(os.getloadavg()[0])
        for r in live:
            for k, (inputs, ref) in enumerate(zip(heldout, refs)):
                out = (self.secure_run(d, r, k, inputs, ref) if k else
                       np.load(os.path.join(d, os.path.basename(r["plan"])[:-5]
                                            + ".secure0.npy")).astype(np.float64))
                r["errs"].append(float(np.abs(out - ref).max()))
                a, n = r["agree"]
                r["agree"] = (a + int((out.argmax(-1) == ref.argmax(-1)).sum()),
                              n + int(np.prod(ref.shape[:-1])))
            r["online_s"] = statistics.median(r["onlines"])
            r["online_runs"] = r["onlines"]
            r["err"] = max(r["errs"])
        report(label, rows, load, self.args)
        return rows


def report(label, rows, load, args):
    print(f"\n### {label} (timed runs: {args.runs} per choice on the first "
          f"held-out batch, round-robin over the choices; load average "
          f"(1 min) {load[0]:.1f} before them, {load[1]:.1f} after)\n")
    hdr = ["choice", "predicted online s (lan)", "measured online s (median)",
           "online MB", "rounds", "max |err| vs float", "argmax = float"]
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for r in rows:
        if "refused" in r:
            print(f"| {r['choice']} | refused: {r['refused']} |" + " |" * 5)
            continue
        lo, hi = min(r["online_runs"]), max(r["online_runs"])
        a, n = r["agree"]
        print(f"| {r['choice']} | {r['pred_online_s']:.3f} | "
              f"{r['online_s']:.3f} ({lo:.3f}-{hi:.3f}) | "
              f"{r['bytes'] / 1e6:.1f} | {r['rounds']} | {r['err']:.3g} | "
              f"{a}/{n} |")
    print("\nAuto vs the fastest uniform preset meeting the same budget on the "
          "held-out batches (max |err| <= E, every argmax kept):\n")
    hdr = ["E", "auto: meets E?", "auto pred / meas s",
           "fastest preset (pred)", "its pred s", "fastest preset (meas)",
           "its meas s", "auto slower?"]
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    presets = [r for r in rows if r["choice"] in PRESETS and "refused" not in r]
    for r in rows:
        if not r["choice"].startswith("auto"):
            continue
        e = float(r["choice"].split("=")[1])
        ok = [p for p in presets
              if p["err"] <= e and p["agree"][0] == p["agree"][1]]
        by_pred = min(ok, key=lambda p: p["pred_online_s"]) if ok else None
        by_meas = min(ok, key=lambda p: p["online_s"]) if ok else None
        cells = [f"{e:g}"]
        if "refused" in r:
            cells += ["refused", "-"]
            slower = "-"
        else:
            meets = r["err"] <= e and r["agree"][0] == r["agree"][1]
            cells += ["yes" if meets else f"no ({r['err']:.3g})",
                      f"{r['pred_online_s']:.3f} / {r['online_s']:.3f}"]
            if by_pred:
                worse_p = r["pred_online_s"] > by_pred["pred_online_s"]
                worse_m = r["online_s"] > by_meas["online_s"]
                slower = (f"pred {'YES' if worse_p else 'no'}, "
                          f"meas {'YES' if worse_m else 'no'}")
            else:
                slower = "no preset meets E"
        cells += [by_pred["choice"] if by_pred else "-",
                  f"{by_pred['pred_online_s']:.3f}" if by_pred else "-",
                  by_meas["choice"] if by_meas else "-",
                  f"{by_meas['online_s']:.3f}" if by_meas else "-", slower]
        print("| " + " | ".join(cells) + " |")
    for r in rows:
        if r.get("auto_table"):
            print(f"\n{r['choice']}: the chosen entry per op\n")
            print("\n".join("    " + line[len("mpcc:   "):]
                            for line in r["auto_table"]))
    print(flush=True)


def bert_base(b, args):
    d = os.path.join(args.work, f"bert-base-seq{args.seq}")
    os.makedirs(d, exist_ok=True)
    onnx = os.path.join(d, "model.onnx")
    if not os.path.exists(onnx):
        print("[bert-base] exporting with PyTorch ...", flush=True)
        run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "make_fixtures.py"),
             "--preset", "bert-base", "--seq", str(args.seq), "--out", d])
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import make_fixtures as mf

    def made_like_fixture(seed):
        rng = np.random.RandomState(seed)
        real = max(1, args.seq - rng.randint(0, args.seq // 2))
        vocab = mf.PRESET_COMMON.get("vocab_size", 30522)
        return mf.make_batch(rng, vocab, args.seq, [real], [real // 2])

    # Calibration: the fixture's input, then --bert-calib - 1 more, one
    # file of as many rows (auto cuts it into batches of the model's 1).
    calib_rows = [{n: np.load(os.path.join(d, n + ".npy")) for n in NAMES}]
    calib_rows += [made_like_fixture(555 + k) for k in range(args.bert_calib - 1)]
    calib = save_inputs(d, "calib", {n: np.concatenate([r[n] for r in calib_rows])
                                     for n in NAMES})
    heldout = [save_inputs(d, f"heldout{k}", made_like_fixture(777 + k))
               for k in range(args.bert_heldout)]
    return b.model(f"bert-base (seq {args.seq}, random weights)", d, onnx, [],
                   calib, heldout)


def spam(b, args):
    src = args.spam_work
    onnx = os.path.join(src, "spam_bert.onnx")
    data = os.path.join(src, "heldout.npz")
    if not (os.path.exists(onnx) and os.path.exists(data)):
        sys.exit(f"{onnx} or {data} missing: run examples/spam/spam_example.py "
                 f"--work {src} --limit 16 first")
    d = os.path.join(args.work, "spam")
    os.makedirs(d, exist_ok=True)
    held = np.load(data)
    bsz = args.spam_batch
    shape_flags = sum([["--input-shape", f"{n}={bsz}x{held[n].shape[1]}"]
                       for n in NAMES], [])
    cal = bsz * args.spam_calib
    calib = save_inputs(d, "calib", {n: held[n][:cal] for n in NAMES})
    heldout = [save_inputs(d, f"heldout{k}",
                           {n: held[n][cal + bsz * k:cal + bsz * (k + 1)]
                            for n in NAMES})
               for k in range(args.spam_heldout)]
    return b.model(f"SpamAssassin BERT (batches of {bsz}: calibration on "
                   f"held-out emails 0-{cal - 1}, measured on the next "
                   f"{bsz * args.spam_heldout})", d, onnx, shape_flags, calib,
                   heldout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--work", default="/tmp/mpcc-presets")
    ap.add_argument("--models", default="bert-base,spam")
    ap.add_argument("--seq", type=int, default=32,
                    help="bert-base sequence length (default 32)")
    ap.add_argument("--runs", type=int, default=3,
                    help="timed runs per choice (median reported)")
    ap.add_argument("--bert-heldout", type=int, default=2,
                    help="bert-base held-out inputs (batch 1 each)")
    ap.add_argument("--bert-calib", type=int, default=2,
                    help="bert-base calibration inputs (the fixture's first)")
    ap.add_argument("--spam-work", default=os.path.join(ROOT, "build", "examples", "spam"))
    ap.add_argument("--spam-batch", type=int, default=8)
    ap.add_argument("--spam-calib", type=int, default=4,
                    help="spam calibration batches (emails from the first)")
    ap.add_argument("--spam-heldout", type=int, default=2,
                    help="spam held-out batches after the calibration ones")
    ap.add_argument("--budgets", default="1e-1,1e-2,1e-3")
    ap.add_argument("--work-profile", default=None,
                    help="price local work by this mpc-run --profile (auto's "
                         "choice and every prediction)")
    ap.add_argument("--reuse", action="store_true",
                    help="take the plans an earlier run compiled in --work")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    b = Bench(args)
    results = {}
    for m in args.models.split(","):
        results[m] = {"bert-base": bert_base, "spam": spam}[m](b, args)
    with open(os.path.join(args.work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
