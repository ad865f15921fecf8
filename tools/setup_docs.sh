#!/usr/bin/env bash
# What the offline documentation build and its browser test need, on top of tools/setup.sh:
#   - Debian's libjs-katex: KaTeX (script, style, fonts) that tools/build_docs.py copies into _docs/site_libs,
#     so math is typeset without loading anything from outside the site;
#   - Debian's chromium (unless called with `build`): the headless browser of tests/test_docs.py;
#   - websocket-client in .venv (also in the dev extra): the test's Chrome DevTools Protocol client.
# Usage: bash tools/setup_docs.sh [build|all]   (default all). Idempotent: does nothing when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
case "$what" in build|all) ;; *) echo "usage: $0 [build|all]" >&2; exit 2;; esac

need=()
[ -f /usr/share/javascript/katex/katex.min.js ] || need+=(libjs-katex)
if [ "$what" = all ]; then
  command -v chromium >/dev/null || need+=(chromium)
  # a font for the pages' text (screenshots); the Debian images here ship DejaVu already
  { command -v fc-list >/dev/null && [ -n "$(fc-list 2>/dev/null | head -1)" ]; } || need+=(fonts-dejavu-core)
fi

if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  if command -v apt-get >/dev/null && { [ -z "$SUDO" ] || sudo -n true 2>/dev/null; }; then
    echo "== installing Debian packages: ${need[*]}"
    log=$(mktemp)
    if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
             --no-install-recommends "${need[@]}"; } >"$log" 2>&1; then
      tail -5 "$log" >&2
      echo "WARNING: 'apt-get install ${need[*]}' failed: the docs build shows math as TeX source without" \
           "libjs-katex, and tests/test_docs.py is skipped without chromium." >&2
    fi
    rm -f "$log"
  else
    echo "WARNING: apt-get is not usable here (not root, no passwordless sudo, or not Debian)." >&2
    echo "  Install ${need[*]} yourself; without libjs-katex the docs show math as TeX source," >&2
    echo "  without chromium tests/test_docs.py is skipped (or set CHROMIUM=/path/to/chromium)." >&2
  fi
fi

if [ "$what" = all ] && [ -x .venv/bin/python ] && ! .venv/bin/python -c "import websocket" 2>/dev/null; then
  echo "== installing websocket-client into .venv"
  .venv/bin/pip install -q --disable-pip-version-check websocket-client 2>&1 | grep -v '^WARNING: Location' || true
fi
exit 0
