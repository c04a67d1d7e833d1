#!/usr/bin/python3
"""End-to-end benchmark: bert-tiny, bert-mini and bert-base shapes at seq 128.

For each preset it builds a random-weight model with scripts/make_fixtures.py,
compiles it with `mpcc compile`, runs the secure two-party inference with
`mpc-run local` (three processes on loopback) and the float interpreter with
`mpcc float`, and prints compile time, online/offline seconds, bytes, rounds,
peak memory per process and the max error of the secure logits against the
float interpreter and against PyTorch. Figures, not assertions.

    bench/bench_bert.py [--build build] [--presets bert-tiny,bert-mini,bert-base]
                        [--seq 128] [--work /tmp/mpcc-bench] [--approx accurate]
                        [--runs 1] [--insecure-too]
                        [--compile-flag=--exact-truncation ...]

With --runs N the secure inference runs N times per preset; the table then
gives the median online and offline seconds and the online range (this
shared 2-core machine varies by up to 1.5x from run to run). Bytes, rounds
and errors are the same in every run; they come from the last one.

`mpc-run local` runs over TLS 1.3 with identities made for the run. With
--insecure-too every run is also made with `--insecure` (plaintext TCP),
the two alternating, and a second table gives the median online and wall
seconds of each, TLS's overhead, the load average before and after the
runs, and each run's online seconds.
"""
import statistics
import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, **kw):
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    secs = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(f"command failed ({proc.returncode}): {' '.join(cmd)}\n")
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        sys.exit(1)
    return proc, secs


def child_peak_mb():
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--presets", default="bert-tiny,bert-mini,bert-base")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--work", default="/tmp/mpcc-bench")
    ap.add_argument("--approx", default="accurate")
    ap.add_argument("--runs", type=int, default=1,
                    help="secure runs per preset (median and range reported)")
    ap.add_argument("--insecure-too", action="store_true",
                    help="also run with --insecure; report TLS's overhead")
    ap.add_argument("--compile-flag", action="append", default=[],
                    help="extra `mpcc compile` flag, e.g. "
                         "--compile-flag=--exact-truncation (repeatable)")
    ap.add_argument("--init-std", default=None,
                    help="weight init std passed to make_fixtures.py")
    args = ap.parse_args()
    mpcc = os.path.join(args.build, "tools", "mpcc")
    mpcrun = os.path.join(args.build, "tools", "mpc-run")
    for tool in (mpcc, mpcrun):
        if not os.path.exists(tool):
            sys.exit(f"{tool} not found: build first (cmake --build {args.build})")

    rows = []
    for preset in args.presets.split(","):
        d = os.path.join(args.work, preset)
        os.makedirs(d, exist_ok=True)
        print(f"[{preset}] exporting with PyTorch ...", flush=True)
        cmd = ["/usr/bin/python3", os.path.join(ROOT, "scripts", "make_fixtures.py"),
               "--preset", preset, "--seq", str(args.seq), "--out", d]
        if args.init_std:
            cmd += ["--init-std", args.init_std]
        run(cmd)
        names = [n for n in ("input_ids", "token_type_ids", "attention_mask")
                 if os.path.exists(os.path.join(d, n + ".npy"))]
        inputs = [f"{n}={os.path.join(d, n + '.npy')}" for n in names]

        print(f"[{preset}] compiling ...", flush=True)
        plan = os.path.join(d, "model.plan")
        _, compile_s = run([mpcc, "compile", os.path.join(d, "model.onnx"),
                            "-o", plan, "--approx", args.approx]
                           + args.compile_flag)
        compile_peak = child_peak_mb()

        print(f"[{preset}] float interpreter ...", flush=True)
        ref = os.path.join(d, "float.npy")
        run([mpcc, "float", os.path.join(d, "model.onnx"), "--output", ref]
            + sum([["--input", i] for i in inputs], []))

        print(f"[{preset}] secure run (party 0, party 1, dealer on loopback) ...",
              flush=True)
        out = os.path.join(d, "secure.npy")
        prof = os.path.join(d, "profile.json")
        onlines, offlines, walls = [], [], []
        plain_onlines, plain_walls = [], []
        load_before = os.getloadavg()[0]
        for _ in range(max(1, args.runs)):
            cmd = ([mpcrun, "local", plan, "--weights",
                    os.path.join(d, "model.weights"), "--output", out,
                    "--profile", prof, "--quiet"]
                   + sum([["--input", i] for i in inputs], []))
            if args.insecure_too:
                _, plain_s = run(cmd + ["--insecure"])
                plain_onlines.append(
                    json.load(open(prof))["total"]["online_seconds"])
                plain_walls.append(plain_s)
            _, run_s = run(cmd)
            p = json.load(open(prof))
            t = p["total"]
            onlines.append(t["online_seconds"])
            offlines.append(t["offline_seconds"])
            walls.append(run_s)
        load_after = os.getloadavg()[0]
        secure = np.load(out).astype(np.float64)
        flt = np.load(ref).astype(np.float64)
        torch_out = np.load(os.path.join(d, "logits.npy")).astype(np.float64)
        rows.append({
            "preset": preset,
            "compile_s": compile_s,
            "online_s": statistics.median(onlines),
            "online_range": (min(onlines), max(onlines)),
            "offline_s": statistics.median(offlines),
            "setup_s": t.get("setup_seconds", float("nan")),
            "mb_01": t["bytes_p0_to_p1"] / 1e6,
            "mb_10": t["bytes_p1_to_p0"] / 1e6,
            "dealer_mb": t["dealer_bytes"] / 1e6,
            "setup_mb": t.get("setup_bytes_p0_to_p1", 0) / 1e6,
            "rounds": t["rounds"],
            "peak": {k: v / 2**20 for k, v in t.get("peak_rss_bytes", {}).items()},
            "err_float": float(np.max(np.abs(secure - flt))),
            "err_torch": float(np.max(np.abs(secure - torch_out))),
            "argmax_same": bool((secure.argmax(-1) == torch_out.argmax(-1)).all()),
            "wall_s": statistics.median(walls),
            "plain_online_s": statistics.median(plain_onlines) if plain_onlines else None,
            "plain_wall_s": statistics.median(plain_walls) if plain_walls else None,
            "onlines": onlines,
            "plain_onlines": plain_onlines,
            "load": (load_before, load_after),
        })

    print()
    hdr = ("model", "compile s", "online s", "offline s", "set-up s", "online MB (P0->P1 / P1->P0)",
           "dealer MB", "set-up MB", "rounds", "peak MB (P0/P1/dealer)", "err vs float",
           "err vs torch", "argmax")
    print(" | ".join(hdr))
    print(" | ".join("---" for _ in hdr))
    for r in rows:
        peak = r["peak"]
        peaks = "/".join(f"{peak.get(k, float('nan')):.0f}" for k in ("party0", "party1", "dealer"))
        lo, hi = r["online_range"]
        online = f"{r['online_s']:.2f}" + (f" ({lo:.2f}-{hi:.2f})" if hi > lo else "")
        print(" | ".join([
            r["preset"], f"{r['compile_s']:.2f}", online, f"{r['offline_s']:.2f}",
            f"{r['setup_s']:.2f}",
            f"{r['mb_01']:.1f} / {r['mb_10']:.1f}", f"{r['dealer_mb']:.1f}", f"{r['setup_mb']:.1f}",
            str(r["rounds"]), peaks, f"{r['err_float']:.2e}", f"{r['err_torch']:.2e}",
            "same" if r["argmax_same"] else "DIFFERENT"]))
    if args.insecure_too:
        print()
        hdr = ("model", "online s TLS", "online s --insecure", "TLS online cost",
               "wall s TLS", "wall s --insecure", "load (1 min) before / after")
        print(" | ".join(hdr))
        print(" | ".join("---" for _ in hdr))
        for r in rows:
            on, pon = r["online_s"], r["plain_online_s"]
            print(" | ".join([
                r["preset"], f"{on:.2f}", f"{pon:.2f}", f"{100 * (on / pon - 1):+.1f}%",
                f"{r['wall_s']:.2f}", f"{r['plain_wall_s']:.2f}",
                "{:.1f} / {:.1f}".format(*r["load"])]))
        print("\nonline s per run, TLS / --insecure (alternating; the load of "
              "other processes on this machine moves these):")
        for r in rows:
            print(f"{r['preset']}: " + ", ".join(
                f"{a:.2f}/{b:.2f}" for a, b in zip(r["onlines"], r["plain_onlines"])))
    json.dump(rows, open(os.path.join(args.work, "results.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
