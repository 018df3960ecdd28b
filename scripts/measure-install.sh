#!/usr/bin/env bash
# Measures the action's set-up with a release binary, as a runner without Rust would
# see it: the guard step, then the install step (download the archive and SHA256SUMS,
# verify, unpack, start `llm-bench --version`), against a release served on loopback
# in GitHub's layout (OWNER/REPO/releases/download/TAG/ASSET). Prints each part and
# the total, the median of RUNS runs. Not in CI: it needs a release build.
#
#   scripts/measure-install.sh [BINARY] [RUNS]
#
# BINARY defaults to the glibc 2.17 build that release.yml makes:
#   cargo zigbuild --release --locked --target x86_64-unknown-linux-gnu.2.17
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release/llm-bench}
runs=${2:-5}
[[ -x $bin ]] || { echo "no binary at $bin; build it first (see the header)" >&2; exit 2; }
version=$(sed -n 's/^version = "\([^"]*\)".*/\1/p' Cargo.toml | head -n1)
tag="v$version"
triple=x86_64-unknown-linux-gnu
name="llm-bench-$tag-$triple"

work=$(mktemp -d)
server_pid=""
cleanup() {
  [[ -z $server_pid ]] || kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The release, packed as release.yml packs it.
dl="$work/srv/acme/llm-bench/releases/download/$tag"
mkdir -p "$dl" "$work/pack/$name"
cp "$bin" "$work/pack/$name/llm-bench"
cp README.md "$work/pack/$name/"
git rev-parse HEAD >"$work/pack/$name/COMMIT"
tar -czf "$dl/$name.tar.gz" -C "$work/pack" "$name"
(cd "$dl" && sha256sum "$name.tar.gz" >SHA256SUMS)
size=$(stat -c %s "$dl/$name.tar.gz")

# The action as the runner downloads it.
action="$work/_actions/acme/llm-bench/v1"
mkdir -p "$action/.github"
cp -r .github/action "$action/.github/"
cp Cargo.toml "$action/"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/srv" >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 1 50); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break
  sleep 0.1
done

now() { date +%s.%N; }
ms() { python3 -c "import sys; print(f'{(float(sys.argv[2]) - float(sys.argv[1])) * 1000:.0f}')" "$1" "$2"; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

: >"$work/total" && : >"$work/download" && : >"$work/verify" && : >"$work/start" && : >"$work/guard"
for _ in $(seq 1 "$runs"); do
  rm -rf "$work/runner-temp" && mkdir -p "$work/runner-temp"
  env=(GITHUB_SERVER_URL="http://127.0.0.1:$port" GITHUB_ACTION_PATH="$action"
    RUNNER_TEMP="$work/runner-temp" GITHUB_OUTPUT="$work/out" GITHUB_EVENT_NAME=push
    LB_ACTION_REF=v1 LB_ACTION_REPOSITORY=acme/llm-bench)
  t0=$(now)
  env "${env[@]}" bash "$action/.github/action/run.sh" guard >/dev/null 2>&1
  t1=$(now)
  env "${env[@]}" bash "$action/.github/action/run.sh" install >"$work/log" 2>&1 ||
    { cat "$work/log"; exit 1; }
  t2=$(now)
  ms "$t0" "$t1" >>"$work/guard"
  ms "$t0" "$t2" >>"$work/total"

  # The same parts one by one, for the table.
  rm -rf "$work/parts" && mkdir -p "$work/parts"
  a=$(now)
  curl -fsSL -o "$work/parts/SHA256SUMS" "http://127.0.0.1:$port/acme/llm-bench/releases/download/$tag/SHA256SUMS"
  curl -fsSL -o "$work/parts/$name.tar.gz" "http://127.0.0.1:$port/acme/llm-bench/releases/download/$tag/$name.tar.gz"
  b=$(now)
  (cd "$work/parts" && sha256sum -c --quiet SHA256SUMS && tar -xzf "$name.tar.gz")
  c=$(now)
  "$work/parts/$name/llm-bench" --version >/dev/null
  d=$(now)
  ms "$a" "$b" >>"$work/download"
  ms "$b" "$c" >>"$work/verify"
  ms "$c" "$d" >>"$work/start"
done

echo "archive: $name.tar.gz, $(python3 -c "print(f'{$size / 1e6:.1f}')") MB; binary $(python3 -c "print(f'{$(stat -c %s "$bin") / 1e6:.1f}')") MB"
echo "median of $runs runs (ms): guard $(median <"$work/guard") · download $(median <"$work/download") · verify+unpack $(median <"$work/verify") · start $(median <"$work/start") · guard+install step $(median <"$work/total")"
