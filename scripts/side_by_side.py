#!/usr/bin/env python3
"""Side-by-side client benchmark: llm-bench and peer load generators against the
same simulated server, on the same machine, in one run.

The simulated server (`llm-bench serve-sim`, release build) streams 128 tokens per
request with TTFT 50 ms and ITL 5 ms and no capacity slowdown, pinned to CPU 0;
each client is pinned to CPU 1 and run under /usr/bin/time. For each client and
concurrency level it prints:

  cpu_s/1M   client CPU seconds (user + sys of the client and every worker process
             it waits for, start-up included) per million streamed output tokens
  rss_MiB    client peak RSS (GNU time: the largest single process, so a peer
             that runs worker processes uses more in total)
  ttft_err   mean and p99 TTFT error against what the server actually did. The
             server runs with --request-log: per request, when its handler read
             it and when the first and last chunks left, on CLOCK_MONOTONIC.
             For every client: client TTFT mean (p99) minus the server-side TTFT
             mean (p99) of the same requests (first chunk - handler arrival).
             For llm-bench also per request ("paired"): llm-bench records each
             trial's CLOCK_MONOTONIC start and sends X-Request-Id, so each
             request's error is the time llm-bench stamped its first token minus
             the time the server wrote it; the server's own queue before its
             handler then counts as the server's, as it should.
  rate       achieved / expected request rate (expected: concurrency / (TTFT +
             127 x ITL), the injected schedule); "vs server": achieved /
             (concurrency / mean server time per request), where the server time
             is first arrival to last chunk (llm-bench: from its send, paired)
  srv_cpu    the server's CPU seconds per 1M tokens and its utilisation, so it
             shows when the server, not the client, was the limit

and the ratio llm-bench / best peer. Every client sends streaming chat completions
to /v1/chat/completions, model `sim-model`, at a fixed concurrency for a bounded
request count, with ~64 prompt tokens and 128 output tokens (ignore_eos):

  aiperf     aiperf profile --endpoint-type chat --streaming --concurrency N
             --request-count R --synthetic-input-tokens-mean 64
             --output-tokens-mean 128 --extra-inputs ignore_eos:true --ui none
             --no-server-metrics --no-gpu-telemetry  (profile_export_aiperf.json)
  guidellm   guidellm run --backend kind=openai_http,... --profile
             kind=concurrent,streams=N --constraint kind=max_requests,count=R
             --data kind=synthetic_text,prompt_tokens=64,output_tokens=128
             (guidellm sets ignore_eos itself; --output kind=json)
  vllm       vllm bench serve --backend openai-chat --dataset-name random
             --random-input-len 64 --random-output-len 128 --ignore-eos
             --num-prompts R --max-concurrency N --save-result (it sends one
             extra test request first)
  oha        oha -n R -c N with a fixed streaming request body; it does not parse
             SSE, so its "TTFT" is the first body byte (the simulator sends the
             role chunk together with the first token) and tokens are 128 per 200

Installs are kept in --venvs and reused. aiperf, guidellm and vllm each get a venv
from PyPI, with uv when it is on PATH (else pip); vllm with uv is a client-only
install (see VLLM_CLIENT_ONLY) that shares guidellm's torch, and needs no GPU.
oha comes from PATH, else the GitHub release binary, else `cargo install --locked
oha` (one job; 15 to 25 minutes on 2 cores). Install steps are time-boxed; a peer
that fails to install, to load the tokenizer or to run is reported as such, never
skipped silently. The Python peers run offline (HF_HUB_OFFLINE=1,
HF_HOME=WORK/hf-home) with a tokenizer written on the spot (make_tokenizer);
nothing is downloaded at run time. Each run leaves its exact command line in
WORK/CLIENT-cLEVEL/cmd.txt beside its output. Only loopback traffic. Usage:

  scripts/side_by_side.py [--levels 1,64,256,1024] [--peers aiperf,guidellm,vllm,oha]
                          [--scale 1.0] [--work DIR] [--venvs DIR] [--no-build]
                          [--binary PATH] [--skip-llm-bench] [--itl-ms 5]
"""

import argparse
import hashlib
import itertools
import json
import os
import platform
import re
import shlex
import shutil
import signal
import string
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TTFT_MS, ITL_MS, TOKENS = 50.0, 5.0, 128
EXPECTED_E2E_S = (TTFT_MS + (TOKENS - 1) * ITL_MS) / 1000.0
SERVER_CPU, CLIENT_CPU = "0", "1"
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
    def __init__(self, binary, port, work, tls=False):
        """tls: serve HTTPS (serve-sim --tls); the certificate it made is then
        WORK/sim-cert.pem (self.ca_cert), trusted by this script's own requests."""
        self.port = port
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        self.request_log = os.path.join(work, "sim-requests.jsonl")
        self.ca_cert = os.path.join(work, "sim-cert.pem") if tls else None
        self.ssl_context = None
        args = ["taskset", "-c", SERVER_CPU, binary, "serve-sim", "--port", str(port),
                "--ttft-ms", str(TTFT_MS), "--itl-ms", str(ITL_MS),
                "--output-tokens", str(TOKENS), "--batch-size", "1000000",
                "--request-log", self.request_log]
        if tls:
            if os.path.exists(self.ca_cert):
                os.remove(self.ca_cert)
            args += ["--tls", "--tls-cert-out", self.ca_cert]
        self.proc = subprocess.Popen(args, stdout=open(os.path.join(work, "sim.log"), "w"),
                                     stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                if tls and self.ssl_context is None:
                    import ssl
                    self.ssl_context = ssl.create_default_context(cafile=self.ca_cert)
                self.get("/health", timeout=1)
                return
            except Exception:
                time.sleep(0.1)
        raise SystemExit("the simulated server did not start; see sim.log")

    def get(self, path, timeout):
        return urllib.request.urlopen(self.url + path, timeout=timeout,
                                      context=self.ssl_context).read()

    def snapshot(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = (int(fields[11]) + int(fields[12])) / ticks
        text = self.get("/metrics", timeout=5).decode()

        def metric(name):
            m = re.search(r"^" + re.escape(name) + r"(?:\{[^}]*\})? (\S+)$", text, re.M)
            return float(m.group(1)) if m else 0.0

        p99 = re.search(r'lateness_seconds\{quantile="0.99"\} (\S+)', text)
        return {
            "log_offset": os.path.getsize(self.request_log),
            "cpu_s": cpu,
            "wall": time.time(),
            "tokens": metric("vllm:generation_tokens_total"),
            "late_sum_s": metric("llm_bench_sim_lateness_seconds_sum"),
            "late_count": metric("llm_bench_sim_lateness_seconds_count"),
            "late_p99_ms": float(p99.group(1)) * 1000 if p99 else 0.0,
        }

    def entries(self, before):
        """Request-log lines written since a snapshot: the requests of one client
        run (lines are written as responses end; the caller waits a moment after
        the client exits). Only complete responses count."""
        with open(self.request_log, "rb") as f:
            f.seek(before["log_offset"])
            data = f.read()
        out = [json.loads(line) for line in data.splitlines() if line.strip()]
        return [e for e in out if e.get("complete") and e.get("first_chunk_ns")]

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# ---------------------------------------------------------------- peers

# peer: (pip package, console script, install time box in seconds)
PY_PEERS = {
    "aiperf": ("aiperf", "aiperf", 900),
    "guidellm": ("guidellm", "guidellm", 1200),
    "vllm": ("vllm", "vllm", 1800),
}
# `vllm bench serve` is a plain asyncio HTTP client. With uv, vllm is installed
# without the GPU-kernel packages that the client never imports (each kept out by
# a marker that is never true), several GB less.
VLLM_CLIENT_ONLY = [
    "torchaudio", "torchvision", "torchcodec", "torch-c-dlpack-ext", "flashinfer-python",
    "nvidia-cutlass-dsl", "nvidia-cudnn-frontend", "tilelang", "tokenspeed-triton",
    "tokenspeed-mla", "humming-kernels", "quack-kernels", "cuda-tile", "nccl-extensions",
    "nccl4py", "pynvvideocodec", "opencv-python-headless", "z3-solver", "fastsafetensors",
    "instanttensor", "cuda-python", "numba"]
OHA_RELEASE_URL = "https://github.com/hatoo/oha/releases/latest/download/oha-linux-{arch}"
OHA_BUILD_TIMEOUT_S = 2400


def install_peers(peers, venv_dir):
    """Installs each peer once into venv_dir (kept between runs); returns
    ({peer: "ok" or why not}, {peer: version})."""
    status, versions = {}, {}
    for peer in peers:
        if peer == "oha":
            status[peer] = install_oha(venv_dir)
        elif peer in PY_PEERS:
            status[peer] = install_python_peer(peer, venv_dir)
        else:
            status[peer] = "unknown peer"
        if status[peer] == "ok":
            versions[peer] = peer_version(venv_dir, peer)
    return status, versions


def install_python_peer(peer, venv_dir):
    """uv (when on PATH) or pip into venv_dir/PEER, time-boxed."""
    package, script, timeout = PY_PEERS[peer]
    venv = os.path.join(venv_dir, peer)
    if os.path.exists(os.path.join(venv, "bin", script)):
        return "ok"
    uv = shutil.which("uv")
    log(f"installing {peer} into {venv} with {'uv' if uv else 'pip'} (up to {timeout} s)…")
    python = os.path.join(venv, "bin", "python")
    if uv:
        sh([uv, "venv", "-q", "--allow-existing", "--python", sys.executable, venv], check=True)
        cmd = [uv, "pip", "install", "-q", "--python", python, package]
        if peer == "vllm":
            cmd += ["--override", write_vllm_overrides(venv_dir)]
    else:
        sh([sys.executable, "-m", "venv", venv], check=True)
        cmd = [python, "-m", "pip", "install", "-q", package]
    try:
        r = sh(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"install timed out after {timeout} s"
    if r.returncode != 0 or not os.path.exists(os.path.join(venv, "bin", script)):
        return "install failed: " + last_line(r.stderr)
    return "ok"


def write_vllm_overrides(venv_dir):
    """uv overrides for a client-only vllm. Where guidellm's venv already holds
    torch, vllm gets the same torch/triton so that uv hard-links them from its
    cache instead of adding another few GB of CUDA wheels."""
    lines = [f"{p}; sys_platform == 'never'" for p in VLLM_CLIENT_ONLY]
    guidellm_python = os.path.join(venv_dir, "guidellm", "bin", "python")
    if os.path.exists(guidellm_python):
        r = sh([guidellm_python, "-c", "import importlib.metadata as m\n"
                "for p in ('torch', 'triton'): print(f'{p}=={m.version(p)}')"],
               capture_output=True, text=True)
        if r.returncode == 0:
            lines += r.stdout.split()
    path = os.path.join(venv_dir, "vllm-overrides.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def install_oha(venv_dir):
    """oha on PATH, else the release binary from GitHub, else `cargo install`."""
    if shutil.which("oha"):
        return "ok"
    exe = os.path.join(venv_dir, "oha", "bin", "oha")
    if os.path.exists(exe):
        return "ok"
    os.makedirs(os.path.dirname(exe), exist_ok=True)
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine())
    if sys.platform == "linux" and arch:
        log("downloading the oha release binary…")
        part = exe + ".part"
        try:
            with urllib.request.urlopen(OHA_RELEASE_URL.format(arch=arch), timeout=60) as r, \
                    open(part, "wb") as f:
                shutil.copyfileobj(r, f)
            os.chmod(part, 0o755)
            if sh([part, "--version"], capture_output=True).returncode == 0:
                os.replace(part, exe)
                return "ok"
            log("the downloaded oha does not run; building it with cargo instead")
        except Exception as e:
            log(f"download failed ({e}); building it with cargo instead")
        finally:
            if os.path.exists(part):
                os.remove(part)
    log(f"cargo install oha (one job, up to {OHA_BUILD_TIMEOUT_S} s)…")
    build_dir = os.path.join(venv_dir, "oha-build")  # removed however the build ends
    try:
        r = sh(["cargo", "install", "--locked", "-j", "1", "--root",
                os.path.join(venv_dir, "oha"), "oha"],
               capture_output=True, text=True, timeout=OHA_BUILD_TIMEOUT_S,
               env=dict(os.environ, CARGO_TARGET_DIR=build_dir))
    except subprocess.TimeoutExpired:
        return f"install timed out after {OHA_BUILD_TIMEOUT_S} s"
    except OSError as e:
        return f"install failed: {e}"
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)
    return "ok" if r.returncode == 0 else "install failed: " + last_line(r.stderr)


def peer_exe(venv_dir, peer):
    if peer == "oha":
        return shutil.which("oha") or os.path.join(venv_dir, "oha", "bin", "oha")
    return os.path.join(venv_dir, peer, "bin", PY_PEERS[peer][1])


def peer_version(venv_dir, peer):
    if peer == "oha":
        r = sh([peer_exe(venv_dir, peer), "--version"], capture_output=True, text=True)
        return r.stdout.split()[-1] if r.returncode == 0 and r.stdout.split() else "?"
    r = sh([os.path.join(venv_dir, peer, "bin", "python"), "-c",
            f"import importlib.metadata as m; print(m.version({PY_PEERS[peer][0]!r}))"],
           capture_output=True, text=True)
    return r.stdout.strip() or "?"


def last_line(text):
    """The last error line of a tool's output, else its last line."""
    lines = [l.strip() for l in (text or "").splitlines() if l.strip()]
    errors = [l for l in lines if l.lower().startswith("error")]
    return (errors or lines or ["(no output)"])[-1][:160]


TOKENIZER_REPO = "llm-bench/sim-tokenizer"


def make_tokenizer(work):
    """A small WordPiece tokenizer, written on the spot (no download) as a Hugging
    Face hub cache entry WORK/hf-home/hub/models--llm-bench--sim-tokenizer, so that
    every peer loads it by repo id with HF_HUB_OFFLINE=1 (aiperf's offline mode only
    resolves repo ids through the cache, not directory paths). The simulator's
    output words are single tokens, so a 128-token reply counts 128; any other
    ASCII text splits into letters, bigrams and trigrams (about 2 tokens a word).
    Returns (repo id, HF_HOME)."""
    hf_home = os.path.join(work, "hf-home")
    model_dir = os.path.join(hf_home, "hub", "models--" + TOKENIZER_REPO.replace("/", "--"))
    specials = ["[UNK]", "<s>", "</s>"]
    words = ["the", "sim", "says", "hello", "to", "every", "bench", "run"]
    words += [f"w{i}" for i in range(1000)]
    pieces = [c for c in string.printable if not c.isspace()]
    pieces += ["".join(g) for n in (2, 3) for g in itertools.product(string.ascii_lowercase, repeat=n)]
    vocab = {}
    for t in specials + words + pieces + ["##" + p for p in pieces]:
        vocab.setdefault(t, len(vocab))
    files = {
        "tokenizer.json": {
            "version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [{"id": vocab[t], "content": t, "single_word": False,
                              "lstrip": False, "rstrip": False, "normalized": False,
                              "special": True} for t in specials],
            "normalizer": None,
            "pre_tokenizer": {"type": "WhitespaceSplit"},
            "post_processor": None,
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
            "model": {"type": "WordPiece", "vocab": vocab, "unk_token": "[UNK]",
                      "continuing_subword_prefix": "##", "max_input_chars_per_word": 100},
        },
        "tokenizer_config.json": {"tokenizer_class": "PreTrainedTokenizerFast",
                                  "unk_token": "[UNK]", "bos_token": "<s>",
                                  "eos_token": "</s>", "model_max_length": 1 << 20},
        "config.json": {"model_type": "gpt2", "vocab_size": len(vocab),
                        "bos_token_id": vocab["<s>"], "eos_token_id": vocab["</s>"]},
    }
    blobs = {name: json.dumps(d, sort_keys=True).encode() for name, d in files.items()}
    revision = hashlib.sha1(b"".join(blobs[n] for n in sorted(blobs))).hexdigest()
    snapshot = os.path.join(model_dir, "snapshots", revision)
    os.makedirs(snapshot, exist_ok=True)
    os.makedirs(os.path.join(model_dir, "refs"), exist_ok=True)
    for name, blob in blobs.items():
        with open(os.path.join(snapshot, name), "wb") as f:
            f.write(blob)
    with open(os.path.join(model_dir, "refs", "main"), "w") as f:
        f.write(revision)
    return TOKENIZER_REPO, hf_home


def peer_env(hf_home):
    """Offline: the tokenizer comes from the local hub cache, nothing phones home."""
    return dict(os.environ, HF_HOME=hf_home, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                HF_HUB_DISABLE_TELEMETRY="1", VLLM_NO_USAGE_STATS="1", DO_NOT_TRACK="1")


def check_tokenizer(venv_dir, peer, tokenizer, hf_home):
    """'ok', or why the peer's own transformers cannot load the tokenizer."""
    try:
        r = sh([os.path.join(venv_dir, peer, "bin", "python"), "-c",
                "import sys; from transformers import AutoTokenizer; "
                "t = AutoTokenizer.from_pretrained(sys.argv[1]); "
                "assert len(t.encode(' the sim says hello')) == 4",
                tokenizer], capture_output=True, text=True, env=peer_env(hf_home), timeout=300)
    except subprocess.TimeoutExpired:
        return "tokenizer check timed out"
    return "ok" if r.returncode == 0 else "tokenizer not loadable: " + last_line(r.stderr)


# ---------------------------------------------------------------- clients


def timed(cmd, out_dir, env=None):
    """Runs cmd pinned to the client CPU under /usr/bin/time (which counts the
    children it waits for); returns (returncode, cpu_s, peak_rss_mib, wall_s)."""
    with open(os.path.join(out_dir, "cmd.txt"), "w") as f:
        f.write(shlex.join(cmd) + "\n")
    tfile = os.path.join(out_dir, "time.txt")
    full = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", tfile, "taskset", "-c", CLIENT_CPU] + cmd
    with open(os.path.join(out_dir, "stdout.txt"), "w") as so, \
            open(os.path.join(out_dir, "stderr.txt"), "w") as se:
        proc = subprocess.Popen(full, stdout=so, stderr=se, env=env, cwd=out_dir,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the client and all its workers
            proc.wait()
            rc = "timeout"
    try:
        wall, user, sys_, rss_kb = open(tfile).read().split()[-4:]
        return rc, float(user) + float(sys_), int(rss_kb) / 1024, float(wall)
    except Exception:
        return rc, None, None, None


def run_llm_bench(binary, url, level, n, out, extra=()):
    rc, cpu, rss, wall = timed([binary, "run", "--url", url + "/v1", "--model", "sim-model",
                                "--out", os.path.join(out, "results"), "--concurrency",
                                str(level), "--requests", str(n), "--max-tokens", str(TOKENS),
                                "--prompt-tokens", "64", "--ignore-eos", *extra], out)
    res = {"rc": rc, "cpu_s": cpu, "rss_mib": rss}
    try:
        m = json.load(open(os.path.join(out, "results", "summary.json")))["scenarios"][0]["metrics"]
        res.update(tokens=m["output_tokens_total"], ttft_mean=m["ttft_ms"]["mean"],
                   ttft_p99=m["ttft_ms"]["p99"], req_per_s=m["requests_per_s"],
                   client_limited=(m.get("client_health") or {}).get("client_limited"))
    except Exception as e:
        res["error"] = f"no summary: {e}"
    return res


def percentile(values, q):
    """Linear interpolation between closest ranks (numpy's default), as
    llm-bench and the peers report."""
    v = sorted(values)
    if not v:
        return None
    pos = (len(v) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def mean(values):
    return sum(values) / len(values) if values else None


def server_truth(entries):
    """The server's own view of a client run: TTFT from handler arrival to first
    chunk, and time per request from arrival to last chunk (ms)."""
    ttft = [(e["first_chunk_ns"] - e["arrival_ns"]) / 1e6 for e in entries]
    busy = [(e["last_chunk_ns"] - e["arrival_ns"]) / 1e6 for e in entries]
    return {"ttft_mean": mean(ttft), "ttft_p99": percentile(ttft, 0.99),
            "busy_mean": mean(busy), "n": len(entries)}


def paired_llm_bench(results_dir, entries):
    """Per-request TTFT error of llm-bench against the server's request log: the
    CLOCK_MONOTONIC moment llm-bench stamped the first token minus the moment the
    server wrote it. Also the server time per request counted from llm-bench's send."""
    by_id = {e["request_id"]: e for e in entries if e.get("request_id")}
    starts = {}
    with open(os.path.join(results_dir, "client_health.jsonl")) as f:
        for line in f:
            h = json.loads(line)
            starts[(h["scenario"], h["trial"])] = h.get("clock_start_ns")
    errors, busy, queued, unmatched = [], [], [], 0
    with open(os.path.join(results_dir, "requests.jsonl")) as f:
        for line in f:
            row = json.loads(line)
            if row.get("warmup") or not row.get("ok") or row.get("ttft_ms") is None:
                continue
            e = by_id.get(row.get("request_id"))
            start = starts.get((row["scenario"], row["trial"]))
            if e is None or start is None:
                unmatched += 1
                continue
            sent_ns = start + row["start_ms"] * 1e6
            first_token_ns = sent_ns + row["ttft_ms"] * 1e6
            errors.append((first_token_ns - e["first_chunk_ns"]) / 1e6)
            busy.append((e["last_chunk_ns"] - sent_ns) / 1e6)
            queued.append((e["arrival_ns"] - sent_ns) / 1e6)
    return {"paired_n": len(errors), "paired_unmatched": unmatched,
            "paired_err_mean": mean(errors), "paired_err_p99": percentile(errors, 0.99),
            "paired_err_min": min(errors) if errors else None,
            "paired_err_max": max(errors) if errors else None,
            "paired_busy_mean": mean(busy), "send_to_handler_mean": mean(queued)}


def check_count(res, done, n):
    if done != n:
        res["error"] = f"{done} of {n} requests succeeded"


def run_aiperf(exe, url, level, n, out, tokenizer, env):
    artifacts = os.path.join(out, "artifacts")
    rc, cpu, rss, _ = timed([exe, "profile", "--model", "sim-model", "--url", url,
                             "--endpoint-type", "chat", "--streaming",
                             "--concurrency", str(level), "--request-count", str(n),
                             "--tokenizer", tokenizer, "--synthetic-input-tokens-mean", "64",
                             "--output-tokens-mean", str(TOKENS),
                             "--extra-inputs", "ignore_eos:true", "--ui", "none",
                             "--no-server-metrics", "--no-gpu-telemetry",
                             "--artifact-dir", artifacts], out, env=env)
    res = {"rc": rc, "cpu_s": cpu, "rss_mib": rss}
    try:
        d = json.load(open(os.path.join(artifacts, "profile_export_aiperf.json")))
        res.update(ttft_mean=d["time_to_first_token"]["avg"],
                   ttft_p99=d["time_to_first_token"]["p99"],
                   req_per_s=d["request_throughput"]["avg"],
                   tokens=d["total_output_tokens"]["avg"])
        check_count(res, int(d["request_count"]["avg"]), n)
    except Exception as e:
        res["error"] = f"output not parsed: {e!r}"
    return res


def run_guidellm(exe, url, level, n, out, tokenizer, env):
    path = os.path.join(out, "guidellm.json")
    rc, cpu, rss, _ = timed([exe, "run",
                             "--backend", f"kind=openai_http,target={url},model=sim-model,"
                                          "request_format=/v1/chat/completions",
                             "--profile", f"kind=concurrent,streams={level}",
                             "--constraint", f"kind=max_requests,count={n}",
                             "--tokenizer", f"kind=huggingface_auto,model={tokenizer}",
                             "--data", f"kind=synthetic_text,prompt_tokens=64,"
                                       f"output_tokens={TOKENS}",
                             "--output", f"kind=json,path={path}",
                             "--disable-console-interactive"], out, env=env)
    res = {"rc": rc, "cpu_s": cpu, "rss_mib": rss}
    try:
        b = json.load(open(path))["benchmarks"][0]
        m = b["metrics"]
        ttft = m["time_to_first_token_ms"]["successful"]
        done = m["request_totals"]["successful"]
        res.update(ttft_mean=ttft["mean"], ttft_p99=ttft["percentiles"]["p99"],
                   req_per_s=done / b["duration"],
                   tokens=m["output_token_count"]["successful"]["total_sum"])
        check_count(res, done, n)
    except Exception as e:
        res["error"] = f"output not parsed: {e!r}"
    return res


def run_vllm(exe, url, level, n, out, tokenizer, env):
    rc, cpu, rss, _ = timed([exe, "bench", "serve", "--backend", "openai-chat",
                             "--base-url", url, "--endpoint", "/v1/chat/completions",
                             "--model", "sim-model", "--tokenizer", tokenizer,
                             "--dataset-name", "random", "--random-input-len", "64",
                             "--random-output-len", str(TOKENS), "--ignore-eos",
                             "--num-prompts", str(n), "--max-concurrency", str(level),
                             "--percentile-metrics", "ttft", "--metric-percentiles", "99",
                             "--disable-tqdm", "--save-result", "--result-dir", out,
                             "--result-filename", "vllm.json"], out, env=env)
    res = {"rc": rc, "cpu_s": cpu, "rss_mib": rss}
    try:
        d = json.load(open(os.path.join(out, "vllm.json")))
        res.update(ttft_mean=d["mean_ttft_ms"], ttft_p99=d["p99_ttft_ms"],
                   req_per_s=d["request_throughput"], tokens=d["total_output_tokens"])
        check_count(res, d["completed"], n)
    except Exception as e:
        res["error"] = f"output not parsed: {e!r}"
    return res


def run_oha(exe, url, level, n, out, _tokenizer, _env):
    """oha does not parse SSE: its TTFT is the first body byte (the simulator
    sends the role chunk with the first token), and tokens are assumed from the
    200s."""
    body = json.dumps({"model": "sim-model", "stream": True, "max_tokens": TOKENS,
                       "ignore_eos": True,
                       "messages": [{"role": "user", "content": "hello " * 64}]})
    rc, cpu, rss, _ = timed([exe, "--no-tui", "--output-format", "json", "-n", str(n),
                             "-c", str(level), "-m", "POST", "-T", "application/json",
                             "-d", body, url + "/v1/chat/completions"], out)
    res = {"rc": rc, "cpu_s": cpu, "rss_mib": rss, "note": "TTFT = first body byte"}
    try:
        d = json.load(open(os.path.join(out, "stdout.txt")))
        done = d["statusCodeDistribution"].get("200", 0)
        res.update(ttft_mean=d["details"]["firstByte"]["average"] * 1000,
                   ttft_p99=d["firstBytePercentiles"]["p99"] * 1000,
                   req_per_s=d["summary"]["requestsPerSec"], tokens=done * TOKENS)
        check_count(res, done, n)
    except Exception as e:
        res["error"] = f"output not parsed: {e!r}"
    return res


PEER_RUNNERS = {"aiperf": run_aiperf, "guidellm": run_guidellm, "vllm": run_vllm,
                "oha": run_oha}


# ---------------------------------------------------------------- report


def fmt(x, spec):
    return "–" if x is None else format(x, spec)


def host_info():
    """The CPU model, kernel and time of the run: CPU per token depends on them (the
    same binaries measured 2x apart for the Python peers on an Intel and an AMD host)."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), model)
    except OSError:
        pass
    return {"cpu": model, "cpus": os.cpu_count(), "kernel": platform.release(),
            "started_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())}


def main():
    global ITL_MS, EXPECTED_E2E_S
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
    ap.add_argument("--skip-llm-bench", action="store_true", help="peers only")
    ap.add_argument("--itl-ms", type=float, default=ITL_MS,
                    help="the server's inter-token latency (default 5): a larger one "
                         "lowers the token rate at a given concurrency")
    args = ap.parse_args()
    ITL_MS = args.itl_ms
    EXPECTED_E2E_S = (TTFT_MS + (TOKENS - 1) * ITL_MS) / 1000.0

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
    status, versions = install_peers(peers, venvs)
    tokenizer, hf_home = make_tokenizer(args.work)
    for p in peers:
        if p in PY_PEERS and status[p] == "ok":
            status[p] = check_tokenizer(venvs, p, tokenizer, hf_home)
    levels = [int(x) for x in args.levels.split(",") if x]
    extra = [int(x) for x in args.llm_bench_extra_levels.split(",") if x]

    host = host_info()
    server = Server(binary, args.port, args.work)
    rows = []
    try:
        plan = [] if args.skip_llm_bench else [("llm-bench", lvl) for lvl in levels + extra]
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
                                           out, tokenizer, peer_env(hf_home))
            after = server.snapshot()
            time.sleep(0.3)
            res.update(client=client, version=versions.get(client), level=level, requests=n)
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
            entries = server.entries(before)
            truth = server_truth(entries)
            res["server_n"] = truth["n"]
            res["server_ttft_mean"] = truth["ttft_mean"]
            res["server_ttft_p99"] = truth["ttft_p99"]
            for key in ("mean", "p99"):
                have, want = res.get(f"ttft_{key}"), truth[f"ttft_{key}"]
                res[f"ttft_err_{key}"] = have - want if have is not None and want else None
            exp_rate = level / EXPECTED_E2E_S
            rate = res.get("req_per_s")
            res["attain"] = rate / exp_rate if rate else None
            busy = truth["busy_mean"]
            if client == "llm-bench":
                try:
                    res.update(paired_llm_bench(os.path.join(out, "results"),
                                                entries))
                    busy = res["paired_busy_mean"] or busy
                except Exception as e:
                    res["error"] = f"cannot pair with the request log: {e}"
            res["attain_server"] = rate / (level / (busy / 1000)) if rate and busy else None
            rows.append(res)
            log(json.dumps(res))
    finally:
        server.stop()

    json.dump({"host": host, "status": status, "versions": versions, "rows": rows}, open(os.path.join(args.work, "results.json"), "w"),
              indent=1)
    print(f"## Side-by-side: TTFT {TTFT_MS:g} ms, ITL {ITL_MS:g} ms, {TOKENS} tokens; "
          f"server on CPU {SERVER_CPU}, client on CPU {CLIENT_CPU}\n")
    print(f"Host: {host['cpu']}, {host['cpus']} CPUs, kernel {host['kernel']}; "
          f"started {host['started_utc']} UTC\n")
    print("| client | conc | requests | cpu-s/1M tok | peak RSS MiB | TTFT err mean ms | "
          "TTFT err p99 ms | paired err mean ms | paired err p99 ms | rate attained | "
          "vs server | server cpu-s/1M tok | server util | server late mean ms | note |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
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
        if r.get("note"):
            note.append(r["note"])
        name = f"{r['client']} {r['version']}" if r.get("version") else r["client"]
        print(f"| {name} | {r['level']} | {r['requests']} | {fmt(r['cpu_per_m'], '.1f')} | "
              f"{fmt(r['rss_mib'], '.0f')} | {fmt(r['ttft_err_mean'], '+.2f')} | "
              f"{fmt(r['ttft_err_p99'], '+.2f')} | {fmt(r.get('paired_err_mean'), '+.3f')} | "
              f"{fmt(r.get('paired_err_p99'), '+.3f')} | {fmt(r['attain'], '.2f')} | "
              f"{fmt(r.get('attain_server'), '.3f')} | "
              f"{fmt(r['srv_cpu_per_m'], '.1f')} | {fmt(r['srv_util'], '.2f')} | "
              f"{fmt(r['srv_late_ms'], '.3f')} | {'; '.join(note)} |")
    print()
    for p, s in status.items():
        print(f"- {p} {versions.get(p, '')}: {s}".replace("  ", " "))
    # llm-bench / best peer, per level.
    if args.skip_llm_bench:
        return
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
