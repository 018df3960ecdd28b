#!/usr/bin/env bash
# Opens a report.html in headless Chromium, as a person downloading the CI artifact
# would, and checks that it loaded without script errors or failed loads, that
# every chart is a drawn, non-empty SVG, and saves a screenshot.
#
# Usage: scripts/check-html.sh REPORT.html OUT.png
# Installs Debian's chromium (and a font) with apt-get when missing.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 REPORT.html OUT.png" >&2
  exit 2
fi
report=$(realpath "$1")
shot=$(realpath -m "$2")
[ -f "$report" ] || { echo "check-html: $report does not exist" >&2; exit 2; }

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "check-html: installing chromium (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  browser=$(command -v chromium)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking
  --disable-component-update --disable-sync --disable-quic --hide-scrollbars
  --enable-logging=stderr --v=0 --virtual-time-budget=5000)

# The DOM after the load event: the page records script errors and how many
# charts have a size and content in attributes of <html>.
timeout 120 "$browser" "${flags[@]}" --user-data-dir="$work/profile-dom" \
  --dump-dom "file://$report" >"$work/dom.html" 2>"$work/dom.log" || {
  echo "check-html: chromium failed; its log:" >&2; tail -20 "$work/dom.log" >&2; exit 1; }
timeout 120 "$browser" "${flags[@]}" --user-data-dir="$work/profile-shot" \
  --window-size=1280,2000 --screenshot="$shot" "file://$report" >"$work/shot.log" 2>&1 || {
  echo "check-html: chromium could not take a screenshot; its log:" >&2; tail -20 "$work/shot.log" >&2; exit 1; }

fail=0
problem() { echo "check-html: $*" >&2; fail=1; }

grep -q '</html>' "$work/dom.html" || problem "the page did not load (no DOM dumped)"
if grep -q 'data-error=' "$work/dom.html"; then
  problem "script error: $(grep -o 'data-error="[^"]*"' "$work/dom.html" | head -1)"
fi
if grep -E 'Uncaught|CONSOLE\([0-9]+\).*[Ee]rror|Failed to load resource|net::ERR_' "$work/dom.log" "$work/shot.log"; then
  problem "console errors (above)"
fi

figures=$(grep -o '<figure>' "$work/dom.html" | wc -l)
drawn=$(grep -o 'data-charts-drawn="[0-9]*"' "$work/dom.html" | grep -o '[0-9]*' || echo 0)
[ "$figures" -gt 0 ] || problem "no charts in the page"
[ "$drawn" = "$figures" ] || problem "$drawn of $figures charts have a size and content"
# Every chart's SVG draws something besides text (lines, bars, areas).
empty=$(perl -0777 -ne 'my $n = 0; while (/<svg\b(.*?)<\/svg>/gs) { $n++ unless $1 =~ /<(polyline|path|rect|circle|polygon|line)\b/ } print $n' "$work/dom.html")
[ "$empty" = 0 ] || problem "$empty chart(s) have no drawn element"
[ -s "$shot" ] || problem "no screenshot written"

if [ "$fail" = 0 ]; then
  echo "check-html: OK: $figures charts drawn, no script or console errors; screenshot $shot"
fi
exit "$fail"
