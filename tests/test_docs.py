"""The documentation site, built offline by tools/build_docs.py and loaded page by page in headless Chromium.

Chromium (Debian's, installed by tools/setup_docs.sh) is driven over the Chrome DevTools Protocol (websocket-client)
and reads the site from a local http.server on 127.0.0.1; its host resolver maps every other name to nothing, and
every request a page makes is recorded: any that leaves the site fails the test. Screenshots of the landing page,
of a tutorial (or, until one exists, of the data notebook) and of the CAM page's widest code block are saved to
_docs/screenshots/. The search box is tested by typing into it, as a reader would.
"""
import base64, functools, importlib, inspect, json, os, re, shutil, subprocess, sys, tempfile, threading, time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit
import pytest

# about 40 s plus Chromium's installation on a new machine: `make test-all` runs it, `make test` leaves it out
pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT/'_docs'
NBS = ROOT/'nbs'
BUILD = [sys.executable, str(ROOT/'tools'/'build_docs.py'), '--execute', 'never']

def _page_of(nb: Path) -> str:
    "The page Quarto/nbdev (and build_docs.py) make of notebook `nb`: number prefix dropped."
    rel = nb.relative_to(NBS)
    return (rel.parent/(re.sub(r'^\d+[a-zA-Z]?_', '', rel.stem) + '.html')).as_posix()

def _notebooks():
    "Top-level notebooks in site order: index, the tutorials, the library, the command line; by filename within each."
    nbs = sorted(p for p in NBS.glob('*.ipynb') if p.name[0] not in '._')
    group = lambda p: 0 if p.stem == 'index' else 1 if p.stem.startswith('tutorial') else 3 if p.stem.endswith('_cli') else 2
    return sorted(nbs, key=group)

def _norm(s: str) -> str:
    "Text as rendered from markdown: without emphasis/code marks, whitespace collapsed."
    return re.sub(r'\s+', ' ', re.sub(r'[*`\\]', '', s)).strip()

# ----------------------------------------------------------------------------------------------------------------
# Chromium over the DevTools Protocol

def _chromium():
    for c in (os.environ.get('CHROMIUM'), '/usr/lib/chromium/chromium', 'chromium', 'chromium-browser', 'google-chrome'):
        if c and (shutil.which(c) or (Path(c).is_file() and os.access(c, os.X_OK))): return shutil.which(c) or c
    return None

class CDP:
    "A minimal Chrome DevTools Protocol client: commands by id, every event kept in `events`."
    def __init__(self, url):
        import websocket
        self.ws = websocket.create_connection(url, timeout=30, suppress_origin=True, max_size=None) \
            if 'max_size' in inspect.signature(websocket.create_connection).parameters else \
            websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.n, self.events = 0, []

    def _recv(self, deadline):
        import websocket
        self.ws.settimeout(max(0.05, deadline - time.time()))
        try: msg = json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException: return None
        if 'method' in msg: self.events.append(msg)
        return msg

    def __call__(self, method, session=None, timeout=60, **params):
        self.n += 1
        msg = dict(id=self.n, method=method, params=params)
        if session: msg['sessionId'] = session
        self.ws.send(json.dumps(msg))
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self._recv(deadline)
            if r and r.get('id') == self.n:
                if 'error' in r: raise RuntimeError(f'{method}: {r["error"]}')
                return r.get('result', {})
        raise TimeoutError(f'no answer to {method} in {timeout} s')

    def wait_event(self, pred, timeout=60):
        deadline, seen = time.time() + timeout, 0
        while True:
            for e in self.events[seen:]:
                if pred(e): return e
            seen = len(self.events)
            if time.time() > deadline: raise TimeoutError('event not seen')
            self._recv(deadline)

class Browser:
    def __init__(self, exe):
        self.ud = tempfile.mkdtemp(prefix='chromium-')
        args = [exe, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                '--disable-background-networking', '--disable-component-update', '--disable-sync',
                '--disable-extensions', '--disable-default-apps', '--mute-audio', '--hide-scrollbars',
                f'--user-data-dir={self.ud}', '--remote-debugging-port=0', '--remote-debugging-address=127.0.0.1',
                '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1', '--window-size=1280,1000', 'about:blank']
        self.log = open(Path(self.ud)/'chromium.log', 'wb')
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        port_file, deadline = Path(self.ud)/'DevToolsActivePort', time.time() + 60
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if self.proc.poll() is not None or time.time() > deadline:
                self.close()
                raise RuntimeError(f'chromium did not start: {(Path(self.ud)/"chromium.log").read_text()[-2000:]}')
            time.sleep(0.1)
        port, path = port_file.read_text().split()[:2]
        self.cdp = CDP(f'ws://127.0.0.1:{port}{path}')
        tid = self.cdp('Target.createTarget', url='about:blank')['targetId']
        self.s = self.cdp('Target.attachToTarget', targetId=tid, flatten=True)['sessionId']
        for dom in ('Page', 'Runtime', 'Log', 'Network'): self.cdp(f'{dom}.enable', self.s)
        self.cdp('Emulation.setDeviceMetricsOverride', self.s, width=1280, height=1000, deviceScaleFactor=1, mobile=False)

    def load(self, url):
        "Navigate to `url`, wait for the load event and the fonts; the page's events are in the returned list."
        start = len(self.cdp.events)
        self.cdp('Page.navigate', self.s, url=url)
        self.cdp.wait_event(lambda e: e['method'] == 'Page.loadEventFired' and e.get('sessionId') == self.s, 60)
        self.eval('document.fonts.ready.then(() => new Promise(r => setTimeout(r, 150)))', awaitPromise=True)
        return [e for e in self.cdp.events[start:] if e.get('sessionId') == self.s]

    def eval(self, expr, **kw):
        r = self.cdp('Runtime.evaluate', self.s, expression=expr, returnByValue=True, **kw)
        if 'exceptionDetails' in r: raise RuntimeError(f'{expr[:80]}: {r["exceptionDetails"]}')
        return r['result'].get('value')

    def screenshot(self, fn: Path):
        fn.parent.mkdir(parents=True, exist_ok=True)
        fn.write_bytes(base64.b64decode(self.cdp('Page.captureScreenshot', self.s, format='png')['data']))

    def close(self):
        try: self.proc.terminate(); self.proc.wait(10)
        except Exception: self.proc.kill()
        self.log.close()
        shutil.rmtree(self.ud, ignore_errors=True)

PAGE_INFO = r"""(() => {
  const clean = h => { const c = h.cloneNode(true); c.querySelectorAll('.anchor-link').forEach(a => a.remove()); return c.textContent.trim(); };
  const heads = [...document.querySelectorAll('#content h2, #content h3, #content h4')].map(h => {
    const parts = []; let n = h.nextElementSibling, sig = false;
    while (n && !/^H[1-4]$/.test(n.tagName) && n.tagName !== 'HR') {
      parts.push(n.textContent); sig = sig || n.matches('pre, .highlight') || !!n.querySelector('pre');
      n = n.nextElementSibling;
    }
    return {level: +h.tagName[1], id: h.id, text: clean(h), entry: parts.join('\n'), sig};
  });
  const walker = document.createTreeWalker(document.getElementById('content'), NodeFilter.SHOW_TEXT);
  const rawMath = []; let t;
  while ((t = walker.nextNode())) {
    if (t.parentElement.closest('pre, code, .katex, script, style')) continue;
    if (/\$[^$]*\\[a-zA-Z]+/.test(t.textContent)) rawMath.push(t.textContent.slice(0, 80));
  }
  return {
    title: document.title,
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    links: [...document.querySelectorAll('a[href]')].map(a => ({href: a.href, raw: a.getAttribute('href'), sidebar: !!a.closest('#sidebar')})),
    sidebar: [...document.querySelectorAll('#sidebar a')].map(a => a.getAttribute('href')),
    images: [...document.images].map(i => ({src: i.getAttribute('src').slice(0, 100), complete: i.complete, w: i.naturalWidth,
                                           output: !!i.closest('.jp-OutputArea-output')})),
    // code blocks wider than their box (inline code has no box of its own: left out)
    overflow: [...document.querySelectorAll('#content pre, #content code')].filter(e => getComputedStyle(e).display !== 'inline'
                && e.scrollWidth > e.clientWidth + 1).map(e => e.textContent.slice(0, 80)),
    heads, katex: document.querySelectorAll('.katex').length, rawMath,
    tables: document.querySelectorAll('#content table').length,
    h1: document.querySelector('h1.title') ? document.querySelector('h1.title').textContent : null,
  };
})()"""

def _problems(events, base):
    "Console errors, exceptions, failed loads and requests that leave the site, from one page's CDP events."
    out, urls = [], {}
    for e in events:
        m, p = e['method'], e.get('params', {})
        if m == 'Network.requestWillBeSent':
            url = p['request']['url']
            urls[p['requestId']] = url
            if not (url.startswith(base) or url.startswith('data:')): out.append(f'external request: {url}')
        elif m == 'Network.responseReceived' and p['response']['status'] >= 400:
            out.append(f'HTTP {p["response"]["status"]}: {p["response"]["url"]}')
        elif m == 'Network.loadingFailed':
            out.append(f'failed to load {urls.get(p["requestId"], "?")}: {p.get("errorText")}')
        elif m == 'Runtime.consoleAPICalled' and p['type'] in ('error', 'assert'):
            out.append('console.' + p['type'] + ': ' + ' '.join(str(a.get('value', a.get('description', ''))) for a in p['args']))
        elif m == 'Runtime.exceptionThrown':
            d = p['exceptionDetails']
            out.append(f'uncaught: {d.get("exception", {}).get("description") or d.get("text")}')
        elif m == 'Log.entryAdded' and p['entry']['level'] == 'error':
            out.append(f'console error: {p["entry"]["text"]} {p["entry"].get("url", "")}')
    return out

# ----------------------------------------------------------------------------------------------------------------
# Fixtures

class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *a): pass

@pytest.fixture(scope='module')
def serve():
    "Serve folder -> base URL on 127.0.0.1; servers stop at the end of the module."
    servers = []
    def _serve(folder):
        srv = ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Quiet, directory=str(folder)))
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f'http://127.0.0.1:{srv.server_address[1]}/'
    yield _serve
    for s in servers: s.shutdown(); s.server_close()

@pytest.fixture(scope='module')
def browser():
    pytest.importorskip('websocket', reason='websocket-client is not installed (pip install -e ".[dev]")')
    exe = _chromium()
    if exe is None:
        r = subprocess.run(['bash', str(ROOT/'tools'/'setup_docs.sh')], cwd=ROOT, capture_output=True, text=True, timeout=1200)
        exe = _chromium()
        if exe is None:
            pytest.skip('chromium is not installed and tools/setup_docs.sh could not install it '
                        f'(apt-get install chromium): {(r.stdout + r.stderr)[-300:]}')
    b = Browser(exe)
    yield b
    b.close()

@pytest.fixture(scope='module')
def site(serve):
    "Build the site from the notebooks (nothing executed: outputs come from the notebooks or the build's cache)."
    r = subprocess.run(BUILD, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (DOCS/'index.html').is_file()
    info = json.loads((DOCS/'.buildinfo.json').read_text())
    return dict(base=serve(DOCS), info=info, log=r.stdout)

@pytest.fixture(scope='module')
def pages(site, browser):
    "Every page loaded in Chromium: {page: (problems, info)}."
    out = {}
    for p in site['info']['pages']:
        events = browser.load(site['base'] + p['page'])
        out[p['page']] = (_problems(events, site['base']), browser.eval(PAGE_INFO))
    return out

# ----------------------------------------------------------------------------------------------------------------
# The site

def test_site_has_a_page_per_notebook_in_order(site):
    want = [_page_of(nb) for nb in _notebooks()]
    got = [p['page'] for p in site['info']['pages']]
    assert [g for g in got if '/' not in g] == want, (got, want)
    for g in got: assert (DOCS/g).is_file()
    assert not [p for p in site['info']['pages'] if p['failed']], site['info']['problems']

def test_no_external_resources_in_the_files(site):
    "No CDN: nothing in the HTML or CSS loads from another host (the browser test catches what scripts load)."
    bad = re.compile(r'<(?:script|link|img|iframe|source|video|audio|embed)\b[^>]*?\b(?:src|href)\s*=\s*["\']?(?:https?:)?//', re.I)
    for f in list(DOCS.rglob('*.html')) + list(DOCS.rglob('*.css')):
        txt = f.read_text(errors='replace')
        assert not bad.search(txt), f'{f}: {bad.search(txt).group(0)}'
        assert not re.search(r'(@import|url\()\s*["\']?(https?:)?//', txt), f

def test_pages_load_without_errors_or_external_requests(pages):
    errs = {pg: probs for pg, (probs, _) in pages.items() if probs}
    assert not errs, json.dumps(errs, indent=1)

def test_sidebar_lists_every_page_in_notebook_order(site, pages):
    order = [p['page'] for p in site['info']['pages']]
    titles = re.findall(r'<li class="section-title">([^<]+)</li>', (DOCS/'index.html').read_text())
    assert titles[:3] == ['Tutorials', 'Library', 'Command line'], titles   # grouped, the tutorials first
    for pg, (_, info) in pages.items():
        assert [os.path.normpath(os.path.join(os.path.dirname(pg), h)) for h in info['sidebar']] == order, pg
        assert info['h1'] and info['title']

def test_every_link_resolves(site, pages):
    "Every local link (sidebar, table of contents, in-page, API links) names an existing file and anchor."
    base, ids = site['base'], {pg: set(info['ids']) for pg, (_, info) in pages.items()}
    bad = []
    for pg, (_, info) in pages.items():
        for a in info['links']:
            u = urlsplit(a['href'])
            if not a['href'].startswith(base):
                assert u.scheme in ('http', 'https', 'mailto'), (pg, a)
                assert not a['href'].startswith('https://part-nb.github.io/'), f'{pg}: absolute link to the site itself: {a}'
                continue
            path = unquote(u.path)[len(urlsplit(base).path):] or 'index.html'
            if path.endswith('/'): path += 'index.html'
            if not (DOCS/path).is_file(): bad.append(f'{pg}: {a["raw"]} -> missing {path}'); continue
            if u.fragment and path.endswith('.html') and unquote(u.fragment) not in ids.get(path, set()):
                bad.append(f'{pg}: {a["raw"]} -> no #{u.fragment} in {path}')
    assert not bad, '\n'.join(bad)

def test_every_image_loads(pages):
    bad = [(pg, i) for pg, (_, info) in pages.items() for i in info['images'] if not (i['complete'] and i['w'] > 0)]
    assert not bad, bad

def _page_named(site, name):
    "The page of the notebook `name` (number prefix dropped), e.g. 'cam' -> 'cam.html' from nbs/02_cam.ipynb."
    pg = next((p['page'] for p in site['info']['pages'] if Path(p['page']).stem == name), None)
    assert pg, f'no page {name}.html: {[p["page"] for p in site["info"]["pages"]]}'
    return pg

def test_cam_page_shows_its_figures(site, pages):
    "The CAM notebook's page shows its figures: PNG outputs of its cells (extracted to cam_files/), loaded."
    pg = _page_named(site, 'cam')
    imgs = pages[pg][1]['images']
    figs = [i for i in imgs if i['output'] and re.fullmatch(rf'{Path(pg).stem}_files/[^/]+\.png', i['src'])]
    assert figs, (f'{pg} has no figure from a cell output (the notebook has no outputs, and the build has no run of it '
                  f'in _proc/.docs-cache: `make docs` runs it): {imgs}')
    assert all(i['complete'] and i['w'] > 0 for i in figs), figs

def test_code_blocks_wrap_instead_of_scrolling(site, pages, browser):
    "No code block is wider than the column on any page; the CAM page has lines that would be, if they didn't wrap."
    wide = {pg: info['overflow'] for pg, (_, info) in pages.items() if info['overflow']}
    assert not wide, json.dumps(wide, indent=1)
    browser.load(site['base'] + _page_named(site, 'cam'))
    r = browser.eval("""(() => {
      const pres = [...document.querySelectorAll('#content pre')], over = () => pres.filter(p => p.scrollWidth > p.clientWidth + 1);
      pres.forEach(p => p.style.whiteSpace = 'pre'); const unwrapped = over(); pres.forEach(p => p.style.whiteSpace = '');
      const widest = unwrapped.sort((a, b) => b.scrollWidth - a.scrollWidth)[0];
      if (widest) widest.scrollIntoView({block: 'center'});
      return {n: pres.length, unwrapped: unwrapped.length, now: over().length};
    })()""")
    assert r['unwrapped'] > 0, f'the CAM page has no code line wider than the column: this test checks nothing ({r})'
    assert r['now'] == 0, r
    time.sleep(0.2)
    browser.screenshot(DOCS/'screenshots'/'cam_code.png')

def test_search_finds_an_api_entry(site, browser):
    "Typing a function's name into the sidebar's search box lists its API entry first, as a link to it; nonsense finds nothing."
    pg = next(pg for mod, pg in _api_modules() if 'importance_mask' in importlib.import_module(mod).__all__)
    def search(q):
        browser.load(site['base'] + 'index.html')
        start = len(browser.cdp.events)
        browser.eval("document.getElementById('search-input').focus()")
        browser.cdp('Input.insertText', browser.s, text=q)   # as typed: fires the box's input event
        deadline = time.time() + 10
        while time.time() < deadline:
            res = browser.eval("document.getElementById('search-results').hidden ? null : "
                               "[...document.querySelectorAll('#search-results li')].map(li => [li.textContent, (li.querySelector('a') || {}).href])")
            if res: break
            time.sleep(0.1)
        probs = _problems([e for e in browser.cdp.events[start:] if e.get('sessionId') == browser.s], site['base'])
        assert not probs, probs
        return res or []
    hits = search('importance_mask')
    assert hits and hits[0][1] == site['base'] + f'{pg}#importance_mask', hits
    browser.load(hits[0][1])
    assert browser.eval("location.hash") == '#importance_mask' and browser.eval("!!document.getElementById('importance_mask')")
    assert [h[1] for h in search('zzqxv nothing')] == [None]   # one item: "No results"
    # names a fastai user types: found on the pages whose code uses them (issue 31), not only in prose
    uses = lambda name: {_page_of(nb) for nb in _notebooks() if name in ''.join(
        ''.join(c['source']) for c in json.loads(nb.read_text())['cells']
        if c['cell_type'] == 'code' and not ''.join(c['source']).startswith(('#| export', '#| hide')))}  # the examples
    for name in ('vision_learner', 'fit_one_cycle', 'robust_validate', 'show_part'):
        found = {urlsplit(h[1]).path.rsplit('/', 1)[-1] for h in search(name) if h[1]}
        assert uses(name) and uses(name) <= found, (name, sorted(uses(name) - found))

def test_math_is_typeset(pages):
    if not (DOCS/'site_libs'/'katex'/'katex.min.js').exists(): pytest.skip('libjs-katex not installed: math left as TeX')
    raw = {pg: info['rawMath'] for pg, (_, info) in pages.items() if info['rawMath']}
    assert not raw, raw

def _api_modules():
    "(module, page) of each notebook that exports a module."
    out = []
    for nb in _notebooks():
        src = '\n'.join(''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code')
        m = re.search(r'^\s*#\|\s*default_exp\s+(\S+)', src, re.M)
        if m: out.append((f'part_nb.{m.group(1)}', _page_of(nb)))
    return out

def test_api_entry_for_every_exported_symbol(pages):
    """Each name in a module's `__all__` is an API heading on its notebook's page; a function or class's entry shows
    its signature, the first line of its docstring and its parameters' docments."""
    from fastcore.docments import docments
    mods = _api_modules()
    assert mods, 'no notebook exports a module'
    missing, everywhere = [], {h['text']: h for _, info in pages.values() for h in info['heads']}
    for modname, pg in mods:
        mod = importlib.import_module(modname)
        heads = {h['text']: h for h in pages[pg][1]['heads']}
        for name in mod.__all__:
            obj = getattr(mod, name)
            # a name re-exported from another module (as part_nb.all does) is documented on that module's page
            elsewhere = getattr(obj, '__module__', modname) != modname or any(
                m != modname and getattr(importlib.import_module(m), name, None) is obj for m, _ in mods)
            h = heads.get(name) or (everywhere.get(name) if elsewhere else None)
            if h is None: missing.append(f'{pg}: no API heading for {modname}.{name}'); continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                if not h['sig']: missing.append(f'{pg}: {name}: no definition shown')
                continue
            entry = _norm(h['entry'])
            if not h['sig']: missing.append(f'{pg}: {name}: no signature')
            doc = inspect.getdoc(obj)
            if doc and _norm(doc.splitlines()[0]) not in entry: missing.append(f'{pg}: {name}: docstring not shown')
            try: dms = docments(obj)
            except Exception: dms = {}
            for arg, d in dms.items():
                if d and arg != 'return' and _norm(d) not in entry: missing.append(f'{pg}: {name}({arg}): docment {d!r} not shown')
    assert not missing, '\n'.join(missing)

def test_screenshots(site, pages, browser):
    "Screenshots for the note: the landing page, and a tutorial (else the data notebook), at its top and first figure."
    shots = DOCS/'screenshots'
    browser.load(site['base'] + 'index.html')
    browser.screenshot(shots/'index.png')
    names = [p['page'] for p in site['info']['pages']]
    tut = next((n for n in names if 'tutorial' in n.lower()), 'data.html' if 'data.html' in names else names[-1])
    browser.load(site['base'] + tut)
    stem = Path(tut).stem
    browser.screenshot(shots/f'{stem}.png')
    if browser.eval("(() => { const i = document.querySelector('#content img'); if (!i) return false; i.scrollIntoView({block: 'center'}); return true; })()"):
        time.sleep(0.2)
        browser.screenshot(shots/f'{stem}_figure.png')
    for f in shots.glob('*.png'): assert f.stat().st_size > 5000 and f.read_bytes()[:4] == b'\x89PNG'

# ----------------------------------------------------------------------------------------------------------------
# The renderer on a notebook made here: math, tables, plots, callouts, Quarto cell options

def _nb(cells):
    return dict(nbformat=4, nbformat_minor=5, metadata=dict(kernelspec=dict(name='python3', display_name='Python 3', language='python')),
                cells=[dict(cell_type=t, metadata={}, source=s, **(dict(outputs=o, execution_count=1) if t == 'code' else {}))
                       for t, s, o in cells])

def test_renderer_features(serve, browser, tmp_path):
    from PIL import Image
    import io
    buf = io.BytesIO(); Image.new('RGB', (40, 30), (200, 30, 30)).save(buf, 'PNG')
    png = base64.b64encode(buf.getvalue()).decode()
    nbs = tmp_path/'nbs'; (nbs/'images').mkdir(parents=True)
    Image.new('RGB', (20, 20), (0, 90, 200)).save(nbs/'images'/'blue.png')
    (nbs/'index.ipynb').write_text(json.dumps(_nb([
        ('markdown', '# Demo site\n\n> A page made by the test', None),
        ('markdown', '## Math\n\nInline $\\epsilon_{\\text{low}} \\le \\epsilon$ and display:\n\n$$\\frac{1}{n}\\sum_i x_i$$', None),
        ('markdown', '## Table\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![blue](images/blue.png)\n\nSee [the other page](01_other.ipynb#a-section).', None),
        ('markdown', '::: {.callout-note}\nA note.\n:::', None),
        ('code', '#| echo: false\nprint("shown without its code")', [dict(output_type='stream', name='stdout', text='shown without its code\n')]),
        ('code', 'plot()', [dict(output_type='display_data', metadata={}, data={'image/png': png, 'text/plain': '<Figure>'})]),
        ('code', '#| include: false\nsecret = 1', []),
    ])))
    (nbs/'01_other.ipynb').write_text(json.dumps(_nb([
        ('markdown', '# Other\n\n> Second page', None), ('markdown', '## A section\n\nBack [home](index.ipynb).', None)])))
    out = tmp_path/'site'
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py'), '--nbs', str(nbs), '--out', str(out), '--strict'],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert (out/'other.html').is_file() and (out/'images'/'blue.png').is_file()
    base = serve(out)
    probs = _problems(browser.load(base + 'index.html'), base)
    assert not probs, probs
    info = browser.eval(PAGE_INFO)
    assert info['h1'] == 'Demo site' and info['sidebar'] == ['index.html', 'other.html']
    if (out/'site_libs'/'katex').exists(): assert info['katex'] >= 2 and not info['rawMath'], info
    assert info['tables'] == 1
    assert len(info['images']) == 2 and all(i['complete'] and i['w'] > 0 for i in info['images']), info['images']
    assert any(a['raw'] == 'other.html#a-section' for a in info['links']) and 'a-section' in (out/'other.html').read_text()
    text = browser.eval("document.getElementById('content').innerText")
    assert 'shown without its code' in text and 'print(' not in text and 'secret' not in text
    assert browser.eval("!!document.querySelector('#content .callout.callout-note')")

def test_budgets_read_as_255ths(site):
    "Issue 31: a budget default such as 8/255 reads `8/255` in the API tables, not `0.03137254901960784`."
    page = (DOCS/'callback.html').read_text()
    assert '0.03137254901960784' not in page and '8/255' in page
