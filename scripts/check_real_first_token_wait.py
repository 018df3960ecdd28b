#!/usr/bin/env python3
"""The kernel-timed self-check against a real server (issue #22), outside CI.

Runs llm-bench against an OpenAI-compatible server on loopback (vLLM's CPU
build, llama.cpp's server, LiteLLM: see /work/shared/real-servers) at a few
concurrencies and prints, per run, what the self-check saw:

  rows / ok          requests sent and answered
  timed              rows with `first_token_wait_ms` (the kernel stamped the read
                     that held the first token, and nothing after it was in it)
  wait p50/p99/max   how long first tokens waited in the kernel before llm-bench
                     read them (ms): its TTFT error, request by request
  marked             rows marked `client_stall`
  client_limited     the trial's verdict, and the share of waits timed

A real server's responses should be timed as often as the simulator's (most
rows), with waits of microseconds on an idle client; none should be marked.

  scripts/check_real_first_token_wait.py --url http://127.0.0.1:18120/v1 \\
      --model tiny-llama [--api-key-env VAR] [--levels 1,8,32] [--requests 64]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile


def percentile(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--api-key-env", default=None,
                    help="name of the environment variable holding the key")
    ap.add_argument("--levels", default="1,8,32")
    ap.add_argument("--requests", type=int, default=64)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--binary", default="target/release/llm-bench")
    args = ap.parse_args()

    print(f"| concurrency | rows / ok | timed | wait p50 / p99 / max ms | TTFT p50 ms | "
          f"marked | client_limited (waits timed) |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    failed = False
    for level in [int(x) for x in args.levels.split(",")]:
        out = tempfile.mkdtemp(prefix="llm-bench-real-wait-")
        cmd = [args.binary, "run", "--url", args.url, "--model", args.model,
               "--concurrency", str(level), "--requests", str(args.requests),
               "--max-tokens", str(args.max_tokens), "--out", out]
        if args.api_key_env:
            cmd += ["--api-key-env", args.api_key_env]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if run.returncode != 0:
            print(f"llm-bench exited {run.returncode}:\n{run.stderr[-2000:]}", file=sys.stderr)
            failed = True
            shutil.rmtree(out, ignore_errors=True)
            continue
        rows = [json.loads(line) for line in open(os.path.join(out, "requests.jsonl"))]
        rows = [r for r in rows if not r.get("warmup")]
        ok = [r for r in rows if r.get("ok")]
        waits = [r["first_token_wait_ms"] for r in ok if r.get("first_token_wait_ms") is not None]
        ttfts = [r["ttft_ms"] for r in ok if r.get("ttft_ms") is not None]
        marked = sum(1 for r in rows if r.get("client_stall"))
        health = json.loads(open(os.path.join(out, "client_health.jsonl")).readline())
        fmt = lambda x: "–" if x is None else f"{x:.3f}"  # noqa: E731
        print(f"| {level} | {len(rows)} / {len(ok)} | {len(waits)} | "
              f"{fmt(percentile(waits, 0.5))} / {fmt(percentile(waits, 0.99))} / "
              f"{fmt(max(waits) if waits else None)} | {fmt(percentile(ttfts, 0.5))} | "
              f"{marked} | {health.get('client_limited')} "
              f"({health.get('first_token_waits_timed')}) |")
        shutil.rmtree(out, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
