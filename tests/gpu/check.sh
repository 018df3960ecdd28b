#!/usr/bin/env bash
# The GPU check of llm-bench's telemetry (docs/gpu-check.md): on a machine with an
# NVIDIA GPU, PyTorch, transformers and aiohttp, start tests/gpu/server.py (a random
# Llama, nothing downloaded), benchmark it for about a minute with GPU 0 sampled
# through NVML while nvidia-smi samples alongside, and report:
#   - energy from the NVML energy counter vs integrated power samples (should agree
#     within a few percent),
#   - tokens per joule, GPU utilisation, mean and peak power,
#   - nvidia-smi's mean power and utilisation over the same stretch,
#   - the server's /metrics deltas vs what llm-bench recorded.
#
#   tests/gpu/check.sh [LLM_BENCH_BINARY]      (default target/release/llm-bench)
#
# Environment: OUT (results folder, default a temporary one), DURATION (default 60s),
# CONCURRENCY (16), MAX_TOKENS (256), PROMPT_TOKENS (256), PORT (8100),
# SERVER_ARGS (extra flags for server.py, e.g. "--layers 8 --hidden 1024"),
# STUB=1 (no GPU: fake tokens, checks only the plumbing).
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=${1:-target/release/llm-bench}
OUT=${OUT:-$(mktemp -d)}
DURATION=${DURATION:-60s}
CONCURRENCY=${CONCURRENCY:-16}
MAX_TOKENS=${MAX_TOKENS:-256}
PROMPT_TOKENS=${PROMPT_TOKENS:-256}
PORT=${PORT:-8100}
SERVER_ARGS=${SERVER_ARGS:-}
mkdir -p "$OUT"

if [[ ! -x "$BIN" ]]; then
  echo "no llm-bench binary at $BIN: build it with \`cargo build --release\` or pass its path" >&2
  exit 2
fi

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

echo "== environment"
python3 -c 'import torch, transformers, aiohttp; print("torch", torch.__version__, "cuda", torch.version.cuda, "| transformers", transformers.__version__, "| aiohttp", aiohttp.__version__)' \
  || [[ -n "${STUB:-}" ]]
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=index,name,driver_version,memory.total,power.limit --format=csv | tee "$OUT/nvidia-smi-gpus.csv"
fi

echo "== server"
stub=()
[[ -n "${STUB:-}" ]] && stub=(--stub)
# shellcheck disable=SC2086
python3 tests/gpu/server.py --port "$PORT" "${stub[@]}" $SERVER_ARGS >"$OUT/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
  if ! kill -0 "${pids[0]}" 2>/dev/null; then cat "$OUT/server.log"; echo "server.py exited" >&2; exit 1; fi
  sleep 1
done
cat "$OUT/server.log"

if command -v nvidia-smi >/dev/null; then
  # One line per GPU every 250 ms, as llm-bench samples; unix time first for joining.
  nvidia-smi --query-gpu=timestamp,index,power.draw,utilization.gpu,memory.used,clocks.sm,temperature.gpu \
    --format=csv,noheader,nounits -lms 250 >"$OUT/nvidia-smi.csv" 2>"$OUT/nvidia-smi.err" &
  pids+=($!)
fi

echo "== benchmark (${DURATION}, concurrency ${CONCURRENCY})"
started=$(date +%s.%N)
"$BIN" run --url "http://127.0.0.1:$PORT/v1" --model random-llama --gpus 0 \
  --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup "$CONCURRENCY" \
  --max-tokens "$MAX_TOKENS" --prompt-tokens "$PROMPT_TOKENS" --ignore-eos \
  --out "$OUT/run" 2>&1 | tee "$OUT/llm-bench.log"
ended=$(date +%s.%N)
sleep 1
cleanup
pids=()

echo "== figures"
python3 - "$OUT" "$started" "$ended" <<'PY'
import csv, datetime, json, statistics, sys

out, started, ended = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
summary = json.load(open(f"{out}/run/summary.json"))
m = summary["scenarios"][0]["metrics"]
tele = m.get("telemetry") or {}
gpu = tele.get("gpu") or {}
server = tele.get("server") or {}
env = summary["run"].get("environment") or {}
figures = {
    "gpus": env.get("gpus"), "driver": env.get("driver_version"), "cuda": env.get("cuda_version"),
    "window_s": m["duration_s"], "requests": m["requests"]["succeeded"],
    "output_tokens": m["output_tokens_total"], "output_tokens_per_s": m["output_tokens_per_s"],
}
figures.update({k: gpu.get(k) for k in [
    "energy_j", "energy_method", "energy_counter_j", "energy_integrated_j",
    "output_tokens_per_joule", "joules_per_output_token", "power_mean_w",
    "power_peak_w", "gpu_util_mean_pct", "memory_used_max_mib", "sm_clock_mean_mhz",
    "temperature_max_c", "samples"]})
c, i = gpu.get("energy_counter_j"), gpu.get("energy_integrated_j")
if c and i:
    figures["integrated_vs_counter_pct"] = (i / c - 1) * 100

# llm-bench's own NVML power samples (GPU 0), for comparison with nvidia-smi's.
samples = [json.loads(l) for l in open(f"{out}/run/telemetry.jsonl")]
power = [s["power_w"] for s in samples if s["kind"] == "gpu" and s.get("power_w") is not None]
util = [s["gpu_util_pct"] for s in samples if s["kind"] == "gpu" and s.get("gpu_util_pct") is not None]

# nvidia-smi over the middle of the run (the first and last 5 s hold start-up and drain).
try:
    rows = []
    for r in csv.reader(open(f"{out}/nvidia-smi.csv")):
        if len(r) < 7 or r[1].strip() != "0":
            continue
        t = datetime.datetime.strptime(r[0].strip(), "%Y/%m/%d %H:%M:%S.%f").timestamp()
        if started + 5 <= t <= ended - 5:
            rows.append((float(r[2]), float(r[3])))
    figures["nvidia_smi_samples"] = len(rows)
    figures["nvidia_smi_power_mean_w"] = statistics.mean(p for p, _ in rows)
    figures["nvidia_smi_util_mean_pct"] = statistics.mean(u for _, u in rows)
    figures["llm_bench_nvml_power_mean_w"] = statistics.mean(power)
    figures["llm_bench_nvml_util_mean_pct"] = statistics.mean(util)
except (OSError, ValueError, statistics.StatisticsError) as e:
    figures["nvidia_smi_error"] = str(e)

figures["server_requests_finished"] = server.get("requests_finished")
figures["server_generation_tokens"] = server.get("generation_tokens")
figures["recorded_requests_incl_warmup"] = m["requests"]["succeeded"] + m["requests"]["warmup"]

json.dump(figures, open(f"{out}/gpu-check.json", "w"), indent=2)
for k, v in figures.items():
    print(f"{k:32} {v:.4g}" if isinstance(v, float) else f"{k:32} {v}")
ok = True
if "integrated_vs_counter_pct" in figures:
    agree = abs(figures["integrated_vs_counter_pct"]) <= 5
    print(f"energy counter vs integrated power: {'AGREE' if agree else 'DISAGREE'} within 5%")
    ok &= agree
else:
    print("energy counter vs integrated power: not both available")
sys.exit(0 if ok else 1)
PY
echo "results: $OUT"
