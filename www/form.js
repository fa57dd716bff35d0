/* form.js - progressive enhancement of the Acme lead form (index.html,
 * which the server renders fresh at / and re-shows with messages on a 422).
 * The form works without it: a plain POST to /lead answers 303 (outcome
 * page) or 422 (the form again with a message next to each bad field).
 *
 * With it:
 *  - beacons: `form_view` on load, `form_start` on the first input, sent with
 *    navigator.sendBeacon('/event', JSON {"type", "form": "demo", "page"});
 *  - idempotency: a fresh key (crypto.randomUUID) in the hidden
 *    `idempotency_key` input and in the Idempotency-Key header, the same one
 *    for the fetch and for any fallback POST of the same attempt;
 *  - submit: fetch('/lead') with a JSON body of the fields; 200 -> go to
 *    `redirect`; 422 -> show {"errors": {field: message}} next to each field;
 *    network failure, timeout or any other answer -> form.submit(), the plain
 *    POST, so the lead is never lost (the server deduplicates on the key).
 * No framework, no dependency; www/README has the contract. */
(function () {
  'use strict';

  var form = document.getElementById('lead-form');
  if (!form || !window.fetch || !window.JSON || !window.FormData) return;

  var FORM_NAME = 'demo';
  var TIMEOUT_MS = 20000;
  var button = document.getElementById('lead-submit');
  var statusEl = document.getElementById('form-status');
  var summary = document.getElementById('form-summary');
  var summaryText = document.getElementById('form-summary-text');
  var summaryList = document.getElementById('form-summary-list');
  var keyInput = form.elements.namedItem('idempotency_key');
  var buttonLabel = button ? button.textContent : '';
  var sending = false;

  /* ---- helpers ---- */

  function isPlaceholder(v) { return /^\{\{[^{}]*\}\}$/.test(v); }

  function newKey() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === 'function') return c.randomUUID();
    /* crypto.randomUUID needs a secure context; build the same v4 UUID */
    var b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  function beacon(type) {
    var body = JSON.stringify({ type: type, form: FORM_NAME, page: location.pathname });
    try {
      if (navigator.sendBeacon) navigator.sendBeacon('/event', new Blob([body], { type: 'application/json' }));
    } catch (e) { /* analytics never gets in the way of the form */ }
  }

  function say(text) { if (statusEl) statusEl.textContent = text; }

  function setSending(on) {
    sending = on;
    if (!button) return;
    button.disabled = on;
    button.textContent = on ? 'Sending…' : buttonLabel;
    form.setAttribute('aria-busy', on ? 'true' : 'false');
  }

  /* The controls of a field name: one element, or every radio of a group. */
  function controlsOf(name) {
    var el = form.elements.namedItem(name);
    if (!el) return [];
    if (el.length !== undefined && !el.tagName) return Array.prototype.slice.call(el);
    return [el];
  }

  function isVisibleField(el) {
    return el && el.type !== 'hidden' && !el.closest('.hp') && document.getElementById(el.name + '-error');
  }

  function labelOf(name, el) {
    var fieldset = el.closest('fieldset');
    var src = (el.type === 'radio' && fieldset) ? fieldset.querySelector('legend')
      : (el.labels && el.labels[0]);
    if (!src) return name;
    var copy = src.cloneNode(true);
    Array.prototype.forEach.call(copy.querySelectorAll('.req'), function (n) { n.remove(); });
    return copy.textContent.replace(/\s+/g, ' ').trim();
  }

  function focusTarget(ctrls) {
    for (var i = 0; i < ctrls.length; i++) if (ctrls[i].checked) return ctrls[i];
    return ctrls[0];
  }

  /* ---- errors ---- */

  function clearErrors() {
    Array.prototype.forEach.call(form.querySelectorAll('[aria-invalid]'), function (el) {
      el.removeAttribute('aria-invalid');
    });
    Array.prototype.forEach.call(form.querySelectorAll('.field-error'), function (el) {
      el.textContent = '';
    });
    if (summary) {
      summary.hidden = true;
      summaryText.textContent = '';
      summaryList.textContent = '';
    }
    say('');
  }

  /* errors: {field: message} (a message may also be a list of messages). */
  function showErrors(errors) {
    var fields = [], general = [];
    Object.keys(errors).forEach(function (name) {
      var msg = errors[name];
      msg = Array.isArray(msg) ? msg.join(' ') : String(msg == null ? '' : msg);
      var ctrls = controlsOf(name);
      if (ctrls.length && isVisibleField(ctrls[0])) {
        document.getElementById(ctrls[0].name + '-error').textContent = msg;
        ctrls.forEach(function (c) { c.setAttribute('aria-invalid', 'true'); });
        fields.push({ name: name, ctrls: ctrls, msg: msg });
      } else {
        general.push(msg);
      }
    });
    /* document order, so "first invalid" is the first one on screen */
    fields.sort(function (a, b) {
      return a.ctrls[0].compareDocumentPosition(b.ctrls[0]) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
    });

    if (summary) {
      summaryText.textContent = general.join(' ');
      fields.forEach(function (f) {
        var li = document.createElement('li');
        var a = document.createElement('a');
        var target = focusTarget(f.ctrls);
        a.href = '#' + (target.id || f.name);
        a.textContent = labelOf(f.name, f.ctrls[0]) + ': ' + f.msg;
        a.addEventListener('click', function (ev) { ev.preventDefault(); target.focus(); });
        li.appendChild(a);
        summaryList.appendChild(li);
      });
      summary.hidden = false;
    }

    var names = fields.map(function (f) { return labelOf(f.name, f.ctrls[0]); });
    var n = fields.length;
    say(n ? (n === 1 ? '1 field needs' : n + ' fields need') + ' attention: ' + names.join(', ') + '.'
          + (general.length ? ' ' + general.join(' ') : '')
          : (general.join(' ') || 'Please check the form.'));

    if (n) focusTarget(fields[0].ctrls).focus();
    else if (summary) summary.focus();
  }

  /* Checks the browser can make before sending; same display as the server's. */
  function clientErrors() {
    var errors = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || !el.willValidate || el.validity.valid || errors[el.name]) return;
      var label = labelOf(el.name, el);
      if (el.validity.valueMissing) errors[el.name] = 'Enter your ' + label.toLowerCase() + '.';
      else if (el.validity.typeMismatch && el.type === 'email')
        errors[el.name] = 'Enter an email address like name@company.com.';
      else if (el.validity.tooLong) errors[el.name] = 'This is too long.';
      else errors[el.name] = el.validationMessage || 'Check this field.';
    });
    return errors;
  }

  /* ---- sending ---- */

  function fieldsAsJson() {
    var data = {};
    new FormData(form).forEach(function (v, k) {
      if (typeof v === 'string') data[k] = v;
    });
    return data;
  }

  function safeRedirect(url) {
    try {
      var u = new URL(url, location.href);
      if (u.protocol === 'https:' || u.protocol === 'http:') return u.href;
    } catch (e) { /* fall through */ }
    return '/confirm';
  }

  /* The plain POST: same fields, same idempotency key in the hidden input. */
  function fallback() {
    say('Sending…');
    HTMLFormElement.prototype.submit.call(form);
  }

  function onSubmit(ev) {
    ev.preventDefault();
    if (sending) return;
    clearErrors();
    var local = clientErrors();
    if (Object.keys(local).length) { showErrors(local); return; }

    setSending(true);
    say('Sending your request…');
    var key = keyInput.value;
    var ctl = window.AbortController ? new AbortController() : null;
    var timer = setTimeout(function () { if (ctl) ctl.abort(); }, TIMEOUT_MS);
    var status = 0;

    fetch(form.action, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'Content-Type': 'application/json',
        'Accept': 'application/json',
        'Idempotency-Key': key
      },
      body: JSON.stringify(fieldsAsJson()),
      signal: ctl ? ctl.signal : undefined
    }).then(function (res) {
      status = res.status;
      return res.json().catch(function () { return null; });
    }).then(function (json) {
      clearTimeout(timer);
      if (status >= 200 && status < 300 && json && typeof json === 'object') {
        say('Request sent.');
        location.assign(safeRedirect(typeof json.redirect === 'string' && json.redirect ? json.redirect : '/confirm'));
        return;
      }
      if (status === 422 && json && json.errors && typeof json.errors === 'object') {
        /* nothing was stored: the corrected submit is a new attempt */
        keyInput.value = newKey();
        setSending(false);
        showErrors(json.errors);
        return;
      }
      fallback();   /* 5xx, 429, HTML instead of JSON...: let the server answer the POST */
    }, function () {
      clearTimeout(timer);
      fallback();   /* offline, DNS, reset, timeout */
    });
  }

  /* ---- start ---- */

  /* An unrendered page (served as a plain static file) still holds
   * "{{...}}" placeholders: never send those as values. */
  Array.prototype.forEach.call(form.elements, function (el) {
    if (el.type === 'hidden' && isPlaceholder(el.value)) el.value = '';
  });
  keyInput.value = newKey();

  var params = new URLSearchParams(location.search);
  ['utm_source', 'utm_medium', 'utm_campaign'].forEach(function (name) {
    var el = form.elements.namedItem(name);
    if (el && !el.value && params.get(name)) el.value = params.get(name).slice(0, 256);
  });

  form.noValidate = true;   /* our messages, in the same place as the server's */
  form.addEventListener('submit', onSubmit);

  /* The server's 422 page: its messages are already next to the fields. */
  var serverInvalid = form.querySelectorAll('[aria-invalid="true"]');
  if (form.hasAttribute('data-server-errors')) {
    if (serverInvalid.length) serverInvalid[0].focus();
    else if (summary) summary.focus();
  } else {
    beacon('form_view');
    var started = false;
    var onStart = function () {
      if (started) return;
      started = true;
      beacon('form_start');
      form.removeEventListener('input', onStart);
      form.removeEventListener('change', onStart);
    };
    form.addEventListener('input', onStart);
    form.addEventListener('change', onStart);
  }

  /* Back from the outcome page (bfcache): a usable button and a new key. */
  window.addEventListener('pageshow', function (ev) {
    if (!ev.persisted) return;
    setSending(false);
    keyInput.value = newKey();
    say('');
  });
})();
