#!/usr/bin/env bash
# Does a real prefix-caching server pass its cache off as a regression?
#
# Against vLLM's CPU build (prefix caching on by default) with a tiny local model:
# warm the server with one run, bless 5 trials, restart vLLM (an empty cache),
# compare. Expected: exit 0 (the default salted prompts never hit the cache, so
# both sides are cold), or exit 3 naming the cache state; never exit 1. With
# MODES containing `allow` the same is done with `--prefix-cache allow` (the
# seeded prompts as they are: the blessed run is served from the cache the
# warm-up filled, the restarted server's is empty): expected exit 3, naming both
# hit rates.
#
#   scripts/check_prefix_cache_gate.sh            # both modes
#   MODES=avoid scripts/check_prefix_cache_gate.sh
#
# Env: LLM_BENCH (the binary; default: build target/release/llm-bench),
#      PORT (18120; 18121 if 18120 is taken), REAL_SERVERS_SCRIPTS
#      (/work/shared/real-servers: start_vllm_cpu.sh), REAL_SERVERS_DIR (its
#      venvs, models and logs; default ~/.cache/llm-bench-real-servers), MODES.
# Not in CI: it installs (first time) and runs a real server, minutes of CPU.
# Stops only the vLLM it started, by the PID its start script recorded.
set -euo pipefail
cd "$(dirname "$0")/.."

SCRIPTS="${REAL_SERVERS_SCRIPTS:-/work/shared/real-servers}"
STATE="${REAL_SERVERS_DIR:-$HOME/.cache/llm-bench-real-servers}"
MODES="${MODES:-avoid allow}"
PORT="${PORT:-18120}"
if curl -s -o /dev/null -m 2 "http://127.0.0.1:$PORT/health"; then
  echo "port $PORT is in use (another vLLM?); using $((PORT + 1))"
  PORT=$((PORT + 1))
fi
URL="http://127.0.0.1:$PORT/v1"
BIN="${LLM_BENCH:-}"
if [ -z "$BIN" ]; then
  cargo build --release --locked --bin llm-bench >&2
  BIN="${CARGO_TARGET_DIR:-target}/release/llm-bench"
fi
WORK="$(mktemp -d)"
echo "work folder: $WORK"

start_vllm() {
  "$SCRIPTS/start_vllm_cpu.sh" "$PORT"
}
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

# The issue's workload: 48 requests at concurrency 4, 48 tokens each.
bench() {
  local out="$1"; shift
  LLM_BENCH_BLESSED_BY=check_prefix_cache_gate CI= "$BIN" run --url "$URL" --model tiny-llama \
    --concurrency 4 --requests 48 --max-tokens 48 --ignore-eos --warmup 4 \
    --baseline-dir "$WORK/baselines-$MODE" --out "$WORK/$MODE-$out" "$@"
}

# The prefix-cache hit rate of each trial, from summary.json.
hit_rates() {
  python3 - "$1/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["scenarios"][0]
rates = []
for t in s["trials"]:
    srv = ((t.get("metrics") or t).get("telemetry") or {}).get("server") or {}
    r = srv.get("prefix_cache_hit_rate")
    rates.append("–" if r is None else f"{r:.2f}")
print(" ".join(rates))
PY
}

failed=0
for MODE in $MODES; do
  echo
  echo "=== prompts: --prefix-cache $MODE"
  start_vllm
  bench warm --trials 1 --prefix-cache "$MODE" >/dev/null
  bench bless --trials 5 --bless --reason "check_prefix_cache_gate ($MODE)" --prefix-cache "$MODE" >/dev/null
  echo "blessed trials' prefix-cache hit rates: $(hit_rates "$WORK/$MODE-bless")"
  echo "restarting vLLM (empty cache)"
  stop_vllm
  start_vllm
  set +e
  bench compare --compare --prefix-cache "$MODE" >"$WORK/$MODE-compare.out" 2>&1
  rc=$?
  set -e
  echo "compared trials' prefix-cache hit rates: $(hit_rates "$WORK/$MODE-compare")"
  echo "--- comparison (console)"
  sed -n '1,/^$/p;/server state\|not comparable\|prefix-cache/p' "$WORK/$MODE-compare.out" | head -20
  echo "--- exit code: $rc"
  case "$rc" in
    0|3) echo "OK: never a regression from the cache state" ;;
    *) echo "UNEXPECTED: exit $rc"; failed=1 ;;
  esac
  stop_vllm
done
exit "$failed"
