#!/usr/bin/env node
// a11y.mjs - browser tests of www/: accessibility (axe-core), the form's
// behaviour with and without JavaScript against a stub of the handler's
// contract (www/README), and screenshots for a human to look at.
//
//   cd tests/browser && npm ci && node a11y.mjs
//
// Serves www/ with a tiny Node server on 127.0.0.1 (a free port), which also
// stands in for the handler: POST /lead (JSON or form-encoded), POST /event,
// and the server's rendering of form-422.html (same placeholder rules as the
// README).  Drives Debian's chromium (/usr/bin/chromium, or $CHROMIUM)
// through playwright-core with a fresh profile per browser.  Prints one line
// per check, the screenshot folder, and "N passed, N failed"; exits 1 when
// anything failed.  Screenshots go to a new temporary folder, or to
// $SHOTS_DIR when set.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const WWW = path.resolve(process.env.WWW_DIR || path.join(HERE, '..', '..', 'www'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const FORM_TOKEN = 'tok-123.sample';
const EVIL = '"><script>window.__pwned=1</script>&amp; <b>';
const DESKTOP = { width: 1280, height: 800 };
const MOBILE = { width: 390, height: 844 };

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

/* ------------------------------------------------------------------ */
/* the server's template rules (www/README), as a reference          */

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

// {{form_token}} {{idempotency_key}} {{value:F}} {{error:F}} {{invalid:F}}
// {{selected:F:V}} {{checked:F:V}}; anything else -> empty.
function renderTemplate(tpl, { values = {}, errors = {}, formToken = '', idempotencyKey = '' } = {}) {
  return tpl.replace(/\{\{([a-z_]+)(?::([a-z0-9_]+))?(?::([^{}]*))?\}\}/g, (m, kind, field, value) => {
    switch (kind) {
    case 'form_token': return esc(formToken);
    case 'idempotency_key': return esc(idempotencyKey);
    case 'value': return esc(values[field] ?? '');
    case 'error': return esc(errors[field] ?? '');
    case 'invalid': return errors[field] ? 'aria-invalid="true"' : '';
    case 'selected': return values[field] === value ? 'selected' : '';
    case 'checked': return values[field] === value ? 'checked' : '';
    default: return '';
    }
  });
}

function fieldErrorsAndGeneral(errors, tpl) {
  // errors for names with no {{error:NAME}} slot go to {{error:form}}
  const out = {}; const general = [];
  for (const [k, v] of Object.entries(errors)) {
    if (tpl.includes(`{{error:${k}}}`)) out[k] = v; else general.push(v);
  }
  if (general.length) out.form = general.join(' ');
  return out;
}

/* ------------------------------------------------------------------ */
/* the stub server                                                    */

const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png' };

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function stubValidate(f) {
  const errors = {};
  const email = f.email || '';
  if (!email) errors.email = 'Enter your work email.';
  else if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) errors.email = `'${email}' is not an email address`;
  else if (email.includes('invalid')) {
    errors.email = 'Use your work email address.';
    errors.country = 'Choose your country from the list.';
  } else if (email.includes('token')) {
    errors.form_token = 'This form has expired. Please send it again.';
  }
  return errors;
}

function startServer() {
  const log = { events: [], leads: [], requests: [] };
  const answers = new Map();
  const template422 = () => fs.readFileSync(path.join(WWW, 'form-422.html'), 'utf8');
  const sampleErrors = { email: `'${EVIL}' is not an email address`, country: 'Choose your country from the list.',
    intent: 'Choose one option.', message: 'Too long (at most 5000 characters).' };
  const sampleValues = { first_name: 'Zoë', last_name: "O'Brien", email: EVIL, company: 'Acme & Sons <test>',
    website: 'example.com', country: 'CA', region: 'Québec', employees: '201-500', product: 'Data Suite',
    message: 'Line one\nLine two </textarea><b>bold</b>', utm_source: 'newsletter' };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    log.requests.push(`${req.method} ${url.pathname}`);
    try {
      if (req.method === 'POST' && url.pathname === '/event') {
        const body = await readBody(req);
        log.events.push({ contentType: req.headers['content-type'] || '', body: JSON.parse(body) });
        res.writeHead(204).end();
        return;
      }
      if (req.method === 'POST' && url.pathname === '/lead') {
        const body = await readBody(req);
        const ct = req.headers['content-type'] || '';
        const isJson = ct.startsWith('application/json');
        const fields = isJson ? JSON.parse(body) : Object.fromEntries(new URLSearchParams(body));
        const wantsJson = (req.headers.accept || '').includes('application/json');
        const key = req.headers['idempotency-key'] || fields.idempotency_key || '';
        log.leads.push({ isJson, wantsJson, headers: { ...req.headers }, fields, key });
        const errors = stubValidate(fields);
        if (Object.keys(errors).length) {
          if (wantsJson) {
            res.writeHead(422, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errors }));
          } else {
            const tpl = template422();
            res.writeHead(422, { 'Content-Type': TYPES['.html'] }).end(renderTemplate(tpl, {
              values: fields, errors: fieldErrorsAndGeneral(errors, tpl), formToken: FORM_TOKEN,
              idempotencyKey: crypto.randomUUID() }));
          }
          return;
        }
        if ((fields.email || '').includes('slow')) await new Promise((r) => setTimeout(r, 700));
        let answer = answers.get(key);
        if (!answer) {
          answer = { lead_id: `L-${answers.size + 1}`, queue: 'inbound', owner: 'sam@acme.example',
            outcome: 'confirm', redirect: '/confirm' };
          answers.set(key, answer);
        }
        if (wantsJson) res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer));
        else res.writeHead(303, { Location: answer.redirect }).end();
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405).end(); return; }

      // the server's 422 page, rendered from the template with sample data
      if (url.pathname === '/__form-422') {
        const tpl = template422();
        const scenario = url.searchParams.get('scenario');
        const data = scenario === 'errors'
          ? { values: { ...sampleValues, intent: 'pricing' }, errors: { ...sampleErrors, form: 'Please review the messages below.' } }
          : { values: { intent: 'demo' }, errors: {} };
        res.writeHead(200, { 'Content-Type': TYPES['.html'] })
          .end(renderTemplate(tpl, { ...data, formToken: FORM_TOKEN, idempotencyKey: crypto.randomUUID() }));
        return;
      }
      // "/" is index.html as the server renders it; "/index.html" is the raw file
      let rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
      if (!path.extname(rel)) rel += '.html';          // /confirm -> confirm.html
      const file = path.resolve(WWW, rel);
      if (!file.startsWith(WWW + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
        return;
      }
      let content = fs.readFileSync(file);
      if (url.pathname === '/') {
        content = content.toString('utf8').replace('{{form_token}}', esc(FORM_TOKEN))
          .replace('{{idempotency_key}}', crypto.randomUUID());
      }
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' }).end(content);
    } catch (e) {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(e));
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, log, origin: `http://127.0.0.1:${server.address().port}` }));
  });
}

/* ------------------------------------------------------------------ */
/* browser helpers                                                    */

async function launch(extra = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'leadroute-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: DESKTOP, ...extra });
  context.setDefaultTimeout(10000);
  return { context, profile };
}

async function close({ context, profile }) {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
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

async function waitFor(fn, what, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// A description of the form, to compare index.html with form-422.html.
function describeForm() {
  const out = [];
  const walk = (el, depth) => {
    if (el.id === 'form-summary') return;
    const attrs = [...el.attributes].map((a) => a.name)
      .filter((n) => !['value', 'checked', 'selected', 'aria-invalid', 'data-server-errors'].includes(n))
      .map((n) => `${n}=${el.getAttribute(n)}`).sort();
    const own = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.data.trim()).join('');
    const state = ('value' in el && !['BUTTON', 'OPTION'].includes(el.tagName) && el.name !== 'idempotency_key')
      ? ` value=${el.value}` : '';
    const chk = el.type === 'radio' ? ` checked=${el.checked}` : '';
    out.push(`${'  '.repeat(depth)}${el.tagName.toLowerCase()} ${attrs.join(' ')}${state}${chk} ${el.tagName === 'TEXTAREA' ? '' : own}`);
    for (const c of el.children) walk(c, depth + 1);
  };
  walk(document.getElementById('lead-form'), 0);
  return out;
}

/* ------------------------------------------------------------------ */
/* main                                                               */

async function main() {
  if (!fs.existsSync(CHROMIUM)) {
    notOk(`chromium at ${CHROMIUM}`, 'not found: apt-get install chromium (or set CHROMIUM)');
    return;
  }
  const shots = process.env.SHOTS_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'leadroute-www-shots-'));
  fs.mkdirSync(shots, { recursive: true });
  const { server, log, origin } = await startServer();
  const foreign = [];
  const watch = (context) => context.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin + '/') && !u.startsWith('data:')) foreign.push(u);
  });

  const pages = [
    ['index', '/'], ['form-422-errors', '/__form-422?scenario=errors'], ['form-422-clean', '/__form-422?scenario=clean'],
    ['confirm', '/confirm'], ['customer', '/customer'], ['support', '/support'], ['review', '/review'], ['error', '/error'],
  ];

  const js = await launch();
  watch(js.context);
  try {
    const page = js.context.pages()[0] || await js.context.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      // Chrome logs every non-2xx answer ("Failed to load resource"): expected here
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
    });

    // --- axe and screenshots on every page, desktop and mobile ---
    for (const [vpName, vp] of [['desktop', DESKTOP], ['mobile', MOBILE]]) {
      await page.setViewportSize(vp);
      for (const [name, url] of pages) {
        await check(`${name} (${vpName} ${vp.width}x${vp.height}): axe, no sideways scrolling`, async () => {
          const resp = await page.goto(origin + url, { waitUntil: 'load' });
          assert(resp.status() === 200, `GET ${url}: ${resp.status()}`);
          await page.evaluate(() => document.fonts.ready);
          if (name.startsWith('form-422')) await page.evaluate(() => document.activeElement && document.activeElement.blur());
          const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          assert(wide <= 0, `the page is ${wide}px wider than the ${vp.width}px viewport (horizontal scrolling)`);
          await page.evaluate(() => window.scrollTo(0, 0));
          await page.screenshot({ path: path.join(shots, `${name}-${vpName}.png`) });
          await page.screenshot({ path: path.join(shots, `${name}-${vpName}-full.png`), fullPage: true });
          return axe(page);
        });
      }
    }
    await page.setViewportSize(DESKTOP);

    // --- beacons ---
    await check('js: form_view beacon on load, form_start once on first input', async () => {
      log.events.length = 0;
      await page.goto(origin + '/');
      const view = await waitFor(() => log.events.find((e) => e.body.type === 'form_view'), 'form_view');
      eq(view.body, { type: 'form_view', form: 'demo', page: '/' }, 'form_view body');
      assert(view.contentType.startsWith('application/json'), `beacon content type ${view.contentType}`);
      assert(!log.events.some((e) => e.body.type === 'form_start'), 'form_start before any input');
      await page.locator('#first_name').pressSequentially('Ada');
      await page.selectOption('#country', 'GB');
      await waitFor(() => log.events.find((e) => e.body.type === 'form_start'), 'form_start');
      await page.waitForTimeout(200);
      eq(log.events.filter((e) => e.body.type === 'form_start').map((e) => e.body),
        [{ type: 'form_start', form: 'demo', page: '/' }], 'form_start beacons');
    });

    await check('js: idempotency_key is a fresh UUID; the server-rendered form_token is kept', async () => {
      await page.goto(origin + '/');
      const [key, token] = await page.evaluate(() => [document.querySelector('[name=idempotency_key]').value,
        document.querySelector('[name=form_token]').value]);
      assert(UUID_RE.test(key), `idempotency_key ${key}`);
      eq(token, FORM_TOKEN, 'form_token');
    });

    // --- 422 from fetch ---
    await check('js: 422 JSON -> inline errors, aria-invalid, focus, live region, summary', async () => {
      await page.goto(origin + '/');
      await page.fill('#email', 'jo-invalid@example.com');
      const before = await page.inputValue('[name=idempotency_key]');
      await page.click('#lead-submit');
      await page.waitForFunction(() => document.getElementById('email-error').textContent !== '');
      const s = await page.evaluate(() => ({
        emailErr: document.getElementById('email-error').textContent,
        countryErr: document.getElementById('country-error').textContent,
        emailInvalid: document.getElementById('email').getAttribute('aria-invalid'),
        countryInvalid: document.getElementById('country').getAttribute('aria-invalid'),
        describedBy: document.getElementById('email').getAttribute('aria-describedby'),
        focused: document.activeElement.id,
        status: document.getElementById('form-status').textContent,
        statusRole: document.getElementById('form-status').getAttribute('role'),
        summaryHidden: document.getElementById('form-summary').hidden,
        summaryLinks: [...document.querySelectorAll('#form-summary-list a')].map((a) => a.getAttribute('href')),
        buttonDisabled: document.getElementById('lead-submit').disabled,
        key: document.querySelector('[name=idempotency_key]').value,
        url: location.pathname,
      }));
      eq(s.emailErr, 'Use your work email address.', 'email message');
      eq(s.countryErr, 'Choose your country from the list.', 'country message');
      eq([s.emailInvalid, s.countryInvalid], ['true', 'true'], 'aria-invalid');
      assert(s.describedBy.split(' ').includes('email-error'), 'email aria-describedby has email-error');
      eq(s.focused, 'email', 'focused element');
      eq(s.status, '2 fields need attention: Work email, Country.', 'live region');
      eq(s.statusRole, 'status', 'live region role');
      eq([s.summaryHidden, s.summaryLinks], [false, ['#email', '#country']], 'summary');
      eq(s.buttonDisabled, false, 'button disabled after 422');
      assert(UUID_RE.test(s.key) && s.key !== before, 'a new idempotency key after a 422');
      eq(s.url, '/', 'stayed on the page');
      await page.screenshot({ path: path.join(shots, 'index-js-errors-desktop.png') });
      return axe(page);
    });

    await check('js: client-side check of the required email, same display', async () => {
      await page.goto(origin + '/');
      const n = log.leads.length;
      await page.click('#lead-submit');
      await page.waitForFunction(() => document.getElementById('email-error').textContent !== '');
      const s = await page.evaluate(() => [document.getElementById('email-error').textContent,
        document.activeElement.id, document.getElementById('email').getAttribute('aria-invalid')]);
      eq(s, ['Enter your work email.', 'email', 'true'], 'message, focus, aria-invalid');
      eq(log.leads.length, n, 'nothing sent');
    });

    await check('js: 422 with a non-field error -> summary text and focus on the summary', async () => {
      await page.goto(origin + '/');
      await page.fill('#email', 'token@example.com');
      await page.click('#lead-submit');
      await page.waitForFunction(() => !document.getElementById('form-summary').hidden);
      const s = await page.evaluate(() => [document.getElementById('form-summary-text').textContent,
        document.activeElement.id, document.getElementById('form-status').textContent]);
      eq(s, ['This form has expired. Please send it again.', 'form-summary',
        'This form has expired. Please send it again.'], 'summary, focus, status');
    });

    // --- 200 from fetch ---
    await check('js: 200 JSON -> button disabled while sending, JSON body and headers, go to redirect', async () => {
      await page.goto(origin + '/?utm_source=newsletter&utm_medium=email&utm_campaign=q3');
      const n = log.leads.length;
      await page.fill('#first_name', 'Ada');
      await page.fill('#last_name', 'Lovelace');
      await page.fill('#email', 'ada.slow@example.com');
      await page.fill('#company', 'Analytical Engines');
      await page.fill('#website', 'example.com');
      await page.selectOption('#country', 'DE');
      await page.fill('#region', 'Berlin');
      await page.selectOption('#employees', '201-500');
      await page.selectOption('#product', 'Data Suite');
      await page.check('input[name=intent][value=pricing]');
      await page.fill('#message', 'Hello\nthere');
      await page.click('#lead-submit');
      await page.waitForSelector('#lead-submit:disabled', { timeout: 2000 });
      const busy = await page.evaluate(() => [document.getElementById('lead-submit').textContent,
        document.getElementById('lead-form').getAttribute('aria-busy')]);
      eq(busy, ['Sending…', 'true'], 'button text and aria-busy while sending');
      await page.waitForURL(origin + '/confirm');
      eq(log.leads.length, n + 1, 'requests to /lead');
      const lead = log.leads[n];
      assert(lead.isJson, `content-type ${lead.headers['content-type']}`);
      assert(lead.headers.accept.includes('application/json'), `accept ${lead.headers.accept}`);
      assert(UUID_RE.test(lead.headers['idempotency-key']), `Idempotency-Key ${lead.headers['idempotency-key']}`);
      eq(lead.fields.idempotency_key, lead.headers['idempotency-key'], 'body idempotency_key = header');
      eq(Object.keys(lead.fields).sort(), [...FIELD_NAMES].sort(), 'field names sent');
      const { idempotency_key: _k, ...rest } = lead.fields;
      eq(rest, { first_name: 'Ada', last_name: 'Lovelace', email: 'ada.slow@example.com', company: 'Analytical Engines',
        website: 'example.com', country: 'DE', region: 'Berlin', employees: '201-500', product: 'Data Suite',
        intent: 'pricing', message: 'Hello\nthere', form_token: FORM_TOKEN, hp_website2: '',
        utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'q3' }, 'field values sent');
    });

    // --- network failure ---
    await check('js: network failure -> plain POST of the same fields with the same key', async () => {
      await page.goto(origin + '/');
      const n = log.leads.length;
      const aborted = [];
      // the fetch never reaches the server; the form's own POST goes through
      await page.route(origin + '/lead', (route) => {
        const r = route.request();
        if (r.resourceType() === 'fetch') {
          aborted.push({ headers: r.headers(), fields: JSON.parse(r.postData()) });
          return route.abort('internetdisconnected');
        }
        return route.continue();
      });
      await page.fill('#email', 'offline@example.com');
      await page.fill('#company', 'Résumé & Co');
      await page.click('#lead-submit');
      await page.waitForURL(origin + '/confirm');
      await page.unroute(origin + '/lead');
      eq(aborted.length, 1, 'fetches (aborted)');
      log.leads.splice(n, 0, { isJson: true, headers: aborted[0].headers, fields: aborted[0].fields });
      eq(log.leads.length, n + 2, 'requests to /lead (fetch, then the form)');
      const [first, second] = log.leads.slice(n);
      assert(first.isJson && !second.isJson, 'JSON first, then form-encoded');
      assert(second.headers['content-type'].startsWith('application/x-www-form-urlencoded'),
        `fallback content-type ${second.headers['content-type']}`);
      eq(second.fields.idempotency_key, first.headers['idempotency-key'], 'same idempotency key');
      eq([second.fields.email, second.fields.company], ['offline@example.com', 'Résumé & Co'], 'fallback fields');
    });

    await check('js: raw index.html (not rendered by the server) sends no "{{...}}" placeholder', async () => {
      await page.goto(origin + '/index.html');
      const n = log.leads.length;
      await page.fill('#email', 'raw@example.com');
      await page.click('#lead-submit');
      await page.waitForURL(origin + '/confirm');
      const f = log.leads[n].fields;
      eq(f.form_token, '', 'form_token');
      assert(UUID_RE.test(f.idempotency_key), `idempotency_key ${f.idempotency_key}`);
    });

    // --- the server's 422 page with JavaScript ---
    await check('js: form-422 page focuses the first invalid field and sends no beacon', async () => {
      const n = log.events.length;
      await page.goto(origin + '/__form-422?scenario=errors');
      await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'email');
      await page.waitForTimeout(200);
      eq(log.events.length, n, 'beacons from the 422 page');
    });

    // --- the two forms are one form ---
    await check('index.html and form-422.html hold the same form (structure)', async () => {
      await page.goto(origin + '/');
      const a = await page.evaluate(describeForm);
      await page.goto(origin + '/__form-422?scenario=clean');
      const b = await page.evaluate(describeForm);
      const diff = a.map((l, i) => (l === b[i] ? null : `- ${l}\n+ ${b[i]}`)).filter(Boolean);
      if (a.length !== b.length) diff.push(`${a.length} vs ${b.length} elements`);
      return diff.slice(0, 8).join('\n');
    });

    for (const [vpName, vp] of [['desktop', DESKTOP], ['mobile', MOBILE]]) {
      await check(`index.html and form-422.html look the same (${vpName}, summary aside)`, async () => {
        await page.setViewportSize(vp);
        const shot = async (url) => {
          await page.goto(origin + url);
          await page.addStyleTag({ content: '#form-summary{display:none!important}' });
          await page.evaluate(() => document.activeElement && document.activeElement.blur());
          return page.locator('#lead-form').screenshot();
        };
        const a = await shot('/');
        const b = await shot('/__form-422?scenario=clean');
        if (!a.equals(b)) {
          fs.writeFileSync(path.join(shots, `compare-index-${vpName}.png`), a);
          fs.writeFileSync(path.join(shots, `compare-422-${vpName}.png`), b);
          return `screenshots differ: compare-index-${vpName}.png, compare-422-${vpName}.png`;
        }
        return '';
      });
    }
    await page.setViewportSize(DESKTOP);

    await check('honeypot: off-screen, aria-hidden, never reached with Tab', async () => {
      await page.goto(origin + '/');
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
      assert(seen.includes('lead-submit') || seen.includes(''), `Tab order: ${seen.join(' ')}`);
    });

    await check('no script errors in any page', async () => (pageErrors.length ? pageErrors.join('\n') : ''));
  } finally {
    await close(js);
  }

  // --- without JavaScript ---
  const nojs = await launch({ javaScriptEnabled: false });
  watch(nojs.context);
  try {
    const page = nojs.context.pages()[0] || await nojs.context.newPage();

    await check('no JS: POST /lead form-encoded -> 303 -> /confirm', async () => {
      await page.goto(origin + '/');
      const n = log.leads.length;
      await page.fill('#email', 'plain@example.com');
      await page.selectOption('#employees', '5001+');
      await page.click('#lead-submit');
      await page.waitForURL(origin + '/confirm');
      const lead = log.leads[n];
      assert(!lead.isJson && !lead.wantsJson, 'a plain form post');
      eq([lead.fields.email, lead.fields.employees, lead.fields.intent, lead.fields.form_token, lead.fields.hp_website2],
        ['plain@example.com', '5001+', 'demo', FORM_TOKEN, ''], 'fields');
      assert(UUID_RE.test(lead.fields.idempotency_key), `server-side idempotency_key ${lead.fields.idempotency_key}`);
    });

    await check('no JS: invalid POST -> 422 page keeps values (escaped) and shows messages', async () => {
      await page.goto(origin + '/');
      await page.fill('#first_name', EVIL);
      await page.fill('#email', 'x-invalid@example.com');
      await page.selectOption('#product', 'Data Suite');
      await page.check('input[name=intent][value=partner]');
      await page.fill('#message', 'a </textarea> b');
      const [resp] = await Promise.all([
        page.waitForResponse((r) => r.url() === origin + '/lead'),
        page.click('#lead-submit'),
      ]);
      eq(resp.status(), 422, 'status');
      await page.waitForLoadState('load');
      const s = await page.evaluate(() => ({
        first: document.getElementById('first_name').value,
        email: document.getElementById('email').value,
        product: document.getElementById('product').value,
        intent: document.querySelector('input[name=intent]:checked')?.value,
        message: document.getElementById('message').value,
        emailErr: document.getElementById('email-error').textContent,
        emailInvalid: document.getElementById('email').getAttribute('aria-invalid'),
        firstInvalid: document.getElementById('first_name').getAttribute('aria-invalid'),
        injected: document.querySelectorAll('script:not([src]), b').length,
        title: document.title,
      }));
      eq([s.first, s.email, s.product, s.intent, s.message],
        [EVIL, 'x-invalid@example.com', 'Data Suite', 'partner', 'a </textarea> b'], 'values kept');
      eq([s.emailErr, s.emailInvalid, s.firstInvalid], ['Use your work email address.', 'true', null], 'messages');
      eq(s.injected, 0, 'elements injected by values');
      assert(s.title.startsWith('Error: '), `title ${s.title}`);
      await page.screenshot({ path: path.join(shots, 'form-422-nojs-desktop.png'), fullPage: true });
    });
  } finally {
    await close(nojs);
  }

  await check('no request leaves the test server (no CDN, fonts or beacons elsewhere)', async () =>
    (foreign.length ? [...new Set(foreign)].join('\n') : ''));

  await check('country options match iso-codes (www/tools/gen-country-options.sh --check)', async () => {
    try {
      execFileSync('sh', [path.join(WWW, 'tools', 'gen-country-options.sh'), '--check'], { stdio: 'pipe' });
      return '';
    } catch (e) {
      return String(e.stderr || e.message);
    }
  });

  server.close();
  console.log(`screenshots: ${shots}`);
}

try {
  await main();
} catch (e) {
  notOk('test run', e && e.stack ? e.stack : e);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
