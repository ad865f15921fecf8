"""The house rules that a reader relies on: small modules, no module reaching into another's private names,
and notebooks committed with current outputs."""
import ast, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(p for p in (ROOT/'part_nb').glob('*.py') if p.name not in ('__init__.py', '_modidx.py'))


def test_no_module_above_400_lines():
    big = {p.name: n for p in MODULES if (n := len(p.read_text().splitlines())) > 400}
    assert not big, big


def private_imports(src: str) -> list:
    "Names starting with '_' that `src` imports from a part_nb module."
    bad = []
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or '').startswith('part_nb')):
            bad += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith('_') and a.name != '__future__']
    return bad


def test_no_cross_module_private_imports():
    assert private_imports("from part_nb.attack import pgd, _budget") == ['part_nb.attack._budget']  # the check can fail
    bad = {p.name: b for p in MODULES + sorted((ROOT/'bench').glob('*.py')) if (b := private_imports(p.read_text()))}
    assert not bad, bad


def test_core_imports_nothing_of_the_package():
    tree = ast.parse((ROOT/'part_nb'/'core.py').read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.level or (n.module or '').startswith('part_nb'))]


def test_nothing_imports_the_cli():
    users = [p for p in MODULES + sorted((ROOT/'bench').glob('*.py')) if p.name != 'cli.py' and 'part_nb.cli import' in p.read_text()]
    assert not users, users


def test_notebooks_have_current_outputs():
    r = subprocess.run([sys.executable, ROOT/'tools'/'nb_outputs.py', 'check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_names_are_read_from_settings_not_the_callback():
    "Issue 29: the words of training live in `settings`; only the runs (and `all`) import the fastai callback module."
    import re
    users = {p.name for p in MODULES if re.search(r'^from \.callback import', p.read_text(), re.M)}
    assert users <= {'runs.py', 'all.py'}, users
    names = {(p.name, a.name) for p in (ROOT/'bench').glob('*.py') for n in ast.walk(ast.parse(p.read_text()))
             if isinstance(n, ast.ImportFrom) and n.module == 'part_nb.callback' for a in n.names}
    assert {a for _, a in names} <= {'PARTCallback', 'ATCallback'}, names  # the callbacks, not words


def test_the_attack_knows_nothing_of_cams():
    "Issue 29: `attack.py` imports nothing of `cam`; the callback records the CAM layer around a single-step call."
    tree = ast.parse((ROOT/'part_nb'/'attack.py').read_text())
    assert not [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.module or '').endswith('cam')]


def test_the_callback_speaks_fastai():
    "Issue 29: `PARTCallback` stays a screen or two; the batch's work (budget, attack, outer loss) is `part_nb.step`'s."
    src = (ROOT/'part_nb'/'callback.py').read_text()
    cls = src[src.index('class PARTCallback'):]; cls = cls[:cls.index('\n# %%')]
    assert len(cls.splitlines()) <= 110, len(cls.splitlines())
    mods = {n.module for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ImportFrom) and n.level}
    assert not mods & {'attack', 'mask'}, mods


def test_no_line_above_140_characters():
    "Issue 29: no packing to meet a count; nbdev's one-line module docstring (lines 1-3) is left out."
    long = [f"{p.name}:{i}" for p in MODULES for i, l in enumerate(p.read_text().splitlines(), 1) if i > 3 and len(l) > 140]
    assert not long, long


def test_one_owner_of_forward_hooks():
    "Issue 29: every forward hook of the package is registered by `cam.capture_layer`, which also removes it (`release`)."
    sites = {f"{p.name}:{i}" for p in MODULES for i, l in enumerate(p.read_text().splitlines(), 1) if 'register_forward' in l}
    assert len(sites) == 1 and next(iter(sites)).startswith('cam.py:'), sites
    src = (ROOT/'part_nb'/'cam.py').read_text()
    cls = src[src.index('class capture_layer'):]; cls = cls[:cls.index('\n# %%')]
    assert 'register_forward_hook' in cls and 'def release' in cls and '.remove()' in cls


def test_bench_timing_is_shared():
    "Issue 29: `bench/timing.py` holds the device sync and the block-timing callback; no script defines its own."
    own = {p.name for p in (ROOT/'bench').glob('*.py') if p.name != 'timing.py'
           and any(s in p.read_text() for s in ('def sync(', 'sync = ', 'torch.cuda.synchronize', 'class Blocks('))}
    assert not own, own


def test_readme_layout_names_every_notebook():
    "The README's layout table is where a reader finds a notebook's job: each notebook (but the index) has its row."
    readme = (ROOT/'README.md').read_text()
    missing = [nb.name for nb in sorted((ROOT/'nbs').glob('*.ipynb')) if nb.name != 'index.ipynb' and f'nbs/{nb.name}' not in readme]
    assert not missing, f"README.md's layout table lacks {missing}"
