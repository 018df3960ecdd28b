#!/usr/bin/env python3
"""Side-by-side client benchmark: llm-bench and peer load generators against the
same simulated server, on the same machine, in one run.

The simulated server (`llm-bench serve-sim`, release build) streams 128 tokens per
request with TTFT 50 ms and ITL 5 ms and no capacity slowdown, pinned to CPU 0;
each client is pinned to CPU 1 and run under /usr/bin/time. For each client and
concurrency level it prints:

  cpu_s/1M   client CPU seconds (user + sys, whole process, start-up included)
             per million streamed output tokens
  rss_MiB    client peak RSS
  ttft_err   mean and p99 TTFT error against the truth: the injected 50 ms plus
             the server's own measured lateness (read from its /metrics)
  rate       achieved / expected request rate (expected: concurrency / (TTFT +
             127 x ITL), the most the server allows)
  srv_cpu    the server's CPU seconds per 1M tokens and its utilisation, so it
             shows when the server, not the client, was the limit

and the ratio llm-bench / best peer. Peers are installed from PyPI into throwaway
virtualenvs (time-boxed); a peer that fails to install or run is reported as
such. Only loopback traffic. Usage:

  scripts/side_by_side.py [--levels 1,64,256,1024] [--peers aiperf,guidellm,vllm,oha]
                          [--scale 1.0] [--work DIR] [--no-build]
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TTFT_MS, ITL_MS, TOKENS = 50.0, 5.0, 128
EXPECTED_E2E_S = (TTFT_MS + (TOKENS - 1) * ITL_MS) / 1000.0
SERVER_CPU, CLIENT_CPU = "0", "1"
INSTALL_TIMEOUT_S = 900
RUN_TIMEOUT_S = 600


def requests_for(level, scale):
    """Bounded request counts: long enough to reach a steady state, short enough
    that the whole table takes minutes."""
    base = {1: 16, 64: 512, 256: 1024, 1024: 4096, 4096: 8192}.get(level, 4 * level)
    return max(level, int(base * scale))


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), **kw)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- server side


class Server:
    def __init__(self, binary, port, work):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        args = ["taskset", "-c", SERVER_CPU, binary, "serve-sim", "--port", str(port),
                "--ttft-ms", str(TTFT_MS), "--itl-ms", str(ITL_MS),
                "--output-tokens", str(TOKENS), "--batch-size", "1000000"]
        self.proc = subprocess.Popen(args, stdout=open(os.path.join(work, "sim.log"), "w"),
                                     stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                urllib.request.urlopen(self.url + "/health", timeout=1)
                return
            except Exception:
                time.sleep(0.1)
        raise SystemExit("the simulated server did not start; see sim.log")

    def snapshot(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = (int(fields[11]) + int(fields[12])) / ticks
        text = urllib.request.urlopen(self.url + "/metrics", timeout=5).read().decode()

        def metric(name):
            m = re.search(r"^" + re.escape(name) + r"(?:\{[^}]*\})? (\S+)$", text, re.M)
            return float(m.group(1)) if m else 0.0

        p99 = re.search(r'lateness_seconds\{quantile="0.99"\} (\S+)', text)
        return {
            "cpu_s": cpu,
            "wall": time.time(),
            "tokens": metric("vllm:generation_tokens_total"),
            "late_sum_s": metric("llm_bench_sim_lateness_seconds_sum"),
            "late_count": metric("llm_bench_sim_lateness_seconds_count"),
            "late_p99_ms": float(p99.group(1)) * 1000 if p99 else 0.0,
        }

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# ---------------------------------------------------------------- peers


def install_peers(peers, venv_dir):
    """pip-installs each Python peer into its own venv; returns {peer: status}."""
    status = {}
    for peer in peers:
        if peer == "oha":
            status[peer] = install_oha(venv_dir)
            continue
        venv = os.path.join(venv_dir, peer)
        exe = os.path.join(venv, "bin", peer if peer != "vllm" else "vllm")
        if os.path.exists(exe):
            status[peer] = "ok"
            continue
        log(f"installing {peer} into {venv} (up to {INSTALL_TIMEOUT_S} s)…")
        sh([sys.executable, "-m", "venv", venv], check=True)
        try:
            r = sh([os.path.join(venv, "bin", "pip"), "install", "-q", peer],
                   capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
            ok = r.returncode == 0 and os.path.exists(exe)
            status[peer] = "ok" if ok else "install failed: " + last_line(r.stderr)
        except subprocess.TimeoutExpired:
            status[peer] = f"install timed out after {INSTALL_TIMEOUT_S} s"
    return status


def install_oha(venv_dir):
    if shutil.which("oha"):
        return "ok"
    root = os.path.join(venv_dir, "oha")
    if os.path.exists(os.path.join(root, "bin", "oha")):
        return "ok"
    log("cargo install oha…")
    try:
        r = sh(["cargo", "install", "--locked", "--root", root, "oha"],
               capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
        return "ok" if r.returncode == 0 else "install failed: " + last_line(r.stderr)
    except subprocess.TimeoutExpired:
        return f"install timed out after {INSTALL_TIMEOUT_S} s"


def peer_exe(venv_dir, peer):
    if peer == "oha":
        return shutil.which("oha") or os.path.join(venv_dir, "oha", "bin", "oha")
    return os.path.join(venv_dir, peer, "bin", peer)


def last_line(text):
    lines = [l for l in (text or "").strip().splitlines() if l.strip()]
    return lines[-1][:160] if lines else "(no output)"


def make_tokenizer(venv_dir, work):
    """A word-level tokenizer built on the spot (no download) for peers that need
    one: every whitespace-separated word of the simulator's vocabulary is a token."""
    path = os.path.join(work, "tokenizer")
    os.makedirs(path, exist_ok=True)
    words = ["the", "sim", "says", "hello", "to", "every", "bench", "run"]
    words += [f"w{i}" for i in range(1000)]
    vocab = {"[UNK]": 0, "<s>": 1, "</s>": 2}
    for w in words:
        vocab.setdefault(w, len(vocab))
    tok = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}
                         for t, i in list(vocab.items())[:3]],
        "normalizer": None,
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "post_processor": None,
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"},
    }
    with open(os.path.join(path, "tokenizer.json"), "w") as f:
        json.dump(tok, f)
    with open(os.path.join(path, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "[UNK]",
                   "bos_token": "<s>", "eos_token": "</s>", "model_max_length": 1 << 20}, f)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump({"model_type": "gpt2", "vocab_size": len(vocab)}, f)
    return path


# ---------------------------------------------------------------- clients


def timed(cmd, out_dir, env=None):
    """Runs cmd pinned to the client CPU under /usr/bin/time; returns
    (returncode, cpu_s, peak_rss_mib, wall_s)."""
    tfile = os.path.join(out_dir, "time.txt")
    full = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", tfile, "taskset", "-c", CLIENT_CPU] + cmd
    with open(os.path.join(out_dir, "stdout.txt"), "w") as so, \
            open(os.path.join(out_dir, "stderr.txt"), "w") as se:
        try:
            r = sh(full, stdout=so, stderr=se, timeout=RUN_TIMEOUT_S, env=env, cwd=out_dir)
            rc = r.returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    try:
        wall, user, sys_, rss_kb = open(tfile).read().split()[-4:]
        return rc, float(user) + float(sys_), int(rss_kb) / 1024, float(wall)
    except Exception:
        return rc, None, None, None


def run_llm_bench(binary, url, level, n, out):
    rc, cpu, rss, wall = timed([binary, "run", "--url", url + "/v1", "--model", "sim-model",
                                "--out", os.path.join(out, "results"), "--concurrency",
                                str(level), "--requests", str(n), "--max-tokens", str(TOKENS),
                                "--prompt-tokens", "64", "--ignore-eos"], out)
    res = {"rc": rc, "cpu_s": cpu, "rss_mib": rss}
    try:
        m = json.load(open(os.path.join(out, "results", "summary.json")))["scenarios"][0]["metrics"]
        res.update(tokens=m["output_tokens_total"], ttft_mean=m["ttft_ms"]["mean"],
                   ttft_p99=m["ttft_ms"]["p99"], req_per_s=m["requests_per_s"],
                   client_limited=(m.get("client_health") or {}).get("client_limited"))
    except Exception as e:
        res["error"] = f"no summary: {e}"
    return res


def run_aiperf(exe, url, level, n, out, tokenizer):
    rc, cpu, rss, _ = timed([exe, "profile", "--model", "sim-model", "--url", url,
                             "--endpoint-type", "chat", "--streaming", "--concurrency",
                             str(level), "--request-count", str(n), "--tokenizer", tokenizer,
                             "--synthetic-input-tokens-mean", "64",
                             "--output-tokens-mean", str(TOKENS),
                             "--extra-inputs", "ignore_eos:true",
                             "--artifact-dir", os.path.join(out, "artifacts")], out,
                            env=dict(os.environ, HF_HUB_OFFLINE="1"))
    res = {"rc": rc, "cpu_s": cpu, "rss_mib": rss}
    for root, _, files in os.walk(os.path.join(out, "artifacts")):
        for f in files:
            if f.endswith("aiperf.json"):
                d = json.load(open(os.path.join(root, f)))
                d = d.get("records", d)
                ttft = d.get("time_to_first_token", d.get("ttft", {}))
                res.update(ttft_mean=ttft.get("avg"), ttft_p99=ttft.get("p99"),
                           req_per_s=d.get("request_throughput", {}).get("avg"),
                           tokens=(d.get("output_sequence_length", {}).get("avg") or 0) * n)
    return res


def run_guidellm(exe, url, level, n, out, tokenizer):
    path = os.path.join(out, "guidellm.json")
    rc, cpu, rss, _ = timed([exe, "benchmark", "--target", url, "--model", "sim-model",
                             "--processor", tokenizer, "--rate-type", "concurrent",
                             "--rate", str(level), "--max-requests", str(n),
                             "--data", f"prompt_tokens=64,output_tokens={TOKENS}",
                             "--output-path", path], out,
                            env=dict(os.environ, HF_HUB_OFFLINE="1"))
    res = {"rc": rc, "cpu_s": cpu, "rss_mib": rss}
    try:
        b = json.load(open(path))["benchmarks"][0]["metrics"]
        ttft = b["time_to_first_token_ms"]["successful"]
        res.update(ttft_mean=ttft["mean"], ttft_p99=ttft["percentiles"]["p99"],
                   req_per_s=b["requests_per_second"]["successful"]["mean"],
                   tokens=b["output_token_count"]["successful"]["total_sum"])
    except Exception as e:
        res["error"] = f"output not parsed: {e}"
    return res


def run_vllm(exe, url, level, n, out, tokenizer):
    rc, cpu, rss, _ = timed([exe, "bench", "serve", "--backend", "openai-chat",
                             "--base-url", url, "--endpoint", "/v1/chat/completions",
                             "--model", "sim-model", "--tokenizer", tokenizer,
                             "--dataset-name", "random", "--random-input-len", "64",
                             "--random-output-len", str(TOKENS), "--ignore-eos",
                             "--num-prompts", str(n), "--max-concurrency", str(level),
                             "--percentile-metrics", "ttft", "--metric-percentiles", "99",
                             "--save-result", "--result-dir", out,
                             "--result-filename", "vllm.json"], out,
                            env=dict(os.environ, HF_HUB_OFFLINE="1"))
    res = {"rc": rc, "cpu_s": cpu, "rss_mib": rss}
    try:
        d = json.load(open(os.path.join(out, "vllm.json")))
        res.update(ttft_mean=d["mean_ttft_ms"], ttft_p99=d["p99_ttft_ms"],
                   req_per_s=d["request_throughput"], tokens=d["total_output_tokens"])
    except Exception as e:
        res["error"] = f"output not parsed: {e}"
    return res


def run_oha(exe, url, level, n, out, _tokenizer):
    body = json.dumps({"model": "sim-model", "stream": True, "max_tokens": TOKENS,
                       "ignore_eos": True,
                       "messages": [{"role": "user", "content": "hello " * 64}]})
    rc, cpu, rss, wall = timed([exe, "--no-tui", "--output-format", "json", "-n", str(n),
                                "-c", str(level), "-m", "POST", "-T", "application/json",
                                "-d", body, url + "/v1/chat/completions"], out)
    res = {"rc": rc, "cpu_s": cpu, "rss_mib": rss, "tokens": n * TOKENS}
    try:
        d = json.load(open(os.path.join(out, "stdout.txt")))
        res["req_per_s"] = d["summary"]["requestsPerSec"]
    except Exception as e:
        res["error"] = f"output not parsed: {e}"
    return res


PEER_RUNNERS = {"aiperf": run_aiperf, "guidellm": run_guidellm, "vllm": run_vllm,
                "oha": run_oha}


# ---------------------------------------------------------------- report


def fmt(x, spec):
    return "–" if x is None else format(x, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--levels", default="1,64,256,1024")
    ap.add_argument("--llm-bench-extra-levels", default="4096")
    ap.add_argument("--peers", default="aiperf,guidellm,vllm,oha")
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies request counts")
    ap.add_argument("--work", default="/tmp/llm-bench-side-by-side")
    ap.add_argument("--venvs", default=None, help="where peer venvs live (default WORK/venvs)")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--binary", default=None)
    ap.add_argument("--port", type=int, default=18123)
    args = ap.parse_args()

    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs 2 CPUs: the server is pinned to CPU 0, the client to CPU 1")
    os.makedirs(args.work, exist_ok=True)
    venvs = args.venvs or os.path.join(args.work, "venvs")
    os.makedirs(venvs, exist_ok=True)
    if not args.no_build:
        sh(["cargo", "build", "--release", "--bin", "llm-bench"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    binary = args.binary or os.path.join(target, "release", "llm-bench")

    peers = [p for p in args.peers.split(",") if p]
    status = install_peers(peers, venvs)
    tokenizer = make_tokenizer(venvs, args.work)
    levels = [int(x) for x in args.levels.split(",") if x]
    extra = [int(x) for x in args.llm_bench_extra_levels.split(",") if x]

    server = Server(binary, args.port, args.work)
    rows = []
    try:
        plan = [("llm-bench", lvl) for lvl in levels + extra]
        plan += [(p, lvl) for p in peers if status.get(p) == "ok" for lvl in levels]
        for client, level in plan:
            n = requests_for(level, args.scale)
            out = os.path.join(args.work, f"{client}-c{level}")
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            log(f"▶ {client} @ {level} ({n} requests)")
            before = server.snapshot()
            if client == "llm-bench":
                res = run_llm_bench(binary, server.url, level, n, out)
            else:
                res = PEER_RUNNERS[client](peer_exe(venvs, client), server.url, level, n,
                                           out, tokenizer)
            after = server.snapshot()
            time.sleep(0.5)
            res.update(client=client, level=level, requests=n)
            tokens = after["tokens"] - before["tokens"]
            late_n = after["late_count"] - before["late_count"]
            late_ms = (after["late_sum_s"] - before["late_sum_s"]) / late_n * 1000 if late_n else 0
            srv_cpu = after["cpu_s"] - before["cpu_s"]
            res["srv_cpu_per_m"] = srv_cpu / tokens * 1e6 if tokens else None
            res["srv_util"] = srv_cpu / max(after["wall"] - before["wall"], 1e-9)
            res["srv_late_ms"] = late_ms
            res["srv_late_p99_ms"] = after["late_p99_ms"]  # cumulative over the run
            toks = res.get("tokens") or tokens
            res["cpu_per_m"] = res["cpu_s"] / toks * 1e6 if res.get("cpu_s") and toks else None
            truth = TTFT_MS + late_ms
            res["ttft_err_mean"] = (res["ttft_mean"] - truth) if res.get("ttft_mean") else None
            res["ttft_err_p99"] = (res["ttft_p99"] - truth) if res.get("ttft_p99") else None
            exp_rate = level / EXPECTED_E2E_S
            res["attain"] = res["req_per_s"] / exp_rate if res.get("req_per_s") else None
            rows.append(res)
            log(json.dumps(res))
    finally:
        server.stop()

    json.dump({"status": status, "rows": rows}, open(os.path.join(args.work, "results.json"), "w"),
              indent=1)
    print(f"## Side-by-side: TTFT {TTFT_MS:g} ms, ITL {ITL_MS:g} ms, {TOKENS} tokens; "
          f"server on CPU {SERVER_CPU}, client on CPU {CLIENT_CPU}\n")
    print("| client | conc | requests | cpu-s/1M tok | peak RSS MiB | TTFT err mean ms | "
          "TTFT err p99 ms | rate attained | server cpu-s/1M tok | server util | "
          "server late mean ms | note |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        note = []
        if r["rc"] != 0:
            note.append(f"exit {r['rc']}")
        if r.get("error"):
            note.append(r["error"])
        if r.get("client_limited"):
            note.append("client-limited")
        if r["srv_util"] > 0.9:
            note.append("server saturated")
        print(f"| {r['client']} | {r['level']} | {r['requests']} | {fmt(r['cpu_per_m'], '.1f')} | "
              f"{fmt(r['rss_mib'], '.0f')} | {fmt(r['ttft_err_mean'], '+.2f')} | "
              f"{fmt(r['ttft_err_p99'], '+.2f')} | {fmt(r['attain'], '.2f')} | "
              f"{fmt(r['srv_cpu_per_m'], '.1f')} | {fmt(r['srv_util'], '.2f')} | "
              f"{fmt(r['srv_late_ms'], '.3f')} | {'; '.join(note)} |")
    print()
    for p, s in status.items():
        print(f"- {p}: {s}")
    # llm-bench / best peer, per level.
    print("\n| conc | metric | llm-bench | best peer | ratio |\n|---:|---|---:|---:|---:|")
    for level in levels:
        ours = next((r for r in rows if r["client"] == "llm-bench" and r["level"] == level), None)
        theirs = [r for r in rows if r["client"] not in ("llm-bench", "oha") and r["level"] == level]
        if not ours:
            continue
        for key, better in [("cpu_per_m", min), ("rss_mib", min)]:
            vals = [r[key] for r in theirs if r.get(key)]
            if vals and ours.get(key):
                best = better(vals)
                print(f"| {level} | {key} | {ours[key]:.1f} | {best:.1f} | {ours[key] / best:.3f} |")
        oha = next((r for r in rows if r["client"] == "oha" and r["level"] == level), None)
        if oha and oha.get("cpu_per_m") and ours.get("cpu_per_m"):
            print(f"| {level} | cpu_per_m vs oha | {ours['cpu_per_m']:.1f} | "
                  f"{oha['cpu_per_m']:.1f} | {ours['cpu_per_m'] / oha['cpu_per_m']:.2f} |")


if __name__ == "__main__":
    main()
