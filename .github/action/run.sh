#!/usr/bin/env bash
# The steps of the llm-bench composite action (action.yml), one subcommand each:
#
#   run.sh install   build llm-bench from the action's source, or check a prebuilt binary
#   run.sh bench     run and compare each target (on pull requests: against the base
#                    branch's baselines), or bless
#   run.sh publish   `llm-bench comment` for each results folder: sticky PR comment, job
#                    summary, annotations; then the action's aggregated step outputs
#   run.sh gate      fail the job on a regression (or, with strict, not comparable)
#
# Inputs arrive as LB_* environment variables set in action.yml's `env:` and are only
# ever used as data (quoted arguments), never evaluated: no `${{ }}` in any script, so a
# branch name or input cannot inject code. Keeping the steps here, not inline in YAML,
# lets tests/github.rs run them with a fake GITHUB_* environment.
set -euo pipefail

# ---- helpers ------------------------------------------------------------------------

# An annotation; `%`, CR and LF escaped as the runner expects.
annotate() { # LEVEL MESSAGE
  local msg=${2//'%'/'%25'}
  msg=${msg//$'\r'/'%0D'}
  msg=${msg//$'\n'/'%0A'}
  # stderr: the runner reads workflow commands from both streams, and stdout may be
  # captured by a $(…) that called this.
  printf '::%s title=llm-bench::%s\n' "$1" "$msg" >&2
}

die() {
  annotate error "$*"
  exit 1
}

# `true`/`false` inputs; anything else is a mistake worth stopping for.
truthy() { # NAME VALUE
  case "${2,,}" in
    true | yes | 1 | on) return 0 ;;
    false | no | 0 | off | '') return 1 ;;
    *) die "input $1 must be true or false (got '$2')" ;;
  esac
}

# A step output; values with line breaks use the heredoc form.
set_output() { # KEY VALUE
  local file=${GITHUB_OUTPUT:-/dev/null}
  if [[ $2 == *$'\n'* ]]; then
    local delim="LLM_BENCH_EOF_$RANDOM$RANDOM"
    printf '%s<<%s\n%s\n%s\n' "$1" "$delim" "$2" "$delim" >>"$file"
  else
    printf '%s=%s\n' "$1" "$2" >>"$file"
  fi
}

# Splits a space- or comma-separated input into the array named by $1.
# shellcheck disable=SC2034 # `into` is a nameref: the caller's array is filled
split_list() { # ARRAY_NAME VALUE
  local -n into=$1
  local text=${2//,/ }
  read -r -a into <<<"$text" || true
}

# A repository-relative path without a leading ./ (baselines are read from git).
repo_path() { # NAME VALUE
  local p=${2#./}
  p=${p%/}
  [[ -n $p && $p != /* && $p != ..* && $p != *"/../"* ]] ||
    die "input $1 must be a path inside the repository (got '$2')"
  printf '%s' "$p"
}

# Extracts folder DIR as it is at commit SHA into a scratch folder; prints its path.
base_baselines() { # SHA DIR
  local sha=$1 dir=$2
  local dest="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/llm-bench-base-baselines"
  if ! git cat-file -e "$sha^{commit}" 2>/dev/null; then
    git fetch --no-tags --depth=1 origin "$sha" >&2 ||
      die "cannot fetch the pull request's base commit $sha: check the repository out with actions/checkout first"
  fi
  rm -rf "$dest"
  mkdir -p "$dest/$dir"
  if [[ -n $(git ls-tree -d "$sha" -- "$dir") ]]; then
    git archive --format=tar "$sha" -- "$dir" | tar -x -C "$dest"
  fi
  printf '%s' "$dest/$dir"
}

# ---- install ------------------------------------------------------------------------

cmd_install() {
  local bin
  if [[ -n ${LB_BINARY:-} ]]; then
    [[ -f $LB_BINARY && -x $LB_BINARY ]] || die "input binary: '$LB_BINARY' is not an executable file"
    bin="$(cd "$(dirname "$LB_BINARY")" && pwd)/$(basename "$LB_BINARY")"
  else
    command -v cargo >/dev/null ||
      die "cargo is not installed on this runner: add a Rust setup step (e.g. dtolnay/rust-toolchain@stable) before this action, or pass a prebuilt binary with the 'binary' input"
    local root="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/llm-bench-install"
    echo "::group::cargo install llm-bench"
    cargo install --locked --path "${GITHUB_ACTION_PATH:?}" --root "$root"
    echo "::endgroup::"
    bin="$root/bin/llm-bench"
  fi
  "$bin" --version
  set_output bin "$bin"
}

# ---- bench --------------------------------------------------------------------------

cmd_bench() {
  local bin=${LB_BIN:-llm-bench}
  local config_dir=${LB_CONFIG_DIR:-configs}
  local results=${LB_RESULTS_DIR:-llm-bench-results}
  local baselines
  baselines=$(repo_path baseline-dir "${LB_BASELINE_DIR:-baselines}")
  local bless=false
  truthy bless "${LB_BLESS:-false}" && bless=true
  local -a targets workloads extra args
  split_list targets "${LB_TARGETS:-}"
  split_list workloads "${LB_WORKLOADS:-}"
  split_list extra "${LB_RUN_ARGS:-}"

  args=(--config-dir "$config_dir")
  local w
  for w in "${workloads[@]+"${workloads[@]}"}"; do
    args+=(--scenario "$w")
  done

  local changed=""
  if $bless; then
    [[ -z ${LB_BASE_SHA:-} ]] ||
      die "bless is refused on pull requests: a pull request must not bless its own numbers. Run the bless workflow (workflow_dispatch) instead; it opens a pull request with the new baselines"
    [[ -n ${LB_BLESS_REASON:-} ]] || die "bless needs bless-reason: say why the numbers change (it is stored in the baselines)"
    export LLM_BENCH_BLESSED_BY="${LLM_BENCH_BLESSED_BY:-${LB_BLESSED_BY:-}}"
    args+=(--compare --baseline-dir "$baselines" --bless --reason "$LB_BLESS_REASON" --allow-ci-bless)
  else
    local compare_dir=$baselines
    if [[ -n ${LB_BASE_SHA:-} ]]; then
      # A pull request is judged by the base branch's baselines, never its own.
      compare_dir=$(base_baselines "$LB_BASE_SHA" "$baselines")
      changed=$(git diff --name-only "$LB_BASE_SHA" HEAD -- "$baselines" || true)
      echo "comparing against $baselines as of the base commit $LB_BASE_SHA"
      if [[ -n $changed ]]; then
        annotate warning "this pull request changes $baselines/; the comparison uses the base branch's baselines: $(echo "$changed" | paste -sd ' ' -)"
      fi
    fi
    args+=(--compare --baseline-dir "$compare_dir")
    if truthy strict "${LB_STRICT:-false}"; then
      args+=(--strict)
    fi
  fi

  if ((${#targets[@]} == 0)); then
    targets=("")
  fi
  local runs="" t dir code
  for t in "${targets[@]}"; do
    dir=$results
    if ((${#targets[@]} > 1)); then
      dir="$results/$t"
    fi
    local -a target_args=()
    [[ -z $t ]] || target_args=(--target "$t")
    echo "::group::llm-bench run ${t:-(default target)}"
    set +e
    "$bin" run "${args[@]}" "${target_args[@]+"${target_args[@]}"}" --out "$dir" "${extra[@]+"${extra[@]}"}"
    code=$?
    set -e
    echo "::endgroup::"
    echo "llm-bench run ${t:-(default target)}: exit code $code ($dir)"
    runs+="$code $dir"$'\n'
  done

  set_output results-dir "$results"
  set_output runs "${runs%$'\n'}"
  set_output baselines-changed "$changed"
}

# ---- publish ------------------------------------------------------------------------

# Worst first: the aggregated verdict is the worst of the targets'.
rank() {
  case "$1" in
    error) echo 5 ;; regression) echo 4 ;; not-comparable) echo 3 ;; unknown) echo 2 ;; pass) echo 1 ;; *) echo 0 ;;
  esac
}

cmd_publish() {
  local bin=${LB_BIN:-llm-bench}
  local key=${LB_COMMENT_KEY:-default}
  local -a common=()
  truthy comment "${LB_COMMENT:-true}" || common+=(--dry-run)
  [[ -z ${LB_ARTIFACT_URL:-} ]] || common+=(--artifact-url "$LB_ARTIFACT_URL")
  if [[ -n ${LB_BASELINES_CHANGED:-} ]]; then
    local files
    # shellcheck disable=SC2016 # the backticks are Markdown, not a command
    files=$(printf '%s\n' "$LB_BASELINES_CHANGED" | sed 's/.*/`&`/' | paste -sd ',' - | sed 's/,/, /g')
    common+=(--note "This pull request changes \`${LB_BASELINE_DIR:-baselines}/\` ($files). The comparison below uses the baselines of the base branch, so a pull request cannot bless its own numbers; review the new baselines separately.")
  fi

  local -a lines
  mapfile -t lines <<<"${LB_RUNS:-}"
  local count=0 line
  for line in "${lines[@]}"; do
    [[ -n $line ]] && count=$((count + 1))
  done

  local verdict=none regressions=0 reports="" urls="" scratch
  scratch=$(mktemp -d)
  for line in "${lines[@]}"; do
    [[ -n $line ]] || continue
    local code=${line%% *} dir=${line#* }
    local this_key=$key
    ((count == 1)) || this_key="$key-$(basename "$dir")"
    local v=unknown n=0 report="" url=""
    if [[ -f $dir/comparison.md || -f $dir/report.md ]]; then
      : >"$scratch/out"
      GITHUB_OUTPUT="$scratch/out" "$bin" comment "$dir" --key "$this_key" "${common[@]+"${common[@]}"}" ||
        annotate warning "llm-bench comment failed for $dir"
      v=$(sed -n 's/^verdict=//p' "$scratch/out" | tail -n1)
      n=$(sed -n 's/^regressions=//p' "$scratch/out" | tail -n1)
      report=$(sed -n 's/^report=//p' "$scratch/out" | tail -n1)
      url=$(sed -n 's/^comment-url=//p' "$scratch/out" | tail -n1)
    fi
    case "$code" in
      0 | 1 | 3) ;;
      *)
        v=error
        annotate error "llm-bench run failed for $dir (exit code $code); see the 'llm-bench run' log group"
        ;;
    esac
    v=${v:-unknown}
    if (($(rank "$v") > $(rank "$verdict"))); then
      verdict=$v
    fi
    regressions=$((regressions + ${n:-0}))
    [[ -z $report ]] || reports+="$report"$'\n'
    [[ -z $url ]] || urls+="$url"$'\n'
  done
  rm -rf "$scratch"

  echo "verdict: $verdict, regressions: $regressions"
  set_output verdict "$verdict"
  set_output regressions "$regressions"
  set_output results-dir "${LB_RESULTS_DIR:-}"
  set_output report "${reports%$'\n'}"
  set_output comment-url "${urls%$'\n'}"
}

# ---- gate ---------------------------------------------------------------------------

cmd_gate() {
  local verdict=${LB_VERDICT:-}
  local bless=false
  truthy bless "${LB_BLESS:-false}" && bless=true
  case "$verdict" in
    error | '')
      die "the benchmark did not finish (verdict '${verdict:-missing}'); see the 'llm-bench run' log group"
      ;;
    regression)
      if $bless; then
        echo "regressions were blessed into the new baselines (${LB_REGRESSIONS:-?}); review them in the bless pull request"
      elif truthy fail-on-regression "${LB_FAIL_ON_REGRESSION:-true}"; then
        die "${LB_REGRESSIONS:-?} regression(s): see the job summary or the pull-request comment. If the change is intended, bless new baselines (docs/github-actions.md)"
      else
        annotate warning "${LB_REGRESSIONS:-?} regression(s), not failing (fail-on-regression: false)"
      fi
      ;;
    not-comparable)
      if truthy strict "${LB_STRICT:-false}" && ! $bless; then
        die "a scenario is not comparable with its baseline or has none (strict: true); bless new baselines if the change is intended"
      fi
      ;;
  esac
  echo "llm-bench gate: $verdict"
}

case "${1:-}" in
  install) cmd_install ;;
  bench) cmd_bench ;;
  publish) cmd_publish ;;
  gate) cmd_gate ;;
  *)
    echo "usage: $0 install|bench|publish|gate" >&2
    exit 2
    ;;
esac
