#!/usr/bin/env bash
# Audits the workflows and action.yml with zizmor (GitHub Actions security: unpinned
# actions, credentials left in checkouts, script injection, excessive permissions, ...);
# exits non-zero on any finding. Uses `zizmor` from PATH, else installs the pinned
# version from PyPI. Exceptions live in .github/zizmor.yml, each with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."

version=1.33.1
# shellcheck source=scripts/lib/pip-tool.sh
source scripts/lib/pip-tool.sh

if ! bin=$(find_pip_tool zizmor); then
  pip_install_tool "zizmor==$version"
  bin=$(find_pip_tool zizmor) || { echo "zizmor: the install did not provide the command" >&2; exit 1; }
fi
echo "$("$bin" --version) on .github/workflows and action.yml"
# --offline: the audits that ask GitHub's API need a token and the network.
exec "$bin" --offline --no-progress .
