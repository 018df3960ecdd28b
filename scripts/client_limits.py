#!/usr/bin/env python3
"""Two client limits from issue #6 that the side-by-side table does not cover:

1. Open-loop send lag: Poisson arrivals at 2,000 requests/s, non-streaming, short
   responses. Prints the p50 / p99 / max of (sent - scheduled) per request and the
   dispatcher's own wake-up lag from client_health. Goal: p99 <= 1 ms.
2. Memory against run length: the same closed-loop load for N and 100 x N requests
   (default 10,000 and 1,000,000). Prints both peak RSS figures and their ratio.
   Goal: flat (what grows is on disk: requests.jsonl).

The simulated server (release build) runs pinned to CPU 0 and answers at once
(TTFT 1 ms, 8 tokens, no ITL); llm-bench runs pinned to CPU 1 under /usr/bin/time.
Loopback only. Usage:

  scripts/client_limits.py [--binary PATH] [--rate 2000] [--short 10000] [--scale 100]
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def start_sim(binary, port, work):
    proc = subprocess.Popen(
        ["taskset", "-c", "0", binary, "serve-sim", "--port", str(port), "--ttft-ms", "1",
         "--itl-ms", "0", "--output-tokens", "8", "--batch-size", "1000000"],
        stdout=open(os.path.join(work, "sim.log"), "w"), stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return proc
        except Exception:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the simulated server did not start; see sim.log")


def run(binary, url, out, args):
    """Runs llm-bench on CPU 1; returns (exit code, peak RSS MiB, wall s, metrics)."""
    shutil.rmtree(out, ignore_errors=True)
    tfile = out + ".time"
    cmd = ["/usr/bin/time", "-f", "%e %M", "-o", tfile, "taskset", "-c", "1", binary, "run",
           "--url", url, "--model", "sim-model", "--out", out, "--no-telemetry",
           "--no-stream", "--max-tokens", "8", "--prompt-tokens", "16"] + args
    rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall, rss_kb = open(tfile).read().split()[-2:]
    metrics = json.load(open(os.path.join(out, "summary.json")))["scenarios"][0]["metrics"]
    return rc, int(rss_kb) / 1024, float(wall), metrics


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "llm-bench"))
    ap.add_argument("--rate", type=float, default=2000.0)
    ap.add_argument("--open-requests", type=int, default=40000)
    ap.add_argument("--short", type=int, default=10000, help="requests in the short run")
    ap.add_argument("--scale", type=int, default=100, help="long run = short x scale")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--work", default="/tmp/llm-bench-client-limits")
    ap.add_argument("--port", type=int, default=18124)
    args = ap.parse_args()
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs 2 CPUs: the server is pinned to CPU 0, the client to CPU 1")
    os.makedirs(args.work, exist_ok=True)
    url = f"http://127.0.0.1:{args.port}/v1"
    sim = start_sim(args.binary, args.port, args.work)
    try:
        log(f"▶ open loop: Poisson {args.rate:g} req/s, {args.open_requests} requests")
        rc, rss, wall, m = run(args.binary, url, os.path.join(args.work, "open"),
                               ["--rate", str(args.rate), "--arrival", "poisson",
                                "--requests", str(args.open_requests)])
        lag = m["schedule"]["send_lag_ms"]
        health = m.get("client_health") or {}
        print(f"## Open loop: Poisson {args.rate:g} req/s, {args.open_requests} requests, "
              f"non-streaming (exit {rc})\n")
        print("| send lag p50 ms | p99 ms | max ms | dispatcher wake-up lag p99 ms | "
              "req/s attained | client CPU utilisation | peak RSS MiB |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        print(f"| {lag['p50']:.3f} | {lag['p99']:.3f} | {lag['max']:.3f} | "
              f"{health.get('dispatch_lag_p99_ms', float('nan')):.3f} | "
              f"{m['requests_per_s']:.0f} | {health.get('cpu_utilisation', float('nan')):.2f} | "
              f"{rss:.0f} |")
        verdict = "met" if lag["p99"] <= 1.0 else "missed"
        print(f"\nGoal send lag p99 <= 1 ms: {verdict}\n")

        rows = []
        for n in (args.short, args.short * args.scale):
            log(f"▶ closed loop: concurrency {args.concurrency}, {n} requests")
            rc, rss, wall, m = run(args.binary, url, os.path.join(args.work, f"closed-{n}"),
                                   ["--concurrency", str(args.concurrency),
                                    "--requests", str(n)])
            size = os.path.getsize(os.path.join(args.work, f"closed-{n}", "requests.jsonl"))
            rows.append((n, rc, rss, wall, m["requests_per_s"], size))
        print(f"## Memory against run length: closed loop, concurrency {args.concurrency}, "
              "non-streaming\n")
        print("| requests | exit | peak RSS MiB | wall s | req/s | requests.jsonl MiB |")
        print("|---:|---:|---:|---:|---:|---:|")
        for n, rc, rss, wall, rps, size in rows:
            print(f"| {n} | {rc} | {rss:.1f} | {wall:.1f} | {rps:.0f} | {size / 2**20:.0f} |")
        ratio = rows[1][2] / rows[0][2]
        print(f"\nPeak RSS, long / short run: {ratio:.2f}")
    finally:
        sim.send_signal(signal.SIGINT)
        try:
            sim.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sim.kill()


if __name__ == "__main__":
    main()
