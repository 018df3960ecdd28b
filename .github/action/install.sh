# The action's first steps (sourced by run.sh): refuse pull requests from forks, then
# get an llm-bench binary.
#
#   guard          before anything is checked out, downloaded or sent: a pull_request or
#                  pull_request_target event whose head repository is not the base
#                  repository stops the job (unless allow-fork-pull-requests); boolean
#                  inputs are normalised; GitHub Enterprise Server is detected
#   install        the `binary` input; else the release asset matching the action's own
#                  ref, checked against the release's SHA256SUMS; else (a branch, a
#                  local `uses: ./`, a ref without a release) plans a source build
#   build-source   `cargo install --locked` from the action's source, unless the cache
#                  step restored the binary built from the same source
# shellcheck shell=bash

# ---- guard --------------------------------------------------------------------------

# A field of the event JSON, or "" (jq on GitHub's runners, else python3).
event_field() { # FILE JQ_PATH
  if command -v jq >/dev/null 2>&1; then
    jq -r "$2 // empty" "$1"
  elif command -v python3 >/dev/null 2>&1; then
    python3 - "$1" "$2" <<'PY'
import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2].lstrip(".").split("."):
    value = value.get(key) if isinstance(value, dict) else None
print(value if isinstance(value, str) else "")
PY
  else
    die "neither jq nor python3 is installed: cannot read the event to tell a pull request from a fork apart; install one of them on the runner"
  fi
}

cmd_guard() {
  local event=${GITHUB_EVENT_NAME:-}
  case "$event" in
    pull_request | pull_request_target)
      local path=${GITHUB_EVENT_PATH:-}
      [[ -n $path && -r $path ]] ||
        die "cannot read the $event event (GITHUB_EVENT_PATH='$path'), so a pull request from a fork cannot be told apart: not running"
      local head base
      head=$(event_field "$path" .pull_request.head.repo.full_name) || die "cannot parse the event file $path"
      base=$(event_field "$path" .pull_request.base.repo.full_name) || die "cannot parse the event file $path"
      [[ -n $base ]] || die "the $event event names no base repository: not running"
      if [[ ${head,,} != "${base,,}" ]]; then
        if truthy allow-fork-pull-requests "${LB_ALLOW_FORKS:-false}"; then
          annotate warning "running on a pull request from ${head:-a deleted fork} into $base because allow-fork-pull-requests is true: its code runs on this runner"
        else
          die "refusing to run on a $event event from ${head:-a deleted fork} into $base: a fork's code would run on this runner, next to its network, caches and credentials. To benchmark it, a maintainer pushes the change to a branch of $base; set allow-fork-pull-requests: true only on a runner that is safe for untrusted code (docs/github-actions.md#securing-a-self-hosted-gpu-runner)"
        fi
      fi
      ;;
  esac

  # Boolean inputs accept true/false, yes/no, 1/0, on/off.
  local upload=false
  truthy upload-artifact "${LB_UPLOAD_ARTIFACT:-true}" && upload=true
  local server=${GITHUB_SERVER_URL:-https://github.com}
  server=${server%/}
  if $upload && [[ $server != https://github.com && $server != *.ghe.com ]]; then
    annotate warning "GitHub Enterprise Server ($server): actions/upload-artifact@v4 does not run there, so this action uploads nothing. Set upload-artifact: false and upload the results folder with actions/upload-artifact@v3 in a step after this one (docs/github-actions.md#github-enterprise-server)"
    upload=false
  fi
  set_output upload "$upload"
}

# ---- install ------------------------------------------------------------------------

# The Rust target triple of a release asset for this machine, or "" when there is none.
release_triple() {
  [[ $(uname -s) == Linux ]] || return 0
  case "$(uname -m)" in
    x86_64 | amd64) echo x86_64-unknown-linux-gnu ;;
    aarch64 | arm64) echo aarch64-unknown-linux-gnu ;;
  esac
}

# The package version in the action's own Cargo.toml.
source_version() {
  sed -n 's/^version = "\([^"]*\)".*/\1/p' "${GITHUB_ACTION_PATH:?}/Cargo.toml" | head -n1
}

# The action's ref and repository: from `github.action_ref`/`github.action_repository`
# (passed in env), else from the folder the runner downloaded it to
# (`…/_actions/OWNER/REPO/REF`); empty for `uses: ./`.
action_ref() {
  if [[ -n ${LB_ACTION_REF:-} ]]; then
    printf '%s' "$LB_ACTION_REF"
  elif [[ ${GITHUB_ACTION_PATH:-} =~ /_actions/[^/]+/[^/]+/(.+)$ ]]; then
    printf '%s' "${BASH_REMATCH[1]}"
  fi
}

action_repository() {
  if [[ -n ${LB_ACTION_REPOSITORY:-} ]]; then
    printf '%s' "$LB_ACTION_REPOSITORY"
  elif [[ ${GITHUB_ACTION_PATH:-} =~ /_actions/([^/]+/[^/]+)/.+$ ]]; then
    printf '%s' "${BASH_REMATCH[1]}"
  fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# GET URL into FILE; prints the HTTP status (000 when nothing answered).
fetch() { # URL FILE
  curl -sSL --proto '=https,http' --retry 3 --retry-delay 2 --connect-timeout 10 --max-time 300 \
    -o "$2" -w '%{http_code}' "$1" || true
}

# Installs release TAG. Returns 0 when installed, 3 when there is no such release (or
# no asset for this machine, or it was built from another commit than COMMIT); stops
# the job when a download fails otherwise or a checksum does not match.
install_release() { # TAG REPOSITORY [COMMIT]
  local tag=$1 repo=$2 commit=${3:-} triple
  triple=$(release_triple)
  if [[ -z $triple ]]; then
    echo "no release binary for $(uname -s) $(uname -m)"
    return 3
  fi
  local base="${GITHUB_SERVER_URL:-https://github.com}"
  base="${base%/}/$repo/releases/download/$tag"
  local name="llm-bench-$tag-$triple"
  local dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/llm-bench-release/$name"
  rm -rf "$dir"
  mkdir -p "$dir"
  local status
  status=$(fetch "$base/SHA256SUMS" "$dir/SHA256SUMS")
  case "$status" in
    200) ;;
    404)
      echo "no release $tag of $repo ($base/SHA256SUMS: 404)"
      return 3
      ;;
    *) die "cannot download $base/SHA256SUMS (HTTP $status); retry the job, or set version: source to build llm-bench from source" ;;
  esac
  local expected
  expected=$(awk -v a="$name.tar.gz" '$2 == a || $2 == "*" a { print $1; exit }' "$dir/SHA256SUMS")
  if [[ -z $expected ]]; then
    echo "release $tag has no $name.tar.gz"
    return 3
  fi
  status=$(fetch "$base/$name.tar.gz" "$dir/$name.tar.gz")
  [[ $status == 200 ]] ||
    die "cannot download $base/$name.tar.gz (HTTP $status); retry the job, or set version: source to build llm-bench from source"
  local actual
  actual=$(sha256_of "$dir/$name.tar.gz")
  if [[ ${actual,,} != "${expected,,}" ]]; then
    rm -f "$dir/$name.tar.gz"
    die "checksum mismatch for $name.tar.gz of release $tag: SHA256SUMS says $expected, the download is $actual. Refusing to install it. Retry the job; if it happens again, the release asset was changed after publishing: report it to $repo, and set version: source to build from source meanwhile"
  fi
  tar -xzf "$dir/$name.tar.gz" -C "$dir"
  local bin="$dir/$name/llm-bench"
  [[ -x $bin ]] || die "$name.tar.gz of release $tag holds no $name/llm-bench"
  if [[ -n $commit ]]; then
    local built_from
    built_from=$(tr -d '[:space:]' <"$dir/$name/COMMIT" 2>/dev/null || true)
    if [[ ${built_from,,} != "${commit,,}" ]]; then
      echo "release $tag was built from ${built_from:-an unknown commit}, not from this action's commit $commit"
      return 3
    fi
  fi
  echo "llm-bench $tag ($triple) from $base, SHA-256 $actual verified"
  "$bin" --version
  set_output bin "$bin"
  set_output source false
}

cmd_install() {
  if [[ -n ${LB_BINARY:-} ]]; then
    [[ -f $LB_BINARY && -x $LB_BINARY ]] || die "input binary: '$LB_BINARY' is not an executable file"
    local bin
    bin="$(cd "$(dirname "$LB_BINARY")" && pwd)/$(basename "$LB_BINARY")"
    "$bin" --version
    set_output bin "$bin"
    set_output source false
    return 0
  fi

  local version=${LB_VERSION:-} ref repo tag="" commit="" why
  ref=$(action_ref)
  repo=$(action_repository)
  case "$version" in
    source) why="version: source" ;;
    v[0-9]*.[0-9]*.[0-9]* | [0-9]*.[0-9]*.[0-9]*) tag="v${version#v}" ;;
    '')
      if [[ $ref =~ ^v[0-9]+(\.[0-9]+){0,2}$ ]]; then
        # A release tag, or a major/minor tag that moves with the releases: the
        # source it points at carries the release's version.
        tag="v$(source_version)"
        [[ ! $ref =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || tag=$ref
      elif [[ $ref =~ ^[0-9a-fA-F]{40}$ ]]; then
        tag="v$(source_version)"
        commit=$ref
      else
        why="the action's ref '${ref:-(local: uses: ./)}' is not a release"
      fi
      ;;
    *) die "input version must be X.Y.Z, vX.Y.Z or source (got '$version')" ;;
  esac
  if [[ -n $tag ]]; then
    if [[ -z $repo ]]; then
      why="the action's repository is unknown"
    else
      local code=0
      install_release "$tag" "$repo" "$commit" || code=$?
      ((code == 0)) && return 0
      ((code == 3)) || exit "$code"
      why="release $tag is not usable here"
    fi
  fi

  # From source, with the binary cached by the next step (actions/cache).
  echo "building llm-bench from source: $why"
  command -v cargo >/dev/null ||
    die "cargo is not installed on this runner and $why: add a Rust setup step before this action, pin the action to a release (OWNER/llm-bench@v1), or pass a prebuilt binary with the 'binary' input"
  local action_path=${GITHUB_ACTION_PATH:?} key
  key=$(cd "$action_path" && find Cargo.toml Cargo.lock src -type f -print0 2>/dev/null | LC_ALL=C sort -z |
    xargs -0 sha256sum | sha256sum | cut -c1-32)
  set_output source true
  set_output root "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/llm-bench-install"
  set_output cache-key "llm-bench-$(uname -s)-$(uname -m)-$key"
}

cmd_build_source() {
  local root=${LB_INSTALL_ROOT:?} bin
  bin="$root/bin/llm-bench"
  if [[ -x $bin ]] && "$bin" --version >/dev/null 2>&1; then
    echo "llm-bench built from this source earlier (restored from the cache): $bin"
  else
    echo "::group::cargo install llm-bench"
    cargo install --locked --path "${GITHUB_ACTION_PATH:?}" --root "$root"
    echo "::endgroup::"
  fi
  "$bin" --version
  set_output bin "$bin"
}
