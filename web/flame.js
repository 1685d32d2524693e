// flame.js — draws the flame graph whose tree sits, as JSON, in the
// script element of type application/json, id flame-data (format in
// docs/pictures.md).  One canvas, no element per frame: a 150k-stack
// profile paints in one pass.  Every name from the profile reaches the page
// only through canvas fillText and textContent, never as HTML.
'use strict';
(function () {
  const data = JSON.parse(document.getElementById('flame-data').textContent);
  const names = data.names, files = data.files, diff = !!data.diff;
  const stride = diff ? 4 : 3, raw = data.nodes, n = raw.length / stride;
  // Flat arrays indexed by node (preorder): function, depth, start, value, base.
  const fn = new Int32Array(n), depth = new Int32Array(n), parent = new Int32Array(n);
  const x = new Float64Array(n), val = new Float64Array(n), base = new Float64Array(n);
  let maxDepth = 0;
  {
    const stack = [], left = [], next = [];  // per open node: children left, next child start
    for (let i = 0; i < n; i++) {
      const o = i * stride;
      fn[i] = raw[o]; val[i] = Math.max(0, raw[o + 2]); base[i] = diff ? raw[o + 3] : 0;
      if (stack.length) {
        const p = stack[stack.length - 1];
        parent[i] = p; depth[i] = depth[p] + 1; x[i] = next[next.length - 1];
        next[next.length - 1] += val[i];
        left[left.length - 1]--;
      } else { parent[i] = -1; depth[i] = 0; x[i] = 0; }
      if (depth[i] > maxDepth) maxDepth = depth[i];
      if (raw[o + 1] > 0) { stack.push(i); left.push(raw[o + 1]); next.push(x[i]); }
      while (left.length && left[left.length - 1] === 0) { stack.pop(); left.pop(); next.pop(); }
    }
  }
  // Nodes of each depth, in x order (preorder keeps each row sorted).
  const rows = [];
  for (let d = 0; d <= maxDepth; d++) rows.push([]);
  for (let i = 0; i < n; i++) rows[depth[i]].push(i);

  const canvas = document.getElementById('flame'), ctx = canvas.getContext('2d');
  const tip = document.getElementById('tip'), info = document.getElementById('info');
  const search = document.getElementById('search'), matchedEl = document.getElementById('matched');
  const ROW = 17, FONT = '12px monospace';
  const total = n ? val[0] : 0, btotal = n ? base[0] : 0;
  let zoom = 0, inverted = false, matches = null, hover = -1;
  document.getElementById('title').textContent = data.title || '';
  if (data.title) document.title = 'cprof flame graph: ' + data.title;

  function name(i) { return i === 0 ? 'root' : names[fn[i]]; }
  function fmt(v) {
    const u = data.unit;
    const scale = u === 'nanoseconds' ? [[1e9, 's'], [1e6, 'ms'], [1e3, 'us'], [1, 'ns']] :
      u === 'bytes' ? [[1 << 30, 'GB'], [1 << 20, 'MB'], [1 << 10, 'kB'], [1, 'B']] : null;
    if (!scale) return String(v) + (u && u !== 'count' ? ' ' + u : '');
    for (const [d, s] of scale) if (Math.abs(v) >= d) return (v / d).toFixed(2).replace(/\.?0+$/, '') + s;
    return String(v) + scale[scale.length - 1][1];
  }
  function pct(a, b) { return b ? (100 * a / b).toFixed(2) + '%' : '-'; }
  function hash(s) { let h = 2166136261; for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); } return h >>> 0; }
  function color(i) {
    if (matches && matches[i]) return '#c45be6';
    if (diff) {
      const a = val[i] / (total || 1), b = base[i] / (btotal || 1), d = a - b, m = Math.max(a, b) || 1;
      const t = Math.min(1, Math.abs(d) / m);
      const c = Math.round(235 - 150 * t);
      return d > 0 ? `rgb(240,${c},${c})` : d < 0 ? `rgb(${c},${c + 10},240)` : 'rgb(235,235,235)';
    }
    const h = hash(name(i));
    return `hsl(${10 + (h % 40)},${70 + (h >> 8) % 20}%,${55 + (h >> 16) % 15}%)`;
  }

  let W = 0, H = 0, dpr = 1;
  function layout() {
    dpr = window.devicePixelRatio || 1;
    W = canvas.clientWidth || 800;
    H = (maxDepth + 1) * ROW + 2;
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
    canvas.style.height = H + 'px';
  }
  function rowY(d) { return inverted ? H - (d + 1) * ROW : d * ROW; }
  function span() { return { x0: x[zoom], w: val[zoom] || 1 }; }

  function draw() {
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    ctx.font = FONT; ctx.textBaseline = 'middle';
    const { x0, w } = span(), k = W / w, zd = depth[zoom];
    const charW = ctx.measureText('m').width || 7;
    for (let d = 0; d <= maxDepth; d++) {
      const row = rows[d], y = rowY(d);
      if (d < zd) {  // the zoomed frame's ancestors span the whole width
        let a = zoom; while (depth[a] > d) a = parent[a];
        bar(a, 0, W, y, charW);
        continue;
      }
      // binary search the first node of the row ending after x0
      let lo = 0, hi = row.length;
      while (lo < hi) { const m = (lo + hi) >> 1; if (x[row[m]] + val[row[m]] <= x0) lo = m + 1; else hi = m; }
      for (let j = lo; j < row.length; j++) {
        const i = row[j];
        if (x[i] >= x0 + w) break;
        const px = (x[i] - x0) * k, pw = val[i] * k;
        if (pw < 0.4) continue;
        bar(i, px, pw, y, charW);
      }
    }
  }
  function bar(i, px, pw, y, charW) {
    ctx.fillStyle = color(i);
    ctx.fillRect(px, y + 1, Math.max(pw - 1, 0.5), ROW - 2);
    if (i === hover) { ctx.strokeStyle = '#000'; ctx.strokeRect(px + 0.5, y + 1.5, Math.max(pw - 2, 0.5), ROW - 3); }
    if (pw > charW * 3) {
      let s = name(i);
      const fit = Math.floor((pw - 6) / charW);
      if (s.length > fit) s = s.slice(0, Math.max(fit - 1, 1)) + '\u2026';
      ctx.fillStyle = '#000';
      ctx.fillText(s, px + 3, y + ROW / 2);
    }
  }
  function at(ev) {
    const r = canvas.getBoundingClientRect(), mx = ev.clientX - r.left, my = ev.clientY - r.top;
    let d = inverted ? Math.floor((H - my) / ROW) : Math.floor(my / ROW);
    if (d < 0 || d > maxDepth) return -1;
    const { x0, w } = span(), vx = x0 + mx * w / W;
    if (d < depth[zoom]) { let a = zoom; while (depth[a] > d) a = parent[a]; return a; }
    const row = rows[d];
    let lo = 0, hi = row.length;
    while (lo < hi) { const m = (lo + hi) >> 1; if (x[row[m]] + val[row[m]] <= vx) lo = m + 1; else hi = m; }
    if (lo < row.length && x[row[lo]] <= vx && vx < x[row[lo]] + val[row[lo]]) return row[lo];
    return -1;
  }
  function describe(i) {
    const lines = [name(i)];
    if (i > 0 && files[fn[i]]) lines.push(files[fn[i]]);
    lines.push(fmt(val[i]) + ' (' + pct(val[i], total) + ' of all' +
      (zoom && zoom !== i ? ', ' + pct(val[i], val[zoom]) + ' of ' + name(zoom) : '') +
      (parent[i] >= 0 ? ', ' + pct(val[i], val[parent[i]]) + ' of its caller' : '') + ')');
    if (diff) {
      lines.push('base: ' + fmt(base[i]) + ' (' + pct(base[i], btotal) + ')');
      const d = val[i] - base[i];
      lines.push('change: ' + (d > 0 ? '+' : '') + fmt(d) + (base[i] ? ' (' + (d > 0 ? '+' : '') + pct(d, base[i]) + ')' : ' (new)'));
    }
    return lines.join('\n');
  }
  canvas.addEventListener('mousemove', ev => {
    const i = at(ev);
    if (i !== hover) { hover = i; draw(); }
    if (i < 0) { tip.hidden = true; return; }
    tip.textContent = describe(i);
    tip.hidden = false;
    const tx = Math.min(ev.clientX + 12, window.innerWidth - tip.offsetWidth - 4);
    tip.style.left = Math.max(tx, 0) + 'px'; tip.style.top = (ev.clientY + 14) + 'px';
    info.textContent = describe(i).replace(/\n/g, '  \u2014  ');
  });
  canvas.addEventListener('mouseleave', () => { tip.hidden = true; hover = -1; draw(); });
  canvas.addEventListener('click', ev => { const i = at(ev); if (i >= 0) { zoom = i; draw(); } });
  function reset() { zoom = 0; draw(); }
  document.getElementById('reset').addEventListener('click', reset);
  const inv = document.getElementById('invert');
  inv.addEventListener('click', () => {
    inverted = !inverted; inv.textContent = inverted ? 'Root at top' : 'Root at bottom';
    draw();
  });
  document.addEventListener('keydown', ev => { if (ev.key === 'Escape') reset(); });
  function doSearch() {
    const q = search.value;
    if (!q) { matches = null; matchedEl.textContent = ''; draw(); return; }
    let rx;
    try { rx = new RegExp(q); } catch (e) { matchedEl.textContent = 'bad regexp'; return; }
    const hit = new Uint8Array(n).fill(0);
    let sum = 0;
    for (let i = 1; i < n; i++) if (rx.test(names[fn[i]])) hit[i] = 1;
    // the share matched: frames under a matched frame are not counted twice
    for (let i = 1; i < n; i++) {
      if (!hit[i]) continue;
      let p = parent[i], under = false;
      for (; p > 0; p = parent[p]) if (hit[p]) { under = true; break; }
      if (!under) sum += val[i];
    }
    matches = hit;
    matchedEl.textContent = 'matched ' + pct(sum, total);
    draw();
  }
  search.addEventListener('input', doSearch);
  window.addEventListener('resize', () => { layout(); draw(); });
  const hidden = data.hidden ? data.hidden + ' frames narrower than 1/20000 of the total are not shown. ' : '';
  info.textContent = (data.type ? data.type + ': ' : '') + fmt(total) + ' total' +
    (diff ? ', base ' + fmt(btotal) + ' (red grew, blue shrank)' : '') + '. ' + hidden +
    'Click a frame to zoom, Esc to reset.';
  layout();
  draw();
  document.body.dataset.painted = String(performance.now());
})();
