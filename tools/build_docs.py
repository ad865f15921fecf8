#!/usr/bin/env python
"""Build the documentation site from the notebooks in `nbs/`, offline, into `_docs/` (`make docs`).

nbdev renders its docs with Quarto (`nbdev-docs`, kept configured in `nbs/_quarto.yml` and used by the GitHub
Pages workflow), but Quarto cannot be installed everywhere. This script builds the same site without it:

1. every notebook under `nbs/` (index first, then filename order; sub-folders become sidebar sections) is read
   once into a snapshot, so a notebook being saved while the build runs is either read whole or retried;
2. a notebook committed without any output is executed first (as `nbdev-test` would, skipping the `tst_flags`
   cells), so that its page shows its results: `--execute never` turns that off, `--execute always` re-runs all;
3. nbdev's own notebook processing (`nbdev.processors.FilterDefaults`, what `nbdev-proc-nbs` runs before Quarto)
   adds the `show_doc` API entries, drops hidden and export-only cells and makes the front matter; this build
   also gives each exported constant (a public name assigned in an exported cell, which nbdev puts in
   `__all__` but `show_doc` skips) an API entry with its definition;
4. nbconvert (already a dependency of nbdev and Jupyter) turns each processed notebook into HTML: cell outputs
   and plots (written to `<page>_files/`), markdown with tables, Quarto's cell options (`echo`, `output`,
   `include`, `code-fold`), fenced divs and link attributes, then the page gets the navigation sidebar, an
   "on this page" table of contents and previous/next links;
5. math is typeset in the browser by KaTeX, copied from Debian's `libjs-katex` into `_docs/site_libs/katex`
   (`tools/setup_docs.sh` installs it): no page loads anything from outside the site;
6. search: each page's title, headings, API entry names and prose go into `site_libs/search-index.js`, which the
   search box at the top of the sidebar loads on first use (a script, so it works from `file://` too) and ranks
   with a few dozen lines of plain JS in `docs.js`. Long code lines wrap rather than scroll sideways.

Why not Sphinx + myst-nb, which has search built in? Tried on this project's processed notebooks (2025-11): it
adds 21 packages to the venv (Sphinx 9, myst-nb, myst-parser, docutils, jupyter-cache, SQLAlchemy, ...) and renders
the 11 pages in 4 s, but (a) it names headings the docutils way (`#importance-mask`), so every link nbdev's doc links
make (`mask.html#importance_mask`) breaks; (b) nbdev's `---` rules between API entries are refused by docutils (35
warnings); (c) Quarto's cell options (`echo`, `output`, `include`, `code-fold`) and callouts are not understood;
(d) its math loads MathJax from a CDN unless pointed at a local copy. Steps 1-3 (execution, cache, nbdev processing,
~170 lines) stay either way, and fixing (a)-(d) needs a converter before Sphinx and an HTML pass after it: about
400 lines in all against 727, for 21 more dependencies and two renderers to keep in step. Adding search here cost
~90 lines of code (index 30, JS 50, CSS and box 10) and no dependency. The page skeleton, CSS, JS and icon are
files in `tools/docs_assets/`.
Build times (2 shared cores, -j 1): 234 s from scratch (9 notebooks executed), ~30 s when only this script changed.

Processed notebooks are cached in `_proc/.docs-cache/out`, keyed on the notebook, the package sources and this
script, so a rebuild re-processes only what changed; the runs of step 2 in `_proc/.docs-cache/exec`, keyed on
the notebook and the package, and used (with any `--execute`) while neither changed. A notebook that fails to process still gets a page (its
prose, with a warning box instead of the API entries); `--strict` makes that an error.

Usage: .venv/bin/python tools/build_docs.py [--out _docs] [--execute auto|never|always] [--strict] [-j N]
"""
from __future__ import annotations
import argparse, ast, atexit, hashlib, html, json, os, re, shutil, sys, tempfile, time, traceback, warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
import multiprocessing as mp

ROOT = Path(__file__).resolve().parents[1]
KATEX_DIRS = [Path('/usr/share/javascript/katex')]
IMG_EXTS = {'.png', '.jpg', '.jpeg', '.gif', '.svg', '.webp', '.ico', '.pdf', '.mp4', '.webm'}

# ------------------------------------------------------------------------------------------------------------
# Finding the notebooks

def _skip_name(name): return name[0] in '._' or name in ('www', '.ipynb_checkpoints')

def find_notebooks(nbs: Path) -> list[Path]:
    "Notebooks under `nbs` in site order (relative paths): each folder's `index` first, then by `group` and filename."
    found = []
    for dirpath, dirnames, filenames in os.walk(nbs):
        dirnames[:] = [d for d in dirnames if not _skip_name(d)]
        rel = Path(dirpath).relative_to(nbs)
        found += [rel/f for f in filenames if f.endswith('.ipynb') and not _skip_name(f)]
    def key(p: Path): return (len(p.parts) > 1, p.parent.parts, p.stem != 'index', groups.index(group(p)), p.name)
    return sorted(found, key=key)

groups = ['', 'Tutorials', 'Library', 'Command line']  # the sidebar's sections of top-level pages, in this order

def group(rel: Path) -> str:
    "The sidebar section of a top-level notebook: the landing page none, then tutorials, library modules, the command line."
    if rel.stem == 'index': return ''
    return 'Tutorials' if rel.stem.startswith('tutorial') else 'Command line' if rel.stem.endswith('_cli') else 'Library'

def page_name(rel: Path) -> Path:
    "Output page of notebook `rel`, as Quarto names it for nbdev: the number prefix is dropped (`00_data` -> `data.html`)."
    return rel.parent/(re.sub(r'^\d+[a-zA-Z]?_', '', rel.stem) + '.html')

def read_snapshot(src: Path, tries=5, wait=0.5) -> bytes | None:
    "The bytes of notebook `src` once they parse as a notebook (a file being saved is retried); None if they never do."
    for i in range(tries):
        try:
            raw = src.read_bytes()
            if isinstance(json.loads(raw).get('cells'), list): return raw
        except (OSError, ValueError, AttributeError): pass
        time.sleep(wait)
    return None

def _sha(*parts) -> str:
    h = hashlib.sha1()
    for p in parts: h.update(p if isinstance(p, bytes) else str(p).encode())
    return h.hexdigest()

def lib_key(cfg) -> str:
    "What running a notebook depends on besides the notebook: the package and the project's config."
    files = [cfg.config_file] + sorted(Path(cfg.lib_path).rglob('*.py'))
    return _sha(*[f.read_bytes() for f in files if f.exists()])

def env_key(cfg) -> str:
    "What every processed page depends on besides its (run) notebook: the package, this script, nbdev."
    import nbdev, fastcore, nbconvert
    assets = [p.read_bytes() for p in sorted(ASSETS.iterdir())]
    return _sha(lib_key(cfg), Path(__file__).read_bytes(), *assets, nbdev.__version__, fastcore.__version__, nbconvert.__version__)

# ------------------------------------------------------------------------------------------------------------
# Step 2 and 3, in worker processes: execute (if needed) and run nbdev's processing

def _has_outputs(nb) -> bool:
    return any(c.get('outputs') for c in nb['cells'] if c['cell_type'] == 'code')

def _needs_exec(nb) -> bool:
    "A notebook with code to show but no output anywhere: it was committed without running it."
    if _has_outputs(nb): return False
    hidden = re.compile(r'^\s*#\|\s*(export|exporti|exports|hide|default_exp|eval:\s*false)\b', re.M)
    return any(c['cell_type'] == 'code' and ''.join(c['source']).strip() and not hidden.search(''.join(c['source']))
               for c in nb['cells'])

def _execute(snap: Path, src: Path, skip_flags, timeout):
    "Run the notebook at `snap` in the folder of its source `src`, like `nbdev-test --save`, writing the outputs to `snap`."
    from fastcore.nbio import write_nb
    from fastcore.xtras import working_directory
    from execnb.shell import CaptureShell
    from nbdev.process import NBProcessor
    from nbdev.test import _skip_cell
    nb = NBProcessor(snap, rm_directives=False, process=True).nb
    skip = _skip_cell(nb, skip_flags)
    k = CaptureShell(src)
    with working_directory(src.parent):
        try: k.run_all(nb, exc_stop=True, preproc=skip, cell_timeout=timeout)
        except BaseException as e:   # say which cell failed
            bad = next((c for c in nb.cells for o in c.get('outputs', []) if o.get('output_type') == 'error'), None)
            if bad is None: raise
            o = next(o for o in bad.outputs if o.get('output_type') == 'error')
            raise RuntimeError(f"{o.get('ename')}: {o.get('evalue')} in cell:\n{bad.source[:600]}") from e
    write_nb(nb, snap)

def _const_docs_proc():
    "An nbdev processor giving each exported constant an API entry (heading and definition), as `show_doc` does for functions."
    from fastcore.nbio import mk_cell
    from nbdev.process import Processor

    class add_const_docs(Processor):
        def begin(self):
            cells = self.nb.cells
            for i in reversed(range(len(cells))):
                c = cells[i]
                d = getattr(c, 'directives_', None) or {}
                if c.cell_type != 'code' or not ({'export', 'exports'} & d.keys()) or 'hide' in d: continue
                try: tree = ast.parse(c.source)
                except SyntaxError: continue
                entries = []
                for node in tree.body:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
                    names = [t.id for t in targets if isinstance(t, ast.Name) and not t.id.startswith('_')]
                    if not names: continue
                    code = ast.get_source_segment(c.source, node) or ''
                    for nm in names:
                        entries.append(f'---\n\n### {nm}\n\n*Exported constant, defined as:*\n\n```python\n{code}\n```')
                for md in reversed(entries): cells.insert(i+1, mk_cell(md, 'markdown'))
    return add_const_docs

def _filters(full=True):
    "nbdev's `FilterDefaults` (plus the constants' entries); with `full=False`, without executing any `show_doc`."
    from nbdev.processors import FilterDefaults, add_show_docs, clean_show_doc, exec_show_docs, add_fold, mv_exports
    class DocsFilter(FilterDefaults):
        def base_procs(self):
            procs = list(super().base_procs())
            if full:
                i = procs.index(add_show_docs) + 1
                return procs[:i] + [_const_docs_proc()] + procs[i:]
            return [p for p in procs if p not in (add_show_docs, clean_show_doc, exec_show_docs, add_fold, mv_exports)]
    return DocsFilter()

def _quiet_worker(log):
    "Workers write their stderr (libraries' warnings, from notebooks being run) to `log`, not to the build's output."
    warnings.simplefilter('ignore', FutureWarning)
    warnings.simplefilter('ignore', DeprecationWarning)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)

def process_notebook(job: dict) -> dict:
    "Worker: snapshot `job['snap']` -> processed notebook `job['out']`. Never raises: problems are reported in 'notes'."
    t0, notes, executed = time.time(), [], False
    os.chdir(ROOT)
    if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
    warnings.filterwarnings('ignore')
    from fastcore.nbio import read_nb, write_nb, mk_cell
    snap, src, out = Path(job['snap']), Path(job['src']), Path(job['out'])
    if job['execute']:
        os.environ['IN_TEST'] = '1'
        try:
            _execute(snap, src, job['skip_flags'], job['timeout'])
            executed = True
            nb = read_nb(snap)   # kept, so that a later build (or one with --execute never) needn't run it again
            nb.metadata['part_nb_docs_exec'] = dict(key=job['exec_key'], src=job['src_key'])
            Path(job['exec_out']).parent.mkdir(parents=True, exist_ok=True)
            write_nb(nb, Path(job['exec_out']).with_suffix('.tmp'))
            Path(job['exec_out']).with_suffix('.tmp').replace(job['exec_out'])
        except BaseException as e:
            notes.append(f'executing it failed, so the page shows no outputs: {type(e).__name__}: {e}'.strip()[:2000])
        finally: os.environ.pop('IN_TEST', None)
    error = None
    os.environ['IN_TEST'] = '1'   # as nbdev's own docs processing (serve_drv) sets it
    try:
        nb = read_nb(snap)
        _filters(True)(nb)
    except BaseException as e:
        error = f'{type(e).__name__}: {e}'
        notes.append(f'nbdev processing failed, so the page has no API entries: {error}'[:4000])
        nb = read_nb(snap)
        try: _filters(False)(nb)
        except BaseException as e2: notes.append(f'fallback processing failed too: {type(e2).__name__}: {e2}')
        msg = html.escape(error[:3000])
        at = 1 if nb.cells and nb.cells[0].cell_type == 'raw' else 0
        nb.cells.insert(at, mk_cell(f'::: {{.callout-warning}}\n**This page was built without its API entries:** nbdev '
                                    f'could not process the notebook.\n\n<pre>{msg}</pre>\n:::', 'markdown'))
    finally: os.environ.pop('IN_TEST', None)
    nb.metadata['part_nb_docs'] = dict(key=job['key'], executed=executed, failed=error is not None)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix('.tmp')
    write_nb(nb, tmp)
    tmp.replace(out)
    return dict(rel=job['rel'], notes=notes, executed=executed, failed=error is not None, seconds=time.time()-t0)

# ------------------------------------------------------------------------------------------------------------
# Step 4: from a processed notebook to HTML

_re_dir = re.compile(r'^\s*#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')
_re_fence = re.compile(r'^\s*(`{3,}|~{3,})')
_re_fdiv = re.compile(r'^\s*(:{3,})\s*(\{([^}]*)\}|[\w-]+)?\s*$')
_re_linkattr = re.compile(r'\[([^\]\n]*)\]\(([^)\s]+)\)\{([^}\n]*)\}')

def _attrs(s: str) -> str:
    "Pandoc attributes `{#id .cls key=val}` as HTML attributes."
    ids = re.findall(r'(?:^|\s)#([\w:.-]+)', s)
    classes = re.findall(r'(?:^|\s)\.([\w-]+)', s)
    kv = re.findall(r'([\w-]+)=("[^"]*"|\'[^\']*\'|\S+)', s)
    out = [f'id="{html.escape(ids[0])}"'] if ids else []
    if classes: out.append(f'class="{" ".join(classes)}"')
    out += [f'{k}="{html.escape(v.strip(chr(34)+chr(39)))}"' for k, v in kv if k not in ('id', 'class')]
    return ' '.join(out)

def quarto_md(md: str) -> str:
    "Quarto markdown that mistune doesn't know, as HTML: fenced divs (callouts) and link attributes; code fences untouched."
    out, fence = [], None
    for line in md.split('\n'):
        m = _re_fence.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence): fence = None
            out.append(line); continue
        if m: fence = m.group(1); out.append(line); continue
        d = _re_fdiv.match(line)
        if d:
            a = d.group(3) if d.group(3) is not None else (f'.{d.group(2)}' if d.group(2) else None)
            if a is None: out += ['', '</div>', '']
            else:
                at = _attrs(a)
                cls = re.search(r'\.callout-(\w+)', a)
                if cls: at = re.sub(r'class="', 'class="callout ', at)
                out += ['', f'<div {at}>', '']
            continue
        out.append(_re_linkattr.sub(lambda m: f'<a href="{html.escape(m.group(2))}" {_attrs(m.group(3))}>{m.group(1)}</a>', line))
    return '\n'.join(out)

def _src(x): return ''.join(x) if isinstance(x, list) else (x or '')

def prepare_cells(nb, files_dir: Path, files_rel: str):
    "Apply Quarto's cell options and markdown extensions to processed notebook `nb` (in place); returns its front matter."
    import yaml
    fm, cells = {}, []
    for i, c in enumerate(nb.cells):
        src = _src(c.source)
        if c.cell_type == 'raw':
            m = re.match(r'^\s*---\s*\n(.*?)\n---\s*$', src, re.S)
            if i == 0 and m:
                try: fm = yaml.safe_load(m.group(1)) or {}
                except yaml.YAMLError: fm = {}
                continue
            if c.metadata.get('format', c.metadata.get('raw_mimetype', '')) not in ('text/html', 'html'): continue
        elif c.cell_type == 'markdown':
            for name, data in (c.get('attachments') or {}).items():   # markdown attachments become files
                import base64
                for mime, b64 in data.items():
                    files_dir.mkdir(parents=True, exist_ok=True)
                    (files_dir/f'att_{i}_{name}').write_bytes(base64.b64decode(_src(b64)))
                    src = src.replace(f'attachment:{name}', f'{files_rel}/att_{i}_{name}')
                    break
            c.pop('attachments', None)
            if not src.strip(): continue
            c.source = quarto_md(src)
        elif c.cell_type == 'code':
            c.metadata.pop('execution', None)   # execnb's timings are numbers, which nbformat's schema refuses
            lines, opts = src.split('\n'), {}
            while lines and _re_dir.match(lines[0]):
                k, v = _re_dir.match(lines[0]).groups()
                opts[k] = v.strip('"\'')
                lines.pop(0)
            if opts.get('include') == 'false': continue
            c.source = '\n'.join(lines).strip('\n')
            tags = list(c.metadata.get('tags', []))
            if opts.get('echo') == 'false' or not c.source.strip():
                c.metadata.setdefault('transient', {})['remove_source'] = True
            if opts.get('output') == 'false': c.outputs = []
            if opts.get('output') == 'asis': tags.append('asis')
            if opts.get('code-fold') in ('true', 'show'):
                tags.append('fold-open' if opts['code-fold'] == 'show' else 'fold')
                c.metadata['fold_summary'] = opts.get('code-summary', 'Code')
            c.metadata['tags'] = tags
            for o in c.get('outputs', []):
                if 'text/markdown' in o.get('data', {}):
                    o.data['text/markdown'] = quarto_md(_src(o.data['text/markdown']))
            if c.metadata.get('transient', {}).get('remove_source') and not c.get('outputs'): continue
        cells.append(c)
    nb.cells = cells
    return fm

_exporter = None
def exporter():
    global _exporter
    if _exporter is None:
        from jinja2 import DictLoader
        from nbconvert import HTMLExporter
        from traitlets.config import Config
        cfg = Config()
        cfg.HTMLExporter.exclude_input_prompt = True
        cfg.HTMLExporter.exclude_output_prompt = True
        cfg.ExtractOutputPreprocessor.enabled = True
        cfg.CSSHTMLHeaderPreprocessor.enabled = False
        cfg.HTMLExporter.anchor_link_text = '#'
        _exporter = HTMLExporter(config=cfg, template_name='lab', template_file='docs_cells.html.j2',
                                 extra_loaders=[DictLoader({'docs_cells.html.j2': "{%- extends 'base.html.j2' -%}"})])
    return _exporter

def pandoc_id(text: str) -> str:
    "Pandoc's (so Quarto's, so nbdev's doc links') identifier of a heading."
    s = re.sub(r'[^\w\s.-]', '', text.strip(), flags=re.U).lower()
    s = re.sub(r'\s+', '-', s)
    s = re.sub(r'^[^a-z_]+', '', s) if re.search(r'[a-z_]', s) else ''
    return s or 'section'

def render_notebook(nb_path: Path, page: Path, out: Path, ctx: dict) -> dict:
    "Processed notebook -> page info: title, description, HTML of its cells (output files written under `out`)."
    import nbformat
    from bs4 import BeautifulSoup
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        nb = nbformat.reads(nb_path.read_text(encoding='utf-8'), as_version=4)
    stem = page.stem
    files_rel = f'{stem}_files'
    meta = nb.metadata.get('part_nb_docs', {})
    fm = prepare_cells(nb, out/page.parent/files_rel, files_rel)
    res = {'output_files_dir': files_rel, 'unique_key': stem, 'metadata': {'name': stem}}
    body, res = exporter().from_notebook_node(nb, resources=res)
    for fn, data in (res.get('outputs') or {}).items():
        p = out/page.parent/fn
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    soup = BeautifulSoup(body, 'html.parser')
    title = fm.get('title')
    if not title:
        h1 = soup.find('h1')
        if h1:
            for a in h1.select('a.anchor-link'): a.decompose()
            title = h1.get_text().strip()
            h1.decompose()
    title = title or stem
    # headings: pandoc ids (what nbdev's doc links point to), `{#id .cls}` attributes, unique ids, TOC
    seen, toc = set(), []
    for h in soup.find_all(re.compile(r'^h[1-6]$')):
        for a in h.select('a.anchor-link'): a.decompose()
        txt = h.get_text()
        m = re.search(r'\s*\{([^}]*)\}\s*$', txt)
        hid = None
        if m:
            ids = re.findall(r'#([\w:.-]+)', m.group(1))
            hid = ids[0] if ids else None
            for cls in re.findall(r'\.([\w-]+)', m.group(1)): h['class'] = h.get('class', []) + [cls]
            for s in h.find_all(string=re.compile(r'\{[^}]*\}\s*$')): s.replace_with(re.sub(r'\s*\{[^}]*\}\s*$', '', s))
            txt = h.get_text()
        base = hid or pandoc_id(txt)
        hid, n = base, 0
        while hid in seen: n += 1; hid = f'{base}-{n}'
        seen.add(hid)
        h['id'] = hid
        a = soup.new_tag('a', attrs={'class': 'anchor-link', 'href': f'#{hid}', 'aria-label': 'Link to this heading'})
        a.string = '#'
        h.append(a)
        if h.name in ('h2', 'h3') and 'unlisted' not in h.get('class', []):
            toc.append((int(h.name[1]), hid, txt.strip()))
    # links: the site's own absolute URLs and links to notebooks become relative links to pages
    root = '../'*(len(page.parts)-1)
    for a in soup.find_all('a', href=True):
        href = a['href']
        if ctx['site_url'] and href.startswith(ctx['site_url']):
            href = root + href[len(ctx['site_url']):].lstrip('/')
            if href.split('#')[0].endswith('/') or href.split('#')[0] == root: href = href.replace('#', 'index.html#', 1) if '#' in href else href + 'index.html'
        elif not re.match(r'^[a-z][\w+.-]*:', href) and not href.startswith('#'):
            path, _, frag = href.partition('#')
            if path.endswith('.ipynb'):
                tgt = ctx['pages'].get(os.path.normpath((page.parent/path).as_posix()).replace('\\', '/'))
                if tgt: href = os.path.relpath(tgt, page.parent or '.') + (f'#{frag}' if frag else '')
        a['href'] = href
        if re.match(r'^https?:', href): a['rel'] = 'noopener'
    # code folding of `exports` cells
    for cell in soup.select('.celltag_fold, .celltag_fold-open'):
        inp = cell.select_one('.jp-Cell-inputWrapper')
        if not inp: continue
        det = soup.new_tag('details', attrs={'class': 'code-fold'})
        if 'celltag_fold-open' in cell.get('class', []): det['open'] = ''
        summ = soup.new_tag('summary'); summ.string = 'Exported source'
        det.append(summ)
        inp.wrap(det)
        det.insert(0, summ)
    for t in soup.find_all('table'):
        if not t.get('class'): t['class'] = ['table']
    for t in [*soup.find_all('table'), *soup.find_all('span', class_='mf')]:  # API tables, signatures' float literals
        for node in t.find_all(string=_LONG_FLOAT) if t.name == 'table' else [t.string] if t.string and _LONG_FLOAT.search(t.string) else []:
            node.replace_with(_LONG_FLOAT.sub(_as_255ths, node))  # 8/255, not 0.03137254901960784
    desc = str(fm.get('description', '') or '')
    return dict(title=str(title), description=desc, body=str(soup), toc=toc, failed=meta.get('failed', False),
                search=search_entries(soup, str(title), desc))

_LONG_FLOAT = re.compile(r'\b0\.\d{12,}\b')

def _as_255ths(m) -> str:
    "A long float that is a whole number of 255ths (a budget's default, as show_doc prints it) written as `k/255`."
    k = float(m.group()) * 255
    return f"{round(k)}/255" if 1 <= round(k) <= 255 and abs(k - round(k)) < 1e-6 else m.group()

def search_entries(soup, title: str, desc: str) -> list[dict]:
    """The page's part of the search index: one entry for its top and one per heading (`h` heading, `a` anchor,
    `x` the section's whole prose, `c` the identifiers its code cells use, `k` set on API entries). Code itself and
    text outputs are left out: they would swamp the prose; the identifiers let a reader find the page that calls
    `vision_learner` or `fit_one_cycle`."""
    from bs4 import NavigableString, Tag
    entries = [dict(h=title, a='', x=[desc], c=set())]
    def walk(node):
        for ch in node.children:
            if isinstance(ch, Tag):
                cls = set(ch.get('class') or [])
                if 'jp-Cell-inputWrapper' in cls:  # a code cell: its names (attribute names too), not its text
                    entries[-1]['c'] |= set(re.findall(r'[A-Za-z_][A-Za-z0-9_]{3,}', ch.get_text())) - _PY_WORDS
                    continue
                if ch.name in ('script', 'style', 'pre') or cls & {'jp-RenderedText', 'anchor-link'}: continue
                if ch.name == 'a' and 'float' in (ch.get('style') or ''): continue   # show_doc's "source" link
                if re.fullmatch(r'h[1-6]', ch.name) and ch.get('id'):
                    nxt = ch.find_next_sibling()
                    # nbdev's show_doc entries are markdown outputs; the constants' entries say so (_const_docs_proc)
                    api = bool(ch.find_parent(class_='jp-OutputArea-output')) or bool(nxt and 'Exported constant' in nxt.get_text())
                    entries.append(dict(h=ch.get_text().rstrip('#').strip(), a=ch['id'], x=[], c=set(), **(dict(k=1) if api else {})))
                else: walk(ch)
            elif type(ch) is NavigableString: entries[-1]['x'].append(str(ch))
    walk(soup)
    for e in entries: e['x'], e['c'] = re.sub(r'\s+', ' ', ' '.join(e['x'])).strip(), ' '.join(sorted(e['c']))
    return entries

_PY_WORDS = {'from', 'import', 'with', 'lambda', 'return', 'True', 'False', 'None', 'self', 'for', 'else', 'elif', 'assert',
             'while', 'class', 'print', 'range', 'test_eq', 'test_fail', 'test_close'}

# ------------------------------------------------------------------------------------------------------------
# The page skeleton, CSS and JS

ASSETS = Path(__file__).resolve().parent/'docs_assets'  # the page skeleton (str.format fields), its CSS, JS and icon
PAGE, CSS, JS, FAVICON = ((ASSETS/n).read_text() for n in ('page.html', 'docs.css', 'docs.js', 'favicon.svg'))

def pygments_css() -> str:
    from pygments.formatters import HtmlFormatter
    return HtmlFormatter(style='default').get_style_defs('.highlight')

def copy_katex(dst: Path) -> bool:
    "Copy KaTeX (Debian's libjs-katex, fonts included) into the site; False when it isn't installed."
    src = next((d for d in KATEX_DIRS if (d/'katex.min.js').exists()), None)
    if src is None: return False
    dst.mkdir(parents=True, exist_ok=True)
    for f in ('katex.min.js', 'katex.min.css'): shutil.copy2(src/f, dst/f)
    (dst/'contrib').mkdir(exist_ok=True)
    shutil.copy2(src/'contrib'/'auto-render.js', dst/'contrib'/'auto-render.js')
    fonts = (src/'fonts').resolve()
    (dst/'fonts').mkdir(exist_ok=True)
    for f in fonts.iterdir():
        if f.suffix in ('.woff2', '.woff', '.ttf'): shutil.copy2(f, dst/'fonts'/f.name)
    return True

def sidebar_html(pages: list[dict], current: dict) -> str:
    root = '../'*(len(current['page'].parts)-1)
    out, section = ['<ul>'], ''
    for p in pages:
        top = len(p['page'].parts) == 1
        sec = group(Path(p['rel'])) if top else p['page'].parent.as_posix()
        if sec != section:
            section = sec
            name = sec if top else re.sub(r'^\d+_', '', sec.split('/')[-1]).replace('_', ' ').capitalize()
            out.append(f'<li class="section-title">{html.escape(name)}</li>')
        cls = ' class="active" aria-current="page"' if p is current else ''
        out.append(f'<li><a href="{root}{p["page"].as_posix()}"{cls}>{html.escape(p["title"])}</a></li>')
    out.append('</ul>')
    return '\n'.join(out)

def toc_html(toc) -> str:
    if not toc: return ''
    items = ''.join(f'<li class="level-{lvl}"><a href="#{hid}">{html.escape(txt)}</a></li>' for lvl, hid, txt in toc)
    return f'<div class="toc-title">On this page</div><ul>{items}</ul>'

# ------------------------------------------------------------------------------------------------------------

def build(out: Path, execute='auto', strict=False, workers=2, quiet=False, nbs=None) -> int:
    import nbdev, nbconvert
    from nbdev.config import get_config
    t0 = time.time()
    log = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    os.chdir(ROOT)
    cfg = get_config()
    nbs = Path(nbs or cfg.nbs_path).resolve()
    cache = ROOT/'_proc'/'.docs-cache'
    tmp_cache = nbs != Path(cfg.nbs_path).resolve()
    if tmp_cache:   # another folder of notebooks (the tests): no cache kept
        cache = Path(tempfile.mkdtemp(prefix='docs-cache-'))
        atexit.register(shutil.rmtree, cache, True)
    snaps = cache/'snap'
    ekey, xkey = env_key(cfg), lib_key(cfg)
    site_url = (str(cfg.get('doc_host', '')) + str(cfg.get('doc_baseurl', ''))).rstrip('/') + '/'
    if site_url == '/': site_url = ''
    skip_flags = cfg.tst_flags.split() if isinstance(cfg.tst_flags, str) else list(cfg.tst_flags or [])
    timeout = int(cfg.get('cell_timeout', 600) or 600)

    rels = find_notebooks(nbs)
    if not rels: sys.exit(f'no notebooks found in {nbs}')
    jobs, pages, problems = [], [], []
    for rel in rels:
        raw = read_snapshot(nbs/rel)
        if raw is None:
            problems.append(f'{rel}: not a readable notebook (being written?); left out of the site'); continue
        want_exec = execute == 'always' or (execute == 'auto' and _needs_exec(json.loads(raw)))
        nbs_raw = raw
        # a run of this very notebook, with this package, made by an earlier build: used instead of running it
        # (with --execute never, also a run of this notebook with an earlier version of the package)
        exec_key, exec_out = _sha(raw, xkey), cache/'exec'/rel
        executed = False
        try:
            ran = exec_out.read_bytes()
            meta = json.loads(ran).get('metadata', {}).get('part_nb_docs_exec', {})
            if meta.get('key') == exec_key or (execute == 'never' and meta.get('src') == _sha(raw)):
                raw, want_exec, executed = ran, False, True
        except (OSError, ValueError): pass
        key = _sha(raw, ekey, want_exec)
        proc = cache/'out'/rel
        page = dict(rel=rel, page=page_name(rel), proc=proc, executed=executed)
        pages.append(page)
        try: cached = json.loads(proc.read_text()).get('metadata', {}).get('part_nb_docs', {})
        except (OSError, ValueError): cached = {}
        if cached.get('key') == key and not cached.get('failed'): continue
        snap = snaps/rel
        snap.parent.mkdir(parents=True, exist_ok=True)
        snap.write_bytes(raw)
        jobs.append(dict(rel=str(rel), snap=str(snap), src=str(nbs/rel), out=str(proc), key=key, execute=want_exec,
                         exec_key=exec_key, src_key=_sha(nbs_raw), exec_out=str(exec_out), skip_flags=skip_flags, timeout=timeout))
    log(f'== {len(pages)} notebooks; processing {len(jobs)} ({len(pages)-len(jobs)} cached)'
        + (f', executing {sum(j["execute"] for j in jobs)} without outputs' if any(j['execute'] for j in jobs) else ''))
    if jobs:
        n = max(1, min(workers, len(jobs)))
        cache.mkdir(parents=True, exist_ok=True)
        (cache/'workers.log').write_text('')
        # The workers find `process_notebook` in module `build_docs`, not in `__main__`: running a notebook
        # (IPython) replaces a process's `__main__` module.
        if str(Path(__file__).parent) not in sys.path: sys.path.insert(0, str(Path(__file__).parent))
        import build_docs
        with ProcessPoolExecutor(n, mp_context=mp.get_context('spawn'), initializer=build_docs._quiet_worker,
                                 initargs=(str(cache/'workers.log'),)) as ex:
            for r in ex.map(build_docs.process_notebook, jobs):
                pg = next(p for p in pages if str(p['rel']) == r['rel'])
                pg['executed'] = pg['executed'] or r['executed']
                log(f'   {r["rel"]}: {r["seconds"]:.1f} s' + (' (executed)' if r['executed'] else '')
                    + (' FAILED' if r['failed'] else ''))
                problems += [f'{r["rel"]}: {n_}' for n_ in r['notes']]

    # render into a fresh folder, then swap it in (keeping screenshots of the previous site)
    out = out.resolve()
    tmp = Path(tempfile.mkdtemp(prefix=out.name+'.tmp-', dir=out.parent))
    tmp.chmod(0o755)   # mkdtemp makes it private; a site is for reading
    try:
        ctx = dict(site_url=site_url, pages={p['rel'].as_posix(): p['page'].as_posix() for p in pages})
        for p in pages:
            p.update(render_notebook(p['proc'], p['page'], tmp, ctx))
            if p['failed'] and not any(str(p['rel']) in s for s in problems): problems.append(f'{p["rel"]}: built without API entries')
        libs = tmp/'site_libs'
        libs.mkdir(parents=True, exist_ok=True)
        (libs/'docs.css').write_text(CSS)
        (libs/'docs.js').write_text(JS)
        (libs/'pygments.css').write_text(pygments_css())
        (libs/'favicon.svg').write_text(FAVICON)
        index = [dict(p=p['page'].as_posix(), t=p['title'], **e) for p in pages for e in p['search']]
        (libs/'search-index.js').write_text('window.SEARCH_INDEX = ' + json.dumps(index, ensure_ascii=False, separators=(',', ':')) + ';\n', encoding='utf-8')
        has_katex = copy_katex(libs/'katex')
        if not has_katex: problems.append('KaTeX not found (apt-get install libjs-katex, or run tools/setup_docs.sh): math is shown as TeX source')
        for f in nbs.rglob('*'):   # images and other files the notebooks' markdown refers to
            rel = f.relative_to(nbs)
            if f.is_file() and f.suffix.lower() in IMG_EXTS and not any(_skip_name(x) for x in rel.parts):
                (tmp/rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, tmp/rel)
        site_title = html.escape(str(cfg.get('title', cfg.lib_name)))
        site_desc = html.escape(str(cfg.get('description', '')))
        for i, p in enumerate(pages):
            root = '../'*(len(p['page'].parts)-1)
            def link(q, cls, label):
                href = os.path.relpath(q['page'].as_posix(), p['page'].parent.as_posix() or '.')
                return f'<a class="{cls}" href="{href}"><small>{label}</small>{html.escape(q["title"])}</a>'
            prevnext = (link(pages[i-1], 'prev', 'Previous') if i > 0 else '') + (link(pages[i+1], 'next', 'Next') if i+1 < len(pages) else '')
            is_index = p['page'].as_posix() == 'index.html'
            doc = PAGE.format(
                head_title=html.escape(p['title']) + ('' if is_index else f' – {site_title}'),
                description=html.escape(p['description']), root=root, site_title=site_title, site_desc=site_desc,
                sidebar=sidebar_html(pages, p), title=html.escape(p['title']),
                subtitle=f'<p class="subtitle">{_inline_md(p["description"])}</p>' if p['description'] else '',
                body=p['body'], prevnext=prevnext, toc=toc_html(p['toc']),
                katex_css=f'<link rel="stylesheet" href="{root}site_libs/katex/katex.min.css">\n' if has_katex else '',
                katex_js=(f'<script src="{root}site_libs/katex/katex.min.js"></script>\n'
                          f'<script src="{root}site_libs/katex/contrib/auto-render.js"></script>\n') if has_katex else '',
                nbdev_version=nbdev.__version__, nbconvert_version=nbconvert.__version__)
            (tmp/p['page']).parent.mkdir(parents=True, exist_ok=True)
            (tmp/p['page']).write_text(doc, encoding='utf-8')
        (tmp/'.nojekyll').write_text('')
        (tmp/'.buildinfo.json').write_text(json.dumps(dict(
            pages=[dict(notebook=str(p['rel']), page=p['page'].as_posix(), title=p['title'], executed=p['executed'],
                        failed=p['failed']) for p in pages], problems=problems, seconds=round(time.time()-t0, 1)), indent=1))
        old = None
        if out.exists():
            if (out/'screenshots').is_dir(): shutil.copytree(out/'screenshots', tmp/'screenshots')
            old = out.with_name(out.name + '.old-' + tmp.name[-8:])
            out.rename(old)
        tmp.rename(out)
        if old: shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for s in problems: log(f'WARNING: {s}')
    log(f'== {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}/index.html: {len(pages)} pages in {time.time()-t0:.1f} s')
    return 1 if strict and problems else 0

def _inline_md(s: str) -> str:
    "A one-line description (front matter) as HTML: backticks become code, the rest is escaped."
    parts = re.split(r'`([^`]*)`', s)
    return ''.join(f'<code>{html.escape(x)}</code>' if i % 2 else html.escape(x) for i, x in enumerate(parts))

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default=str(ROOT/'_docs'), help='output folder (default: _docs)')
    p.add_argument('--execute', choices=['auto', 'never', 'always'], default='auto',
                   help='run notebooks before rendering: auto = those committed without any output (default)')
    p.add_argument('--strict', action='store_true', help='exit 1 if a notebook could not be read, executed or processed')
    p.add_argument('-j', '--workers', type=int, default=min(2, os.cpu_count() or 1), help='worker processes (default 2)')
    p.add_argument('--nbs', help="notebook folder (default: the project's nbs/)")
    p.add_argument('-q', '--quiet', action='store_true')
    a = p.parse_args(argv)
    return build(Path(a.out), execute=a.execute, strict=a.strict, workers=a.workers, quiet=a.quiet, nbs=a.nbs)

if __name__ == '__main__':
    sys.exit(main())
