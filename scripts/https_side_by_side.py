#!/usr/bin/env python3
"""llm-bench over HTTPS next to plain HTTP, in one run, against the same simulator.

The simulated server (`llm-bench serve-sim`, release build; TTFT 50 ms, ITL 5 ms,
128 tokens, no capacity slowdown, --request-log) runs once plain and once with
--tls (a self-signed certificate made at start, written with --tls-cert-out and
passed to llm-bench with --ca-cert), pinned to CPU 0; llm-bench is pinned to CPU 1
under /usr/bin/time. For each path and stream count it measures what
scripts/side_by_side.py measures for llm-bench:

  cpu_s/1M   client CPU seconds (user + sys) per million streamed output tokens
  RSS        client peak RSS, MiB
  paired     per-request TTFT error against the server's request log (when
             llm-bench stamped the first token minus when the server wrote it,
             both CLOCK_MONOTONIC): mean and p99, ms

and prints a markdown table for docs/performance.md with the HTTPS / HTTP ratio
per stream count. Goal (issue #22): HTTPS within 1.5x the CPU of plain HTTP, and
paired mean <= 0.2 ms, on a quiet machine. Only loopback traffic. Usage:

  scripts/https_side_by_side.py [--quick] [--levels 256,1024] [--no-build]
                                [--binary PATH] [--work DIR] [--port 18125]

--quick runs a quarter of the requests (a check that it works, on a busy
machine); the full mode runs side_by_side.py's counts (1,024 and 4,096 requests at
256 and 1,024 streams) three times and keeps each path's best CPU run.
"""

import argparse
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import side_by_side as sbs  # noqa: E402


def measure(server, binary, level, n, out):
    """One llm-bench run against `server`: CPU, RSS and paired TTFT error."""
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    before = server.snapshot()
    extra = ["--ca-cert", server.ca_cert] if server.ca_cert else []
    res = sbs.run_llm_bench(binary, server.url, level, n, out, extra)
    time.sleep(0.3)  # the request log is written as responses end
    entries = server.entries(before)
    toks = res.get("tokens")
    res["cpu_per_m"] = res["cpu_s"] / toks * 1e6 if res.get("cpu_s") and toks else None
    try:
        res.update(sbs.paired_llm_bench(os.path.join(out, "results"), entries))
    except Exception as e:
        res["error"] = f"cannot pair with the request log: {e}"
    res["ok_requests"] = len(entries)
    return res


def best(runs):
    """The run with the least CPU per token (the least disturbed one)."""
    good = [r for r in runs if r.get("cpu_per_m") is not None]
    return min(good, key=lambda r: r["cpu_per_m"]) if good else runs[0]


def fmt(x, spec):
    return "–" if x is None else format(x, spec)


def ratio(a, b):
    return None if a is None or not b else a / b


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="a quarter of the requests, one repetition")
    ap.add_argument("--levels", default="256,1024")
    ap.add_argument("--repeat", type=int, default=None,
                    help="runs per path and level, best CPU kept (default 3, --quick 1)")
    ap.add_argument("--work", default="/tmp/llm-bench-https-side-by-side")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--binary", default=None)
    ap.add_argument("--port", type=int, default=18125)
    args = ap.parse_args()
    scale = 0.25 if args.quick else 1.0
    repeat = args.repeat or (1 if args.quick else 3)
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs 2 CPUs: the server is pinned to CPU 0, the client to CPU 1")
    if not args.no_build:
        sbs.sh(["cargo", "build", "--release", "--bin", "llm-bench"], cwd=sbs.ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(sbs.ROOT, "target"))
    binary = args.binary or os.path.join(target, "release", "llm-bench")
    levels = [int(x) for x in args.levels.split(",") if x]

    results = {}
    for path in ("http", "https"):
        work = os.path.join(args.work, path)
        os.makedirs(work, exist_ok=True)
        server = sbs.Server(binary, args.port, work, tls=path == "https")
        try:
            for level in levels:
                n = sbs.requests_for(level, scale)
                runs = []
                for i in range(repeat):
                    sbs.log(f"▶ {path} @ {level} streams ({n} requests, run {i + 1}/{repeat})")
                    res = measure(server, binary, level, n,
                                  os.path.join(work, f"c{level}-{i}"))
                    sbs.log(json.dumps(res))
                    runs.append(res)
                results[(path, level)] = best(runs)
        finally:
            server.stop()

    host = sbs.host_info()
    mode = "quick" if args.quick else "full"
    print(f"\nHost: {host}. Mode: {mode}, best CPU of {repeat} run(s) per cell.\n")
    print("| streams | path | cpu_s / 1M tokens | RSS MiB | paired TTFT err mean ms "
          "| paired p99 ms | requests ok |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for level in levels:
        for path in ("http", "https"):
            r = results[(path, level)]
            note = f" ({r['error']})" if r.get("error") else ""
            print(f"| {level} | {path}{note} | {fmt(r.get('cpu_per_m'), '.1f')} "
                  f"| {fmt(r.get('rss_mib'), '.1f')} | {fmt(r.get('paired_err_mean'), '.3f')} "
                  f"| {fmt(r.get('paired_err_p99'), '.3f')} | {r.get('ok_requests', 0)} |")
        h, s = results[("http", level)], results[("https", level)]
        print(f"| {level} | **https / http** | "
              f"**{fmt(ratio(s.get('cpu_per_m'), h.get('cpu_per_m')), '.2f')}×** "
              f"| {fmt(ratio(s.get('rss_mib'), h.get('rss_mib')), '.2f')}× "
              f"| {fmt(ratio(s.get('paired_err_mean'), h.get('paired_err_mean')), '.2f')}× "
              f"| {fmt(ratio(s.get('paired_err_p99'), h.get('paired_err_p99')), '.2f')}× | |")
    failed = [k for k, r in results.items() if r.get("rc") != 0 or r.get("error")]
    if failed:
        sbs.log(f"runs that failed: {failed}; see {args.work}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
