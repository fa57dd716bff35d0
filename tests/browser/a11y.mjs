#!/usr/bin/env node
// a11y.mjs - www/ in headless Chromium against the real handler: the form
// rendered by leadroute.fcgi behind lighttpd (deploy/lighttpd.conf), leads
// routed by rules/example.routes into a real SQLite store.
//
// Started by tests/browser/browser-test.sh, which starts the servers
// (tests/integration/lib.sh), passes their addresses in the environment,
// and afterwards checks the database against the results this script
// writes (which leads it sent, where the browser landed).  Not meant to be
// run alone.
//
// Environment:
//   LR_ORIGIN           http://127.0.0.1:PORT, rules/example.routes as shipped
//   LR_ORIGIN_ALLHOURS  the same rules without enterprise_us's `hours` line
//                       (the scheduler outcome at any hour)
//   LR_RULES            the rules file (to read the schedulers from)
//   LR_MIN_SECONDS      the servers' LEADROUTE_SPAM_MIN_SECONDS
//   LR_RESULTS          where to write the results (JSON)
//   LR_BROWSER_TMP      a folder for the browser profiles
//   SHOTS_DIR           where to save the screenshots
//   CHROMIUM            the browser (default /usr/bin/chromium)
//
// Prints one "ok - ..." or "FAIL - ..." line per check and "N passed, N
// failed"; exits 1 when anything failed.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.log(`FAIL - environment: ${name} is not set (run tests/browser/browser-test.sh)`);
    process.exit(1);
  }
  return v;
}
const ORIGIN = need('LR_ORIGIN');
const ORIGIN_ALLHOURS = need('LR_ORIGIN_ALLHOURS');
const RULES = need('LR_RULES');
const RESULTS = need('LR_RESULTS');
const TMP = need('LR_BROWSER_TMP');
const SHOTS = need('SHOTS_DIR');
const MIN_SECONDS = Number(process.env.LR_MIN_SECONDS || 0);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// No host but loopback resolves: nothing the pages do can leave this
// machine, whatever the interception below misses.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost'];
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TOKEN_RE = /^v1\.[0-9]+\.[0-9a-f]+\.[0-9a-f]{64}$/;
const DESKTOP = { width: 1280, height: 800 };
const MOBILE = { width: 390, height: 844 };
const WATCHDOG_MS = 240000;

// Every name the form sends (www/README).
const FIELD_NAMES = ['first_name', 'last_name', 'email', 'company', 'website', 'country', 'region',
  'employees', 'product', 'intent', 'message', 'form_token', 'idempotency_key', 'hp_website2',
  'utm_source', 'utm_medium', 'utm_campaign'];

/* ------------------------------------------------------------------ */
/* results                                                            */

let passed = 0;
let failed = 0;
function ok(name) { passed++; console.log(`ok   - ${name}`); }
function notOk(name, detail) {
  failed++;
  console.log(`FAIL - ${name}`);
  if (detail) console.log(String(detail).replace(/^/gm, '       '));
}
async function check(name, fn) {
  try {
    const detail = await fn();
    if (detail) notOk(name, detail); else ok(name);
  } catch (e) {
    notOk(name, e && e.stack ? e.stack.split('\n').slice(0, 4).join('\n') : e);
  }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }
function canon(v) {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]));
  return v;
}
function eq(actual, expected, what) {
  if (JSON.stringify(canon(actual)) !== JSON.stringify(canon(expected)))
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// What browser-test.sh checks in the database afterwards.
const results = {
  leads: [],        // {origin, email, queue, landed, idem?, fields?}: stored exactly once, in queue
  absent: [],       // {origin, email}: never stored
  spam: {},         // origin -> spam_blocked events expected
  schedulers: {},   // member -> scheduler URL (enterprise_us, from the rules)
  beacons: {},      // origin -> {form_view, form_start} as /metrics showed them at the end
};
function writeResults() {
  fs.writeFileSync(RESULTS, JSON.stringify(results, null, 2));
}

/* ------------------------------------------------------------------ */
/* the rules                                                          */

// enterprise_us's members and their scheduler URLs, read from the rules file.
function schedulersOf(text, queue) {
  const start = text.search(new RegExp(`^queue\\s+${queue}\\s*=`, 'm'));
  if (start < 0) return {};
  const rest = text.slice(start + 1);
  const end = rest.search(/^(queue|when|otherwise|expect)\b/m);
  const def = end < 0 ? rest : rest.slice(0, end);
  const out = {};
  for (const m of def.matchAll(/"([^"]+)"[^"\n]*?\bscheduler\s+"([^"]+)"/g)) out[m[1]] = m[2];
  return out;
}

// Is it inside enterprise_us's hours (mon-fri 08:00-18:00 New York)?
function inUsHours(d = new Date()) {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York',
    weekday: 'short', hour: 'numeric', hourCycle: 'h23' }).formatToParts(d).map((x) => [x.type, x.value]));
  return !['Sat', 'Sun'].includes(p.weekday) && Number(p.hour) >= 8 && Number(p.hour) < 18;
}

/* ------------------------------------------------------------------ */
/* the servers                                                        */

async function metrics(origin) {
  const r = await fetch(origin + '/metrics');
  assert(r.status === 200, `GET /metrics: ${r.status}`);
  const out = { form_view: 0, form_start: 0, spam_blocked: 0 };
  for (const line of (await r.text()).split('\n')) {
    const m = line.match(/^leadroute_events_total\{type="([a-z_]+)"\} ([0-9]+)$/);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

// Wait until /metrics shows `want` (a subset of counters), or time out;
// returns the last counters seen.
async function metricsReach(origin, want, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const m = await metrics(origin);
    if (Object.entries(want).every(([k, v]) => m[k] >= v) || Date.now() > end) return m;
    await sleep(100);
  }
}

// Beacons each origin should have received: one form_view per load of the
// fresh form with JavaScript, one form_start per such load that was typed in.
const expected = {};
function expect(origin) {
  if (!expected[origin]) expected[origin] = { form_view: 0, form_start: 0 };
  return expected[origin];
}

function isLoopback(u) {
  return u.hostname === '127.0.0.1' || u.hostname === 'localhost' || u.hostname === '[::1]';
}

/* ------------------------------------------------------------------ */
/* browser helpers                                                    */

const STUB = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Scheduler (test stand-in)</title>'
  + '</head><body><main><h1>Scheduler (test stand-in)</h1></main></body></html>';

let profiles = 0;
async function launch(js) {
  const profile = path.join(TMP, `chromium-${js ? 'js' : 'nojs'}-${++profiles}`);
  fs.mkdirSync(profile, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: DESKTOP,
    javaScriptEnabled: js });
  context.setDefaultTimeout(15000);
  const b = { context, profile, js, external: [], foreign: [], errors: [] };
  // Nothing may reach another host.  A navigation there (a scheduler
  // URL) gets a stand-in page and is recorded; anything else is refused
  // and recorded as a failure.  Playwright cannot route the target of a
  // redirect the browser follows by itself (a 303 after a plain POST):
  // that one is recorded from the request event, and fails to resolve.
  await context.route((u) => (u.protocol === 'http:' || u.protocol === 'https:') && !isLoopback(u), (route) => {
    const r = route.request();
    if (r.isNavigationRequest()) {
      const from = r.redirectedFrom();
      b.external.push({ url: r.url(), method: r.method(), redirectedFrom: from ? from.url() : null });
      return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: STUB });
    }
    b.foreign.push(r.url());
    return route.abort('blockedbyclient');
  });
  context.on('request', (r) => {
    const u = new URL(r.url());
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || isLoopback(u)) return;
    const from = r.redirectedFrom();
    if (r.isNavigationRequest() && from) b.external.push({ url: r.url(), method: r.method(), redirectedFrom: from.url() });
    else if (!r.isNavigationRequest()) b.foreign.push(r.url());
  });
  b.page = context.pages()[0] || await context.newPage();
  b.page.on('pageerror', (e) => b.errors.push(String(e)));
  b.page.on('console', (m) => {
    // Chrome logs every non-2xx answer ("Failed to load resource"): the 422s are expected
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) b.errors.push(m.text());
  });
  return b;
}

async function close(b) {
  await b.context.close();
  fs.rmSync(b.profile, { recursive: true, force: true });
}

async function axe(page) {
  const has = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!has) await page.addScriptTag({ content: AXE_SOURCE });
  const result = await page.evaluate((tags) => window.axe.run(document, {
    runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }), AXE_TAGS);
  if (!result.violations.length) return '';
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n` + v.nodes.slice(0, 5).map((n) =>
    `  at ${n.target.join(' ')}\n    ${(n.failureSummary || '').split('\n').slice(0, 3).join('\n    ')}`).join('\n'))
    .join('\n');
}

async function shot(page, name, fullPage = true) {
  await page.evaluate(() => document.activeElement && document.activeElement.blur && document.activeElement.blur())
    .catch(() => {});
  await page.screenshot({ path: path.join(SHOTS, name), fullPage });
}

// Open the fresh form; returns a visit (when it was loaded, for the
// time-to-submit check, and its beacon bookkeeping).
async function openForm(b, origin, url = '/') {
  const resp = await b.page.goto(origin + url, { waitUntil: 'load' });
  assert(resp && resp.status() === 200, `GET ${url}: ${resp && resp.status()}`);
  if (b.js) expect(origin).form_view++;
  return { b, origin, loadedAt: Date.now(), started: false };
}

// Fill the form like a person: text, selects, the intent radio.
async function fillForm(v, fields) {
  const page = v.b.page;
  for (const [name, value] of Object.entries(fields)) {
    if (name === 'intent') await page.check(`input[name=intent][value="${value}"]`);
    else if (['country', 'employees', 'product'].includes(name)) await page.selectOption(`#${name}`, value);
    else await page.fill(`#${name}`, value);
  }
  if (v.b.js && !v.started && Object.keys(fields).length) {
    v.started = true;
    expect(v.origin).form_start++;
  }
}

// The server takes a form only LEADROUTE_SPAM_MIN_SECONDS after it made
// the form's token (sooner is a bot): a person takes that long anyway.
async function humanPause(v) {
  const wait = MIN_SECONDS * 1000 + 150 - (Date.now() - v.loadedAt);
  if (wait > 0) await sleep(wait);
}

// Send the form and wait until the browser has left it: an outcome page of
// the origin or a page on another host (a scheduler).  Returns the URL.
async function submitAndLand(v) {
  await humanPause(v);
  const page = v.b.page;
  await Promise.all([
    page.waitForURL((u) => !isLoopback(u) || !['/', '/lead', '/index.html'].includes(u.pathname),
      { waitUntil: 'load' }),
    page.click('#lead-submit'),
  ]);
  return page.url();
}

// Submit a lead and record what the database must hold.
function recordLead(origin, email, queue, landed, extra = {}) {
  results.leads.push({ origin, email, queue, landed, ...extra });
}

/* ------------------------------------------------------------------ */
/* main                                                               */

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const rulesText = fs.readFileSync(RULES, 'utf8');
  const schedulers = schedulersOf(rulesText, 'enterprise_us');
  results.schedulers = schedulers;
  await check('the rules name a scheduler for each enterprise_us member', async () =>
    (Object.keys(schedulers).length >= 2 ? '' : `found ${JSON.stringify(schedulers)} in ${RULES}`));
  const scheduleUrls = new Set(Object.values(schedulers));
  const base = { [ORIGIN]: await metrics(ORIGIN), [ORIGIN_ALLHOURS]: await metrics(ORIGIN_ALLHOURS) };
  results.spam[ORIGIN] = 0;
  results.spam[ORIGIN_ALLHOURS] = 0;

  const outcomePages = [['confirm', '/confirm'], ['customer', '/customer'], ['support', '/support'],
    ['review', '/review'], ['error', '/error.html']];

  /* ================= with JavaScript ================= */
  const js = await launch(true);
  const browsers = [js];
  try {
    const page = js.page;

    // --- beacons, exactly counted by the server ---
    await check('js: form_view on load, form_start once on the first input (GET /metrics)', async () => {
      const m0 = await metrics(ORIGIN);
      const v = await openForm(js, ORIGIN);
      const m1 = await metricsReach(ORIGIN, { form_view: m0.form_view + 1 });
      eq([m1.form_view - m0.form_view, m1.form_start - m0.form_start], [1, 0], 'form_view, form_start after the load');
      await sleep(300);
      eq((await metrics(ORIGIN)).form_start - m0.form_start, 0, 'form_start before any input');
      await page.locator('#first_name').pressSequentially('Ada');
      v.started = true;
      expect(ORIGIN).form_start++;
      await page.selectOption('#country', 'GB');
      await page.fill('#company', 'Analytical Engines');
      const m2 = await metricsReach(ORIGIN, { form_start: m0.form_start + 1 });
      await sleep(300);
      const m3 = await metrics(ORIGIN);
      eq([m3.form_view - m0.form_view, m3.form_start - m0.form_start], [1, 1],
        `form_view, form_start after typing (first seen ${m2.form_start - m0.form_start})`);
    });

    // --- the fresh form, and every page: axe, no sideways scrolling ---
    for (const [vpName, vp] of [['desktop', DESKTOP], ['mobile', MOBILE]]) {
      await page.setViewportSize(vp);
      await check(`form, fresh (${vpName} ${vp.width}x${vp.height}): rendered by the handler, axe, no sideways scrolling`, async () => {
        await openForm(js, ORIGIN);
        const s = await page.evaluate(() => ({
          title: document.title,
          intent: document.querySelector('input[name=intent]:checked')?.value ?? null,
          serverErrors: document.getElementById('lead-form').hasAttribute('data-server-errors'),
          summaryHidden: document.getElementById('form-summary').hidden,
          token: document.querySelector('[name=form_token]').value,
          invalid: document.querySelectorAll('[aria-invalid]').length,
          errorsShown: [...document.querySelectorAll('.field-error')].filter((e) => e.textContent !== '').length,
          values: ['first_name', 'email', 'company', 'country', 'employees', 'product', 'message']
            .map((n) => document.getElementById(n).value).join(''),
          braces: document.documentElement.outerHTML.includes('{{'),
          wide: document.documentElement.scrollWidth - window.innerWidth,
        }));
        eq([s.title, s.intent, s.serverErrors, s.summaryHidden, s.invalid, s.errorsShown, s.values, s.braces],
          ['Talk to sales · Book a demo · Acme', 'demo', false, true, 0, 0, '', false], 'fresh form');
        assert(TOKEN_RE.test(s.token), `form_token ${s.token}`);
        assert(s.wide <= 0, `the page is ${s.wide}px wider than the viewport`);
        await shot(page, `form-${vpName}.png`);
        return axe(page);
      });
      for (const [name, url] of outcomePages) {
        await check(`${name} page ${url} (${vpName}): axe, no sideways scrolling`, async () => {
          const resp = await page.goto(ORIGIN + url, { waitUntil: 'load' });
          assert(resp.status() === 200, `GET ${url}: ${resp.status()}`);
          const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          assert(wide <= 0, `the page is ${wide}px wider than the viewport`);
          await shot(page, `${name}-${vpName}.png`);
          return axe(page);
        });
      }
    }
    await page.setViewportSize(DESKTOP);

    await check('js: GET /index.html is the rendered form too', async () => {
      await openForm(js, ORIGIN, '/index.html');
      const s = await page.evaluate(() => [document.querySelector('[name=form_token]').value,
        document.documentElement.outerHTML.includes('{{')]);
      assert(TOKEN_RE.test(s[0]), `form_token ${s[0]}`);
      eq(s[1], false, 'a raw placeholder in the page');
    });

    // --- 422 from the server, with JavaScript (fetch) ---
    await check('js: a bad email -> the server\'s 422 message next to the email field, aria-invalid, focus; axe', async () => {
      const v = await openForm(js, ORIGIN);
      // type=email accepts it; the server does not
      await fillForm(v, { first_name: 'Jo', email: 'jo@localhost', company: 'Initrode' });
      await humanPause(v);
      const [resp] = await Promise.all([
        page.waitForResponse((r) => r.url() === ORIGIN + '/lead' && r.request().method() === 'POST'),
        page.click('#lead-submit'),
      ]);
      eq(resp.status(), 422, 'status of POST /lead');
      eq(resp.request().headers()['content-type'], 'application/json', 'sent as JSON (fetch)');
      const answer = await resp.json();
      assert(answer.errors && typeof answer.errors.email === 'string' && answer.errors.email,
        `no message for email in ${JSON.stringify(answer)}`);
      await page.waitForFunction(() => document.getElementById('email-error').textContent !== '');
      const s = await page.evaluate(() => {
        const email = document.getElementById('email');
        const ids = (email.getAttribute('aria-describedby') || '').split(/\s+/);
        const slot = ids.map((id) => document.getElementById(id)).find((e) => e && e.classList.contains('field-error'));
        return { slot: slot ? slot.id : null, text: slot ? slot.textContent : null,
          near: slot ? email.closest('.field').contains(slot) : false,
          invalid: email.getAttribute('aria-invalid'), others: document.querySelectorAll('[aria-invalid]').length,
          focused: document.activeElement.id, url: location.pathname, kept: email.value,
          summary: !document.getElementById('form-summary').hidden };
      });
      eq([s.slot, s.text, s.near, s.invalid, s.others, s.focused, s.url, s.kept, s.summary],
        ['email-error', answer.errors.email, true, 'true', 1, 'email', '/', 'jo@localhost', true],
        'email message slot (aria-describedby), aria-invalid, focus, still on the form');
      results.absent.push({ origin: ORIGIN, email: 'jo@localhost' });
      await shot(page, 'form-errors-js-desktop.png');
      return axe(page);
    });

    await check('js: ... corrected and sent again -> /confirm, one lead in inbound', async () => {
      await page.fill('#email', 'jo@initrode.example');
      const landed = await submitAndLand({ b: js, loadedAt: 0 });
      eq(landed, ORIGIN + '/confirm', 'landed on');
      recordLead(ORIGIN, 'jo@initrode.example', 'inbound', landed, { fields: { company: 'Initrode', first_name: 'Jo' } });
    });

    // --- outcome pages reached by real leads ---
    await check('js: free-mail lead (kim@gmail.com) -> /review (example.routes: review then page "review"); axe', async () => {
      const v = await openForm(js, ORIGIN);
      await fillForm(v, { first_name: 'Kim', last_name: 'Lee', email: 'kim@gmail.com', country: 'US', employees: '501-1000' });
      const landed = await submitAndLand(v);
      eq(landed, ORIGIN + '/review', 'landed on');
      const h1 = await page.textContent('h1');
      assert(/review|received/i.test(h1), `review page heading: ${h1}`);
      recordLead(ORIGIN, 'kim@gmail.com', 'review', landed);
      await shot(page, 'free-mail-landed-desktop.png');
      return axe(page);
    });

    await check('js: support request (intent support) -> /support (dropped); axe', async () => {
      const v = await openForm(js, ORIGIN);
      await fillForm(v, { email: 'help@nobody.example', intent: 'support', message: 'I cannot log in.' });
      const landed = await submitAndLand(v);
      eq(landed, ORIGIN + '/support', 'landed on');
      recordLead(ORIGIN, 'help@nobody.example', 'drop', landed);
      return axe(page);
    });

    await check('js: existing customer (acme.example) -> /customer; axe', async () => {
      const v = await openForm(js, ORIGIN);
      await fillForm(v, { email: 'cy@acme.example', first_name: 'Cy' });
      const landed = await submitAndLand(v);
      eq(landed, ORIGIN + '/customer', 'landed on');
      recordLead(ORIGIN, 'cy@acme.example', 'account_owner', landed);
      return axe(page);
    });

    await check('js: US enterprise lead on example.routes as shipped -> scheduler in enterprise_us hours, else /confirm (inbound)', async () => {
      const v = await openForm(js, ORIGIN);
      await fillForm(v, { email: 'ann@bigco.example', company: 'BigCo', country: 'US', employees: '1001-5000' });
      const before = inUsHours();
      const landed = await submitAndLand(v);
      const after = inUsHours();
      const u = new URL(landed);
      const viaScheduler = !isLoopback(u);
      if (before === after)
        eq(viaScheduler, before, `landed on ${landed}; inside enterprise_us hours`);
      if (viaScheduler) {
        assert(scheduleUrls.has(landed), `${landed} is not a scheduler of enterprise_us`);
        recordLead(ORIGIN, 'ann@bigco.example', 'enterprise_us', landed);
      } else {
        eq(landed, ORIGIN + '/confirm', 'landed on');
        recordLead(ORIGIN, 'ann@bigco.example', 'inbound', landed);
      }
    });

    // --- the scheduler outcome, fetch path ---
    await check('js: enterprise lead -> JSON 200 -> the assigned member\'s scheduler URL (intercepted)', async () => {
      const v = await openForm(js, ORIGIN_ALLHOURS, '/?utm_source=newsletter&utm_medium=email&utm_campaign=q3');
      await fillForm(v, { first_name: 'Eve', last_name: 'Stone', email: 'eve@bigco.example', company: 'BigCo',
        website: 'bigco.example', country: 'US', region: 'New York', employees: '1001-5000', product: 'Data Suite',
        intent: 'pricing', message: 'Hello\nthere' });
      const n = js.external.length;
      // the server's answer, passed on to the page unchanged (the page
      // navigates away at once, and its body is gone with it)
      let req = null;
      let answerStatus = 0;
      let answerText = '';
      await page.route(ORIGIN_ALLHOURS + '/lead', async (route) => {
        req = route.request();
        const resp = await route.fetch();
        answerStatus = resp.status();
        answerText = await resp.text();
        await route.fulfill({ response: resp, body: answerText });
      });
      let landed;
      try {
        landed = await submitAndLand(v);
      } finally {
        await page.unroute(ORIGIN_ALLHOURS + '/lead');
      }
      assert(req, 'no POST /lead');
      eq(answerStatus, 200, 'status of POST /lead');
      const h = req.headers();
      const sent = JSON.parse(req.postData());
      eq(h['content-type'], 'application/json', 'content-type');
      assert((h.accept || '').includes('application/json'), `accept ${h.accept}`);
      assert(UUID_RE.test(h['idempotency-key']), `Idempotency-Key ${h['idempotency-key']}`);
      eq(sent.idempotency_key, h['idempotency-key'], 'body idempotency_key = header');
      eq(Object.keys(sent).sort(), [...FIELD_NAMES].sort(), 'field names sent');
      assert(TOKEN_RE.test(sent.form_token), `form_token sent ${sent.form_token}`);
      eq([sent.email, sent.country, sent.employees, sent.intent, sent.message, sent.utm_source, sent.hp_website2],
        ['eve@bigco.example', 'US', '1001-5000', 'pricing', 'Hello\nthere', 'newsletter', ''], 'values sent');
      const answer = JSON.parse(answerText);
      eq([answer.queue, answer.outcome, answer.redirect], ['enterprise_us', 'scheduler', landed], 'queue, outcome, redirect');
      assert(schedulers[answer.owner], `owner ${answer.owner} is not an enterprise_us member`);
      eq(landed, schedulers[answer.owner], `landed on the scheduler of ${answer.owner}`);
      eq(js.external.slice(n).map((e) => e.url), [landed], 'navigations to other hosts');
      recordLead(ORIGIN_ALLHOURS, 'eve@bigco.example', 'enterprise_us', landed,
        { idem: sent.idempotency_key, fields: { company: 'BigCo', region: 'New York', utm_source: 'newsletter' } });
    });

    // --- fetch fails: the plain POST takes over with the same key ---
    await check('js: the fetch fails -> plain POST of the same fields and key -> /confirm, one lead', async () => {
      const v = await openForm(js, ORIGIN);
      const aborted = [];
      await page.route(ORIGIN + '/lead', (route) => {
        const r = route.request();
        if (r.resourceType() === 'fetch') {
          aborted.push({ key: r.headers()['idempotency-key'], fields: JSON.parse(r.postData()) });
          return route.abort('internetdisconnected');
        }
        return route.continue();
      });
      try {
        await fillForm(v, { email: 'off@nobody.example', company: 'Résumé & Co' });
        const landed = await submitAndLand(v);
        eq(landed, ORIGIN + '/confirm', 'landed on');
        eq(aborted.length, 1, 'fetches (aborted)');
        recordLead(ORIGIN, 'off@nobody.example', 'inbound', landed,
          { idem: aborted[0].key, fields: { company: 'Résumé & Co' } });
      } finally {
        await page.unroute(ORIGIN + '/lead');
      }
    });

    await check('js: the fetch fails and the email is bad -> the server\'s re-shown form (422): focus on email, no beacon; axe', async () => {
      const m0 = await metrics(ORIGIN);
      const v = await openForm(js, ORIGIN);
      await page.route(ORIGIN + '/lead', (route) => (route.request().resourceType() === 'fetch'
        ? route.abort('internetdisconnected') : route.continue()));
      try {
        await fillForm(v, { email: 'bo@localhost', last_name: 'Bo', company: 'Bo & Co', country: 'FR',
          employees: '11-50', intent: 'contact', message: 'Two\nlines' });
        await humanPause(v);
        const [resp] = await Promise.all([
          page.waitForResponse((r) => r.url() === ORIGIN + '/lead' && r.request().resourceType() === 'document'),
          page.click('#lead-submit'),
        ]);
        eq(resp.status(), 422, 'status of the plain POST');
        await page.waitForLoadState('load');
        await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'email');
        const s = await page.evaluate(() => [document.getElementById('lead-form').hasAttribute('data-server-errors'),
          document.getElementById('email').value, document.getElementById('last_name').value,
          document.getElementById('country').value, document.querySelector('input[name=intent]:checked')?.value,
          document.getElementById('message').value, document.getElementById('email-error').textContent !== '',
          document.title.startsWith('Error: ')]);
        eq(s, [true, 'bo@localhost', 'Bo', 'FR', 'contact', 'Two\nlines', true, true],
          'server errors, values kept, message shown, title');
        await sleep(500);
        const m1 = await metrics(ORIGIN);
        eq([m1.form_view - m0.form_view, m1.form_start - m0.form_start], [1, 1],
          'beacons: only the fresh form\'s (none from the re-shown page)');
        results.absent.push({ origin: ORIGIN, email: 'bo@localhost' });
        await shot(page, 'form-reshown-js-desktop.png');
        return await axe(page);
      } finally {
        await page.unroute(ORIGIN + '/lead');
      }
    });

    // --- the honeypot ---
    await check('honeypot: off-screen, aria-hidden, never reached with Tab', async () => {
      await openForm(js, ORIGIN);
      const hp = await page.evaluate(() => {
        const i = document.querySelector('[name=hp_website2]');
        const r = i.getBoundingClientRect();
        return { hidden: i.closest('[aria-hidden="true"]') !== null, tabindex: i.getAttribute('tabindex'),
          autocomplete: i.getAttribute('autocomplete'), label: i.labels[0].textContent, right: r.right };
      });
      eq([hp.hidden, hp.tabindex, hp.autocomplete, hp.label], [true, '-1', 'off', 'Leave this field empty'], 'honeypot');
      assert(hp.right <= 0, `honeypot on screen (right edge ${hp.right})`);
      await page.focus('#first_name');
      const seen = [];
      for (let i = 0; i < 30; i++) {
        await page.keyboard.press('Tab');
        seen.push(await page.evaluate(() => document.activeElement.name || document.activeElement.id || document.activeElement.tagName));
      }
      assert(!seen.includes('hp_website2'), `Tab reached the honeypot: ${seen.join(' ')}`);
      assert(seen.includes('lead-submit'), `Tab never reached the submit button: ${seen.join(' ')}`);
    });

    await check('js: no script errors in any page', async () => (js.errors.length ? js.errors.join('\n') : ''));
  } finally {
    await close(js);
  }

  /* ================= without JavaScript ================= */
  const nojs = await launch(false);
  browsers.push(nojs);
  try {
    const page = nojs.page;

    await check('no JS: the fresh form has intent demo checked and no messages', async () => {
      await openForm(nojs, ORIGIN);
      eq(await page.isChecked('input[name=intent][value=demo]'), true, 'demo checked');
      eq(await page.isHidden('#form-summary'), true, 'summary hidden');
    });

    const typed = { first_name: '"><b>Zoë</b>', last_name: "O'Brien", email: 'zoe@localhost',
      company: 'Acme & Sons <test>', website: 'sons.example', country: 'DE', region: 'Bayern',
      employees: '201-500', product: 'Data Suite', intent: 'partner', message: 'Line one\nLine two </textarea><b>bold</b>' };
    await check('no JS: a bad email -> 422 re-shown form: the message next to the email field, values kept; axe', async () => {
      const v = await openForm(nojs, ORIGIN);
      await fillForm(v, typed);
      await humanPause(v);
      const [resp] = await Promise.all([
        page.waitForResponse((r) => r.url() === ORIGIN + '/lead'),
        page.click('#lead-submit'),
      ]);
      eq(resp.status(), 422, 'status');
      eq(resp.request().headers()['content-type'], 'application/x-www-form-urlencoded', 'a plain form post');
      await page.waitForLoadState('load');
      const s = await page.evaluate(() => {
        const val = (id) => document.getElementById(id).value;
        const email = document.getElementById('email');
        const ids = (email.getAttribute('aria-describedby') || '').split(/\s+/);
        const slot = ids.map((id) => document.getElementById(id)).find((e) => e && e.classList.contains('field-error'));
        return {
          values: { first_name: val('first_name'), last_name: val('last_name'), email: val('email'),
            company: val('company'), website: val('website'), country: val('country'), region: val('region'),
            employees: val('employees'), product: val('product'), message: val('message'),
            intent: document.querySelector('input[name=intent]:checked')?.value ?? null },
          checkedCount: document.querySelectorAll('input[name=intent]:checked').length,
          slot: slot ? slot.id : null, text: slot ? slot.textContent : '',
          near: slot ? email.closest('.field').contains(slot) : false,
          invalid: [...document.querySelectorAll('[aria-invalid="true"]')].map((e) => e.id),
          otherMessages: [...document.querySelectorAll('.field-error')].filter((e) => e.id !== 'email-error' && e.textContent !== '').map((e) => e.id),
          injected: document.querySelectorAll('#lead-form b, script:not([src])').length,
          title: document.title,
          serverErrors: document.getElementById('lead-form').hasAttribute('data-server-errors'),
          summaryHidden: document.getElementById('form-summary').hidden,
          token: document.querySelector('[name=form_token]').value,
          key: document.querySelector('[name=idempotency_key]').value,
          braces: document.documentElement.outerHTML.includes('{{'),
        };
      });
      eq(s.values, typed, 'values kept');
      eq(s.checkedCount, 1, 'intent radios checked');
      eq([s.slot, s.near, s.invalid, s.otherMessages], ['email-error', true, ['email'], []], 'message slot, aria-invalid');
      assert(s.text.includes('zoe@localhost'), `email message: ${JSON.stringify(s.text)}`);
      eq([s.injected, s.braces], [0, false], 'elements injected by values, raw placeholders');
      assert(s.title.startsWith('Error: '), `title ${s.title}`);
      eq([s.serverErrors, s.summaryHidden], [true, false], 'data-server-errors, summary shown');
      assert(TOKEN_RE.test(s.token), `form_token ${s.token}`);
      assert(UUID_RE.test(s.key), `idempotency_key ${s.key}`);
      results.absent.push({ origin: ORIGIN, email: 'zoe@localhost' });
      await shot(page, 'form-errors-nojs-desktop.png');
      // (axe needs script, which this browser does not run: the same
      // server page gets its axe run in the JavaScript browser above)
    });

    await check('no JS: ... corrected and sent again at once -> 303 /confirm, one lead with the typed fields', async () => {
      const key = await page.inputValue('[name=idempotency_key]');
      await page.fill('#email', 'zoe@sons.example');
      const landed = await submitAndLand({ b: nojs, loadedAt: 0 });
      eq(landed, ORIGIN + '/confirm', 'landed on');
      recordLead(ORIGIN, 'zoe@sons.example', 'inbound', landed, { idem: key,
        fields: { first_name: typed.first_name, company: typed.company, region: typed.region, message: typed.message } });
    });

    await check('no JS: free-mail lead -> 303 /review', async () => {
      const v = await openForm(nojs, ORIGIN);
      await fillForm(v, { email: 'lee@yahoo.com', country: 'US', employees: '201-500' });
      const landed = await submitAndLand(v);
      eq(landed, ORIGIN + '/review', 'landed on');
      recordLead(ORIGIN, 'lee@yahoo.com', 'review', landed);
    });

    await check('no JS: existing customer -> 303 /customer', async () => {
      const v = await openForm(nojs, ORIGIN);
      await fillForm(v, { email: 'dee@mail.initech.example' });
      const landed = await submitAndLand(v);
      eq(landed, ORIGIN + '/customer', 'landed on');
      recordLead(ORIGIN, 'dee@mail.initech.example', 'account_owner', landed);
    });

    await check('no JS: a bot filling the honeypot -> answered like a success (/confirm)', async () => {
      const v = await openForm(nojs, ORIGIN);
      await fillForm(v, { email: 'bot@spam.example' });
      await page.fill('#hp_website2', 'https://spam.example', { force: true });
      const landed = await submitAndLand(v);
      eq(landed, ORIGIN + '/confirm', 'landed on');
      results.absent.push({ origin: ORIGIN, email: 'bot@spam.example' });
      results.spam[ORIGIN]++;
    });

    // last in this browser: the page ends on a failed navigation
    await check('no JS: enterprise lead -> 303 -> the assigned member\'s scheduler URL (followed, not resolved)', async () => {
      const v = await openForm(nojs, ORIGIN_ALLHOURS);
      await fillForm(v, { first_name: 'Max', email: 'max@bigco.example', company: 'BigCo', country: 'US', employees: '5001+' });
      const n = nojs.external.length;
      await humanPause(v);
      const [failedReq] = await Promise.all([
        page.waitForEvent('requestfailed', (r) => r.isNavigationRequest() && !isLoopback(new URL(r.url()))),
        page.click('#lead-submit'),
      ]);
      const landed = failedReq.url();
      const post = failedReq.redirectedFrom();
      assert(post, `${landed} was not reached by a redirect`);
      const answer = await post.response();
      eq([post.url(), post.method(), answer && answer.status(), post.headers()['content-type']],
        [ORIGIN_ALLHOURS + '/lead', 'POST', 303, 'application/x-www-form-urlencoded'], 'the plain POST and its answer');
      eq(await answer.headerValue('location'), landed, 'Location of the 303');
      assert(scheduleUrls.has(landed), `${landed} is not a scheduler of enterprise_us (${[...scheduleUrls].join(', ')})`);
      const e = nojs.external.slice(n);
      eq(e.map((x) => [x.url, x.method, x.redirectedFrom]), [[landed, 'GET', ORIGIN_ALLHOURS + '/lead']],
        'navigations to other hosts');
      recordLead(ORIGIN_ALLHOURS, 'max@bigco.example', 'enterprise_us', landed);
    });

    await check('no JS: no script errors', async () => (nojs.errors.length ? nojs.errors.join('\n') : ''));
  } finally {
    await close(nojs);
  }

  await check('no request left the test servers but the intercepted scheduler pages', async () => {
    const foreign = browsers.flatMap((b) => b.foreign);
    const ext = browsers.flatMap((b) => b.external).filter((e) => !scheduleUrls.has(e.url));
    return [...new Set([...foreign, ...ext.map((e) => e.url)])].join('\n');
  });

  // Beacons: the servers counted exactly what the pages sent.
  for (const [origin, name] of [[ORIGIN, 'example.routes'], [ORIGIN_ALLHOURS, 'all-hours']]) {
    await check(`beacons counted by the ${name} server: one form_view per fresh form with JS, one form_start per form typed in`, async () => {
      const e = expect(origin);
      const want = { form_view: base[origin].form_view + e.form_view, form_start: base[origin].form_start + e.form_start };
      const m = await metricsReach(origin, want);
      await sleep(300);
      const last = await metrics(origin);
      results.beacons[origin] = { form_view: last.form_view, form_start: last.form_start };
      eq({ form_view: last.form_view - base[origin].form_view, form_start: last.form_start - base[origin].form_start },
        e, `beacons (first seen ${JSON.stringify({ form_view: m.form_view, form_start: m.form_start })})`);
    });
  }
}

const watchdog = setTimeout(() => {
  notOk('the browser test finished in time', `still running after ${WATCHDOG_MS / 1000} s`);
  writeResults();
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(1);
}, WATCHDOG_MS);

try {
  await main();
} catch (e) {
  notOk('browser test run', e && e.stack ? e.stack : e);
}
clearTimeout(watchdog);
writeResults();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
