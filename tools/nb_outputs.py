#!/usr/bin/env python
"""Keep the notebooks' committed outputs honest.

GitHub and the docs site show the outputs saved in each notebook; they do not run it. So every notebook in
`nbs/` is committed with its outputs, and `nbs/.outputs.json` records, for each, a hash of its code cells'
sources at the moment those outputs were made. `make test` runs `check`: a notebook whose sources changed since its
outputs were made, or that has no outputs, fails the suite with the command that fixes it.

    python tools/nb_outputs.py run nbs/03_mask.ipynb ...   # execute (nbdev-test --save), clean, record
    python tools/nb_outputs.py check                        # every notebook has current outputs (exit 1 if not)
    python tools/nb_outputs.py stamp nbs/X.ipynb            # record a notebook just executed some other way
"""
import hashlib, json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS, STAMPS = ROOT/'nbs', ROOT/'nbs'/'.outputs.json'
BIN = Path(sys.executable).parent


def source_hash(nb: Path) -> str:
    "Hash of the notebook's code cells (what makes the outputs; prose can change without re-running)."
    cells = json.loads(nb.read_text())['cells']
    return hashlib.sha1(json.dumps([''.join(c['source']) for c in cells if c['cell_type'] == 'code']).encode()).hexdigest()


def has_outputs(nb: Path) -> bool:
    cells = json.loads(nb.read_text())['cells']
    code = [c for c in cells if c['cell_type'] == 'code']
    return not code or any(c.get('outputs') for c in code)


def notebooks(): return sorted(p for p in NBS.glob('*.ipynb'))
def load(): return json.loads(STAMPS.read_text()) if STAMPS.exists() else {}
def save(s): STAMPS.write_text(json.dumps(dict(sorted(s.items())), indent=1) + '\n')


def stamp(nbs):
    s = load()
    for nb in nbs: s[nb.name] = source_hash(nb)
    save(s)


def run(nbs):
    for nb in nbs:
        print(f"== running {nb.name}", flush=True)
        subprocess.run([BIN/'nbdev-test', str(nb), '--save'], cwd=ROOT, check=True)
        subprocess.run([BIN/'nbdev-clean', '--fname', str(nb)], cwd=ROOT, check=True)
        stamp([nb])


def check() -> int:
    s, bad = load(), []
    for nb in notebooks():
        if not has_outputs(nb): bad.append(f"{nb.name}: committed without outputs")
        elif s.get(nb.name) != source_hash(nb): bad.append(f"{nb.name}: its sources changed since its outputs were made")
    for b in bad: print(f"FAIL: {b}", file=sys.stderr)
    if bad: print("run: .venv/bin/python tools/nb_outputs.py run NOTEBOOK... and commit the notebooks with nbs/.outputs.json",
                  file=sys.stderr)
    return 1 if bad else 0


if __name__ == '__main__':
    cmd, args = sys.argv[1], [Path(a).resolve() for a in sys.argv[2:]]
    if cmd == 'run': run(args or notebooks())
    elif cmd == 'stamp': stamp(args)
    elif cmd == 'check': sys.exit(check())
    else: sys.exit(__doc__)
