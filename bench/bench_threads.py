#!/usr/bin/python3
"""Do threads in the local kernels help online? Interleaved runs.

Runs `mpc-run local` on one compiled preset (made by bench/bench_bert.py or
bench/bench_wan.py in --work) with each --threads value, and optionally each
of several mpc-run binaries (a build before and after a change), round-robin
so the machine's load moves them alike, and prints the median, range and
every run's online and wall seconds, with the load average before and after.

    bench/bench_threads.py [--preset bert-base] [--threads 1,2] [--runs 5]
                           [--mpc-run build/tools/mpc-run,/tmp/old/mpc-run]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="bert-base")
    ap.add_argument("--work", default="/tmp/mpcc-bench")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mpc-run", default=os.path.join(ROOT, "build", "tools", "mpc-run"),
                    help="comma-separated mpc-run binaries to compare")
    args = ap.parse_args()
    d = os.path.join(args.work, args.preset)
    plan = os.path.join(d, "model.plan")
    if not os.path.exists(plan):
        sys.exit(f"{plan} not found: run bench/bench_bert.py --presets {args.preset} first")
    names = [n for n in ("input_ids", "token_type_ids", "attention_mask")
             if os.path.exists(os.path.join(d, n + ".npy"))]
    inputs = sum([["--input", f"{n}={os.path.join(d, n + '.npy')}"] for n in names], [])
    configs = [(exe, t) for exe in args.mpc_run.split(",")
               for t in args.threads.split(",")]
    online = {c: [] for c in configs}
    wall = {c: [] for c in configs}
    prof = os.path.join(d, "threads-profile.json")
    load_before = os.getloadavg()[0]
    for i in range(args.runs):
        for exe, t in configs:
            cmd = [exe, "local", plan, "--weights", os.path.join(d, "model.weights"),
                   "--output", os.path.join(d, "threads-out.npy"), "--profile", prof,
                   "--quiet", "--threads", t] + inputs
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
            wall[(exe, t)].append(time.perf_counter() - start)
            online[(exe, t)].append(json.load(open(prof))["total"]["online_seconds"])
            print(f"run {i + 1}: {exe} --threads {t}: online {online[(exe, t)][-1]:.2f} s, "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    load_after = os.getloadavg()[0]
    print(f"\n{args.preset}, {args.runs} interleaved runs each, load (1 min) "
          f"{load_before:.1f} before / {load_after:.1f} after")
    print("mpc-run | threads | online s median (range) | wall s median | online s each run")
    print("--- | --- | --- | --- | ---")
    for c in configs:
        o, w = online[c], wall[c]
        print(f"{c[0]} | {c[1]} | {statistics.median(o):.2f} ({min(o):.2f}-{max(o):.2f}) | "
              f"{statistics.median(w):.2f} | " + ", ".join(f"{x:.2f}" for x in o))


if __name__ == "__main__":
    main()
