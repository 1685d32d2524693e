// browser_test.js WORK URL — headless Chromium (playwright-core, the system
// chromium) loads WORK/flame.html, WORK/flame-diff.html and every view of
// the web UI at URL.  Fails on any JavaScript error, console error, dialog
// (an injected alert()), injected element, or missing function name;
// writes a screenshot per page into WORK.
'use strict';
const { chromium } = require('playwright-core');
const path = require('path');

const [work, url] = process.argv.slice(2);
const probes = ['a<img src=x onerror=alert(1)>b', 'x</script><script>alert(2)</script>'];
let failures = 0;
function fail(what) { console.log('FAIL: ' + what); failures++; }

async function open(browser, where) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  const errors = [];
  page.on('pageerror', e => errors.push('pageerror: ' + e.message));
  page.on('console', m => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
  page.on('dialog', d => { errors.push('dialog: ' + d.message()); d.dismiss(); });
  await page.goto(where, { waitUntil: 'load' });
  return { page, errors };
}

// No element that a name could have become, in a frame.
async function noInjection(frame, what) {
  const n = await frame.evaluate(() =>
    document.querySelectorAll('img, [onerror], script:not([src]):not([type="application/json"])').length);
  const inline = await frame.evaluate(() => Array.from(document.querySelectorAll('script:not([src])'))
    .filter(s => s.type !== 'application/json').length);
  // the flame page has exactly one inline script (its code)
  if (n - inline !== 0 || inline > 1) fail(what + ': injected elements');
}

// Hover across the flame graph's rows and collect the tooltips' text.
async function flameNames(page, frame) {
  await frame.waitForFunction(() => document.body.dataset.painted);
  const canvas = await frame.$('#flame');
  const box = await canvas.boundingBox();
  const seen = new Set();
  for (let d = 0; d < 4; d++) {
    for (let x = 2; x < box.width; x += 24) {
      await page.mouse.move(box.x + x, box.y + d * 17 + 8);
      const t = await frame.evaluate(() => {
        const tip = document.getElementById('tip');
        return tip.hidden ? '' : tip.textContent.split('\n')[0];
      });
      if (t) seen.add(t);
    }
  }
  return seen;
}

async function flameChecks(browser, file, shot, diff) {
  const { page, errors } = await open(browser, 'file://' + file);
  const names = await flameNames(page, page.mainFrame());
  for (const want of ['main', 'serve_request', 'parse_header', ...probes])
    if (!names.has(want)) fail(`${path.basename(file)}: no frame "${want}" (saw ${[...names].join(' | ')})`);
  await noInjection(page.mainFrame(), path.basename(file));
  // search highlights and reports the share; zoom, invert and reset work
  await page.fill('#search', 'serve_request');
  const m = await page.textContent('#matched');
  if (!/matched 67\.86%/.test(m)) fail(`search: "${m}"`);
  const info = await page.textContent('#info');
  if (diff && !/base/.test(info)) fail('diff page does not say base');
  const box = await (await page.$('#flame')).boundingBox();
  await page.mouse.click(box.x + box.width - 20, box.y + 2 * 17 + 8); // zoom into serve_request
  await page.click('#invert');
  await page.screenshot({ path: shot });
  await page.click('#invert');
  await page.click('#reset');
  for (const e of errors) fail(`${path.basename(file)}: ${e}`);
  await page.close();
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    await flameChecks(browser, path.join(work, 'flame.html'), path.join(work, 'flame.png'), false);
    await flameChecks(browser, path.join(work, 'flame-diff.html'), path.join(work, 'flame-diff.png'), true);
    for (const view of ['top', 'flame', 'graph', 'source', 'peek']) {
      const { page, errors } = await open(browser, `${url}/?view=${view}&si=cpu&nobase=1`);
      let frame = page.mainFrame(), text;
      if (view === 'flame') {
        const el = await page.waitForSelector('#flame-frame');
        frame = await el.contentFrame();
        const names = await flameNames(page, frame);
        text = [...names].join('\n');
      } else {
        text = await page.evaluate(() => document.querySelector('main').textContent);
      }
      const want = view === 'source' ? ['compress_block'] : ['serve_request', 'compress_block'];
      if (view === 'top' || view === 'graph' || view === 'flame') want.push(...probes);
      for (const w of want) if (!text.includes(w)) fail(`web ${view}: no "${w}"`);
      await noInjection(page.mainFrame(), 'web ' + view);
      if (frame !== page.mainFrame()) await noInjection(frame, 'web flame frame');
      // links keep the state: the nav link of another view carries si=cpu
      const href = await page.getAttribute('#nav-top', 'href');
      if (!/si=cpu/.test(href)) fail(`web ${view}: nav link lost the state (${href})`);
      await page.screenshot({ path: path.join(work, `web-${view}.png`) });
      for (const e of errors) fail(`web ${view}: ${e}`);
      await page.close();
    }
    // a graph node opens its source
    {
      const { page, errors } = await open(browser, `${url}/?view=graph&si=cpu`);
      await Promise.all([page.waitForNavigation(),
        page.click('#graph g.node:has-text("parse_header")')]);
      const u = new URL(page.url());
      if (u.searchParams.get('view') !== 'source' || u.searchParams.get('f') !== '^parse_header$' ||
          u.searchParams.get('si') !== 'cpu')
        fail('graph click: ' + page.url());
      const text = await page.evaluate(() => document.querySelector('main').textContent);
      if (!/ROUTINE =+ parse_header/.test(text)) fail('graph click: no source of parse_header');
      for (const e of errors) fail(`web graph click: ${e}`);
      await page.close();
    }
    // the diff against the base and the sample selector
    const { page, errors } = await open(browser, `${url}/?view=top`);
    if (!(await page.$('input[name=nobase]'))) fail('web: no base checkbox');
    await Promise.all([page.waitForNavigation(), page.selectOption('#si', 'samples')]);
    if (!/si=samples/.test(page.url())) fail('web: sample selector did not navigate');
    for (const e of errors) fail(`web diff: ${e}`);
  } finally {
    await browser.close();
  }
  if (failures) { console.log(`browser: ${failures} failures`); process.exit(1); }
  console.log('browser: ok; screenshots in ' + work);
}
main().catch(e => { console.log('FAIL: ' + (e.stack || e)); process.exit(1); });
