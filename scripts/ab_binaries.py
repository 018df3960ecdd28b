#!/usr/bin/env python3
"""Two llm-bench builds side by side against one simulator, in one run: did a change
cost client CPU, memory or accuracy?

The simulated server (`llm-bench serve-sim --request-log`, from the NEW build; TTFT
50 ms, ITL 5 ms, 128 tokens) is pinned to CPU 0; each client run is pinned to CPU 1
under /usr/bin/time, as in scripts/side_by_side.py. Runs alternate OLD, NEW, OLD,
NEW... so a machine that gets busier spreads over both. Per build and stream count
it prints the best (least CPU) of --repeats runs, and every run's paired p99:

  cpu_s/1M   client CPU seconds (user + sys) per million streamed output tokens
  RSS        client peak RSS, MiB
  paired     per-request TTFT error against the server's request log: mean, p99

and the NEW / OLD ratio of each. With --contended it also runs each build with a
busy loop pinned beside it on CPU 1, in the same scheduling group, and prints the
wall time of those runs: how long a starved client takes to finish (its row writer
included). Only loopback
traffic. Usage:

  scripts/ab_binaries.py OLD NEW [--levels 256,1024] [--repeats 3] [--contended]
                         [--work DIR] [--port 18126]
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import side_by_side as sbs  # noqa: E402


def measure(server, binary, level, n, out):
    """One run: CPU per 1M tokens, RSS, wall and paired TTFT error."""
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    before = server.snapshot()
    started = time.monotonic()
    res = sbs.run_llm_bench(binary, server.url, level, n, out)
    res["wall_s"] = time.monotonic() - started
    time.sleep(0.3)  # the request log is written as responses end
    toks = res.get("tokens")
    res["cpu_per_m"] = res["cpu_s"] / toks * 1e6 if res.get("cpu_s") and toks else None
    try:
        res.update(sbs.paired_llm_bench(os.path.join(out, "results"), server.entries(before)))
    except Exception as e:  # noqa: BLE001  (reported in the table)
        res["error"] = f"cannot pair with the request log: {e}"
    return res


def busy_loop():
    return subprocess.Popen(["taskset", "-c", sbs.CLIENT_CPU, sys.executable, "-c",
                             "while True: pass"])


def contended(server, binary, level, n, out):
    """One run with a busy loop on the client's CPU: wall time and paired error.

    Not under sbs.timed: that starts the client in a session of its own, and with
    autogroup scheduling a session is a scheduling group, so the client would get
    half the CPU whatever its threads do. Here both share one group, as two
    processes a CI job starts do, and each thread competes on its own."""
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    before = server.snapshot()
    cmd = ["taskset", "-c", sbs.CLIENT_CPU, binary, "run", "--url", server.url + "/v1",
           "--model", "sim-model", "--out", os.path.join(out, "results"), "--concurrency",
           str(level), "--requests", str(n), "--max-tokens", str(sbs.TOKENS),
           "--prompt-tokens", "64", "--ignore-eos"]
    helper = busy_loop()
    try:
        time.sleep(0.2)
        started = time.monotonic()
        with open(os.path.join(out, "stdout.txt"), "w") as so, \
                open(os.path.join(out, "stderr.txt"), "w") as se:
            rc = subprocess.run(cmd, stdout=so, stderr=se, timeout=sbs.RUN_TIMEOUT_S).returncode
        res = {"rc": rc, "wall_s": time.monotonic() - started}
    finally:
        helper.kill()
        helper.wait()
    time.sleep(0.3)
    try:
        res.update(sbs.paired_llm_bench(os.path.join(out, "results"), server.entries(before)))
    except Exception as e:  # noqa: BLE001  (reported in the table)
        res["error"] = f"cannot pair with the request log: {e}"
    return res


def fmt(x, spec):
    return "–" if x is None else format(x, spec)


def ratio(new, old):
    return None if new is None or not old else new / old


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--levels", default="256,1024")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--contended", action="store_true")
    ap.add_argument("--work", default="/tmp/llm-bench-ab")
    ap.add_argument("--port", type=int, default=18126)
    args = ap.parse_args()
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs 2 CPUs: the server is pinned to CPU 0, the client to CPU 1")
    builds = {"old": os.path.abspath(args.old), "new": os.path.abspath(args.new)}
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    host = sbs.host_info()
    server = sbs.Server(builds["new"], args.port, args.work)
    levels = [int(x) for x in args.levels.split(",")]
    runs = {}  # (build, level, contended) -> [result]
    try:
        for rep in range(args.repeats):
            for level in levels:
                for name, binary in builds.items():
                    out = os.path.join(args.work, f"{name}-c{level}-r{rep}")
                    sbs.log(f"▶ {name} @ {level} (repeat {rep + 1})")
                    res = measure(server, binary, level, sbs.requests_for(level, 1.0), out)
                    runs.setdefault((name, level, False), []).append(res)
        if args.contended:
            for level in levels:
                for name, binary in builds.items():
                    out = os.path.join(args.work, f"{name}-c{level}-contended")
                    sbs.log(f"▶ {name} @ {level}, busy loop beside it")
                    res = contended(server, binary, level, sbs.requests_for(level, 1.0), out)
                    runs[(name, level, True)] = [res]
    finally:
        server.stop()
    report(runs, levels, host, args)


def report(runs, levels, host, args):
    print(f"## {args.old} (old) against {args.new} (new)\n")
    print(f"Host: {host['cpu']}, {host['cpus']} CPUs, kernel {host['kernel']}; "
          f"started {host['started_utc']} UTC; best CPU of {args.repeats} runs each\n")
    print("| streams | build | cpu_s/1M | RSS MiB | paired mean ms | paired p99 ms | "
          "client-limited | paired p99 of every run, ms |")
    print("|---:|---|---:|---:|---:|---:|---|---|")
    best = {}
    for level in levels:
        for name in ("old", "new"):
            good = [r for r in runs[(name, level, False)] if r.get("cpu_per_m")]
            r = min(good, key=lambda r: r["cpu_per_m"]) if good else {}
            best[(name, level)] = r
            print(f"| {level} | {name} | {fmt(r.get('cpu_per_m'), '.2f')} | "
                  f"{fmt(r.get('rss_mib'), '.0f')} | {fmt(r.get('paired_err_mean'), '+.3f')} | "
                  f"{fmt(r.get('paired_err_p99'), '+.3f')} | {r.get('client_limited')} | "
                  + ", ".join(fmt(x.get("paired_err_p99"), ".2f")
                              for x in runs[(name, level, False)]) + " |")
        o, n = best[("old", level)], best[("new", level)]
        print(f"| {level} | **new / old** | "
              f"**{fmt(ratio(n.get('cpu_per_m'), o.get('cpu_per_m')), '.3f')}×** | "
              f"{fmt(ratio(n.get('rss_mib'), o.get('rss_mib')), '.2f')}× | | | | |")
    if args.contended:
        print("\nWith a busy loop on the client's CPU (one run each):\n")
        print("| streams | build | wall s | paired p99 ms |")
        print("|---:|---|---:|---:|")
        for level in levels:
            for name in ("old", "new"):
                r = runs[(name, level, True)][0]
                print(f"| {level} | {name} | {fmt(r.get('wall_s'), '.1f')} | "
                      f"{fmt(r.get('paired_err_p99'), '+.3f')} |")


if __name__ == "__main__":
    main()
