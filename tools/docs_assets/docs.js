document.addEventListener('DOMContentLoaded', function () {
  var el = document.getElementById('content');
  if (window.renderMathInElement && el) {
    renderMathInElement(el, {
      delimiters: [
        {left: '$$', right: '$$', display: true}, {left: '\\[', right: '\\]', display: true},
        {left: '\\begin{equation}', right: '\\end{equation}', display: true},
        {left: '\\begin{equation*}', right: '\\end{equation*}', display: true},
        {left: '\\begin{align}', right: '\\end{align}', display: true},
        {left: '\\begin{align*}', right: '\\end{align*}', display: true},
        {left: '$', right: '$', display: false}, {left: '\\(', right: '\\)', display: false}],
      ignoredTags: ['script', 'noscript', 'style', 'textarea', 'pre', 'code', 'option'],
      throwOnError: false,
      errorCallback: function (msg, err) { console.warn(msg, err); }
    });
  }
  var active = document.querySelector('.sidebar a.active');
  if (active && active.scrollIntoView) active.scrollIntoView({block: 'nearest'});
});

// Search. The index (entries {p page, t page title, h heading, a anchor, x prose, k API entry}) is written by the
// build as a script, loaded on first use: a script, not fetched JSON, so that it also works from file://.
(function () {
  var box = document.getElementById('search-input'), list = document.getElementById('search-results');
  if (!box || !list) return;
  var root = box.getAttribute('data-root') || '';
  function load(then) {
    if (window.SEARCH_INDEX) return then();
    var s = document.createElement('script');
    s.src = root + 'site_libs/search-index.js'; s.onload = then;
    document.head.appendChild(s);
  }
  function esc(s) { return s.replace(/[&<>"]/g, function (c) { return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]; }); }
  // every term must occur; a heading that is the query counts most, then words in the heading, the page title, the prose
  function score(e, terms) {
    var h = e.h.toLowerCase(), t = e.t.toLowerCase(), x = e.x.toLowerCase(), c = (e.c || '').toLowerCase(), s = e.k ? 1 : 0;
    for (var i = 0; i < terms.length; i++) {
      var w = terms[i];
      if (h === w) s += 50; else if (h.indexOf(w) >= 0) s += 10; else if (t.indexOf(w) >= 0) s += 3;
      else if (x.indexOf(w) >= 0 || c.indexOf(w) >= 0) s += 1; else return 0;
    }
    return s;
  }
  function snippet(x, w) {
    var i = x.toLowerCase().indexOf(w);
    if (i < 0) return esc(x.slice(0, 90));
    var a = i > 40 ? x.lastIndexOf(' ', i - 30) + 1 : 0;   // from a word's start
    return (a ? '…' : '') + esc(x.slice(a, i)) + '<mark>' + esc(x.slice(i, i + w.length)) + '</mark>' + esc(x.slice(i + w.length, i + w.length + 50)) + '…';
  }
  function run() {
    var terms = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    if (!terms.length) { list.hidden = true; list.innerHTML = ''; return; }
    load(function () {
      var hits = window.SEARCH_INDEX.map(function (e) { return [score(e, terms), e]; }).filter(function (h) { return h[0] > 0; });
      hits.sort(function (a, b) { return b[0] - a[0]; });
      var seen = {}, best = [], more = [];  // each page's best hit first, then the others: 20 rows reach many pages
      hits.forEach(function (h) { (seen[h[1].p] ? more : best).push(h); seen[h[1].p] = 1; });
      hits = best.concat(more);
      list.innerHTML = hits.slice(0, 20).map(function (h) {
        var e = h[1], where = e.a ? esc(e.t) : 'Page';
        if (e.h.toLowerCase().indexOf(terms[0]) < 0 && e.x.toLowerCase().indexOf(terms[0]) >= 0) where += ': ' + snippet(e.x, terms[0]);
        else if (e.h.toLowerCase().indexOf(terms[0]) < 0 && e.c) where += ': in its code';
        return '<li><a href="' + esc(root + e.p + (e.a ? '#' + e.a : '')) + '"><span class="' + (e.k ? 'api' : '') + '">' +
               esc(e.h) + '</span><span class="where">' + where + '</span></a></li>';
      }).join('') || '<li class="none">No results</li>';
      list.hidden = false;
    });
  }
  box.addEventListener('input', run);
  box.addEventListener('keydown', function (ev) {
    var first = list.querySelector('a');
    if (ev.key === 'Enter' && first) location.href = first.href;
    if (ev.key === 'Escape') { box.value = ''; run(); }
  });
})();
