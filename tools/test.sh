#!/usr/bin/env bash
# The test suite: the exported package must match the notebooks, then the notebooks run, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
B=.venv/bin
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg

echo "== part_nb/ must equal a fresh nbdev-export of nbs/"
tmp=$(mktemp -d)
cp -r part_nb "$tmp/"
$B/nbdev-export
if ! diff -r -q -x __pycache__ "$tmp/part_nb" part_nb; then
  echo "FAIL: part_nb/ differs from the export of nbs/: edit the notebooks, run nbdev-export, commit both." >&2
  exit 1
fi
rm -rf "$tmp"

echo "== every notebook committed with outputs made from its current sources"
$B/python tools/nb_outputs.py check

echo "== nbdev-test (notebooks)"
start=$(date +%s)
$B/nbdev-test --n-workers 2 --timing
echo "notebooks took $(( $(date +%s) - start )) s"

echo "== pytest"
set +e
$B/python -m pytest -q tests
rc=$?
set -e
[ $rc = 5 ] && { echo "pytest collected no tests"; rc=0; }
exit $rc
