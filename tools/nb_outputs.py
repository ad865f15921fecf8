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
import hashlib, json, os, re, subprocess, sys
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


def needs_cifar10(nb: Path) -> bool:
    "Whether the notebook has cells flagged `cifar10` (they need the CIFAR-10 JPEG copy)."
    return any(re.search(r'^#\|\s*cifar10\s*$', ''.join(c['source']), re.M) for c in json.loads(nb.read_text())['cells'])


def run(nbs):
    "Execute at full size (never `$PART_NB_QUICK`), the cells flagged `cifar10` included: the outputs readers see."
    from part_nb.files import find_cifar10_jpeg, cifar10_jpeg_missing
    env = {k: v for k, v in os.environ.items() if k != 'PART_NB_QUICK'}
    for nb in nbs:
        if needs_cifar10(nb) and find_cifar10_jpeg() is None:
            sys.exit(f"{nb.name} needs the CIFAR-10 (JPEG copy) for its outputs: {cifar10_jpeg_missing()}")
        print(f"== running {nb.name}", flush=True)
        subprocess.run([sys.executable, __file__, 'execute', str(nb)], cwd=ROOT, env=env, check=True)
        subprocess.run([BIN/'nbdev-clean', '--fname', str(nb)], cwd=ROOT, check=True)
        stamp([nb])


def execute(nb: Path):
    """Run `nb` as `nbdev-test --save --flags cifar10` does, with fastprogress's notebook bars: the saved outputs show
    fastai's HTML progress table, as Jupyter would, not the console bar's redraws (nbdev-test's shell is no notebook)."""
    import warnings
    import fastprogress.fastprogress as fp
    fp.master_bar, fp.progress_bar = fp.NBMasterBar, fp.NBProgressBar  # before fastai imports them
    # fastai 2.8's import calls `torch.jit.script`, which torch >= 2.10 deprecates: a warning box with a local path in
    # every notebook that imports fastai, about nothing the notebook does
    warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
    from nbdev.config import get_config
    from nbdev.test import test_nb
    cfg = get_config()
    ok, secs = test_nb(nb, skip_flags=cfg.tst_flags.split(), force_flags=['cifar10'], basepath=cfg.config_path, save=True,
                       cell_timeout=cfg.get('cell_timeout') or None)
    print(f"{'Success' if ok else 'FAILED'}: {nb.name} in {secs:.0f} s", flush=True)
    if not ok: sys.exit(1)
    d = json.loads(nb.read_text())
    for c in d['cells']: c['outputs'] = final_displays(c.get('outputs', []))
    nb.write_text(json.dumps(d, indent=1, ensure_ascii=False) + '\n')


def final_displays(outputs: list) -> list:
    """nbdev's shell keeps every update of a display (a progress bar redrawn per batch) as an output of its own, where
    Jupyter replaces it in place: of each run of progress-bar displays keep the last, and not even that when the bar's
    final form (fastai's table, the evaluation's lines) follows it."""
    bar = lambda o: o.get('output_type') == 'display_data' and '<progress' in ''.join(o.get('data', {}).get('text/html', ''))
    out = []
    for i, o in enumerate(outputs):
        nxt = outputs[i + 1] if i + 1 < len(outputs) else None
        if bar(o) and nxt is not None and (bar(nxt) or nxt.get('output_type') == 'display_data'): continue
        out.append(o)
    return out


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
    elif cmd == 'execute': execute(args[0])
    elif cmd == 'stamp': stamp(args)
    elif cmd == 'check': sys.exit(check())
    else: sys.exit(__doc__)
