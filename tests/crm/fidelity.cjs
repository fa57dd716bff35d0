// fidelity.cjs - the official clients against the fake CRM (tests/crm/fakecrm.py):
// @hubspot/api-client and jsforce run the operations leadroute's connectors
// use; each must succeed, or fail exactly as the real API would, and the
// fake's record (/_fake/records, /_fake/requests) must show what happened.
//
// Run by tests/crm/fidelity-test.sh with FAKE_URL (the fake's base URL),
// JWT_KEY (a PEM private key whose public half the fake was started with)
// and SEED (tests/crm/seed.json).  Prints one "ok"/"FAIL" line per check and
// exits 1 when any failed.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const hubspot = require('@hubspot/api-client');
const jsforce = require('jsforce');

const BASE = process.env.FAKE_URL;
const JWT_KEY = process.env.JWT_KEY;
const HS_TOKEN = 'pat-na1-fidelity-0000';
const SF_ID = 'fake-client-id';
const SF_SECRET = 'fake-client-secret';
const EXT = 'Leadroute_Id__c';
const seed = JSON.parse(fs.readFileSync(process.env.SEED, 'utf8'));

let passes = 0;
let fails = 0;
function ok(what) { passes++; console.log(`ok   ${what}`); }
function bad(what) { fails++; console.log(`FAIL ${what}`); }
function check(what, cond, detail) {
  if (cond) ok(what); else bad(detail === undefined ? what : `${what} (${detail})`);
  return !!cond;
}
function eq(what, got, want) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  return check(what, g === w, `got ${g}, want ${w}`);
}
// step: a named block; an exception in it is one FAIL, the rest goes on
async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    bad(`${name}: unexpected ${e && e.name}: ${e && e.message ? e.message.split('\n')[0] : e}`);
  }
}
// expectError: fn must throw; returns the error (or null after a FAIL)
async function expectError(what, fn) {
  try {
    const r = await fn();
    bad(`${what}: expected an error, got ${JSON.stringify(r).slice(0, 200)}`);
    return null;
  } catch (e) {
    return e;
  }
}

// the fake's control API
async function ctl(method, path, body) {
  const r = await fetch(BASE + '/_fake' + path, {
    method, headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`control ${method} ${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}
const fault = (spec) => ctl('POST', '/faults', spec);
const clearFaults = () => ctl('DELETE', '/faults');
const config = (c) => ctl('POST', '/config', c);
const records = () => ctl('GET', '/records');
async function requestsSince(seq, route) {
  const q = `?since=${seq}` + (route ? `&route=${encodeURIComponent(route)}` : '');
  return (await ctl('GET', '/requests' + q)).requests;
}
async function lastSeq() { return (await ctl('GET', '/requests?since=999999999')).last_seq; }

// A new client per use: the SDK keeps its retry decorators in a process-wide
// singleton that the last constructed client sets.
function hs(opts = {}) {
  return new hubspot.Client({ accessToken: HS_TOKEN, basePath: BASE, ...opts });
}
const isDate = (d) => d instanceof Date && !Number.isNaN(d.getTime());
const allStrings = (props) => Object.values(props).every((v) => v === null || typeof v === 'string');

const owners = {};   // email -> {hs, sf}

async function hubspotChecks() {
  console.log('# HubSpot (@hubspot/api-client)');
  for (const o of seed.owners) owners[o.email] = { hs: o.hubspot_id };

  await step('companies search by domain', async () => {
    const r = await hs().crm.companies.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'domain', operator: 'EQ', value: 'Acme.Example' }] }],
      properties: ['domain', 'name', 'hubspot_owner_id', 'hs_lastmodifieddate', 'lifecyclestage', 'tier'],
      sorts: [], limit: 10, after: '0',
    });
    eq('search by domain: one company (EQ is case-insensitive)', r.total, 1);
    const c = r.results[0];
    eq('... its id is a string', typeof c.id, 'string');
    eq('... owner id, lifecycle and tier as seeded', [c.properties.hubspot_owner_id, c.properties.lifecyclestage,
      c.properties.tier], ['41629779', 'customer', 'enterprise']);
    check('... every property value is a string', allStrings(c.properties));
    check('... createdAt/updatedAt parse as ISO-8601 dates', isDate(c.createdAt) && isDate(c.updatedAt));
    eq('... hs_lastmodifieddate is updatedAt', c.properties.hs_lastmodifieddate, '2024-05-06T07:08:09.012Z');
    check('... no paging on the last page', !r.paging);
    const none = await hs().crm.companies.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'domain', operator: 'EQ', value: 'nobody.example' }] }],
      properties: ['domain'], limit: 10, after: '0', sorts: [],
    });
    eq('search for an unknown domain: total 0, no results', [none.total, none.results.length], [0, 0]);
  });

  await step('companies search by modified time, paged', async () => {
    const since = Date.parse('2024-07-01T00:00:00Z');
    const got = [];
    let after = '0';
    let pages = 0;
    for (;;) {
      const r = await hs().crm.companies.searchApi.doSearch({
        filterGroups: [{ filters: [{ propertyName: 'hs_lastmodifieddate', operator: 'GTE', value: String(since) }] }],
        sorts: [{ propertyName: 'hs_lastmodifieddate', direction: 'ASCENDING' }],
        properties: ['domain', 'hs_lastmodifieddate'], limit: 1, after,
      });
      pages++;
      got.push(r.results.map((c) => c.properties.domain)[0]);
      if (!r.paging || !r.paging.next) break;
      after = r.paging.next.after;
      if (pages > 10) break;
    }
    eq('GTE hs_lastmodifieddate (ms), ascending, one per page', got,
      ['initech.example', 'umbrella.example', 'hooli.example']);
    const desc = await hs().crm.companies.searchApi.doSearch({
      filterGroups: [], sorts: ['-hs_lastmodifieddate'], properties: ['domain'], limit: 2, after: '0',
    });
    eq('string sort "-hs_lastmodifieddate", total counts all', [desc.total, desc.results.map((c) => c.properties.domain)],
      [5, ['hooli.example', 'umbrella.example']]);
  });

  await step('companies list, paged', async () => {
    const domains = [];
    let after;
    for (let i = 0; i < 10; i++) {
      const r = await hs().crm.companies.basicApi.getPage(2, after, ['domain', 'hubspot_owner_id']);
      domains.push(...r.results.map((c) => c.properties.domain));
      if (!r.paging) break;
      after = r.paging.next.after;
      check(`list page ${i + 1}: paging.next.link points at the fake`, r.paging.next.link.startsWith(BASE));
    }
    eq('getPage(2, after) walks all five companies', domains.sort(),
      ['acme.example', 'globex.example', 'hooli.example', 'initech.example', 'umbrella.example']);
  });

  let janeId;
  await step('contacts create', async () => {
    const r = await hs().crm.contacts.basicApi.create({
      properties: { email: 'jane@acme.example', firstname: 'Jane', lastname: 'Doe', company: 'Acme',
        website: 'acme.example', hubspot_owner_id: '41629779' },
      associations: [{ to: { id: '9001' }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 279 }] }],
    });
    janeId = r.id;
    check('create: a string id', typeof r.id === 'string' && /^\d+$/.test(r.id), r.id);
    eq('... email and owner as sent', [r.properties.email, r.properties.hubspot_owner_id], ['jane@acme.example', '41629779']);
    eq('... hs_object_id is the id', r.properties.hs_object_id, r.id);
    check('... createdAt is a date, archived false', isDate(r.createdAt) && r.archived === false);
  });

  await step('contacts create again: 409 with the existing id', async () => {
    const e = await expectError('second create', () => hs().crm.contacts.basicApi.create({
      properties: { email: 'JANE@acme.example', firstname: 'Janet' }, associations: [] }));
    if (!e) return;
    eq('the SDK surfaces HTTP 409', e.code, 409);
    eq('... category CONFLICT, status error', [e.body && e.body.category, e.body && e.body.status], ['CONFLICT', 'error']);
    const m = /Existing ID: ([0-9]+)/.exec((e.body && e.body.message) || '');
    eq('... "Existing ID: N" names the first contact', m && m[1], janeId);
    check('... with a correlationId', typeof (e.body && e.body.correlationId) === 'string');
  });

  await step('contacts create with a bad email: 400 VALIDATION_ERROR', async () => {
    const e = await expectError('bad email', () => hs().crm.contacts.basicApi.create({
      properties: { email: 'not-an-email' }, associations: [] }));
    if (!e) return;
    eq('400 VALIDATION_ERROR', [e.code, e.body && e.body.category], [400, 'VALIDATION_ERROR']);
    check('... message says INVALID_EMAIL', /INVALID_EMAIL/.test(e.body.message), e.body.message);
    await fault({ kind: 'invalid_email', surface: 'hubspot', email: 'refused@acme.example' });
    const e2 = await expectError('refused email', () => hs().crm.contacts.batchApi.upsert({
      inputs: [{ idProperty: 'email', id: 'refused@acme.example', properties: { firstname: 'R' } }] }));
    if (e2) eq('injected permanent validation error on upsert: 400 VALIDATION_ERROR', [e2.code, e2.body && e2.body.category],
      [400, 'VALIDATION_ERROR']);
    await clearFaults();
  });

  await step('batch upsert by email', async () => {
    const r = await hs().crm.contacts.batchApi.upsert({ inputs: [
      { idProperty: 'email', id: 'jane@acme.example', properties: { firstname: 'Janet', hubspot_owner_id: '41629780' } },
      { idProperty: 'email', id: 'max@globex.example', properties: { firstname: 'Max', lastname: 'Mustermann',
        hubspot_owner_id: '41629780' } },
    ] });
    eq('upsert: status COMPLETE, two results', [r.status, r.results.length], ['COMPLETE', 2]);
    const byEmail = Object.fromEntries(r.results.map((x) => [x.properties.email, x]));
    eq('... existing jane: new=false, same id', [byEmail['jane@acme.example']._new, byEmail['jane@acme.example'].id],
      [false, janeId]);
    eq('... max: new=true', byEmail['max@globex.example'] && byEmail['max@globex.example']._new, true);
    check('... startedAt/completedAt are dates', isDate(r.startedAt) && isDate(r.completedAt));
    const again = await hs().crm.contacts.batchApi.upsert({ inputs: [
      { idProperty: 'email', id: 'max@globex.example', properties: { firstname: 'Max' } }] });
    eq('upsert again: new=false (a retry is idempotent)', again.results[0]._new, false);
  });

  await step('PATCH the owner', async () => {
    const r = await hs().crm.contacts.basicApi.update(janeId, { properties: { hubspot_owner_id: '41629781' } });
    eq('update by id: owner changed', [r.id, r.properties.hubspot_owner_id], [janeId, '41629781']);
    const r2 = await hs().crm.contacts.basicApi.update('max@globex.example', { properties: { hubspot_owner_id: '41629779' } },
      'email');
    eq('update by email (idProperty=email)', r2.properties.hubspot_owner_id, '41629779');
    const e = await expectError('unknown id', () => hs().crm.contacts.basicApi.update('999999', { properties: { firstname: 'x' } }));
    if (e) eq('update of an unknown id: 404', [e.code, e.body && e.body.message], [404, 'resource not found']);
    const e2 = await expectError('unknown owner', () => hs().crm.contacts.basicApi.update(janeId, { properties: { hubspot_owner_id: '1' } }));
    if (e2) eq('an owner id that is no owner: 400 VALIDATION_ERROR', [e2.code, e2.body && e2.body.category], [400, 'VALIDATION_ERROR']);
  });

  await step('default association contact -> company', async () => {
    const r = await hs().crm.associations.v4.basicApi.createDefault('contacts', janeId, 'companies', '9002');
    eq('createDefault: COMPLETE', r.status, 'COMPLETE');
    const a = r.results[0];
    eq('... from/to/type 279', [a._from.id, a.to.id, a.associationSpec.associationTypeId, a.associationSpec.associationCategory],
      [janeId, '9002', 279, 'HUBSPOT_DEFINED']);
    const again = await hs().crm.associations.v4.basicApi.createDefault('contacts', janeId, 'companies', '9002');
    eq('... again: still COMPLETE (PUT is idempotent)', again.status, 'COMPLETE');
  });

  await step('owners by email, paged', async () => {
    const r = await hs().crm.owners.ownersApi.getPage('ana@acme.example');
    eq('getPage(email): one owner', r.results.map((o) => [o.id, o.email, o.type, o.userId]),
      [['41629779', 'ana@acme.example', 'PERSON', 9876543]]);
    const all = [];
    let after;
    for (let i = 0; i < 10; i++) {
      const p = await hs().crm.owners.ownersApi.getPage(undefined, after, 2);
      all.push(...p.results.map((o) => o.email));
      if (!p.paging) break;
      after = p.paging.next.after;
    }
    eq('getPage(limit 2) walks the active owners', all.sort(), ['ana@acme.example', 'ben@acme.example', 'cleo@acme.example']);
    const arch = await hs().crm.owners.ownersApi.getPage(undefined, undefined, 100, true);
    eq('archived=true: the inactive owner', arch.results.map((o) => o.email), ['gone@acme.example']);
  });

  await step('contacts search by email', async () => {
    const r = await hs().crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: 'jane@acme.example' }] }],
      properties: ['email', 'hubspot_owner_id'], limit: 1, after: '0', sorts: [] });
    eq('found jane with her new owner', r.results.map((c) => [c.id, c.properties.hubspot_owner_id]), [[janeId, '41629781']]);
  });

  await step('authentication', async () => {
    const e = await expectError('wrong token', () => new hubspot.Client({ basePath: BASE })
      .crm.companies.basicApi.getPage(1));
    if (e) eq('no token: 401 INVALID_AUTHENTICATION', [e.code, e.body && e.body.category], [401, 'INVALID_AUTHENTICATION']);
  });

  await step('SDK retries on injected faults', async () => {
    let seq = await lastSeq();
    await fault({ kind: 'status', status: 503, surface: 'hubspot', route: 'companies.search', count: 1 });
    const search = (client) => client.crm.companies.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'domain', operator: 'EQ', value: 'globex.example' }] }],
      properties: ['domain'], limit: 1, after: '0', sorts: [] });
    const r = await search(hs({ numberOfApiCallRetries: 2 }));
    eq('503 once, then the retry finds globex', r.results[0].properties.domain, 'globex.example');
    let reqs = await requestsSince(seq, 'companies.search');
    eq('... the fake saw 503 then 200', reqs.map((x) => x.status), [503, 200]);

    seq = await lastSeq();
    await fault({ kind: 'rate_limit', surface: 'hubspot', route: 'companies.search', count: 1 });
    const t0 = Date.now();
    const r2 = await search(hs({ numberOfApiCallRetries: 2 }));
    const waited = Date.now() - t0;
    eq('search 429 "secondly limit", then the retry succeeds', r2.results[0].properties.domain, 'globex.example');
    check('... after the SDK\'s 1 s search back-off', waited >= 900, `${waited} ms`);
    reqs = await requestsSince(seq, 'companies.search');
    eq('... the fake saw 429 then 200', reqs.map((x) => x.status), [429, 200]);

    await fault({ kind: 'rate_limit', surface: 'hubspot', route: 'contacts.upsert', count: 1, retry_after: 3 });
    const e = await expectError('429', () => hs().crm.contacts.batchApi.upsert({ inputs: [
      { idProperty: 'email', id: 'jane@acme.example', properties: { firstname: 'J' } }] }));
    if (e) {
      eq('429 on a write: TEN_SECONDLY_ROLLING body', [e.code, e.body && e.body.policyName, e.body && e.body.errorType],
        [429, 'TEN_SECONDLY_ROLLING', 'RATE_LIMIT']);
      eq('... with the injected Retry-After', e.headers && e.headers['retry-after'], '3');
      check('... and the rate-limit headers', e.headers && e.headers['x-hubspot-ratelimit-max'] !== undefined);
    }
    await clearFaults();
  });

  await step('HubSpot record', async () => {
    const rec = await records();
    const jane = rec.contacts.filter((c) => c.email === 'jane@acme.example');
    eq('one contact jane (the 409 made no second one)', jane.length, 1);
    if (jane.length === 1) {
      eq('... owner cleo, first name from the upsert', [jane[0].owner_email, jane[0].properties.firstname],
        ['cleo@acme.example', 'Janet']);
      eq('... associated with acme (create) and globex (default association)', jane[0].companies, ['9001', '9002']);
    }
    const max = rec.contacts.filter((c) => c.email === 'max@globex.example');
    eq('one contact max, owner ana, written three times', max.map((c) => [c.owner_email, c.writes]),
      [['ana@acme.example', 3]]);
    eq('no contact for the refused or invalid emails', rec.contacts.filter((c) => /refused|not-an-email/.test(c.email)).length, 0);
  });
}

// ---------------------------------------------------------------- Salesforce

function sfUsers() {
  return ctl('GET', '/records').then((r) => Object.fromEntries(r.owners.map((o) => [o.email, o.salesforce_id])));
}

function jwt(claims, key = JWT_KEY) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64({ alg: 'RS256' })}.${b64(claims)}`;
  const sig = crypto.sign('RSA-SHA256', Buffer.from(input), fs.readFileSync(key, 'utf8')).toString('base64url');
  return `${input}.${sig}`;
}

function ccConnection(extra = {}) {
  return new jsforce.Connection({
    oauth2: { loginUrl: BASE, clientId: SF_ID, clientSecret: SF_SECRET },
    version: '62.0',
    // client credentials hand out no refresh token: get a new token instead
    refreshFn: (conn, cb) => {
      conn.oauth2.requestToken({ grant_type: 'client_credentials' })
        .then((res) => cb(null, res.access_token, res), (err) => cb(err));
    },
    ...extra,
  });
}

async function salesforceChecks() {
  console.log('# Salesforce (jsforce)');
  const users = await sfUsers();
  let conn;

  await step('OAuth client credentials', async () => {
    conn = ccConnection();
    const info = await conn.authorize({ grant_type: 'client_credentials' });
    eq('authorize(client_credentials): instance_url is the fake', conn.instanceUrl, BASE);
    check('... an access token, a user id 005…, an org id 00D…', conn.accessToken && /^005/.test(info.id) &&
      /^00D/.test(info.organizationId), JSON.stringify(info));
    const bad = new jsforce.Connection({ oauth2: { loginUrl: BASE, clientId: SF_ID, clientSecret: 'wrong' } });
    const e = await expectError('wrong secret', () => bad.authorize({ grant_type: 'client_credentials' }));
    if (e) eq('wrong secret: invalid_client / invalid client credentials', [e.name, e.message],
      ['invalid_client', 'invalid client credentials']);
    const seqReqs = await requestsSince(0, 'oauth.token');
    check('the record masks client_secret', seqReqs.length > 0 && seqReqs.every((r) => !r.body.includes(SF_SECRET)
      && !r.body.includes('wrong')), seqReqs.map((r) => r.body).join(' | '));
  });

  await step('OAuth JWT bearer', async () => {
    const exp = Math.floor(Date.now() / 1000) + 120;
    const c = new jsforce.Connection({ oauth2: { loginUrl: BASE }, version: '62.0' });
    await c.authorize({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: jwt({ iss: SF_ID, sub: 'ana@acme.example', aud: BASE, exp }) });
    eq('JWT bearer: a session as ana', c.userInfo && c.userInfo.id, users['ana@acme.example']);
    const q = await c.query("SELECT Id FROM User WHERE Email = 'ana@acme.example'");
    eq('... that works for queries', q.totalSize, 1);
    const tries = [
      ['wrong aud', { iss: SF_ID, sub: 'ana@acme.example', aud: 'http://127.0.0.1:9', exp }, 'invalid_grant', 'audience is invalid'],
      ['expired', { iss: SF_ID, sub: 'ana@acme.example', aud: BASE, exp: exp - 600 }, 'invalid_grant', 'expired authorization code'],
      ['unknown user', { iss: SF_ID, sub: 'nobody@acme.example', aud: BASE, exp }, 'invalid_grant', "user hasn't approved this consumer"],
      ['wrong iss', { iss: 'other', sub: 'ana@acme.example', aud: BASE, exp }, 'invalid_client_id', 'client identifier invalid'],
    ];
    for (const [what, claims, name, desc] of tries) {
      const e = await expectError(what, () => c.oauth2.requestToken({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt(claims) }));
      if (e) eq(`JWT ${what}: ${name} / ${desc}`, [e.name, e.message], [name, desc]);
    }
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const other = `${process.env.T}/other.pem`;
    fs.writeFileSync(other, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const e = await expectError('other key', () => c.oauth2.requestToken({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: jwt({ iss: SF_ID, sub: 'ana@acme.example', aud: BASE, exp }, other) }));
    if (e) eq('JWT signed by another key: invalid_grant', e.name, 'invalid_grant');
  });

  await step('SOQL', async () => {
    const r = await conn.query("SELECT Id, Name, Website, OwnerId, Owner.Email, Owner.IsActive FROM Account " +
      "WHERE Website LIKE '%acme.example%' ORDER BY LastModifiedDate DESC LIMIT 5");
    eq('Account by Website LIKE: acme, owner ana', r.records.map((a) => [a.Name, a.Owner && a.Owner.Email, a.Owner && a.Owner.IsActive]),
      [['Acme', 'ana@acme.example', true]]);
    eq('... attributes.type Account, done', [r.records[0].attributes.type, r.done], ['Account', true]);
    const u = await conn.query("SELECT Id, Email, IsActive FROM User WHERE Email = 'BEN@acme.example' AND IsActive = true");
    eq('User by email (case-insensitive) and IsActive', u.records.map((x) => x.Id), [users['ben@acme.example']]);
    const s = await conn.query('SELECT Id, Name, SystemModstamp FROM Account WHERE SystemModstamp > 2024-07-01T00:00:00Z ' +
      'ORDER BY SystemModstamp');
    eq('SystemModstamp > datetime, ordered', s.records.map((x) => x.Name), ['Initech', 'Umbrella', 'Hooli']);
    check('... datetimes as 2024-07-15T12:00:00.000+0000', s.records[0].SystemModstamp === '2024-07-15T12:00:00.000+0000',
      s.records[0].SystemModstamp);
    let e = await expectError('quoted datetime', () => conn.query("SELECT Id FROM Account WHERE SystemModstamp > '2024-07-01T00:00:00Z'"));
    if (e) check('a quoted datetime: INVALID_FIELD "should not be enclosed in quotes"',
      e.errorCode === 'INVALID_FIELD' && /should not be enclosed in quotes/.test(e.message), `${e.errorCode}: ${e.message}`);
    e = await expectError('malformed', () => conn.query('SELECT Id FROM Account WHERE'));
    if (e) eq('malformed SOQL: MALFORMED_QUERY', e.errorCode, 'MALFORMED_QUERY');
    e = await expectError('no column', () => conn.query('SELECT Id, Domain__c FROM Account'));
    if (e) eq('unknown column: INVALID_FIELD', e.errorCode, 'INVALID_FIELD');
  });

  await step('SOQL paging', async () => {
    await config({ sf_query_batch: 2 });
    const soql = 'SELECT Id, Name, Owner.Email FROM Account ORDER BY Name';
    const first = await conn.query(soql);
    eq('first page: 2 of 5, not done, a nextRecordsUrl', [first.records.length, first.totalSize, first.done,
      /\/services\/data\/v62\.0\/query\/01g\w+-2$/.test(first.nextRecordsUrl || '')], [2, 5, false, true]);
    const names = first.records.map((a) => a.Name);
    let more = first;
    for (let i = 0; i < 5 && !more.done; i++) {
      more = await conn.queryMore(more.nextRecordsUrl);
      names.push(...more.records.map((a) => a.Name));
    }
    eq('queryMore to the end', names, ['Acme', 'Globex', 'Hooli', 'Initech', 'Umbrella']);
    const all = await conn.query(soql).run({ autoFetch: true, maxFetch: 100 });
    eq('autoFetch: all five', all.records.map((a) => a.Name), names);
    const hooli = all.records.find((a) => a.Name === 'Hooli');
    eq('an account without an owner of its own belongs to the integration user',
      hooli.Owner && hooli.Owner.Email, 'integration@fakecrm.invalid');
    await config({ sf_query_batch: 2000 });
  });

  await step('Lead create and assignment rules', async () => {
    await config({ sf_assignment_rule_owner: users['cleo@acme.example'] });
    const lead = { LastName: 'Doe', FirstName: 'Jane', Company: 'Acme', Email: 'jane@acme.example',
      Website: 'acme.example', LeadSource: 'Web', OwnerId: users['ana@acme.example'] };
    const r = await conn.sobject('Lead').create(lead, { headers: { 'Sforce-Auto-Assign': 'FALSE' } });
    check('create: 00Q id, success, no errors', /^00Q\w{15}$/.test(r.id) && r.success === true &&
      Array.isArray(r.errors) && r.errors.length === 0, JSON.stringify(r));
    const got = await conn.sobject('Lead').retrieve(r.id);
    eq('Sforce-Auto-Assign: FALSE keeps the owner we set', got.OwnerId, users['ana@acme.example']);
    eq('... retrieve gives the fields as sent', [got.Email, got.Company, got.Status], ['jane@acme.example', 'Acme', 'Open - Not Contacted']);
    const r2 = await conn.sobject('Lead').create({ ...lead, Email: 'bob@acme.example', LastName: 'Bob' });
    const got2 = await conn.sobject('Lead').retrieve(r2.id);
    eq('without the header the assignment rule overrides OwnerId', got2.OwnerId, users['cleo@acme.example']);
    await config({ sf_assignment_rule_owner: null });
    let e = await expectError('no Company', () => conn.sobject('Lead').create({ LastName: 'X', Email: 'x@acme.example' }));
    if (e) eq('missing Company: REQUIRED_FIELD_MISSING, fields [Company]', [e.errorCode, e.data && e.data.fields, e.message],
      ['REQUIRED_FIELD_MISSING', ['Company'], 'Required fields are missing: [Company]']);
    e = await expectError('bad email', () => conn.sobject('Lead').create({ LastName: 'X', Company: 'Y', Email: 'x@@y' }));
    if (e) eq('bad email: INVALID_EMAIL_ADDRESS', [e.errorCode, e.message], ['INVALID_EMAIL_ADDRESS', 'Email: invalid email address: x@@y']);
    await fault({ kind: 'invalid_email', surface: 'salesforce', email: 'refused@acme.example' });
    e = await expectError('refused email', () => conn.sobject('Lead').create({ LastName: 'X', Company: 'Y', Email: 'refused@acme.example' }));
    if (e) eq('injected permanent validation error: 400 INVALID_EMAIL_ADDRESS', e.errorCode, 'INVALID_EMAIL_ADDRESS');
    await clearFaults();
    e = await expectError('unknown field', () => conn.sobject('Lead').create({ LastName: 'X', Company: 'Y', Nope__c: 1 }));
    if (e) eq('an unknown field: INVALID_FIELD', e.errorCode, 'INVALID_FIELD');
  });

  await step('Lead upsert on the external id', async () => {
    const body = { [EXT]: 'lr-0001', LastName: 'Roe', FirstName: 'Rita', Company: 'Globex', Email: 'rita@globex.example',
      OwnerId: users['ben@acme.example'] };
    const r1 = await conn.sobject('Lead').upsert(body, EXT, { headers: { 'Sforce-Auto-Assign': 'FALSE' } });
    eq('first upsert: created true, success', [r1.created, r1.success], [true, true]);
    const r2 = await conn.sobject('Lead').upsert({ ...body, OwnerId: users['cleo@acme.example'] }, EXT,
      { headers: { 'Sforce-Auto-Assign': 'FALSE' } });
    eq('second upsert: created false, the same id', [r2.created, r2.id], [false, r1.id]);
    const reqs = await requestsSince(0, 'lead.upsert');
    eq('... answered 201 then 200 on PATCH …/sobjects/Lead/' + EXT + '/lr-0001',
      reqs.map((x) => [x.method, x.path.replace(/^.*sobjects/, ''), x.status]),
      [['PATCH', `/Lead/${EXT}/lr-0001`, 201], ['PATCH', `/Lead/${EXT}/lr-0001`, 200]]);
    let e = await expectError('unknown field', () => conn.sobject('Lead').upsert({ No_Such__c: 'x', LastName: 'a', Company: 'b' }, 'No_Such__c'));
    if (e) eq('upsert on an unknown field: NOT_FOUND', e.errorCode, 'NOT_FOUND');
    e = await expectError('missing LastName', () => conn.sobject('Lead').upsert({ [EXT]: 'lr-0002', Company: 'b' }, EXT));
    if (e) eq('upsert creating without LastName: REQUIRED_FIELD_MISSING', e.errorCode, 'REQUIRED_FIELD_MISSING');
    const many = await conn.sobject('Lead').upsert([
      { [EXT]: 'lr-0001', LastName: 'Roe', Company: 'Globex', Title: 'CTO' },
      { [EXT]: 'lr-0003', LastName: 'Poe', Company: 'Initech' }], EXT, { headers: { 'Sforce-Auto-Assign': 'FALSE' } });
    eq('array upsert (composite/sobjects): updated, created', many.map((x) => [x.success, x.created]), [[true, false], [true, true]]);
  });

  await step('Salesforce record', async () => {
    const rec = await records();
    const rita = rec.leads.filter((l) => l.external_id === 'lr-0001');
    eq('one lead lr-0001, owner cleo, three writes', rita.map((l) => [l.owner_email, l.writes, l.fields.Title]),
      [['cleo@acme.example', 3, 'CTO']]);
    eq('jane kept ana, bob went to the rule\'s owner', ['jane@acme.example', 'bob@acme.example']
      .map((m) => rec.leads.filter((l) => l.email === m).map((l) => [l.owner_email, l.assigned_by_rule])),
      [[['ana@acme.example', false]], [['cleo@acme.example', true]]]);
    eq('nothing stored for the refused and invalid leads', rec.leads.filter((l) => /refused|x@/.test(l.email || '')).length, 0);
  });

  await step('expired session: 401 INVALID_SESSION_ID, jsforce refreshes', async () => {
    const before = conn.accessToken;
    let refreshed = 0;
    conn.on('refresh', () => { refreshed++; });
    const seq = await lastSeq();
    eq('expire all tokens', (await ctl('POST', '/tokens/expire', { surface: 'salesforce' })).expired >= 1, true);
    const r = await conn.query("SELECT Id FROM Lead WHERE Email = 'jane@acme.example'");
    eq('the query succeeds after a refresh', [r.totalSize, refreshed], [1, 1]);
    check('... with a new access token', conn.accessToken && conn.accessToken !== before);
    const reqs = await requestsSince(seq);
    eq('... the fake saw 401, a token request, then 200', reqs.map((x) => `${x.route} ${x.status}`),
      ['query 401', 'oauth.token 200', 'query 200']);
    const body401 = reqs[0];
    check('... the 401 went out with the old token, the retry with the new one', body401.token && reqs[2].token &&
      body401.token !== reqs[2].token, `${body401.token} ${reqs[2].token}`);
    // without a refresh function the error surfaces as such
    const plain = new jsforce.Connection({ instanceUrl: BASE, accessToken: before, version: '62.0' });
    const e = await expectError('expired', () => plain.query('SELECT Id FROM Lead'));
    if (e) eq('no refresh function: errorCode INVALID_SESSION_ID, "Session expired or invalid"', [e.errorCode, e.message],
      ['INVALID_SESSION_ID', 'Session expired or invalid']);
  });

  await step('API limit: 403 REQUEST_LIMIT_EXCEEDED', async () => {
    await conn.query('SELECT Id FROM User LIMIT 1');
    const lim = conn.limitInfo && conn.limitInfo.apiUsage;
    check('jsforce read Sforce-Limit-Info (api-usage=N/15000)', lim && lim.limit === 15000 && lim.used > 0, JSON.stringify(lim));
    await config({ sf_api_usage: 15000 });
    let e = await expectError('over the limit', () => conn.sobject('Lead').create({ LastName: 'L', Company: 'C' }));
    if (e) eq('daily limit reached: errorCode REQUEST_LIMIT_EXCEEDED', [e.errorCode, e.message],
      ['REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.']);
    await config({ sf_api_usage: 10 });
    await fault({ kind: 'rate_limit', surface: 'salesforce', route: 'query', count: 1 });
    e = await expectError('injected', () => conn.query('SELECT Id FROM Lead'));
    if (e) eq('injected limit fault: errorCode REQUEST_LIMIT_EXCEEDED', e.errorCode, 'REQUEST_LIMIT_EXCEEDED');
    const r = await conn.query('SELECT Id FROM Lead');
    check('the next query goes through', r.totalSize >= 4, r.totalSize);
    await clearFaults();
  });
}

(async () => {
  await hubspotChecks();
  await salesforceChecks();
  console.log(`fidelity.cjs: ${passes} passed, ${fails} failed`);
  process.exit(fails ? 1 : 0);
})().catch((e) => {
  console.log(`FAIL fidelity.cjs: ${e && e.stack}`);
  process.exit(1);
});
