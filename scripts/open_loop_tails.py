#!/usr/bin/env python3
"""Open-loop tails (issue #22): Poisson 2,000 req/s, 16 output tokens,
--max-concurrency 4096, against `llm-bench serve-sim --request-log` pinned to CPU 0
with the client pinned to CPU 1. Best of RUNS (default 3) by the worse of the two
figures the goal names; per run it prints:

  dispatch p99     the dispatcher's own wake-up lag (client_health.dispatch_lag_p99_ms)
  send lag p99/max sent - scheduled per request (the cap is never reached here)
  paired p99/max   llm-bench's first-token stamp minus the moment the server wrote
                   that first token (CLOCK_MONOTONIC, paired by X-Request-Id)
  stalls           times the client process did not run for > 1 ms (its stall
                   watch), and requests marked client_stall
  late sends       requests sent > 1 ms late, and (with --sched-trace) what held
                   the client's CPU longest from when each was due to when it went
                   out: another process (by name), one of llm-bench's own side
                   threads (row writer, stall watch), the runtime's threads, or
                   nothing (the CPU was idle: the vCPU itself did not run, or the
                   wake-up came late)
  late timers      (with --sched-trace) kernel timers on the client's CPU that
                   fired > 1 ms after they were due, and how many late sends
                   overlap one: nothing in the guest holds a timer interrupt off
                   for milliseconds, so these are times the vCPU did not run
  steal ms         the client CPU's steal time during the run (/proc/stat): time
                   the hypervisor ran something else while the vCPU wanted to run

--sched-trace records every context switch on the client's CPU with
`perf record -e sched:sched_switch -k CLOCK_MONOTONIC` (perf and
perf_event_paranoid <= 1 or root needed) and lines it up with the rows.
--kdamond-cpu N moves the kernel's DAMON monitor threads (kdamond.*) to CPU N for
the run and back afterwards (root; see docs/performance.md, *Open-loop tails*).
--idle-spinner runs a SCHED_IDLE busy loop on the client's CPU for the runs, so the
vCPU never halts between sends (the test of the idle-wake-up explanation).

  scripts/open_loop_tails.py [--quick] [--runs 3] [--requests 20000]
                             [--sched-trace] [--kdamond-cpu 0] [--idle-spinner]
                             [--binary PATH]
"""

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import side_by_side as sbs  # noqa: E402  (the server and the pairing)

RATE = 2000
TOKENS = 16
LATE_MS = 1.0


def kdamond_pids():
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().startswith("kdamond"):
                        out.append(int(pid))
            except OSError:
                pass
    return out


def set_affinity(pids, cpus):
    """Returns the previous affinity of each pid that could be moved."""
    before = {}
    for pid in pids:
        try:
            before[pid] = os.sched_getaffinity(pid)
            os.sched_setaffinity(pid, cpus)
        except OSError as e:
            sbs.log(f"cannot move pid {pid}: {e}")
            before.pop(pid, None)
    return before


def steal_ms(cpu):
    """Time the hypervisor ran something else while this vCPU wanted to run
    (/proc/stat's steal column, in USER_HZ ticks), in ms."""
    for line in open("/proc/stat"):
        fields = line.split()
        if fields[0] == f"cpu{cpu}":
            return int(fields[8]) * 1000 / os.sysconf("SC_CLK_TCK")
    return 0.0


def run_once(binary, url, requests, out, sched_trace):
    cmd = ["taskset", "-c", sbs.CLIENT_CPU, binary, "run", "--url", url + "/v1",
           "--model", "sim-model", "--out", os.path.join(out, "results"),
           "--rate", str(RATE), "--arrival", "poisson", "--requests", str(requests),
           "--max-concurrency", "4096", "--max-tokens", str(TOKENS),
           "--prompt-tokens", "64", "--ignore-eos"]
    perf = None
    if sched_trace:
        perf = subprocess.Popen(["perf", "record", "-q", "-e", "sched:sched_switch",
                                 "-e", "timer:hrtimer_start",
                                 "-e", "timer:hrtimer_expire_entry",
                                 "-k", "CLOCK_MONOTONIC", "-C", sbs.CLIENT_CPU,
                                 "-o", os.path.join(out, "sched.data")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
    with open(os.path.join(out, "stdout.txt"), "w") as so, \
            open(os.path.join(out, "stderr.txt"), "w") as se:
        rc = subprocess.run(cmd, stdout=so, stderr=se, timeout=sbs.RUN_TIMEOUT_S).returncode
    if perf:
        perf.send_signal(2)
        perf.wait(timeout=30)
    return rc


# What held the client's CPU while a send was late: another process (by name),
# one of llm-bench's own side threads (row writer, stall watch, GPU sampler,
# live-metrics server), the runtime's threads and the timer thread the
# dispatcher waits on, or nothing: the CPU was idle, so the vCPU itself did not
# run (hypervisor steal) or the wake-up came late.
OWN_SIDE = ("llm-bench-sink", "llm-bench-stal", "llm-bench-nvml", "llm-bench-live")
OWN_RUNTIME = ("llm-bench", "tokio-runtime-w")


def blame_of(tasks, start, end):
    """The task that held the CPU longest from `start` (when a send was due) to
    `end` (when it went out), or "(CPU idle)" when nothing did."""
    held = collections.Counter()
    for s, e, comm in tasks:
        overlap = min(e, end) - max(s, start)
        if overlap > 0:
            if comm.startswith(OWN_SIDE):
                comm += " (ours)"
            elif comm.startswith(OWN_RUNTIME):
                comm = "(the runtime's threads)"
            held[comm] += overlap
    idle = (end - start) - sum(held.values())
    if not held or idle >= max(held.values()):
        return "(CPU idle)"
    return held.most_common(1)[0][0]


def trace_of(out):
    """From the trace of the client's CPU: the intervals [start_ns, end_ns, comm]
    during which a task other than idle ran on it, and each kernel timer's
    expiry on it as [due_ns, late_ns] (how long after its expiry time it fired).
    A timer firing milliseconds late while the CPU was idle means the vCPU was
    not running: nothing in the guest delays a timer interrupt that long."""
    data = os.path.join(out, "sched.data")
    if not os.path.exists(data):
        return [], []
    text = subprocess.run(["perf", "script", "-i", data, "-F", "time,event,trace", "--ns"],
                          capture_output=True, text=True).stdout
    field = lambda rest, name: rest.split(name + "=", 1)[1].split(" ", 1)[0]  # noqa: E731
    intervals, current, armed, timers = [], None, {}, []
    for line in text.splitlines():
        try:
            ts, event, rest = line.split(":", 2)
            t_ns = int(float(ts.strip()) * 1e9)
            if "hrtimer_start" in rest.split(":", 1)[0]:
                rest = rest.split(":", 1)[1]
                armed[field(rest, "hrtimer")] = int(field(rest, "softexpires"))
                continue
            if "hrtimer_expire_entry" in rest.split(":", 1)[0]:
                rest = rest.split(":", 1)[1]
                due = armed.pop(field(rest, "hrtimer"), None)
                late = int(field(rest, "now")) - due if due is not None else None
                # Timers on other clocks (realtime) do not compare; skip them.
                if late is not None and 0 <= late < 1e9:
                    timers.append((due, late))
                continue
            prev = rest.split("prev_comm=", 1)[1].split(" prev_pid=")[0]
            nxt = rest.split("next_comm=", 1)[1].split(" next_pid=")[0]
        except (ValueError, IndexError):
            continue
        if current and current[1] == prev:
            intervals.append((current[0], t_ns, prev))
        current = (t_ns, nxt)
    return [i for i in intervals if not i[2].startswith("swapper")], timers


def analyse(out, entries):
    res_dir = os.path.join(out, "results")
    health = json.load(open(os.path.join(res_dir, "summary.json")))["scenarios"][0][
        "metrics"].get("client_health") or {}
    paired = sbs.paired_llm_bench(res_dir, entries)
    by_id = {e["request_id"]: e for e in entries if e.get("request_id")}
    start = next(json.loads(line)["clock_start_ns"]
                 for line in open(os.path.join(res_dir, "client_health.jsonl")))
    lags, errors, late_at = [], [], []
    for line in open(os.path.join(res_dir, "requests.jsonl")):
        row = json.loads(line)
        lags.append(row["send_lag_ms"])
        if row["send_lag_ms"] > LATE_MS:
            due = start + row["scheduled_ms"] * 1e6
            late_at.append((due, due + row["send_lag_ms"] * 1e6))
        e = by_id.get(row.get("request_id"))
        if e and row.get("ttft_ms") is not None and row.get("ok"):
            errors.append((start + (row["start_ms"] + row["ttft_ms"]) * 1e6
                           - e["first_chunk_ns"]) / 1e6)
    blame = collections.Counter()
    tasks, timers = trace_of(out)
    late_timers = [(due, late) for due, late in timers if late > LATE_MS * 1e6]
    after_late_timer = 0
    for due, sent in late_at:
        blame[blame_of(tasks, due, sent)] += 1
        # A timer on the client's CPU that was overdue by > 1 ms at some point
        # while this send was late: the vCPU was not running then.
        if any(t_due <= sent and t_due + late >= due for t_due, late in late_timers):
            after_late_timer += 1
    return {
        "dispatch_p99": health.get("dispatch_lag_p99_ms"),
        "send_p99": sbs.percentile(lags, 0.99), "send_max": max(lags) if lags else None,
        "paired_p99": paired.get("paired_err_p99"),
        "paired_max": max(errors) if errors else None,
        "stalls": health.get("stalls", 0), "stall_max": health.get("stall_max_ms", 0),
        "in_stall": health.get("requests_in_stall", 0), "late": len(late_at),
        "blame": dict(blame.most_common(5)) if tasks else None,
        "late_timers": len(late_timers) if tasks else None,
        "late_timer_max": max((late for _, late in late_timers), default=0) / 1e6,
        "after_late_timer": after_late_timer if tasks else None,
        "client_limited": health.get("client_limited"),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="4,000 requests per run (2 s)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--sched-trace", action="store_true")
    ap.add_argument("--idle-spinner", action="store_true",
                    help="run a SCHED_IDLE busy loop on the client's CPU, so the vCPU "
                         "never halts (it yields at once to any other task)")
    ap.add_argument("--kdamond-cpu", default=None,
                    help="move kdamond threads to this CPU during the runs (root)")
    ap.add_argument("--binary", default=None)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--work", default="/tmp/llm-bench-open-loop-tails")
    ap.add_argument("--port", type=int, default=18125)
    args = ap.parse_args()
    requests = 4000 if args.quick else args.requests
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs 2 CPUs: the server is pinned to CPU 0, the client to CPU 1")
    import selfcheck_study  # the same binary lookup
    binary = selfcheck_study.binary_path(args)
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    host = sbs.host_info()
    moved = {}
    if args.kdamond_cpu is not None:
        moved = set_affinity(kdamond_pids(), {int(args.kdamond_cpu)})
    sbs.TOKENS = TOKENS
    server = sbs.Server(binary, args.port, args.work)
    spinner = None
    if args.idle_spinner:
        spinner = subprocess.Popen(["chrt", "-i", "0", "taskset", "-c", sbs.CLIENT_CPU,
                                    sys.executable, "-c", "while True: pass"])
    rows = []
    try:
        for i in range(args.runs):
            out = os.path.join(args.work, f"run{i + 1}")
            os.makedirs(out)
            sbs.log(f"▶ run {i + 1}/{args.runs}: Poisson {RATE} req/s, {requests} requests")
            before = server.snapshot()
            steal_before = steal_ms(sbs.CLIENT_CPU)
            rc = run_once(binary, server.url, requests, out, args.sched_trace)
            steal = steal_ms(sbs.CLIENT_CPU) - steal_before
            time.sleep(0.3)
            r = analyse(out, server.entries(before))
            r.update(run=i + 1, rc=rc, steal_ms=steal)
            rows.append(r)
            sbs.log(json.dumps(r))
    finally:
        server.stop()
        if spinner:
            spinner.kill()
            spinner.wait()
        for pid, cpus in moved.items():
            try:
                os.sched_setaffinity(pid, cpus)
            except OSError:
                pass

    def worst(r):
        return max(r["dispatch_p99"] or 0, r["paired_p99"] or 0)

    best = min(rows, key=worst)
    kd = f", kdamond moved to CPU {args.kdamond_cpu}" if moved else ""
    kd += ", a SCHED_IDLE spinner on the client's CPU" if spinner else ""
    print(f"## Open-loop tails: Poisson {RATE} req/s, {TOKENS} tokens, {requests} requests, "
          f"server on CPU {sbs.SERVER_CPU}, client on CPU {sbs.CLIENT_CPU}{kd}\n")
    print(f"Host: {host['cpu']}, {host['cpus']} CPUs, kernel {host['kernel']}; "
          f"started {host['started_utc']} UTC\n")
    print("| run | dispatch lag p99 ms | send lag p99 / max ms | paired TTFT p99 / max ms | "
          "stalls (max ms) | requests in stall | sends > 1 ms late | on the CPU then | "
          "timers > 1 ms late (max ms) | late sends while a timer was | steal ms | "
          "client_limited |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|")
    f = lambda x, s: "–" if x is None else format(x, s)  # noqa: E731
    for r in rows:
        blame = "–" if r["blame"] is None else (
            ", ".join(f"{k} {v}" for k, v in r["blame"].items()) or "none late")
        mark = " (best)" if r is best else ""
        print(f"| {r['run']}{mark} | {f(r['dispatch_p99'], '.3f')} | "
              f"{f(r['send_p99'], '.3f')} / {f(r['send_max'], '.2f')} | "
              f"{f(r['paired_p99'], '.3f')} / {f(r['paired_max'], '.2f')} | "
              f"{r['stalls']} ({r['stall_max']:.1f}) | {r['in_stall']} | {r['late']} | "
              f"{blame} | {f(r['late_timers'], 'd')} ({r['late_timer_max']:.1f}) | "
              f"{f(r['after_late_timer'], 'd')} | {r['steal_ms']:.0f} | {r['client_limited']} |")
    ok = worst(best) <= 1.0
    print(f"\nBest of {len(rows)}: dispatch lag p99 {f(best['dispatch_p99'], '.3f')} ms, "
          f"paired TTFT p99 {f(best['paired_p99'], '.3f')} ms: goal (both <= 1 ms) "
          f"{'met' if ok else 'missed'}.")


if __name__ == "__main__":
    main()
