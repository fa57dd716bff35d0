#!/usr/bin/env node
// report.mjs - the HTML page of `leadroute report --html` in headless
// Chromium (playwright-core) with axe-core: the charts are there (an svg
// role="img" with a <title> each, one bar per route in the routes chart,
// bars matching the tables' rows in the others), the page has no script and
// asks for nothing beyond itself, and axe finds no violations.  The empty
// database's page too.
//
// Started by tests/report/browser-test.sh, which seeds the database
// (tests/report/seed.sh) and writes the pages.  Environment:
//   LR_REPORT_HTML        the seeded database's page
//   LR_REPORT_EMPTY_HTML  the empty database's page
//   LR_REPORT_ROUTES      the routes the seed made, most leads first (comma-separated)
//   LR_BROWSER_TMP        a folder for the browser's files
//   SHOTS_DIR             where to save the screenshots
//   CHROMIUM              the browser (default /usr/bin/chromium)
//
// Prints one "ok - ..." or "FAIL - ..." line per check and "N passed, N
// failed"; exits 1 when anything failed.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.log(`FAIL - environment: ${name} is not set (run tests/report/browser-test.sh)`);
    process.exit(1);
  }
  return v;
}
const HTML = need('LR_REPORT_HTML');
const EMPTY_HTML = need('LR_REPORT_EMPTY_HTML');
const ROUTES = need('LR_REPORT_ROUTES').split(',');
const TMP = need('LR_BROWSER_TMP');
const SHOTS = need('SHOTS_DIR');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// No host resolves: a page of ours must need nothing from anywhere.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage', '--host-resolver-rules=MAP * ~NOTFOUND'];
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];
const WATCHDOG_MS = 120000;

let passed = 0;
let failed = 0;
async function check(what, fn) {
  try {
    const problem = await fn();
    if (problem) throw new Error(problem);
    passed++;
    console.log(`ok - ${what}`);
  } catch (e) {
    failed++;
    console.log(`FAIL - ${what}\n  ${String(e && e.message || e).split('\n').join('\n  ')}`);
  }
}

async function axe(page) {
  await page.addScriptTag({ content: AXE_SOURCE });
  const result = await page.evaluate((tags) => window.axe.run(document, {
    runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }), AXE_TAGS);
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n` + v.nodes.slice(0, 5)
    .map((n) => `  at ${n.target.join(' ')}`).join('\n')).join('\n');
}

// What the page holds before anything is injected into it.
function structure() {
  const bars = (id) => Array.from(document.querySelectorAll(`svg#${id} rect.bar`));
  const rows = (id) => document.querySelectorAll(`table#${id} tbody tr`).length;
  const onAttrs = Array.from(document.querySelectorAll('*'))
    .filter((el) => Array.from(el.attributes).some((a) => a.name.toLowerCase().startsWith('on')));
  const svgs = Array.from(document.querySelectorAll('svg')).map((s) => ({
    id: s.id, role: s.getAttribute('role'),
    title: (s.querySelector(':scope > title') || {}).textContent || '',
    labelledby: (s.getAttribute('aria-labelledby') || '').split(' ').filter(Boolean)
      .every((id) => document.getElementById(id)),
  }));
  const latencyRows = Array.from(document.querySelectorAll('table#table-latency tbody tr'))
    .map((tr) => Array.from(tr.cells).map((c) => c.textContent));
  return {
    lang: document.documentElement.lang,
    title: document.title,
    h1: document.querySelectorAll('h1').length,
    h2: Array.from(document.querySelectorAll('h2')).map((h) => h.textContent),
    scripts: document.querySelectorAll('script').length,
    onAttrs: onAttrs.length,
    external: Array.from(document.querySelectorAll('[src], [href], link, img, iframe, object, embed'))
      .length,
    svgs,
    routeBars: bars('chart-routes').map((r) => ({ key: r.dataset.key, value: Number(r.dataset.value),
      width: r.getBBox().width })),
    routeRows: Array.from(document.querySelectorAll('table#table-routes tbody tr'))
      .map((tr) => [tr.cells[0].textContent, Number(tr.cells[1].textContent)]),
    ruleBars: bars('chart-rules').length,
    ruleRows: rows('table-rules'),
    ownerBars: bars('chart-owner').length,
    // routes with assigned leads: the "all" row is the last
    assignedRoutes: latencyRows.filter((c) => c[0] !== 'all' && Number(c[1]) > 0).length,
    crmBars: bars('chart-crm').length,
    confirmedRoutes: latencyRows.filter((c) => c[0] !== 'all' && Number(c[4]) > 0).length,
    schedulerBars: bars('chart-scheduler').length,
    schedulerRows: rows('table-scheduler'),
    text: document.body.innerText,
  };
}

async function main() {
  fs.mkdirSync(TMP, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    for (const [name, file] of [['seeded', HTML], ['empty', EMPTY_HTML]]) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const url = pathToFileURL(path.resolve(file)).href;
      const others = [];
      await context.route((u) => u.href !== url, (route) => {
        others.push(route.request().url());
        return route.abort('blockedbyclient');
      });
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      await page.goto(url, { waitUntil: 'load' });
      const s = await page.evaluate(structure);

      await check(`${name}: a page with lang, a <title> and one h1`, () =>
        s.lang === 'en' && /routing review/.test(s.title) && s.h1 === 1 ? ''
          : `lang ${s.lang}, title "${s.title}", ${s.h1} h1`);
      await check(`${name}: no script, no event handler attribute, nothing referenced from elsewhere`, () =>
        s.scripts === 0 && s.onAttrs === 0 && s.external === 0 ? ''
          : `${s.scripts} scripts, ${s.onAttrs} on* attributes, ${s.external} src/href elements`);
      await check(`${name}: every svg is role="img" with a <title> and names that resolve`, () => {
        const badSvg = s.svgs.filter((v) => v.role !== 'img' || !v.title.trim() || !v.labelledby);
        return badSvg.length ? `bad: ${JSON.stringify(badSvg)}` : '';
      });

      if (name === 'seeded') {
        await check(`seeded: headings for each part (${s.h2.join('; ')})`, () =>
          ['Volume by route', 'Volume by rule', 'Time from submit to owner and to CRM',
            'Owners and exceptions', 'Scheduler shown and meeting booked', 'Validation and CRM',
            'Account index'].every((h) => s.h2.includes(h)) ? '' : 'a heading is missing');
        await check(`seeded: five charts (${s.svgs.map((v) => v.id).join(', ')})`, () =>
          ['chart-routes', 'chart-rules', 'chart-owner', 'chart-crm', 'chart-scheduler']
            .every((id) => s.svgs.some((v) => v.id === id)) ? '' : 'a chart is missing');
        await check(`seeded: one bar per route, in order (${s.routeBars.map((b) => b.key).join(', ')})`, () =>
          s.routeBars.length === ROUTES.length && s.routeBars.every((b, i) => b.key === ROUTES[i])
            && s.routeRows.length === ROUTES.length ? ''
            : `bars ${JSON.stringify(s.routeBars)}, table rows ${JSON.stringify(s.routeRows)}, want ${ROUTES}`);
        await check('seeded: the route bars carry the table\'s numbers and are drawn to scale', () => {
          const max = Math.max(...s.routeBars.map((b) => b.value));
          const bad = s.routeBars.filter((b, i) => b.value !== s.routeRows[i][1] || b.width <= 0
            || (b.value === max && Math.abs(b.width - 420) > 1));
          return bad.length ? `bad bars: ${JSON.stringify(bad)}` : '';
        });
        await check(`seeded: a bar per rule (${s.ruleBars}) as the rules table's rows (${s.ruleRows})`, () =>
          s.ruleBars > 0 && s.ruleBars === s.ruleRows ? '' : 'they differ');
        await check(`seeded: median and p90 bars per route with assigned leads (${s.ownerBars} = 2 x ${s.assignedRoutes})`, () =>
          s.assignedRoutes > 0 && s.ownerBars === 2 * s.assignedRoutes ? '' : 'they differ');
        await check(`seeded: median and p90 bars per route confirmed in the CRM (${s.crmBars} = 2 x ${s.confirmedRoutes})`, () =>
          s.confirmedRoutes > 0 && s.crmBars === 2 * s.confirmedRoutes ? '' : 'they differ');
        await check(`seeded: shown and booked bars per scheduler route (${s.schedulerBars} = 2 x ${s.schedulerRows})`, () =>
          s.schedulerRows > 0 && s.schedulerBars === 2 * s.schedulerRows ? '' : 'they differ');
      } else {
        await check('empty: says there is nothing in the window, draws no chart', () =>
          /Nothing in the window/.test(s.text) && s.svgs.length === 0 && !/NaN/.test(s.text) ? ''
            : `text: ${s.text.slice(0, 200)}; ${s.svgs.length} charts`);
      }

      await page.screenshot({ path: path.join(SHOTS, `report-${name}.png`), fullPage: true });
      await check(`${name}: axe finds no violations`, () => axe(page));
      await check(`${name}: no request beyond the file, no page error`, () =>
        others.length || errors.length ? `requests: ${others.join(' ')}; errors: ${errors.join(' ')}` : '');
      await context.close();
    }
  } finally {
    await browser.close();
  }
}

const watchdog = setTimeout(() => {
  console.log(`FAIL - the browser checks took longer than ${WATCHDOG_MS} ms`);
  process.exit(1);
}, WATCHDOG_MS);
try {
  await main();
} catch (e) {
  failed++;
  console.log(`FAIL - ${e && e.stack || e}`);
}
clearTimeout(watchdog);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
