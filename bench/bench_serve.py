#!/usr/bin/python3
"""Load test of a model owner serving many clients: `mpc-run serve`.

Compiles the bundled bert-tiny-shaped fixture (tests/fixtures/
bert_17_erf_mask_static: 2 layers, hidden 32, vocabulary 256, 16 tokens),
starts one `mpc-run dealer --serve` and one `mpc-run serve` on loopback over
TLS (an identity per role and per client, each client pinned with --trust
party1=CERT), then CLIENTS clients at once, each running REQUESTS requests
over one session (`mpc-run --party 1 --requests LIST`, random token ids per
request). Every output is checked against the float reference (`mpcc
float`); failures must be 0. Prints the per-request online latency (p50,
p99, from the server's log lines), each client's wall time, the throughput,
and the server's and the dealer's resident memory sampled every 50 ms over
the whole test (VmRSS of the accepting process plus its session children):
first, last and max, which must stay flat however many requests are served.

Then the faults: a client killed (SIGKILL) in the middle of a request ends
its session only (the server logs it and serves the next client), and
SIGTERM stops both services with exit code 0.

    bench/bench_serve.py [--clients 8] [--requests 20]
    bench/bench_serve.py --short     # 2 clients x 3 requests (a ctest)
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "bert_17_erf_mask_static")
# The secure logits against the float model: the fixture's end-to-end
# bound (tests/unit/session/NetworkTests.cpp).
TOLERANCE = 5e-3


def rss_kb(pid, children=True):
    """VmRSS of pid and of its children (the sessions), in KiB."""
    total = 0
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(p) for p in f.read().split()] if children else []
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class Sampler(threading.Thread):
    """Samples the RSS of the given processes every 50 ms."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids = pids
        self.samples = {p: [] for p in pids}
        self.alone = {p: [] for p in pids}
        self.stop = False

    def run(self):
        while not self.stop:
            for p in self.pids:
                self.samples[p].append(rss_kb(p))
                self.alone[p].append(rss_kb(p, children=False))
            time.sleep(0.05)


def wait_port(proc, path, what):
    for _ in range(3000):
        if os.path.exists(path) and open(path).read().strip():
            return int(open(path).read())
        if proc.poll() is not None:
            sys.exit(f"{what} exited before listening")
        time.sleep(0.01)
    sys.exit(f"{what} did not listen")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--max-sessions", type=int, default=8)
    ap.add_argument("--short", action="store_true",
                    help="2 clients x 3 requests (the ctest)")
    ap.add_argument("--mpcc", default=os.path.join(ROOT, "build", "tools", "mpcc"))
    ap.add_argument("--mpc-run", default=os.path.join(ROOT, "build", "tools", "mpc-run"))
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    if args.short:
        args.clients, args.requests = 2, 3
    work = tempfile.mkdtemp(prefix="mpcc-serve-")
    try:
        failures = run(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work directory: {work}")
    sys.exit(1 if failures else 0)


def check(cond, what, failures):
    if not cond:
        failures.append(what)
        print(f"FAILED: {what}", flush=True)


def run(args, work):
    mpc_run = args.mpc_run
    w = lambda *p: os.path.join(work, *p)
    subprocess.run([args.mpcc, "compile", os.path.join(FIXTURE, "model.onnx"),
                    "-o", w("m.plan")], check=True, capture_output=True)
    ids = ["party0", "dealer"] + [f"client{i}" for i in range(args.clients + 1)]
    for name in ids:
        subprocess.run([mpc_run, "keygen", name, "--out", work], check=True,
                       capture_output=True)
    crt = lambda n: w(n + ".crt")
    me = lambda n: ["--key", w(n + ".key"), "--cert", crt(n)]
    clients = [f"client{i}" for i in range(args.clients + 1)]
    trust_clients = sum([["--trust", f"party1={crt(c)}"] for c in clients], [])

    # Requests: random ids, the fixture's token types and mask, each with
    # its float reference.
    rng = np.random.default_rng(7)
    ids0 = np.load(os.path.join(FIXTURE, "input_ids.npy"))
    others = {n: os.path.join(FIXTURE, n + ".npy")
              for n in ("token_type_ids", "attention_mask")}
    refs = {}
    lists = []
    for c in range(args.clients + 1):
        lines = []
        for r in range(args.requests):
            ids = rng.integers(0, 256, size=ids0.shape, dtype=np.int64)
            f = w(f"ids_{c}_{r}.npy")
            np.save(f, ids)
            ins = [f"input_ids={f}"] + [f"{n}={p}" for n, p in others.items()]
            ref = w(f"ref_{c}_{r}.npy")
            subprocess.run([args.mpcc, "float", os.path.join(FIXTURE, "model.onnx"),
                            "--output", ref] + sum([["--input", i] for i in ins], []),
                           check=True, capture_output=True)
            out = w(f"out_{c}_{r}.npy")
            refs[out] = ref
            lines.append(" ".join([f"--input {i}" for i in ins] + [f"--output {out}"]))
        lists.append(w(f"requests_{c}.txt"))
        with open(lists[-1], "w") as fl:
            fl.write("\n".join(lines) + "\n")

    common = ["--plan", w("m.plan"), "--quiet", "--threads", "1"]
    dlog, slog = open(w("dealer.log"), "w"), open(w("serve.log"), "w")
    dealer = subprocess.Popen(
        [mpc_run, "dealer", "--serve", "--listen", "127.0.0.1:0", "--port-file",
         w("dealer.port"), "--max-sessions", str(args.max_sessions),
         "--trust", f"party0={crt('party0')}"] + trust_clients + me("dealer") + common,
        stderr=dlog)
    dport = wait_port(dealer, w("dealer.port"), "the dealer")
    serve = subprocess.Popen(
        [mpc_run, "serve", "--weights", w("m.weights"), "--listen", "127.0.0.1:0",
         "--port-file", w("serve.port"), "--dealer", f"127.0.0.1:{dport}",
         "--max-sessions", str(args.max_sessions), "--trust",
         f"dealer={crt('dealer')}"] + trust_clients + me("party0") + common,
        stderr=slog)
    sport = wait_port(serve, w("serve.port"), "the server")
    sampler = Sampler([serve.pid, dealer.pid])
    sampler.start()

    def client(c, extra=()):
        cmd = [mpc_run, "--party", "1", "--connect", f"127.0.0.1:{sport}",
               "--dealer", f"127.0.0.1:{dport}", "--requests", lists[c],
               "--trust", f"party0={crt('party0')}", "--trust",
               f"dealer={crt('dealer')}"] + me(clients[c]) + common + list(extra)
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                stderr=open(w(f"client{c}.log"), "w"))

    failures = []
    t0 = time.perf_counter()
    procs = [client(c) for c in range(args.clients)]
    walls = []
    for c, p in enumerate(procs):
        rc = p.wait()
        walls.append(time.perf_counter() - t0)
        check(rc == 0, f"client {c} exited {rc}: "
              + open(w(f"client{c}.log")).read()[-2000:], failures)
    elapsed = time.perf_counter() - t0
    worst = 0.0
    for c in range(args.clients):
        for r in range(args.requests):
            out = w(f"out_{c}_{r}.npy")
            if not os.path.exists(out):
                check(False, f"client {c} request {r + 1}: no output", failures)
                continue
            err = float(np.max(np.abs(np.load(out) - np.load(refs[out]))))
            worst = max(worst, err)
            check(err < TOLERANCE, f"client {c} request {r + 1}: error {err:.2e}",
                  failures)
    n = args.clients * args.requests
    print(f"{args.clients} clients x {args.requests} requests (bert-tiny "
          f"fixture, TLS, loopback, --max-sessions {args.max_sessions}): "
          f"{len(failures)} failures, largest error vs float {worst:.2e}")
    print(f"throughput {n / elapsed:.1f} requests/s ({n} in {elapsed:.2f} s); "
          f"client wall p50 {statistics.median(walls):.2f} s, max {max(walls):.2f} s")

    # A client killed in the middle of its first request's online phase:
    # the server and the dealer log it and serve the next client.
    killed = client(args.clients, ["--die-at", "online:20"])
    killed.wait()
    check(killed.returncode == -signal.SIGKILL, "the killed client died", failures)
    time.sleep(0.5)
    after = client(0)
    check(after.wait() == 0, "a client after the killed one succeeds", failures)
    check(serve.poll() is None and dealer.poll() is None,
          "the services survive a killed client", failures)

    # The last sessions end once their children have logged and exited.
    def children(pid):
        try:
            return open(f"/proc/{pid}/task/{pid}/children").read().split()
        except OSError:
            return []
    for _ in range(200):
        if not children(serve.pid) and not children(dealer.pid):
            break
        time.sleep(0.05)
    time.sleep(0.3)
    sampler.stop = True
    sampler.join()
    for proc in (serve, dealer):
        proc.send_signal(signal.SIGTERM)
    rc_serve, rc_dealer = serve.wait(30), dealer.wait(30)
    check(rc_serve == 0 and rc_dealer == 0,
          f"SIGTERM stops both with exit 0 (serve {rc_serve}, dealer {rc_dealer})",
          failures)
    slog.close()
    dlog.close()
    log = open(w("serve.log")).read()
    online = [float(m) for m in re.findall(r": request \d+: online ([\d.]+) ms", log)]
    check(len(online) >= n, f"{len(online)} request lines in the server log, "
          f"expected at least {n}", failures)
    if online:
        online.sort()
        p99 = online[min(len(online) - 1, int(round(0.99 * (len(online) - 1))))]
        print(f"per-request online latency (server log): p50 "
              f"{statistics.median(online):.1f} ms, p99 {p99:.1f} ms")
    # Each session's first line names the client by the certificate that
    # pinned it.
    started = re.findall(r"session \d+ .*: started by the client pinned by "
                         r"\S*(client\d+)\.crt \(SHA-256 [0-9a-f]{64}\)", log)
    sessions = re.findall(r"session \d+ .*: started", log)
    check(len(started) == len(sessions) and
          {f"client{c}" for c in range(args.clients)} <= set(started),
          f"every client named by its certificate in the server log: {started}",
          failures)
    dealt = re.findall(r"dealer: session \d+: started by the client pinned by "
                       r"\S*(client\d+)\.crt \(SHA-256 [0-9a-f]{64}\)",
                       open(w("dealer.log")).read())
    check({f"client{c}" for c in range(args.clients)} <= set(dealt),
          f"every client named by its certificate in the dealer log: {dealt}",
          failures)
    ended = re.findall(r"session \d+ .*: ended after \d+ requests?: (.*)", log)
    check(len(ended) == 1, f"exactly one session failed (the killed client's), "
          f"not {len(ended)}: {ended}", failures)
    for name, proc in (("server", serve), ("dealer", dealer)):
        s = [x for x in sampler.samples[proc.pid] if x > 0]
        if not s:
            continue
        print(f"{name} RSS (accepting process + sessions), {len(s)} samples: "
              f"first {s[0] / 1024:.1f} MiB, last {s[-1] / 1024:.1f} MiB, "
              f"max {max(s) / 1024:.1f} MiB")
        a = [x for x in sampler.alone[proc.pid] if x > 0]
        print(f"{name} RSS (accepting process alone): first {a[0] / 1024:.1f} "
              f"MiB, last {a[-1] / 1024:.1f} MiB, max {max(a) / 1024:.1f} MiB")
        check(s[-1] <= s[0] + 1024,
              f"{name} memory back to its start after the sessions", failures)
        check(max(a) <= a[0] + 1024, f"{name}'s accepting process does not grow",
              failures)
    # The sessions' own memory across their requests, from the log lines.
    per = re.findall(r"serve: session (\d+) .*: request (\d+): .* rss ([\d.]+) MiB", log)
    by = {}
    for s_id, r, mib in per:
        by.setdefault(s_id, []).append((int(r), float(mib)))
    # From the second request on: the first one's allocations (set-up, the
    # allocator's arenas) are made once per session.
    growth = [max(x for _, x in v[1:]) - v[1][1] for v in by.values() if len(v) > 2]
    if growth:
        print(f"session RSS from its second to its last request: max growth "
              f"{max(growth):.1f} MiB over {max(len(v) for v in by.values())} requests")
        check(max(growth) <= 1.0, "sessions' memory flat across requests", failures)
    for f in failures:
        print(f"FAILED: {f}")
    if failures:
        print("serve log tail:\n" + log[-3000:])
        print("dealer log tail:\n" + open(w("dealer.log")).read()[-3000:])
    return failures


if __name__ == "__main__":
    main()
