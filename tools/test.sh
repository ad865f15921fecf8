#!/usr/bin/env bash
# The test suite: the exported package must match the notebooks, then the notebooks run, then pytest.
#   bash tools/test.sh         (`make test`, CI): the fast suite. Every notebook runs, at test size ($PART_NB_QUICK=1:
#                              the notebooks shrink their long examples with `quick_size`); pytest leaves out the
#                              tests marked slow.
#   bash tools/test.sh --all   (`make test-all`): every notebook at full size with its `slow` cells, every test.
#   bash tools/test.sh --plan  what would run and what is skipped for want of data, then stop.
# Cells flagged `cifar10` (they need the CIFAR-10 JPEG copy) run only when `find_cifar10_jpeg` finds the archive.
set -euo pipefail
cd "$(dirname "$0")/.."
B=.venv/bin
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
mode=${1:-quick}
case "$mode" in quick|--all|--plan) ;; *) echo "usage: $0 [--all|--plan]" >&2; exit 2;; esac
t0=$(date +%s)

# What runs, decided once: the notebook flags and the pytest selection.
flags="" nb_flags="" marks=(-m "not slow")
if cifar=$($B/python -c "from part_nb.files import find_cifar10_jpeg as f, cifar10_jpeg_missing as m
p = f(); print(p if p else m()); raise SystemExit(0 if p else 1)"); then
  nb_flags="cifar10"; cifar_line="CIFAR-10 (JPEG copy): found at $cifar"
else
  cifar_line="SKIPPED (notebook cells flagged cifar10, tests/test_data.py): $cifar"
fi
if [ "$mode" = --all ]; then
  unset PART_NB_QUICK; flags="slow $nb_flags"; marks=(); size="full size, with the slow cells"
else
  export PART_NB_QUICK=1; flags="$nb_flags"; size="test size (\$PART_NB_QUICK=1)"
fi
echo "== notebooks at $size; nbdev flags run: ${flags:-none}; pytest ${marks[*]:-all tests}"
echo "== $cifar_line"
[ "$mode" = --plan ] && exit 0

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
$B/nbdev-test --n-workers 2 --timing --flags "$flags"
echo "notebooks took $(( $(date +%s) - start )) s"

echo "== pytest"
start=$(date +%s)
set +e
$B/python -m pytest -q -rs --durations 8 "${marks[@]}" tests
rc=$?
set -e
echo "pytest took $(( $(date +%s) - start )) s"
[ $rc = 5 ] && { echo "pytest collected no tests"; rc=0; }
echo "== $cifar_line"
echo "== test suite ($([ "$mode" = --all ] && echo all || echo fast)) took $(( $(date +%s) - t0 )) s"
exit $rc
