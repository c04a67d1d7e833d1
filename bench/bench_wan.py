#!/usr/bin/python3
"""Measured vs predicted online time over an emulated network.

For each preset (bert-tiny, bert-mini, bert-base shapes at seq 128, random
weights from scripts/make_fixtures.py) it compiles the model, asks
`mpcc report --net NET --format json` for the predicted online seconds, and
runs `mpc-run local --emulate-net NET` (all three links delayed and
throttled in user space) for the measured ones; it prints both and their
ratio. A run without emulation (loopback) gives the compute part that the
network adds to. Figures, not assertions.

    bench/bench_wan.py [--build build] [--presets bert-tiny,bert-mini,bert-base]
                       [--nets bw=1,rtt=10:bw=0.1,rtt=40] [--runs 1]
                       [--calibrate-with bert-mini]
                       [--work /tmp/mpcc-bench] [--approx accurate] [--insecure]

Networks are separated by ':' (a network spec contains a comma). With
--runs N each configuration runs N times, interleaved, and the table gives
the median with the range. Predicted time = rounds x RTT/2 + bytes (the larger
direction) / bandwidth + local work at this machine's measured rates, as
`mpcc report` computes it; the columns split it so a mismatch can be traced
to its term. The last columns replace the model's compute term by the
online time measured without emulation (loopback): network terms +
loopback measured, and measured over that, which checks the network terms
alone (the compute term is measured by `mpcc report` in 50 ms on one core,
while a run shares the cores with the other two processes).

The calibrated prediction is `mpcc report --work-profile PROFILE`: each
kernel's local work scaled by what it took in a loopback run of ANOTHER
model (--calibrate-with, default bert-mini, run first), so it predicts the
model it has not seen on networks it has not run on.
"""
import argparse
import json
import os
import statistics
import sys

from bench_bert import run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_net(spec):
    """(bytes per second, rtt seconds) of a bw=GBIT,rtt=MS spec."""
    kv = dict(p.split("=") for p in spec.split(","))
    return float(kv["bw"]) * 1e9 / 8, float(kv["rtt"]) / 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--presets", default="bert-tiny,bert-mini,bert-base")
    ap.add_argument("--nets", default="bw=1,rtt=10:bw=0.1,rtt=40")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--work", default="/tmp/mpcc-bench")
    ap.add_argument("--approx", default="accurate")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--insecure", action="store_true",
                    help="plaintext TCP links (TLS by default)")
    ap.add_argument("--calibrate-with", default="bert-mini",
                    help="preset whose loopback profile calibrates the "
                         "prediction (`mpcc report --work-profile`); 'none': "
                         "no calibrated column")
    args = ap.parse_args()
    mpcc = os.path.join(args.build, "tools", "mpcc")
    mpcrun = os.path.join(args.build, "tools", "mpc-run")
    for tool in (mpcc, mpcrun):
        if not os.path.exists(tool):
            sys.exit(f"{tool} not found: build first (cmake --build {args.build})")
    nets = args.nets.split(":")

    def prepare(preset):
        """The preset's directory, compiled plan and --input flags."""
        d = os.path.join(args.work, preset)
        os.makedirs(d, exist_ok=True)
        if not os.path.exists(os.path.join(d, "model.onnx")):
            print(f"[{preset}] exporting with PyTorch ...", flush=True)
            run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "make_fixtures.py"),
                 "--preset", preset, "--seq", str(args.seq), "--out", d])
        names = [n for n in ("input_ids", "token_type_ids", "attention_mask")
                 if os.path.exists(os.path.join(d, n + ".npy"))]
        inputs = sum([["--input", f"{n}={os.path.join(d, n + '.npy')}"]
                      for n in names], [])
        print(f"[{preset}] compiling ...", flush=True)
        plan = os.path.join(d, "model.plan")
        run([mpcc, "compile", os.path.join(d, "model.onnx"), "-o", plan,
             "--approx", args.approx])
        return d, plan, inputs

    calibration = None
    if args.calibrate_with != "none":
        d, plan, inputs = prepare(args.calibrate_with)
        calibration = os.path.join(d, "calibration-profile.json")
        print(f"[{args.calibrate_with}] mpc-run local loopback (calibration) ...",
              flush=True)
        run([mpcrun, "local", plan, "--weights", os.path.join(d, "model.weights"),
             "--output", os.path.join(d, "calibration-secure.npy"),
             "--profile", calibration, "--quiet", "--timeout", "600"] + inputs
            + (["--insecure"] if args.insecure else []))

    rows = []
    for preset in args.presets.split(","):
        d, plan, inputs = prepare(preset)

        predicted, calibrated = {}, {}
        for net in ["loopback"] + nets:
            proc, _ = run([mpcc, "report", plan, "--net", net, "--format", "json"])
            predicted[net] = json.loads(proc.stdout)["total"]
            if calibration:
                proc, _ = run([mpcc, "report", plan, "--net", net, "--format",
                               "json", "--work-profile", calibration])
                calibrated[net] = json.loads(proc.stdout)["total"]["online_seconds"]

        measured = {net: [] for net in ["loopback"] + nets}
        prof = os.path.join(d, "wan-profile.json")
        out = os.path.join(d, "wan-secure.npy")
        load_before = os.getloadavg()[0]
        for _ in range(max(1, args.runs)):
            for net in ["loopback"] + nets:
                cmd = [mpcrun, "local", plan, "--weights",
                       os.path.join(d, "model.weights"), "--output", out,
                       "--profile", prof, "--quiet", "--timeout", "600"] + inputs
                if net != "loopback":
                    cmd += ["--emulate-net", net]
                if args.insecure:
                    cmd += ["--insecure"]
                print(f"[{preset}] mpc-run local {net} ...", flush=True)
                run(cmd)
                t = json.load(open(prof))["total"]
                measured[net].append(t["online_seconds"])
        load_after = os.getloadavg()[0]
        for net in ["loopback"] + nets:
            p = predicted[net]
            m = measured[net]
            row = {"preset": preset, "net": net, "measured": m,
                   "predicted": p["online_seconds"], "rounds": p["rounds"],
                   "bytes": max(p["bytes_p0_to_p1"], p["bytes_p1_to_p0"]),
                   "load": (load_before, load_after)}
            if calibrated:
                row["calibrated"] = calibrated[net]
                row["calibrated_by"] = args.calibrate_with
            if net != "loopback":
                bps, rtt = parse_net(net)
                row["latency_term"] = p["rounds"] * rtt / 2
                row["bytes_term"] = row["bytes"] / bps
                row["compute_term"] = (p["online_seconds"] - row["latency_term"]
                                       - row["bytes_term"])
                row["loopback_measured"] = statistics.median(measured["loopback"])
            rows.append(row)

    print()
    hdr = ("model", "network", "rounds", "MB (larger way)", "predicted s",
           "(rounds x RTT/2 / bytes / compute)", "measured s", "measured / predicted",
           "loopback measured s", "network terms + loopback s",
           "measured / that", "calibrated predicted s", "measured / calibrated",
           "load before / after")
    print(" | ".join(hdr))
    print(" | ".join("---" for _ in hdr))
    for r in rows:
        m = r["measured"]
        med = statistics.median(m)
        rng = f" ({min(m):.2f}-{max(m):.2f})" if len(m) > 1 else ""
        split = (f"{r['latency_term']:.2f} / {r['bytes_term']:.2f} / {r['compute_term']:.2f}"
                 if "latency_term" in r else "")
        with_loopback = (r["latency_term"] + r["bytes_term"] + r["loopback_measured"]
                         if "latency_term" in r else med)
        print(" | ".join([
            r["preset"], r["net"], str(r["rounds"]), f"{r['bytes'] / 1e6:.1f}",
            f"{r['predicted']:.2f}", split, f"{med:.2f}{rng}",
            f"{med / r['predicted']:.2f}",
            f"{r.get('loopback_measured', med):.2f}",
            f"{with_loopback:.2f}", f"{med / with_loopback:.2f}",
            f"{r['calibrated']:.2f}" if "calibrated" in r else "",
            f"{med / r['calibrated']:.2f}" if "calibrated" in r else "",
            "{:.1f} / {:.1f}".format(*r["load"])]))
    json.dump(rows, open(os.path.join(args.work, "wan-results.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
