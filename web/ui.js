// ui.js — small helpers of the web UI's server-rendered pages: the sample
// type selector applies at once, a click on a graph node opens its source,
// and the Top table sorts by a column when its header is clicked.  Names
// are only moved or put in URLs, never parsed as HTML.
'use strict';
(function () {
  const si = document.getElementById('si');
  if (si) si.addEventListener('change', () => si.form.submit());
  // Graph: a click on a function's node opens its source (the node's
  // tooltip is "name (value)"; the regexp matches the name exactly).
  function rxQuote(n) { return '^' + n.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&') + '$'; }
  document.querySelectorAll('#graph g.node').forEach(g => {
    const a = g.querySelector('a');
    const title = a && (a.getAttribute('xlink:title') || a.getAttribute('title'));
    if (!title || !/ \([^()]*\)$/.test(title)) return;
    const name = title.replace(/ \([^()]*\)$/, '');
    g.style.cursor = 'pointer';
    g.addEventListener('click', () => {
      const q = new URLSearchParams(location.search);
      q.set('view', 'source');
      q.set('f', rxQuote(name));
      location.search = q.toString();
    });
  });
  const table = document.getElementById('top');
  if (!table) return;
  const units = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600,
    B: 1, kB: 1024, MB: 1 << 20, GB: 1 << 30, TB: 2 ** 40 };
  function num(s) {
    const m = /^(-?[0-9.e+]+)([a-zµA-Z%]*)$/.exec(s.trim());
    if (!m) return 0;
    return parseFloat(m[1]) * (units[m[2]] || 1);
  }
  const body = table.tBodies[0];
  table.tHead.querySelectorAll('th').forEach((th, col) => {
    let desc = true;
    th.addEventListener('click', () => {
      const rows = Array.from(body.rows);
      rows.sort((a, b) => {
        const x = a.cells[col].textContent, y = b.cells[col].textContent;
        const c = col === 5 ? x.localeCompare(y) : num(y) - num(x);
        return desc ? c : -c;
      });
      desc = !desc;
      rows.forEach(r => body.appendChild(r));
    });
  });
})();
