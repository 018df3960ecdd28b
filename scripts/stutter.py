#!/usr/bin/env python3
"""Stutter injector: stops and resumes a process (SIGSTOP, then SIGCONT after 2-10
ms) at random intervals, to imitate a hypervisor stealing the core the client runs
on. Seeded, so a run can be repeated. Prints one JSON line per stop with when it
began (CLOCK_MONOTONIC ns, the clock llm-bench's `clock_start_ns` and the
simulator's request log use) and how long the process was actually stopped, and a
last line with the totals. Ends when the process exits, after --count stops, or
after --duration-s.

  scripts/stutter.py --pid PID [--seed 1] [--min-ms 2] [--max-ms 10]
                     [--mean-interval-ms 300] [--count N] [--duration-s S]
                     [--start-after-ms 200]

Intervals between stops are exponential (a Poisson process) with the given mean,
stop lengths uniform in [min, max]. A stop never outlives this script: SIGCONT is
sent on any exit, Ctrl-C included.
"""

import argparse
import json
import os
import random
import signal
import sys
import time


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie accepts signals; it is gone for our purpose.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop_for(pid, seconds):
    """Stops pid for `seconds`; returns (start ns, actual stopped ns)."""
    start = time.monotonic_ns()
    os.kill(pid, signal.SIGSTOP)
    try:
        deadline = start + int(seconds * 1e9)
        # Sleep most of it, spin the last 0.3 ms: sleeps overshoot.
        rest = (deadline - time.monotonic_ns()) / 1e9 - 0.0003
        if rest > 0:
            time.sleep(rest)
        while time.monotonic_ns() < deadline:
            pass
    finally:
        os.kill(pid, signal.SIGCONT)
    return start, time.monotonic_ns() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-ms", type=float, default=2.0)
    ap.add_argument("--max-ms", type=float, default=10.0)
    ap.add_argument("--mean-interval-ms", type=float, default=300.0)
    ap.add_argument("--count", type=int, default=None, help="stop after this many stops")
    ap.add_argument("--duration-s", type=float, default=None)
    ap.add_argument("--start-after-ms", type=float, default=200.0,
                    help="first stop no earlier than this (let the client start)")
    args = ap.parse_args()
    if not 0 < args.min_ms <= args.max_ms:
        raise SystemExit("--min-ms must be > 0 and <= --max-ms")
    if args.mean_interval_ms <= 0:
        raise SystemExit("--mean-interval-ms must be > 0")

    rng = random.Random(args.seed)
    end = time.monotonic() + args.duration_s if args.duration_s else None
    stops, stopped_ns = 0, 0
    # A SIGTERM from whoever started us ends the loop cleanly (and the finally
    # in stop_for resumes the process first).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        next_at = time.monotonic() + args.start_after_ms / 1000 + rng.expovariate(
            1000 / args.mean_interval_ms)
        while alive(args.pid) and (args.count is None or stops < args.count):
            now = time.monotonic()
            if end is not None and now >= end:
                break
            if now < next_at:
                time.sleep(min(next_at - now, 0.05))
                continue
            length = rng.uniform(args.min_ms, args.max_ms) / 1000
            try:
                start, took = stop_for(args.pid, length)
            except ProcessLookupError:
                break
            stops += 1
            stopped_ns += took
            print(json.dumps({"start_ns": start, "stopped_ms": round(took / 1e6, 3)}), flush=True)
            next_at = time.monotonic() + rng.expovariate(1000 / args.mean_interval_ms)
    finally:
        print(json.dumps({"stops": stops, "stopped_ms_total": round(stopped_ns / 1e6, 3)}),
              flush=True)


if __name__ == "__main__":
    main()
