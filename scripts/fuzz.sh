#!/usr/bin/env bash
# Coverage-guided fuzzing of what llm-bench reads from outside (fuzz/README.md).
# Needs nightly Rust and cargo-fuzz (`cargo install cargo-fuzz`).
#
#   scripts/fuzz.sh [--seconds N | --runs N] [--minimize] [TARGET...]
#
# Each target starts from the committed corpus (fuzz/corpus/TARGET) and writes what
# it finds to fuzz/corpus-work/TARGET (not committed); --minimize merges both into
# fuzz/corpus/TARGET, keeping only inputs that add edge coverage. A failing input is
# saved under fuzz/artifacts/TARGET and fails the script. Default: 20 s per target.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

limit=(-max_total_time=20)
minimize=false
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) limit=(-max_total_time="$2"); shift 2 ;;
    --runs) limit=(-runs="$2"); shift 2 ;;
    --minimize) minimize=true; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(sse_parser h1_framing config_loader baseline_reader)

# No sanitizer: the code is safe Rust (the one `unsafe` block is a `recv` peek), so
# AddressSanitizer would only slow the search; debug assertions catch overflows.
flags=(--sanitizer none --debug-assertions)
cargo +nightly fuzz build "${flags[@]}"
mkdir -p logs
for target in "${targets[@]}"; do
  mkdir -p "corpus-work/$target"
  echo "-- $target (${limit[*]})"
  log="logs/$target.log"
  # -timeout: one input taking this long is a finding; -rss_limit_mb likewise.
  if ! cargo +nightly fuzz run "${flags[@]}" "$target" "corpus-work/$target" "corpus/$target" -- \
    "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "$target: a failing input is in fuzz/artifacts/$target (log: fuzz/$log)" >&2
    exit 1
  fi
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^#[0-9]+ +DONE' "$log" || true
  if $minimize; then
    # Kept: the inputs that add edge coverage (hit counts and value profiles
    # off), so the committed corpus stays small; the working corpus keeps the rest.
    rm -rf "corpus-min/$target" && mkdir -p "corpus-min/$target"
    cargo +nightly fuzz run "${flags[@]}" "$target" "corpus-min/$target" "corpus/$target" \
      "corpus-work/$target" -- -merge=1 -use_counters=0 -use_value_profile=0 >>"$log" 2>&1
    rm -rf "corpus/$target" && mv "corpus-min/$target" "corpus/$target"
    echo "   corpus/$target: $(ls "corpus/$target" | wc -l) inputs after minimizing"
  fi
done
