# Helpers shared by the steps of the llm-bench composite action (sourced by run.sh).
# shellcheck shell=bash

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

