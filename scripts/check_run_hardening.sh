#!/usr/bin/env bash
# Does a run stay bounded and honest against real servers? (issue #16's checks)
#
# Against llama.cpp's server (no key) and vLLM's CPU build (started with an API
# key), each with a tiny local model, as a user would run llm-bench:
#   1. a plain run: exit 0, every request ok, output tokens as asked, and each
#      row's gaps (itl_ms plus the folded itl_rest) one fewer than its chunks;
#   2. SIGTERM in the middle of a long run: exit 143, summary/report written,
#      run.json says interrupted by SIGTERM, the report does not read 100% done;
#   3. a soft fd limit below the concurrency: raised at start, or refused
#      before any request with the fix (never blamed on the server);
#   4. `--concurrency 1000000000 --requests 2`: refused or capped, never GBs;
#   5. an unknown model, a wrong key and a dead port: the message names the
#      real cause (model / key / connection refused), and the key never shows.
#
#   scripts/check_run_hardening.sh                # both servers
#   SERVERS=llama scripts/check_run_hardening.sh  # one
#
# Env: LLM_BENCH (the binary; default: build target/release/llm-bench),
#      REAL_SERVERS_SCRIPTS (/work/shared/real-servers), REAL_SERVERS_DIR
#      (~/.cache/llm-bench-real-servers), SERVERS ("llama vllm").
# Not in CI: it installs (first time) and runs real servers, minutes of CPU.
# Stops only the servers it started, by the PIDs their start scripts recorded.
set -uo pipefail
cd "$(dirname "$0")/.."

SCRIPTS="${REAL_SERVERS_SCRIPTS:-/work/shared/real-servers}"
STATE="${REAL_SERVERS_DIR:-$HOME/.cache/llm-bench-real-servers}"
SERVERS="${SERVERS:-llama vllm}"
BIN="${LLM_BENCH:-}"
if [ -z "$BIN" ]; then
  cargo build --release --locked --bin llm-bench >&2 || exit 2
  BIN="${CARGO_TARGET_DIR:-target}/release/llm-bench"
fi
WORK="$(mktemp -d)"
echo "work folder: $WORK"
KEY="sk-canary-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
failed=0
started=()

ok() { echo "  ok: $*"; }
bad() { echo "  FAIL: $*"; failed=$((failed + 1)); }

stop_started() {
  for pidfile in "${started[@]}"; do
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    fi
    rm -f "$pidfile"
  done
}
trap stop_started EXIT

# Field checks on a results folder: every row ok, tokens as asked, gaps complete.
rows_check() {
  python3 - "$1" "$2" <<'PY'
import json, sys
out, want = sys.argv[1], int(sys.argv[2])
rows = [json.loads(l) for l in open(f"{out}/requests.jsonl")]
rows = [r for r in rows if not r.get("warmup")]
bad = [r for r in rows if not r["ok"]]
tokens = sorted({r["output_tokens"] for r in rows})
gaps = [(len(r.get("itl_ms") or []) + (r.get("itl_rest") or {}).get("count", 0), r["chunks"]) for r in rows if r["ok"]]
gap_ok = all(g == c - 1 for g, c in gaps)
print(f"    {len(rows)} rows, {len(bad)} failed, output tokens {tokens}, gaps = chunks - 1: {gap_ok}")
sys.exit(0 if not bad and tokens == [want] and gap_ok else 1)
PY
}

# $1 name, $2 base URL, $3 model, $4 key or "".
check_server() {
  local name="$1" url="$2" model="$3" key="$4"
  local env=(env CI= LLM_BENCH_KEY="$key")
  local keyflag=()
  [ -n "$key" ] && keyflag=(--api-key-env LLM_BENCH_KEY)
  echo "== $name ($url)"

  echo "- 1. plain run"
  "${env[@]}" "$BIN" run --url "$url" --model "$model" "${keyflag[@]}" --concurrency 4 \
    --requests 24 --max-tokens 32 --ignore-eos --warmup 2 --out "$WORK/$name-plain" \
    >"$WORK/$name-plain.log" 2>&1
  local rc=$?
  if [ $rc -eq 0 ] && rows_check "$WORK/$name-plain" 32; then ok "exit 0, rows as asked"
  else bad "plain run exit $rc (log $WORK/$name-plain.log)"; fi

  echo "- 2. SIGTERM mid-run"
  "${env[@]}" "$BIN" run --url "$url" --model "$model" "${keyflag[@]}" --concurrency 2 \
    --requests 1000 --max-tokens 32 --ignore-eos --grace 5s --out "$WORK/$name-term" \
    >"$WORK/$name-term.log" 2>&1 &
  local pid=$!
  sleep 6
  kill -TERM "$pid"
  wait "$pid"
  rc=$?
  local interrupted
  interrupted="$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["run"]; print(r.get("interrupted"), r.get("interrupted_by"))' "$WORK/$name-term/run.json" 2>/dev/null)"
  local rows
  rows="$(grep -vc '"warmup":true' "$WORK/$name-term/requests.jsonl" 2>/dev/null)"
  echo "    exit $rc, run.json interrupted: $interrupted, rows: $rows"
  if [ $rc -eq 143 ] && [ -f "$WORK/$name-term/summary.json" ] && [ -f "$WORK/$name-term/report.md" ] \
    && [[ "$interrupted" == True* ]] && grep -qi 'interrupt\|stopped' "$WORK/$name-term/report.md"; then
    ok "exit 143, summary and report written, marked interrupted"
  else bad "SIGTERM (log $WORK/$name-term.log)"; fi

  echo "- 3. soft fd limit 256, concurrency 1024"
  (ulimit -Sn 256; "${env[@]}" "$BIN" run --url "$url" --model "$model" "${keyflag[@]}" \
    --concurrency 1024 --requests 1024 --max-tokens 4 --no-telemetry --out "$WORK/$name-fd" \
    >"$WORK/$name-fd.log" 2>&1)
  rc=$?
  local connect_errors
  connect_errors="$(grep -c '"error_kind":"connect"' "$WORK/$name-fd/requests.jsonl" 2>/dev/null || true)"
  echo "    exit $rc, connect errors: ${connect_errors:-none}; $(grep -i 'file descriptor\|open files' "$WORK/$name-fd.log" | head -1)"
  if { [ $rc -eq 2 ] && grep -qi 'ulimit\|open files\|file descriptor' "$WORK/$name-fd.log"; } \
    || { [ "${connect_errors:-0}" = 0 ] && [ $rc -ne 2 ]; }; then
    ok "the fd limit was raised or the run refused with the fix"
  else bad "fd limit (log $WORK/$name-fd.log)"; fi

  echo "- 4. --concurrency 1000000000 --requests 2"
  /usr/bin/time -f '%M' -o "$WORK/$name-huge.rss" "${env[@]}" "$BIN" run --url "$url" --model "$model" \
    "${keyflag[@]}" --concurrency 1000000000 --requests 2 --max-tokens 4 --no-telemetry \
    --out "$WORK/$name-huge" >"$WORK/$name-huge.log" 2>&1
  rc=$?
  local rss_kb
  rss_kb="$(tail -1 "$WORK/$name-huge.rss")"
  echo "    exit $rc, peak RSS $((rss_kb / 1024)) MiB: $(grep -i concurrency "$WORK/$name-huge.log" | head -1)"
  if [ "$rss_kb" -lt 200000 ] && { [ $rc -eq 2 ] || [ $rc -eq 0 ]; }; then ok "bounded"
  else bad "huge concurrency (log $WORK/$name-huge.log)"; fi

  echo "- 5. unknown model"
  "${env[@]}" "$BIN" run --url "$url" --model no-such-model "${keyflag[@]}" --concurrency 1 \
    --requests 2 --max-tokens 4 --no-telemetry --out "$WORK/$name-model" >"$WORK/$name-model.log" 2>&1
  rc=$?
  echo "    exit $rc: $(grep -i 'model' "$WORK/$name-model.log" | grep -vi '^ *▶' | head -2 | tr '\n' ' ')"
  if grep -qi 'model' "$WORK/$name-model.log" && ! grep -q 'should end in /v1' "$WORK/$name-model.log"; then
    ok "names the model, no /v1 hint"
  else bad "unknown model message (log $WORK/$name-model.log)"; fi
}

# Checks that need the key: a wrong key is called a key problem, and no key shows anywhere.
check_keys() {
  local url="$1" model="$2"
  echo "- 6. wrong key"
  env CI= LLM_BENCH_KEY="$KEY-wrong" "$BIN" run --url "$url" --model "$model" \
    --api-key-env LLM_BENCH_KEY --concurrency 1 --requests 2 --max-tokens 4 --no-telemetry \
    --out "$WORK/wrong-key" >"$WORK/wrong-key.log" 2>&1
  local rc=$?
  echo "    exit $rc: $(grep -i 'key\|401' "$WORK/wrong-key.log" | head -2 | tr '\n' ' ')"
  if grep -qi 'key' "$WORK/wrong-key.log" && ! grep -q 'pass `--model`' "$WORK/wrong-key.log"; then
    ok "says to check the key"
  else bad "wrong key message (log $WORK/wrong-key.log)"; fi
  echo "- 7. the key in no output"
  if grep -rl "$KEY" "$WORK" --exclude='*.sh' 2>/dev/null | grep -q .; then
    bad "key found in: $(grep -rl "$KEY" "$WORK" | tr '\n' ' ')"
  else ok "no trace of the key in $(find "$WORK" -type f | wc -l) files"; fi
}

for server in $SERVERS; do
  case "$server" in
    llama)
      if ! curl -s -o /dev/null -m 2 http://127.0.0.1:18102/health; then
        "$SCRIPTS/start_llama_server.sh" 18102 >/dev/null && started+=("$STATE/logs/llama_server_18102.pid")
      fi
      check_server llama http://127.0.0.1:18102/v1 tiny-llama ""
      stop_started; started=()
      ;;
    vllm)
      if curl -s -o /dev/null -m 2 http://127.0.0.1:18120/health; then
        echo "vLLM already runs on 18120 (not started here, maybe without a key): stop it first"; failed=$((failed + 1)); continue
      fi
      EXTRA_ARGS="--api-key $KEY" "$SCRIPTS/start_vllm_cpu.sh" 18120 >/dev/null && started+=("$STATE/logs/vllm_18120.pid")
      check_server vllm http://127.0.0.1:18120/v1 tiny-llama "$KEY"
      check_keys http://127.0.0.1:18120/v1 tiny-llama
      stop_started; started=()
      ;;
  esac
done

echo "- 8. a dead port"
env CI= "$BIN" run --url http://127.0.0.1:9/v1 --model m --concurrency 1 --requests 1 --no-telemetry \
  --out "$WORK/dead" >"$WORK/dead.log" 2>&1
echo "    exit $?: $(grep -i 'refused\|running' "$WORK/dead.log" | head -1)"
if grep -qi 'refused' "$WORK/dead.log" && ! grep -q 'pass `--model`' "$WORK/dead.log"; then ok "connection refused, is the server running"
else bad "dead port message (log $WORK/dead.log)"; fi

echo
if [ $failed -eq 0 ]; then echo "all checks passed"; else echo "$failed check(s) failed"; fi
exit $((failed > 0))
