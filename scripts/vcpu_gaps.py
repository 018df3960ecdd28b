#!/usr/bin/env python3
"""Does this host take the client's CPU away? A gap probe, outside llm-bench.

Pins itself to one CPU, optionally as SCHED_FIFO 99 (root; then no guest task
can preempt it, and RT throttling is lifted for the probe and put back after),
reads CLOCK_MONOTONIC in a tight loop for a few seconds and reports every gap
between two reads longer than --gap-ms. With SCHED_FIFO the only things that
can open a gap of milliseconds are interrupt handlers (microseconds each) and
the hypervisor not running the vCPU at all, so long gaps here are time stolen
from the guest. /proc/stat's steal column for that CPU is printed beside them:
it counts the same thing, at 10 ms granularity.

  scripts/vcpu_gaps.py [--cpu 1] [--seconds 10] [--gap-ms 1] [--fifo]

See docs/performance.md, *Open-loop tails*.
"""

import argparse
import os
import subprocess
import time


def steal_ms(cpu):
    for line in open("/proc/stat"):
        fields = line.split()
        if fields[0] == f"cpu{cpu}":
            return int(fields[8]) * 1000 / os.sysconf("SC_CLK_TCK")
    return 0.0


def interrupts(cpu):
    """All interrupts taken on `cpu` so far (/proc/interrupts, summed)."""
    lines = open("/proc/interrupts").read().splitlines()
    cpus = lines[0].split()
    col = cpus.index(f"CPU{cpu}")
    total = 0
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > col + 1 and fields[col + 1].isdigit():
            total += int(fields[col + 1])
    return total


def probe(seconds, gap_ns):
    gaps = []
    now = time.monotonic_ns
    end = now() + int(seconds * 1e9)
    last = now()
    while last < end:
        t = now()
        if t - last > gap_ns:
            gaps.append((last, t - last))
        last = t
    return gaps


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpu", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--gap-ms", type=float, default=1.0)
    ap.add_argument("--fifo", action="store_true",
                    help="run as SCHED_FIFO 99 with RT throttling lifted (root)")
    args = ap.parse_args()

    os.sched_setaffinity(0, {args.cpu})
    rt_path = "/proc/sys/kernel/sched_rt_runtime_us"
    rt_before = None
    if args.fifo:
        rt_before = open(rt_path).read().strip()
        open(rt_path, "w").write("-1")
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(99))
    try:
        steal0, irq0 = steal_ms(args.cpu), interrupts(args.cpu)
        gaps = probe(args.seconds, int(args.gap_ms * 1e6))
        steal, irqs = steal_ms(args.cpu) - steal0, interrupts(args.cpu) - irq0
    finally:
        if args.fifo:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
            open(rt_path, "w").write(rt_before)

    lengths = sorted(g for _, g in gaps)
    total_ms = sum(lengths) / 1e6
    mode = "SCHED_FIFO 99" if args.fifo else "SCHED_OTHER"
    kernel = subprocess.run(["uname", "-r"], capture_output=True, text=True).stdout.strip()
    print(f"CPU {args.cpu}, {mode}, {args.seconds:g} s, kernel {kernel}")
    print(f"gaps > {args.gap_ms:g} ms: {len(lengths)}, {total_ms:.1f} ms in all "
          f"({100 * total_ms / (args.seconds * 1000):.2f}% of the time)")
    if lengths:
        print(f"  median {lengths[len(lengths) // 2] / 1e6:.2f} ms, "
              f"max {lengths[-1] / 1e6:.2f} ms")
        if len(gaps) > 1:
            starts = [s for s, _ in gaps]
            apart = sorted(b - a for a, b in zip(starts, starts[1:]))
            print(f"  median time between gaps {apart[len(apart) // 2] / 1e6:.0f} ms")
    print(f"steal on CPU {args.cpu} (/proc/stat): {steal:.0f} ms; interrupts taken: {irqs}")


if __name__ == "__main__":
    main()
