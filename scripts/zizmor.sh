#!/usr/bin/env bash
# Audits the workflows and action.yml with zizmor (GitHub Actions security: unpinned
# actions, credentials left in checkouts, script injection, excessive permissions, ...);
# exits non-zero on any finding. Uses `zizmor` from PATH, else installs the pinned
# version from PyPI. Exceptions live in .github/zizmor.yml, each with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."

version=1.33.1
find_zizmor() {
  command -v zizmor 2>/dev/null && return 0
  local dir
  for dir in "$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null)" \
    "$(python3 -m site --user-base 2>/dev/null)/bin"; do
    [[ -x $dir/zizmor ]] && { echo "$dir/zizmor"; return 0; }
  done
  return 1
}

if ! bin=$(find_zizmor); then
  echo "zizmor not found: pip install zizmor==$version" >&2
  timeout 300 python3 -m pip install --quiet --disable-pip-version-check "zizmor==$version" >&2
  bin=$(find_zizmor) || { echo "zizmor: the install did not provide the command" >&2; exit 1; }
fi
echo "$("$bin" --version) on .github/workflows and action.yml"
# --offline: the audits that ask GitHub's API need a token and the network.
exec "$bin" --offline --no-progress .
