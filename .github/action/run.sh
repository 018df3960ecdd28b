#!/usr/bin/env bash
# The steps of the llm-bench composite action (action.yml), one subcommand each:
#
#   run.sh guard         refuse a fork's pull request; normalise inputs (install.sh)
#   run.sh install       the release binary for the action's ref, or plan a source build
#   run.sh build-source  cargo install from the action's source (cached)
#   run.sh bench         run and compare each target (on pull requests and merge queues:
#                        against the base commit's baselines), or bless; with
#                        merge-from, merge the shards' folders there and compare that
#   run.sh publish       `llm-bench comment` for each results folder: sticky PR comment,
#                        job summary, annotations; a failed run is published as failed;
#                        then the action's aggregated step outputs
#   run.sh gate          fail the job on a regression (or, with strict, not comparable)
#
# Inputs arrive as LB_* environment variables set in action.yml's `env:` and are only
# ever used as data (quoted arguments), never evaluated: no `${{ }}` in any script, so a
# branch name or input cannot inject code. Keeping the steps here, not inline in YAML,
# lets the tests run them with a fake GITHUB_* environment.
set -euo pipefail

here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=.github/action/lib.sh
source "$here/lib.sh"
# shellcheck source=.github/action/install.sh
source "$here/install.sh"

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

# Empties the results folder the action owns; refuses a folder git tracks.
clean_results() { # DIR
  local dir=$1
  [[ -e $dir ]] || return 0
  [[ $dir != . && $dir != .. && $dir != / ]] || die "input results-dir must be a folder of its own (got '$dir')"
  if git rev-parse --git-dir >/dev/null 2>&1 && [[ -n $(git ls-files -- "$dir" | head -n1) ]]; then
    die "input results-dir '$dir' holds files tracked by git; the action empties it before each run, so give it a folder of its own (e.g. llm-bench-results)"
  fi
  rm -rf -- "$dir"
}

# Runs CMD with its stderr shown and also written to LOG, and sets the caller's
# `code` to CMD's exit status; the caller turns `set -e` off around it. A pipeline
# rather than `2> >(tee LOG)`: the shell waits for every part of a pipeline, so LOG
# is whole when `first_error` reads it. With the process substitution, under load
# the step's `errors` output sometimes lost the line naming the file and field.
run_logged() { # LOG CMD...
  local log=$1
  shift
  { "$@" 2>&1 1>&3 3>&- | tee "$log" >&2 3>&-; code=${PIPESTATUS[0]}; } 3>&1
}

# The first error line a run printed (its message, without the `error: ` prefix), else
# its last line.
first_error() { # LOG
  local line
  line=$(grep -m1 '^error: ' "$1" 2>/dev/null || true)
  [[ -n $line ]] || line=$(grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n1 || true)
  line=${line#error: }
  printf '%s' "${line//$'\r'/}"
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

  local changed="" compare_dir=$baselines
  if $bless; then
    [[ -z ${LB_BASE_SHA:-} ]] ||
      die "bless is refused on pull requests and merge queues: a change must not bless its own numbers. Run the bless workflow (workflow_dispatch) instead; it opens a pull request with the new baselines"
    [[ -n ${LB_BLESS_REASON:-} ]] || die "bless needs bless-reason: say why the numbers change (it is stored in the baselines)"
    export LLM_BENCH_BLESSED_BY="${LLM_BENCH_BLESSED_BY:-${LB_BLESSED_BY:-}}"
    args+=(--compare --baseline-dir "$baselines" --bless --reason "$LB_BLESS_REASON" --allow-ci-bless)
    if truthy bless-append "${LB_BLESS_APPEND:-false}"; then
      args+=(--append)
    fi
  else
    if [[ -n ${LB_BASE_SHA:-} ]]; then
      # A pull request (or a merge queue's group) is judged by the base commit's
      # baselines, never by its own working tree.
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

  if [[ -n ${LB_MERGE_FROM:-} ]]; then
    if $bless; then
      die "merge-from does not bless: bless the merged folder with \`llm-bench bless --from\` in the bless workflow"
    fi
    local -a gate_args=(--baseline-dir "$compare_dir")
    if truthy strict "${LB_STRICT:-false}"; then
      gate_args+=(--strict)
    fi
    clean_results "$results"
    merge_and_compare "$bin" "$LB_MERGE_FROM" "$results" "${gate_args[@]}"
    set_output baselines-changed "$changed"
    if [[ ${compare_dir:-$baselines} != "$baselines" ]]; then
      set_output path-alias "$compare_dir=$baselines"
    fi
    return 0
  fi

  if ((${#targets[@]} == 0)); then
    targets=("")
  fi
  # A fresh results folder: nothing an earlier run left there (comparison.*, candidate
  # baselines) may be published or blessed as this run's.
  clean_results "$results"
  local logs="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/llm-bench-logs"
  rm -rf "$logs"
  mkdir -p "$logs"

  local runs="" errors="" t dir code n=0
  for t in "${targets[@]}"; do
    n=$((n + 1))
    dir=$results
    if ((${#targets[@]} > 1)); then
      dir="$results/$t"
    fi
    local -a target_args=()
    [[ -z $t ]] || target_args=(--target "$t")
    echo "::group::llm-bench run ${t:-(default target)}"
    set +e
    run_logged "$logs/$n.log" \
      "$bin" run "${args[@]}" "${target_args[@]+"${target_args[@]}"}" --out "$dir" "${extra[@]+"${extra[@]}"}"
    set -e
    echo "::endgroup::"
    echo "llm-bench run ${t:-(default target)}: exit code $code ($dir)"
    runs+="$code $dir"$'\n'
    errors+="$(first_error "$logs/$n.log")"$'\n'
  done

  set_output results-dir "$results"
  set_output runs "${runs%$'\n'}"
  set_output errors "${errors%$'\n'}"
  set_output baselines-changed "$changed"
  # The scratch copy of the base commit's baselines is shown under the input's name.
  if [[ ${compare_dir:-$baselines} != "$baselines" ]]; then
    set_output path-alias "$compare_dir=$baselines"
  fi
}

# merge-from: every results folder under FROM (each shard's artifact) merged into OUT
# with `llm-bench merge`, then OUT judged by `llm-bench compare COMPARE_ARGS`; the
# outputs are a run's, so publish and gate treat OUT as one.
merge_and_compare() { # BIN FROM OUT COMPARE_ARGS...
  local bin=$1 from=$2 out=$3
  shift 3
  local -a compare_args=("$@") dirs=()
  [[ -d $from ]] || die "input merge-from '$from' is not a folder: download the shards' artifacts there first (actions/download-artifact with a pattern)"
  mapfile -t dirs < <(find "$from" -mindepth 1 -maxdepth 3 -name run.json -printf '%h\n' | LC_ALL=C sort)
  ((${#dirs[@]} > 0)) || die "input merge-from '$from' holds no results folder (no run.json): did the shard jobs upload their results?"
  local logs="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/llm-bench-logs" code
  rm -rf "$logs"
  mkdir -p "$logs"
  echo "::group::llm-bench merge (${#dirs[@]} folders)"
  set +e
  run_logged "$logs/merge.log" "$bin" merge "$out" "${dirs[@]}"
  if ((code == 0)); then
    run_logged "$logs/merge.log" "$bin" compare "${compare_args[@]+"${compare_args[@]}"}" "$out"
  fi
  set -e
  echo "::endgroup::"
  echo "llm-bench merge and compare: exit code $code ($out)"
  set_output results-dir "$out"
  set_output runs "$code $out"
  set_output errors "$(first_error "$logs/merge.log")"
}

# ---- publish ------------------------------------------------------------------------

# Worst first: the aggregated verdict is the worst of the targets'.
rank() {
  case "$1" in
    error) echo 6 ;; regression) echo 5 ;; not-comparable) echo 4 ;; unknown) echo 3 ;; new) echo 2 ;; pass) echo 1 ;; *) echo 0 ;;
  esac
}

cmd_publish() {
  local bin=${LB_BIN:-llm-bench}
  local key=${LB_COMMENT_KEY:-default}
  local -a common=()
  truthy comment "${LB_COMMENT:-true}" || common+=(--dry-run)
  [[ -z ${LB_ARTIFACT_URL:-} ]] || common+=(--artifact-url "$LB_ARTIFACT_URL")
  [[ -z ${LB_PATH_ALIAS:-} ]] || common+=(--path-alias "$LB_PATH_ALIAS")
  [[ -z ${LB_COMMENT_AUTHOR:-} ]] || common+=(--author "$LB_COMMENT_AUTHOR")
  [[ -z ${LB_BLESS_WORKFLOW:-} ]] || common+=(--bless-workflow "$LB_BLESS_WORKFLOW")
  if [[ -n ${LB_BASELINES_CHANGED:-} ]]; then
    local files
    # shellcheck disable=SC2016 # the backticks are Markdown, not a command
    files=$(printf '%s\n' "$LB_BASELINES_CHANGED" | sed 's/.*/`&`/' | paste -sd ',' - | sed 's/,/, /g')
    common+=(--note "This pull request changes \`${LB_BASELINE_DIR:-baselines}/\` ($files). The comparison below uses the baselines of the base branch, so a pull request cannot bless its own numbers; review the new baselines separately.")
  fi

  local -a lines errors
  mapfile -t lines <<<"${LB_RUNS:-}"
  mapfile -t errors <<<"${LB_ERRORS:-}"
  local count=0 line
  for line in "${lines[@]}"; do
    [[ -n $line ]] && count=$((count + 1))
  done

  local verdict=none regressions=0 reports="" urls="" scratch
  scratch=$(mktemp -d)
  local i=-1
  for line in "${lines[@]}"; do
    i=$((i + 1))
    [[ -n $line ]] || continue
    local code=${line%% *} dir=${line#* }
    local this_key=$key
    ((count == 1)) || this_key="$key-$(basename "$dir")"
    local v=unknown n=0 report="" url=""
    local -a this=()
    case "$code" in
      0 | 1 | 3) ;;
      *)
        # Published as failed for this commit, never the report of an earlier run.
        this=(--run-failed "$code" --error "${errors[i]:-}")
        annotate error "llm-bench run failed for $dir (exit code $code): ${errors[i]:-see the 'llm-bench run' log group}"
        ;;
    esac
    if ((${#this[@]} > 0)) || [[ -f $dir/comparison.md || -f $dir/report.md ]]; then
      : >"$scratch/out"
      GITHUB_OUTPUT="$scratch/out" "$bin" comment "$dir" --key "$this_key" \
        "${this[@]+"${this[@]}"}" "${common[@]+"${common[@]}"}" ||
        annotate warning "llm-bench comment failed for $dir"
      v=$(sed -n 's/^verdict=//p' "$scratch/out" | tail -n1)
      n=$(sed -n 's/^regressions=//p' "$scratch/out" | tail -n1)
      report=$(sed -n 's/^report=//p' "$scratch/out" | tail -n1)
      url=$(sed -n 's/^comment-url=//p' "$scratch/out" | tail -n1)
    fi
    ((${#this[@]} == 0)) || v=error
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
    new)
      echo "no scenario had a baseline, so nothing was compared; bless baselines to start gating"
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
  guard) cmd_guard ;;
  install) cmd_install ;;
  build-source) cmd_build_source ;;
  bench) cmd_bench ;;
  publish) cmd_publish ;;
  gate) cmd_gate ;;
  *)
    echo "usage: $0 guard|install|build-source|bench|publish|gate" >&2
    exit 2
    ;;
esac
