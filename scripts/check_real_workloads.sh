#!/usr/bin/env bash
# Workloads against a real prefix-caching server (issue #18's real-server check).
#
# Starts vLLM's CPU build (prefix caching on by default) with the tiny local
# model from /work/shared/real-servers, then runs:
#  (a) a shared-prefix workload: GROUPS groups x PREFIX tokens (exact, with the
#      model's tokenizer.json), reading vLLM's own prefix-cache counters
#      (/metrics: vllm:prefix_cache_queries_total / _hits_total) before and
#      after, and printing the hit rate next to the share the workload expects;
#  (b) a multi-turn workload (TURNS turns, 64-token user messages), printing TTFT
#      by turn from summary.json (it should rise with the history's length).
#
#   scripts/check_real_workloads.sh
#
# Env: LLM_BENCH (the binary; default: build target/release/llm-bench),
#      PORT (18120; 18121 if taken), REAL_SERVERS_SCRIPTS (/work/shared/real-servers),
#      REAL_SERVERS_DIR (~/.cache/llm-bench-real-servers), PREFIX_GROUPS (4), PREFIX (256),
#      REQUESTS (48), TURNS (6), PREFIX_CACHING (on; `off` starts vLLM with
#      --no-enable-prefix-caching: the expected hit rate is then 0 and TTFT by
#      turn pays for the whole history).
# Not in CI: it runs a real server, minutes of CPU. Stops only the vLLM it
# started, by the PID its start script recorded.
set -euo pipefail
cd "$(dirname "$0")/.."

SCRIPTS="${REAL_SERVERS_SCRIPTS:-/work/shared/real-servers}"
STATE="${REAL_SERVERS_DIR:-$HOME/.cache/llm-bench-real-servers}"
GROUPS_N="${PREFIX_GROUPS:-4}"
PREFIX="${PREFIX:-256}"
REQUESTS="${REQUESTS:-48}"
TURNS="${TURNS:-6}"
PORT="${PORT:-18120}"
if curl -s -o /dev/null -m 2 "http://127.0.0.1:$PORT/health"; then
  echo "port $PORT is in use (another vLLM?); using $((PORT + 1))"
  PORT=$((PORT + 1))
fi
BIN="${LLM_BENCH:-}"
if [ -z "$BIN" ]; then
  cargo build --release --locked --bin llm-bench >&2
  BIN="${CARGO_TARGET_DIR:-target}/release/llm-bench"
fi
WORK="$(mktemp -d)"
echo "work folder: $WORK"

stop_vllm() {
  local pidfile="$STATE/logs/vllm_$PORT.pid"
  [ -f "$pidfile" ] || return 0
  local pid
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  fi
  rm -f "$pidfile"
}
trap stop_vllm EXIT
CACHING="${PREFIX_CACHING:-on}"
if [ "$CACHING" = off ]; then
  export EXTRA_ARGS="${EXTRA_ARGS:-} --no-enable-prefix-caching"
fi
"$SCRIPTS/start_vllm_cpu.sh" "$PORT"
for _ in $(seq 1 180); do
  curl -s -o /dev/null -m 2 "http://127.0.0.1:$PORT/health" && break
  sleep 1
done

# One config folder: the target, the model with its tokenizer, both workloads.
CONFIG="$WORK/config"
mkdir -p "$CONFIG"
cat >"$CONFIG/targets.yaml" <<EOF
default: vllm
targets:
  vllm:
    base_url: http://127.0.0.1:$PORT/v1
    api: chat
EOF
cat >"$CONFIG/models.yaml" <<EOF
default: tiny-llama
models:
  tiny-llama:
    max_tokens: 16
    tokenizer: $STATE/tiny-llama-hf/tokenizer.json
EOF
cat >"$CONFIG/workloads.yaml" <<EOF
prompts:
  shared:
    synthetic_tokens: 32
    shared_prefix: { groups: $GROUPS_N, tokens: $PREFIX }
  chat:
    synthetic_tokens: 64
scenarios:
  shared-prefix:
    prompt: shared
    concurrency: 2
    requests: $REQUESTS
  multi-turn:
    prompt: chat
    concurrency: 2
    requests: $((TURNS * 4))
    max_tokens: 32
    ignore_eos: true
    conversation: { turns: $TURNS, user_tokens: 64 }
EOF

# vLLM's prefix-cache counters (tokens queried, tokens hit), summed over labels.
counters() {
  curl -s -m 5 "http://127.0.0.1:$PORT/metrics" | python3 -c '
import re, sys
q = h = 0.0
for line in sys.stdin:
    m = re.match(r"vllm:(?:gpu_)?prefix_cache_(queries|hits)_total(?:\{[^}]*\})? ([0-9.e+]+)", line)
    if m:
        if m.group(1) == "queries": q += float(m.group(2))
        else: h += float(m.group(2))
print(q, h)'
}
# The KV-cache block size: only whole blocks are shared.
block_size() {
  curl -s -m 5 "http://127.0.0.1:$PORT/metrics" \
    | sed -n 's/.*vllm:cache_config_info{.*block_size="\([0-9]*\)".*/\1/p' | head -1
}

echo "== prefix caching $CACHING"
echo "== (a) shared prefixes: $GROUPS_N groups x $PREFIX tokens, $REQUESTS requests"
read -r q0 h0 < <(counters)
nice -n 5 "$BIN" run --config-dir "$CONFIG" --scenario shared-prefix --out "$WORK/shared" >/dev/null
read -r q1 h1 < <(counters)
BLOCK="$(block_size)"
python3 - "$WORK/shared/summary.json" "$q0" "$h0" "$q1" "$h1" "${BLOCK:-16}" "$GROUPS_N" "$PREFIX" "$REQUESTS" "$CACHING" <<'PY'
import json, sys
summary, q0, h0, q1, h1, block, groups, prefix, n, caching = sys.argv[1:]
q, h = float(q1) - float(q0), float(h1) - float(h0)
block, groups, prefix, n = int(block), int(groups), int(prefix), int(n)
m = json.load(open(summary))["scenarios"][0]["metrics"]
prompt = m["prompt_tokens_total"] / max(1, m["requests"]["succeeded"])
# Every request but each group's first finds its group's whole prefix blocks.
expected = (n - groups) / n * (prefix // block * block) / prompt if caching != "off" else 0.0
print(f"server: {q:.0f} prompt tokens looked up, {h:.0f} found in the cache")
print(f"hit rate {h / q if q else float('nan'):.3f}, expected {expected:.3f} "
      f"(block {block}, mean prompt {prompt:.1f} tokens, {m['requests']['succeeded']} ok)")
PY

echo "== (b) multi-turn: 4 conversations x $TURNS turns, 64-token user messages, 32-token answers"
nice -n 5 "$BIN" run --config-dir "$CONFIG" --scenario multi-turn --out "$WORK/turns" >/dev/null
python3 - "$WORK/turns/summary.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["scenarios"][0]["metrics"]
print("turn  ok  failed  input tokens  TTFT mean  p50 (ms)")
for t in m.get("by_turn") or []:
    s = t["ttft_ms"] or {}
    print(f"{t['turn']:>4} {t['succeeded']:>3} {t['failed']:>7} {t['input_tokens_mean'] or 0:>13.0f}"
          f" {s.get('mean', float('nan')):>10.1f} {s.get('p50', float('nan')):>8.1f}")
PY
echo "results: $WORK (shared, turns)"
