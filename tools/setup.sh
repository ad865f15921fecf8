#!/usr/bin/env bash
# Set-up from nothing: .venv with torch, the package and its dev extra, and the Fashion-MNIST data.
# Idempotent: a second run only re-installs when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
# Two set-ups at once (two terminals, make test beside make demo): the second waits here for the first.
if command -v flock >/dev/null && exec 9>>.setup.lock; then flock 9; fi
PY=${PYTHON:-python3}
VENV=.venv
stamp=$VENV/.part_nb-installed
want=$(cat pyproject.toml tools/setup.sh | sha1sum | cut -c1-40)

if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV"
  "$PY" -m venv "$VENV"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "== installing torch 2.14.1 / torchvision 0.29.1"
  "$VENV/bin/pip" install -q --disable-pip-version-check torch==2.14.1 torchvision==0.29.1 2>&1 | grep -v '^WARNING: Location' || true
  echo "== installing part_nb[dev]"
  "$VENV/bin/pip" install -q --disable-pip-version-check -e ".[dev]" 2>&1 | grep -v '^WARNING: Location' || true
  # torchattacks (a test oracle only) pins an old requests: installed alone, without its dependencies
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps torchattacks==3.5.1 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -c "import torch, torchvision, fastai, pytorch_grad_cam, pyautoattack, nbdev" \
    || { echo "set-up failed: the packages above did not install" >&2; exit 1; }
  echo "$want" > "$stamp"
fi

# The built-in data set: Debian's dataset-fashion-mnist (IDX files in /usr/share/datasets/fashion-mnist).
# apt is machine-wide, so two checkouts setting up at once take turns on a lock of their own (apt's lock would make
# the second fail) and the second finds the data the first installed.
FM=${PART_NB_SYSTEM_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}  # (the variable: for the concurrency test only)
if command -v flock >/dev/null && exec 8>>"${TMPDIR:-/tmp}/part_nb-apt.lock" 2>/dev/null; then flock 8; fi
if [ ! -f "$FM/train-images-idx3-ubyte.gz" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  if command -v apt-get >/dev/null && { [ -z "$SUDO" ] || sudo -n true 2>/dev/null; }; then
    echo "== installing Debian package dataset-fashion-mnist"
    ($SUDO apt-get update -qq && $SUDO apt-get install -y -qq dataset-fashion-mnist) >/dev/null 2>&1 \
      || echo "WARNING: 'apt-get install dataset-fashion-mnist' failed; Fashion-MNIST tests will be skipped." >&2
  else
    echo "WARNING: apt-get is not usable here (not root, no passwordless sudo, or not Debian)." >&2
    echo "  Install the IDX files yourself: apt-get install dataset-fashion-mnist, or put them in a folder" >&2
    echo "  and set PART_NB_FASHION_MNIST=/that/folder. Fashion-MNIST tests are skipped until then." >&2
  fi
fi
echo "== set-up done ($VENV)"
