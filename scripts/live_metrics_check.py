#!/usr/bin/env python3
"""`run --metrics-listen` and `--pushgateway` against a real Prometheus and Pushgateway
(issue #23), all on loopback. Not part of CI: it needs the Debian packages
`prometheus` and `prometheus-pushgateway` (apt-get install prometheus
prometheus-pushgateway), which bring `prometheus`, `promtool` and
`prometheus-pushgateway`.

1. Starts a Pushgateway, a static file server with the vLLM and DCGM exposition
   fixtures of tests/fixtures/prometheus (relabelled to the benchmark's model, as
   if the server and the GPUs were there), and Prometheus scraping llm-bench's
   --metrics-listen every second (OpenMetrics, as Prometheus negotiates it), the
   fixtures and the Pushgateway (honor_labels).
2. Runs llm-bench against the built-in simulator for about 10 s, with
   --metrics-listen, --pushgateway and --metrics-linger, 5% of requests failing.
3. Checks: `promtool check metrics` passes on the text-format exposition; the
   llm-bench target was up for every scrape; each PromQL query of
   examples/grafana/llm-bench.json (variables filled in) is accepted by
   Prometheus, and each that reads only llm-bench returns a finite value; the last
   scraped counters and the pushed ones equal summary.json; the pushed result
   gauges are there.

Usage: scripts/live_metrics_check.py [--binary target/debug/llm-bench]
"""

import argparse
import http.server
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "prometheus")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except Exception:
            time.sleep(0.2)
    sys.exit(f"{url} did not come up")


def query(prom, expr):
    url = f"http://127.0.0.1:{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        body = json.load(urllib.request.urlopen(url, timeout=10))
    except urllib.error.HTTPError as e:
        body = json.load(e)
    return body


def fixture_server(port):
    files = {"/vllm/metrics": "vllm_after.prom", "/dcgm/metrics": "dcgm_after.prom"}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            name = files.get(self.path)
            if not name:
                self.send_error(404)
                return
            data = open(os.path.join(FIXTURES, name), "rb").read()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def dashboard_queries():
    d = json.load(open(os.path.join(ROOT, "examples", "grafana", "llm-bench.json")))
    out, panels = [], list(d["panels"])
    while panels:
        p = panels.pop()
        panels.extend(p.get("panels", []))
        out += [(p["title"], t["expr"]) for t in p.get("targets", [])]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "debug", "llm-bench"))
    args = ap.parse_args()
    for tool in ["prometheus", "promtool", "prometheus-pushgateway"]:
        if not shutil.which(tool):
            sys.exit(f"{tool} not found: apt-get install prometheus prometheus-pushgateway")
    work = tempfile.mkdtemp(prefix="live-metrics-check-")
    live, pgw, prom, files = free_port(), free_port(), free_port(), free_port()
    procs = []
    try:
        fixture_server(files)
        procs.append(subprocess.Popen(
            ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{pgw}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        relabel = [{"target_label": "model_name", "replacement": "sim-model", "action": "replace"}]
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {"job_name": "llm-bench-live", "static_configs": [{"targets": [f"127.0.0.1:{live}"]}]},
                {"job_name": "pushgateway", "honor_labels": True,
                 "static_configs": [{"targets": [f"127.0.0.1:{pgw}"]}]},
                {"job_name": "vllm", "metrics_path": "/vllm/metrics",
                 "static_configs": [{"targets": [f"127.0.0.1:{files}"]}],
                 "metric_relabel_configs": [dict(r, source_labels=["model_name"], regex=".+") for r in relabel]},
                {"job_name": "dcgm", "metrics_path": "/dcgm/metrics",
                 "static_configs": [{"targets": [f"127.0.0.1:{files}"]}]},
            ],
        }
        # Prometheus reads YAML; JSON is YAML.
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            json.dump(config, f)
        procs.append(subprocess.Popen(
            ["prometheus", f"--config.file={work}/prometheus.yml", f"--storage.tsdb.path={work}/tsdb",
             f"--web.listen-address=127.0.0.1:{prom}"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "prometheus.log"), "w")))
        wait_http(f"http://127.0.0.1:{pgw}/metrics")
        wait_http(f"http://127.0.0.1:{prom}/-/ready")

        configs = os.path.join(work, "configs")
        os.makedirs(configs)
        open(os.path.join(configs, "targets.yaml"), "w").write(
            "default: sim\ntargets:\n  sim:\n    builtin: sim\n"
            "    sim: { ttft_ms: 40, itl_ms: 8, error_500_rate: 0.05 }\n    api: chat\n")
        open(os.path.join(configs, "models.yaml"), "w").write(
            "default: sim-model\nmodels:\n  sim-model:\n    max_tokens: 64\n")
        open(os.path.join(configs, "workloads.yaml"), "w").write(
            "defaults:\n  warmup: 4\n  max_error_rate: 0.5\nprompts:\n  short:\n    text: \"Say hi.\"\n"
            "scenarios:\n  chat:\n    prompt: short\n    concurrency: 8\n    duration: 5s\n    trials: 2\n")
        out = os.path.join(work, "out")
        run = subprocess.Popen(
            [args.binary, "run", "--no-telemetry", "--config-dir", configs, "--out", out,
             "--metrics-listen", f"127.0.0.1:{live}", "--metrics-linger", "10s",
             "--pushgateway", f"http://127.0.0.1:{pgw}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_http(f"http://127.0.0.1:{live}/metrics", timeout=60)
        time.sleep(3)
        text = urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{live}/metrics", headers={"Accept": "text/plain;version=0.0.4"})).read()
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True)
        print(f"promtool check metrics: exit {lint.returncode} {lint.stdout.decode()}{lint.stderr.decode()}".strip())
        time.sleep(3)
        # Mid-run: every dashboard query is valid PromQL to Prometheus; llm-bench's return data.
        failures = []
        values = {"$run": ".+", "$scenario": ".*", "$model": "sim-model", "$gpu_host": ".*", "$gpu": ".*",
                  "$__rate_interval": "5s"}
        for title, expr in dashboard_queries():
            q = expr
            for k in sorted(values, key=len, reverse=True):
                q = q.replace(k, values[k])
            body = query(prom, q)
            if body.get("status") != "success":
                failures.append(f"{title}: {q}: {body.get('error')}")
                continue
            result = body["data"]["result"]
            ours_only = "vllm:" not in q and "DCGM" not in q
            finite = [r for r in result if math.isfinite(float(r["value"][1]))]
            status = f"{len(result)} series, {len(finite)} finite"
            if ours_only and not finite:
                failures.append(f"{title}: {q}: no finite value")
            print(f"  {title[:40]:40} {status}")
        stderr = run.communicate(timeout=120)[1]
        print(f"llm-bench exit {run.returncode}")
        if run.returncode != 0:
            print(stderr)
            failures.append(f"llm-bench exit {run.returncode}")
        time.sleep(2)
        summary = json.load(open(os.path.join(out, "summary.json")))
        run_id = summary["run"]["id"]
        m = summary["scenarios"][0]["metrics"]
        # Before the run and after the linger nothing listens (up 0); in between, up 1.
        up = query(prom, 'sum_over_time(up{job="llm-bench-live"}[1m])')["data"]["result"]
        samples = query(prom, 'max_over_time(scrape_samples_scraped{job="llm-bench-live"}[1m])')["data"]["result"]
        scrapes = float(up[0]["value"][1]) if up else 0
        print(f"llm-bench target: {scrapes:.0f} successful scrapes, up to {samples[0]['value'][1] if samples else None} samples each")
        if scrapes < 5:
            failures.append(f"only {scrapes} successful scrapes of llm-bench")
        for job in ["llm-bench-live", "pushgateway"]:
            for name, expected in [("llm_bench_requests_completed_total", m["requests"]["succeeded"]),
                                   ("llm_bench_requests_failed_total", m["requests"]["failed"]),
                                   ("llm_bench_output_tokens_total", m["output_tokens_total"]),
                                   ("llm_bench_itl_seconds_count", m["itl_ms"]["count"])]:
                job_label = "llm-bench" if job == "pushgateway" else job
                r = query(prom, f'sum(last_over_time({name}{{run_id="{run_id}", job="{job_label}"}}[1m]))')
                got = float(r["data"]["result"][0]["value"][1]) if r["data"]["result"] else None
                ok = got == expected
                print(f"  {job:15} {name:38} {got} vs summary {expected} {'ok' if ok else 'MISMATCH'}")
                if not ok:
                    failures.append(f"{job} {name}: {got} != {expected}")
        r = query(prom, f'llm_bench_result_ttft_seconds{{run_id="{run_id}", stat="p50"}}')["data"]["result"]
        pushed_p50 = float(r[0]["value"][1]) if r else None
        print(f"  pushed result p50 TTFT {pushed_p50} s vs summary {m['ttft_ms']['p50'] / 1000} s")
        if pushed_p50 is None or abs(pushed_p50 - m["ttft_ms"]["p50"] / 1000) > 1e-12:
            failures.append("pushed llm_bench_result_ttft_seconds")
        if lint.returncode != 0:
            failures.append("promtool check metrics")
        if failures:
            print("FAILED:\n  " + "\n  ".join(failures))
            return 1
        print("all checks passed")
        return 0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
