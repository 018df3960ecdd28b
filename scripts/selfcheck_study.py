#!/usr/bin/env python3
"""Labelled study of llm-bench's client-limited verdict: does `client_limited` say
when the client's own timestamps were wrong?

Runs llm-bench (closed loop, as in docs/performance.md's side-by-side: 128 tokens,
TTFT 50 ms, ITL 5 ms) against `llm-bench serve-sim --request-log` pinned to CPU 0,
the client pinned to CPU 1, under three conditions:

  quiet      nothing else on purpose
  stutter    scripts/stutter.py stops the client (SIGSTOP) for 2-10 ms at random
             (seeded) intervals: a hypervisor stealing the core
  contended  a busy-loop process pinned to the client's CPU

at 256 and 1,024 streams, REPEATS runs each (default 6: 36 runs; --quick: 2).
Each run is labelled by paired truth: llm-bench's first-token stamp of each
request minus the moment the server wrote that first token (both CLOCK_MONOTONIC,
paired by X-Request-Id, as scripts/side_by_side.py does); paired p99 > 1 ms means
the client was limited. Prints a per-run table (label, verdict, paired mean / p99 /
max, stalls; rows late by paired truth, rows marked `client_stall` and both; rows
whose `first_token_wait_ms` the kernel timed and how far it is from the paired
error; the watchdog's lag, CPU) and the verdict's precision and recall against
the label, per run and per row, as Markdown for docs/performance.md. Only
loopback traffic.

  scripts/selfcheck_study.py [--quick] [--repeats 6] [--levels 256,1024]
                             [--conditions quiet,stutter,contended] [--seed 1]
                             [--binary PATH] [--no-build] [--work DIR]
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import side_by_side as sbs  # noqa: E402  (the server, pairing and statistics)

LABEL_P99_MS = 1.0
STUTTER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stutter.py")


def binary_path(args):
    if args.binary:
        return args.binary
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--bin", "llm-bench"], cwd=sbs.ROOT,
                       check=True)
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"],
                          cwd=sbs.ROOT, capture_output=True, text=True, check=True)
    return os.path.join(json.loads(meta.stdout)["target_directory"], "release", "llm-bench")


def busy_loop():
    """A process spinning on the client's CPU."""
    return subprocess.Popen(["taskset", "-c", sbs.CLIENT_CPU, sys.executable, "-c",
                             "while True: pass"])


def run_once(binary, url, level, condition, seed, out):
    """One llm-bench run; returns its summary's client health and the paired truth."""
    requests = sbs.requests_for(level, 1.0)
    cmd = ["taskset", "-c", sbs.CLIENT_CPU, binary, "run", "--url", url + "/v1",
           "--model", "sim-model", "--out", os.path.join(out, "results"),
           "--concurrency", str(level), "--requests", str(requests),
           "--max-tokens", str(sbs.TOKENS), "--prompt-tokens", "64", "--ignore-eos"]
    helper = busy_loop() if condition == "contended" else None
    injected = None
    try:
        with open(os.path.join(out, "stdout.txt"), "w") as so, \
                open(os.path.join(out, "stderr.txt"), "w") as se:
            proc = subprocess.Popen(cmd, stdout=so, stderr=se)
            stutter = None
            if condition == "stutter":
                # A stutter process on the server's CPU, so it does not itself take
                # the client's core.
                stutter = subprocess.Popen(
                    ["taskset", "-c", sbs.SERVER_CPU, sys.executable, STUTTER, "--pid",
                     str(proc.pid), "--seed", str(seed), "--mean-interval-ms", "400"],
                    stdout=subprocess.PIPE, text=True)
            rc = proc.wait(timeout=sbs.RUN_TIMEOUT_S)
            if stutter:
                stutter.send_signal(signal.SIGTERM)
                lines = stutter.communicate(timeout=10)[0].splitlines()
                injected = json.loads(lines[-1]) if lines else None
    finally:
        if helper:
            helper.kill()
            helper.wait()
    res = {"rc": rc, "injected": injected}
    summary = json.load(open(os.path.join(out, "results", "summary.json")))
    res["health"] = summary["scenarios"][0]["metrics"].get("client_health") or {}
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 repeats instead of 6")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--levels", default="256,1024")
    ap.add_argument("--conditions", default="quiet,stutter,contended")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--binary", default=None)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--work", default="/tmp/llm-bench-selfcheck-study")
    ap.add_argument("--port", type=int, default=18124)
    args = ap.parse_args()
    repeats = args.repeats or (2 if args.quick else 6)
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs 2 CPUs: the server is pinned to CPU 0, the client to CPU 1")
    binary = binary_path(args)
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    host = sbs.host_info()
    server = sbs.Server(binary, args.port, args.work)
    rows = []
    try:
        # Interleaved, so a machine that gets busier during the study spreads over
        # every condition rather than one.
        plan = [(r, c, lvl) for r in range(repeats)
                for c in args.conditions.split(",") for lvl in map(int, args.levels.split(","))]
        for i, (rep, condition, level) in enumerate(plan):
            out = os.path.join(args.work, f"{condition}-c{level}-r{rep}")
            os.makedirs(out)
            sbs.log(f"▶ {i + 1}/{len(plan)} {condition} @ {level} (repeat {rep + 1})")
            before = server.snapshot()
            res = run_once(binary, server.url, level, condition, args.seed + i, out)
            time.sleep(0.3)  # the server logs a request as its response ends
            paired = sbs.paired_llm_bench(os.path.join(out, "results"), server.entries(before))
            pairs = paired_rows(os.path.join(out, "results"), server.entries(before))
            errors = [e for e, _, _ in pairs]
            res.update(condition=condition, level=level, repeat=rep, **paired)
            res["paired_err_max"] = max(errors) if errors else None
            res["rows"] = row_agreement(pairs)
            res["label"] = (res["paired_err_p99"] or 0) > LABEL_P99_MS
            res["verdict"] = bool(res["health"].get("client_limited"))
            rows.append(res)
            sbs.log(json.dumps({k: v for k, v in res.items() if k != "health"}))
    finally:
        server.stop()
    json.dump({"host": host, "rows": rows}, open(os.path.join(args.work, "study.json"), "w"),
              indent=1)
    report(rows, host)


def paired_rows(results_dir, entries):
    """Every paired error (ms), with the row's `first_token_wait_ms` and
    `client_stall`."""
    by_id = {e["request_id"]: e for e in entries if e.get("request_id")}
    starts = {}
    for line in open(os.path.join(results_dir, "client_health.jsonl")):
        h = json.loads(line)
        starts[(h["scenario"], h["trial"])] = h.get("clock_start_ns")
    out = []
    for line in open(os.path.join(results_dir, "requests.jsonl")):
        row = json.loads(line)
        e = by_id.get(row.get("request_id"))
        start = starts.get((row["scenario"], row["trial"]))
        if row.get("warmup") or not row.get("ok") or row.get("ttft_ms") is None or not e \
                or start is None:
            continue
        error = (start + (row["start_ms"] + row["ttft_ms"]) * 1e6 - e["first_chunk_ns"]) / 1e6
        out.append((error, row.get("first_token_wait_ms"), bool(row.get("client_stall"))))
    return out


def row_agreement(pairs):
    """Per request: rows late by paired truth (error > 1 ms) and rows marked
    `client_stall`, how many of each agree, and how far the kernel-timed wait
    is from the paired error (it should be the whole of it)."""
    late = sum(e > LABEL_P99_MS for e, _, _ in pairs)
    marked = sum(m for _, _, m in pairs)
    both = sum(e > LABEL_P99_MS and m for e, _, m in pairs)
    gaps = sorted(abs(e - w) for e, w, _ in pairs if w is not None)
    return {"late": late, "marked": marked, "both": both, "timed": len(gaps),
            "gap_p50": gaps[len(gaps) // 2] if gaps else None,
            "gap_p99": gaps[int(len(gaps) * 0.99)] if gaps else None}


def f(x, spec):
    return "–" if x is None else format(x, spec)


def report(rows, host):
    print(f"## Self-check study: label = paired TTFT error p99 > {LABEL_P99_MS:g} ms\n")
    print(f"Host: {host['cpu']}, {host['cpus']} CPUs, kernel {host['kernel']}; "
          f"started {host['started_utc']} UTC\n")
    print("| condition | streams | run | paired mean ms | paired p99 ms | paired max ms | "
          "label | client_limited | stalls (max ms) | rows late / marked / both | "
          "timed | wait vs paired p50 / p99 ms | watchdog p50 / p99 ms | CPU | "
          "injected stops (ms) |")
    print("|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        h = r["health"]
        inj = r.get("injected")
        inj_s = f"{inj['stops']} ({inj['stopped_ms_total']:.0f})" if inj else "–"
        rw = r["rows"]
        print(f"| {r['condition']} | {r['level']} | {r['repeat'] + 1} | "
              f"{f(r.get('paired_err_mean'), '+.3f')} | {f(r.get('paired_err_p99'), '+.3f')} | "
              f"{f(r.get('paired_err_max'), '+.2f')} | "
              f"{'limited' if r['label'] else 'accurate'} | "
              f"{'**yes**' if r['verdict'] else 'no'} | "
              f"{h.get('stalls', 0)} ({h.get('stall_max_ms', 0):.1f}) | "
              f"{rw['late']} / {rw['marked']} / {rw['both']} | {rw['timed']} | "
              f"{f(rw['gap_p50'], '.3f')} / {f(rw['gap_p99'], '.3f')} | "
              f"{h.get('sched_lag_p50_ms', 0):.2f} / {h.get('sched_lag_p99_ms', 0):.2f} | "
              f"{h.get('cpu_utilisation', 0):.2f} | {inj_s} |")
    tp = sum(r["label"] and r["verdict"] for r in rows)
    fp = sum(not r["label"] and r["verdict"] for r in rows)
    fn = sum(r["label"] and not r["verdict"] for r in rows)
    tn = len(rows) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    print(f"\n{len(rows)} runs: {tp + fn} limited by the label, {tp + fp} flagged; "
          f"true positives {tp}, false positives {fp}, false negatives {fn}, "
          f"true negatives {tn}.\n")
    print("| | value |\n|---|---:|")
    print(f"| precision | {f(precision, '.2f')} |\n| recall | {f(recall, '.2f')} |")
    late = sum(r["rows"]["late"] for r in rows)
    marked = sum(r["rows"]["marked"] for r in rows)
    both = sum(r["rows"]["both"] for r in rows)
    print(f"| rows: precision of `client_stall` (of {marked} marked) | "
          f"{f(both / marked if marked else None, '.3f')} |")
    print(f"| rows: recall of `client_stall` (of {late} late) | "
          f"{f(both / late if late else None, '.3f')} |")
    for cond in sorted({r["condition"] for r in rows}):
        sub = [r for r in rows if r["condition"] == cond]
        agree = sum(r["label"] == r["verdict"] for r in sub)
        print(f"| agreement, {cond} | {agree}/{len(sub)} |")


if __name__ == "__main__":
    main()
