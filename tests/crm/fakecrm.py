#!/usr/bin/env python3
"""fakecrm.py - a fake HubSpot and Salesforce for leadroute's tests.

One process, Python 3 standard library only, serving both vendors' REST
surfaces on one loopback port, with their real request and response
shapes, status codes, error bodies and headers (see
../shared/reference/crm-apis.md, sections 1, 2 and 6), a record of
everything it received and wrote, and fault injection over HTTP.

    python3 tests/crm/fakecrm.py --port 0 --port-file DIR/port \\
        --state DIR --seed tests/crm/seed.json [--sf-jwt-pubkey key.pem]

Point the HubSpot client at http://127.0.0.1:PORT (its base URL) and the
Salesforce client's login URL at the same address; the token answer's
instance_url is the fake itself.  The control API lives under /_fake/:

    GET  /_fake/health                  {"ok": true, "port": N, "base_url": ...}
    GET  /_fake/records                 contacts, leads, companies, accounts as stored
    GET  /_fake/requests[?surface=&route=&since=SEQ]   everything received
    DELETE /_fake/requests              forget the requests seen so far
    POST /_fake/reset                   back to the seed: records, requests,
                                        faults, tokens, usage and settings
    GET|POST /_fake/faults              list | add one rule or a list of rules
    DELETE /_fake/faults[/ID]           remove all rules | one
    POST /_fake/tokens/expire           {"surface": "salesforce"|"hubspot"|"any"}
    GET|POST /_fake/config              runtime settings
    POST /_fake/seed                    add owners/accounts (seed format)

tests/crm/README documents the fault rules, the settings, the seed format
and what each surface implements; `fakecrm.py --help` lists the options.
"""

import argparse
import base64
import collections
import copy
import datetime
import fnmatch
import hashlib
import hmac
import http.server
import io
import json
import os
import re
import secrets
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import urllib.parse
import uuid

# ---------------------------------------------------------------- utilities


def now_ms():
    return int(time.time() * 1000)


def hs_time(ms):
    """HubSpot's ISO-8601: 2024-01-02T03:04:05.678Z"""
    d = datetime.datetime.fromtimestamp(ms / 1000.0, datetime.timezone.utc)
    return d.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (ms % 1000)


def sf_time(ms):
    """Salesforce's JSON datetime: 2024-01-02T03:04:05.000+0000"""
    d = datetime.datetime.fromtimestamp(ms / 1000.0, datetime.timezone.utc)
    return d.strftime('%Y-%m-%dT%H:%M:%S.') + '%03d+0000' % (ms % 1000)


_ISO_RE = re.compile(r'^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?'
                     r'(Z|[+-]\d{2}:?\d{2})?)?$')


def parse_time(v):
    """ISO-8601 (date or date-time, Z or offset) or epoch milliseconds -> ms, or None."""
    if v is None:
        return None
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return int(v)
    s = str(v).strip()
    if re.fullmatch(r'-?\d+', s):
        return int(s)
    m = _ISO_RE.match(s)
    if not m:
        return None
    y, mo, d, hh, mi, ss, frac, tz = m.groups()
    try:
        dt = datetime.datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0),
                               tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    ms = int(dt.timestamp() * 1000)
    if frac:
        ms += int((frac + '000')[:3])
    if tz and tz != 'Z':
        sign = 1 if tz[0] == '+' else -1
        t = tz[1:].replace(':', '')
        ms -= sign * (int(t[:2]) * 3600 + int(t[2:]) * 60) * 1000
    return ms


def correlation_id():
    return str(uuid.uuid4())


def jdump(obj):
    return json.dumps(obj, separators=(',', ':'), ensure_ascii=False).encode('utf-8')


_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


def valid_email(s):
    return bool(s) and len(s) <= 254 and _EMAIL_RE.match(s) is not None and '..' not in s


# Salesforce ids: 15 case-sensitive characters (3-character key prefix),
# plus a 3-character suffix that makes the 18-character form
# case-insensitive.
_SF_SUFFIX = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345'
_B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'


def sf_id18(id15):
    out = ''
    for i in range(3):
        flags = 0
        for j, c in enumerate(id15[i * 5:(i + 1) * 5]):
            if 'A' <= c <= 'Z':
                flags |= 1 << j
        out += _SF_SUFFIX[flags]
    return id15 + out


def sf_make_id(prefix, n):
    digits = ''
    for _ in range(6):
        digits = _B62[n % 62] + digits
        n //= 62
    return sf_id18(prefix + '5g0000' + digits)


_SF_ID_RE = re.compile(r'^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$')


def sf_id15(s):
    """The 15-character form of a Salesforce id, or None when s is not one."""
    if not isinstance(s, str) or not _SF_ID_RE.match(s):
        return None
    if len(s) == 18 and sf_id18(s[:15]).lower() != s.lower():
        return None
    return s[:15]


# ---------------------------------------------------------------- RS256 (standard library only)


def _der_read(data, pos):
    """One DER element at pos: (tag, content bytes, next position)."""
    tag = data[pos]
    pos += 1
    ln = data[pos]
    pos += 1
    if ln & 0x80:
        n = ln & 0x7f
        ln = int.from_bytes(data[pos:pos + n], 'big')
        pos += n
    return tag, data[pos:pos + ln], pos + ln


def _der_children(content):
    out, pos = [], 0
    while pos < len(content):
        tag, val, pos = _der_read(content, pos)
        out.append((tag, val))
    return out


_RSA_OID = bytes.fromhex('2a864886f70d010101')


def _rsa_from_spki(spki):
    """SubjectPublicKeyInfo content -> (n, e)."""
    alg, bitstr = _der_children(spki)[:2]
    if _RSA_OID not in alg[1]:
        raise ValueError('not an RSA key')
    if bitstr[0] != 0x03:
        raise ValueError('bad public key')
    return _rsa_from_pkcs1(_der_read(bitstr[1][1:], 0)[1])


def _rsa_from_pkcs1(seq):
    n, e = _der_children(seq)[:2]
    return int.from_bytes(n[1], 'big'), int.from_bytes(e[1], 'big')


def load_rsa_public_key(pem_text):
    """An RSA public key from PEM: PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE."""
    m = re.search(r'-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----', pem_text, re.S)
    if not m:
        raise ValueError('no PEM block')
    kind, der = m.group(1), base64.b64decode(''.join(m.group(2).split()))
    _, top, _ = _der_read(der, 0)
    if kind == 'PUBLIC KEY':
        return _rsa_from_spki(top)
    if kind == 'RSA PUBLIC KEY':
        return _rsa_from_pkcs1(top)
    if kind == 'CERTIFICATE':
        tbs = _der_children(_der_children(top)[0][1])
        if tbs and tbs[0][0] == 0xa0:     # [0] version
            tbs = tbs[1:]
        return _rsa_from_spki(tbs[5][1])  # serial, sigalg, issuer, validity, subject, spki
    raise ValueError('unsupported PEM block %s' % kind)


_SHA256_PREFIX = bytes.fromhex('3031300d060960864801650304020105000420')


def rs256_verify(key, signing_input, sig):
    """RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 8.2.2)."""
    n, e = key
    k = (n.bit_length() + 7) // 8
    if len(sig) != k:
        return False
    s = int.from_bytes(sig, 'big')
    if s >= n:
        return False
    em = pow(s, e, n).to_bytes(k, 'big')
    t = _SHA256_PREFIX + hashlib.sha256(signing_input).digest()
    expect = b'\x00\x01' + b'\xff' * (k - len(t) - 3) + b'\x00' + t
    return hmac.compare_digest(em, expect)


def b64url_decode(s):
    if not re.fullmatch(r'[A-Za-z0-9_-]*', s):
        raise ValueError('not base64url')
    return base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))


# ---------------------------------------------------------------- settings

DEFAULTS = {
    # HubSpot
    'hs_tokens': [],                 # accepted private-app tokens; empty: any Bearer token
    'hs_daily_limit': 250000,
    'hs_burst_max': 190,             # X-HubSpot-RateLimit-Max per interval
    'hs_burst_interval_ms': 10000,
    'hs_secondly_max': 19,
    'hs_enforce_limits': False,      # answer 429 TEN_SECONDLY_ROLLING past hs_burst_max
    'hs_search_lag_ms': 0,           # records written are found by /search only after this
    'hs_strict_properties': True,    # unknown property names -> 400 PROPERTY_DOESNT_EXIST
    'hs_contact_properties': [],     # extra contact properties to accept
    # Salesforce
    'sf_client_id': 'fake-client-id',
    'sf_client_secret': 'fake-client-secret',
    'sf_jwt_audiences': [],          # accepted JWT aud values besides the fake's own URL
    'sf_token_ttl_s': 7200,
    'sf_external_id': 'Leadroute_Id__c',
    'sf_external_id_unique': True,
    'sf_assignment_rule_owner': None,
    'sf_api_limit': 15000,
    'sf_api_usage': 0,
    'sf_query_batch': 2000,
    'sf_lead_fields': [],            # extra Lead fields to accept
    'sf_max_version': 66,
}


class Settings(dict):
    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError:
            raise AttributeError(k)

    def __setattr__(self, k, v):
        self[k] = v


def coerce_setting(k, v):
    d = DEFAULTS[k]
    if isinstance(d, bool):
        if isinstance(v, str):
            return v.lower() in ('1', 'true', 'yes', 'on')
        return bool(v)
    if isinstance(d, int):
        return int(v)
    if isinstance(d, list):
        if isinstance(v, str):
            return [x for x in v.split(',') if x]
        return list(v)
    return v


# ---------------------------------------------------------------- schemas

HS_CONTACT_PROPS = {
    'email', 'firstname', 'lastname', 'company', 'website', 'phone', 'mobilephone', 'jobtitle',
    'country', 'state', 'city', 'zip', 'address', 'lifecyclestage', 'hs_lead_status',
    'hubspot_owner_id', 'message', 'numemployees', 'industry', 'annualrevenue', 'hs_language',
    'hs_timezone', 'leadsource', 'hs_analytics_source', 'notes_last_updated',
    'createdate', 'lastmodifieddate', 'hs_object_id',
}
HS_COMPANY_PROPS = {
    'domain', 'name', 'hubspot_owner_id', 'lifecyclestage', 'tier', 'industry', 'numberofemployees',
    'country', 'city', 'website', 'phone', 'hs_additional_domains', 'createdate', 'hs_lastmodifieddate',
    'hs_object_id',
}
HS_READONLY = {'hs_object_id', 'createdate', 'lastmodifieddate', 'hs_lastmodifieddate'}
HS_DATETIME = {'createdate', 'lastmodifieddate', 'hs_lastmodifieddate'}
HS_NUMBER = {'hs_object_id', 'numemployees', 'numberofemployees', 'annualrevenue'}
HS_DEFAULT_PROPS = {
    'contacts': ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
    'companies': ['createdate', 'domain', 'hs_lastmodifieddate', 'hs_object_id', 'name'],
}
HS_OPERATORS = {'BETWEEN', 'CONTAINS_TOKEN', 'EQ', 'GT', 'GTE', 'HAS_PROPERTY', 'IN', 'LT', 'LTE',
                'NEQ', 'NOT_CONTAINS_TOKEN', 'NOT_HAS_PROPERTY', 'NOT_IN'}
HS_MODIFIED = {'contacts': 'lastmodifieddate', 'companies': 'hs_lastmodifieddate'}

# Salesforce: canonical field name -> type (string, id, datetime, boolean,
# int, ref:<Object>).  Relationship names map to their object.
SF_STD = {
    'User': {
        'Id': 'id', 'Username': 'string', 'Email': 'string', 'FirstName': 'string',
        'LastName': 'string', 'Name': 'string', 'IsActive': 'boolean', 'UserType': 'string',
        'CreatedDate': 'datetime', 'LastModifiedDate': 'datetime', 'SystemModstamp': 'datetime',
    },
    'Account': {
        'Id': 'id', 'Name': 'string', 'Website': 'string', 'OwnerId': 'id', 'Type': 'string',
        'Industry': 'string', 'NumberOfEmployees': 'int', 'Tier__c': 'string',
        'IsDeleted': 'boolean', 'CreatedDate': 'datetime', 'LastModifiedDate': 'datetime',
        'SystemModstamp': 'datetime',
    },
    'Lead': {
        'Id': 'id', 'FirstName': 'string', 'LastName': 'string', 'Name': 'string',
        'Company': 'string', 'Email': 'string', 'Website': 'string', 'Phone': 'string',
        'MobilePhone': 'string', 'Title': 'string', 'Country': 'string', 'State': 'string',
        'City': 'string', 'PostalCode': 'string', 'Street': 'string', 'NumberOfEmployees': 'int',
        'Industry': 'string', 'LeadSource': 'string', 'Status': 'string', 'Description': 'string',
        'Rating': 'string', 'OwnerId': 'id', 'IsConverted': 'boolean', 'IsDeleted': 'boolean',
        'CreatedDate': 'datetime', 'LastModifiedDate': 'datetime', 'SystemModstamp': 'datetime',
    },
}
SF_RELS = {'Account': {'Owner': 'User'}, 'Lead': {'Owner': 'User'}, 'User': {}}
SF_PREFIX = {'User': '005', 'Account': '001', 'Lead': '00Q'}
SF_READONLY = {'Id', 'Name', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp', 'IsDeleted',
               'IsConverted'}
SF_MAXLEN = {('Lead', 'LastName'): ('Last Name', 80), ('Lead', 'FirstName'): ('First Name', 40),
             ('Lead', 'Company'): ('Company', 255), ('Lead', 'Email'): ('Email', 80),
             ('Lead', 'Title'): ('Title', 128), ('Lead', 'Phone'): ('Phone', 40),
             ('Lead', 'Website'): ('Website', 255), ('Lead', 'LeadSource'): ('Lead Source', 255)}

HS_ROUTES = ['companies.search', 'companies.list', 'companies.get', 'contacts.create',
             'contacts.search', 'contacts.get', 'contacts.update', 'contacts.upsert',
             'associations.default', 'associations.labelled', 'owners.list', 'owners.get',
             'usage.daily']
SF_ROUTES = ['oauth.token', 'versions', 'resources', 'query', 'query.more', 'limits', 'describe',
             'lead.create', 'lead.get', 'lead.update', 'lead.upsert', 'lead.get_by_ext',
             'composite.upsert', 'sobject.get']


# ---------------------------------------------------------------- state


class Fault:
    KINDS = ('status', 'rate_limit', 'reset', 'hang', 'latency', 'down', 'invalid_email')

    def __init__(self, spec, fid):
        if not isinstance(spec, dict):
            raise ValueError('a fault rule is a JSON object')
        self.spec = dict(spec)
        self.id = fid
        self.kind = spec.get('kind')
        if self.kind not in self.KINDS:
            raise ValueError('kind must be one of %s' % ', '.join(self.KINDS))
        self.surface = spec.get('surface', 'any')
        if self.surface not in ('hubspot', 'salesforce', 'any'):
            raise ValueError('surface must be hubspot, salesforce or any')
        self.route = spec.get('route')
        if self.route is not None:
            known = HS_ROUTES + SF_ROUTES
            if not any(fnmatch.fnmatchcase(r, self.route) for r in known):
                raise ValueError('route %r matches none of %s' % (self.route, ', '.join(known)))
        self.path = re.compile(spec['path']) if spec.get('path') else None
        self.method = spec.get('method', '').upper() or None
        self.every = int(spec.get('every', 1))
        if self.every < 1:
            raise ValueError('every must be >= 1')
        self.for_ms = spec.get('for_ms', spec.get('ms') if self.kind == 'down' else None)
        self.until = now_ms() + int(self.for_ms) if self.for_ms is not None else None
        if 'count' in spec:
            self.count = None if spec['count'] is None else int(spec['count'])
        elif self.kind in ('latency', 'invalid_email', 'down') or 'every' in spec or self.until:
            self.count = None
        else:
            self.count = 1
        self.status = int(spec.get('status', 500))
        self.retry_after = spec.get('retry_after')
        self.ms = int(spec.get('ms', 0)) if self.kind in ('latency',) else 0
        self.hang_ms = int(spec.get('hang_ms', spec.get('ms', 120000) if self.kind == 'hang' else 120000))
        self.email = (spec.get('email') or '').lower()
        self.mode = spec.get('mode', 'reset')
        if self.kind == 'invalid_email' and not self.email:
            raise ValueError('invalid_email needs an email')
        if self.kind == 'down':
            if self.for_ms is None:
                raise ValueError('down needs ms (how long)')
            if self.mode not in ('reset', 'refuse'):
                raise ValueError('down mode is reset or refuse')
            if self.mode == 'refuse' and self.surface != 'any':
                raise ValueError('down mode refuse closes the one listening socket: surface must be any')
        self.seen = 0
        self.fired = 0

    def active(self, t):
        if self.until is not None and t >= self.until:
            return False
        return self.count is None or self.fired < self.count

    def matches(self, surface, route, method, path):
        if self.surface != 'any' and self.surface != surface:
            return False
        if self.route and not fnmatch.fnmatchcase(route or '', self.route):
            return False
        if self.method and self.method != method:
            return False
        if self.path and not self.path.search(path):
            return False
        return True

    def view(self):
        d = dict(self.spec)
        d.update(id=self.id, seen=self.seen, fired=self.fired,
                 active=self.active(now_ms()), count=self.count)
        return d


class State:
    def __init__(self, opts):
        self.lock = threading.RLock()
        self.opts = opts
        self.base_settings = Settings(DEFAULTS)
        for k in DEFAULTS:
            v = getattr(opts, k, None)
            if v is not None and v != [] and v is not False:
                self.base_settings[k] = coerce_setting(k, v)
        self.jwt_key = None
        if opts.sf_jwt_pubkey:
            with open(opts.sf_jwt_pubkey) as f:
                self.jwt_key = load_rsa_public_key(f.read())
        self.seed_docs = []
        for path in opts.seed or []:
            with open(path) as f:
                self.seed_docs.append(json.load(f))
        self.release = threading.Event()   # set to end every hang at once
        self.dirty = False
        self.reset()

    # -- lifecycle

    def reset(self):
        with self.lock:
            self.release.set()
            self.release = threading.Event()
            self.s = Settings(copy.deepcopy(self.base_settings))
            self.counter = collections.defaultdict(int)
            self.owners = []          # HubSpot owners / Salesforce users
            self.companies = {}       # HubSpot id -> company
            self.accounts = {}        # SF id15 -> account
            self.contacts = {}        # HubSpot id -> contact
            self.leads = {}           # SF id15 -> lead
            self.assoc = set()        # (contact id, company id, type id)
            self.sf_tokens = {}       # token -> {user, expires_ms, n}
            self.hs_revoked = set()
            self.hs_seen_tokens = {}  # token -> n
            self.cursors = {}
            self.requests = collections.deque(maxlen=20000)
            self.seq = 0
            self.faults = []
            self.fault_seq = 0
            self.hs_calls = collections.deque()
            self.hs_daily_used = 0
            self.down_until = 0
            self.org_id = sf_make_id('00D', 4242)
            self.integration_user = self._add_owner({
                'email': 'integration@fakecrm.invalid', 'firstName': 'Integration',
                'lastName': 'User', 'username': 'integration@fakecrm.invalid',
                'hubspot': False})
            for doc in self.seed_docs:
                self.load_seed(doc)
            for spec in getattr(self.opts, 'fault', None) or []:
                self.add_fault(json.loads(spec))
            self.dirty = True

    def next(self, what):
        self.counter[what] += 1
        return self.counter[what]

    # -- seed

    def _add_owner(self, o):
        email = o.get('email', '').lower()
        n = self.next('owner')
        rec = {
            'email': email,
            'firstName': o.get('firstName', o.get('first_name', '')),
            'lastName': o.get('lastName', o.get('last_name', '')),
            'hubspot': o.get('hubspot', True),
            'hs_id': str(o.get('hubspot_id', 41629770 + n)),
            'hs_user_id': int(o.get('hubspot_user_id', 9876540 + n)),
            'sf_id': o.get('salesforce_id') or sf_make_id('005', 1000 + n),
            'username': o.get('username', email),
            'active': bool(o.get('active', True)),
            'type': o.get('type', 'PERSON'),
            'teams': o.get('teams', []),
            'created': parse_time(o.get('created')) or parse_time('2023-01-02T03:04:05.000Z'),
            'modified': parse_time(o.get('modified')) or parse_time('2024-01-02T03:04:05.000Z'),
        }
        self.owners.append(rec)
        return rec

    def owner_by_email(self, email):
        email = (email or '').lower()
        for o in self.owners:
            if o['email'] == email:
                return o
        return None

    def owner_by_hs(self, hid):
        for o in self.owners:
            if o['hubspot'] and o['hs_id'] == str(hid):
                return o
        return None

    def owner_by_sf(self, sid):
        i = sf_id15(sid)
        for o in self.owners:
            if i and o['sf_id'][:15] == i:
                return o
        return None

    def load_seed(self, doc):
        with self.lock:
            fields = {'hubspot': {'lifecycle': 'lifecyclestage', 'tier': 'tier'},
                      'salesforce': {'lifecycle': 'Type', 'tier': 'Tier__c'}}
            for surf, m in (doc.get('fields') or {}).items():
                fields.setdefault(surf, {}).update(m)
            for o in doc.get('owners', []):
                self._add_owner(o)
            for a in doc.get('accounts', doc.get('companies', [])):
                self._add_account(a, fields)

    def _add_account(self, a, fields):
        domain = a['domain'].lower()
        created = parse_time(a.get('created')) or parse_time('2023-06-01T00:00:00.000Z')
        modified = parse_time(a.get('modified')) or created
        owner = self.owner_by_email(a.get('owner')) if a.get('owner') else None
        if a.get('owner') and not owner:
            owner = self._add_owner({'email': a['owner']})
        name = a.get('name') or domain.split('.')[0].capitalize()
        n = self.next('company')
        hid = str(a.get('hubspot_id', 9000 + n))
        props = {'domain': domain, 'name': name, 'hs_object_id': hid,
                 'createdate': hs_time(created), 'hs_lastmodifieddate': hs_time(modified),
                 'hubspot_owner_id': owner['hs_id'] if owner else None}
        for k in ('lifecycle', 'tier'):
            if a.get(k) is not None and fields['hubspot'].get(k):
                props[fields['hubspot'][k]] = str(a[k])
        props.update({k: None if v is None else str(v) for k, v in (a.get('hubspot') or {}).items()})
        self.companies[hid] = {'id': hid, 'properties': props, 'created': created,
                               'modified': modified, 'visible_at': 0, 'archived': False}
        sid = a.get('salesforce_id') or sf_make_id('001', 5000 + n)
        rec = {'Id': sid, 'Name': name, 'Website': a.get('website', 'http://www.%s' % domain),
               'OwnerId': owner['sf_id'] if owner else self.integration_user['sf_id'],
               'Type': None, 'Industry': None, 'NumberOfEmployees': None, 'Tier__c': None,
               'IsDeleted': False, 'CreatedDate': created, 'LastModifiedDate': modified,
               'SystemModstamp': modified}
        for k in ('lifecycle', 'tier'):
            if a.get(k) is not None and fields['salesforce'].get(k):
                rec[fields['salesforce'][k]] = str(a[k])
        rec.update(a.get('salesforce') or {})
        self.accounts[sid[:15]] = rec

    # -- faults

    def add_fault(self, spec):
        with self.lock:
            self.fault_seq += 1
            f = Fault(spec, self.fault_seq)
            self.faults.append(f)
            if f.kind == 'down' and f.mode == 'refuse':
                self.down_until = f.until
            return f

    def pick_faults(self, surface, route, method, path):
        """(latency ms, the terminal fault that fires or None)"""
        t = now_ms()
        latency, terminal = 0, None
        with self.lock:
            for f in self.faults:
                if f.kind in ('invalid_email',) or not f.active(t):
                    continue
                if f.kind == 'down' and f.mode == 'refuse':
                    continue
                if not f.matches(surface, route, method, path):
                    continue
                if f.kind == 'latency':
                    f.seen += 1
                    if f.seen % f.every == 0:
                        f.fired += 1
                        latency += f.ms
                    continue
                if terminal is not None:
                    continue
                f.seen += 1
                if f.seen % f.every == 0:
                    f.fired += 1
                    terminal = f
        return latency, terminal

    def invalid_email(self, surface, email):
        email = (email or '').lower()
        with self.lock:
            for f in self.faults:
                if f.kind == 'invalid_email' and f.email == email and f.surface in (surface, 'any') \
                        and f.active(now_ms()):
                    f.seen += 1
                    f.fired += 1
                    return True
        return False

    # -- request record

    def log_request(self, entry):
        with self.lock:
            self.seq += 1
            entry['seq'] = self.seq
            self.requests.append(entry)
            return entry

    def finish_request(self, entry):
        if self.opts.state:
            with self.lock:
                line = json.dumps(entry, ensure_ascii=False) + '\n'
                with open(os.path.join(self.opts.state, 'requests.jsonl'), 'a') as f:
                    f.write(line)

    # -- records view

    def records_view(self):
        with self.lock:
            contacts = []
            for c in self.contacts.values():
                p = c['properties']
                o = self.owner_by_hs(p.get('hubspot_owner_id')) if p.get('hubspot_owner_id') else None
                contacts.append({
                    'id': c['id'], 'email': p.get('email'), 'external_id': p.get('email'),
                    'owner_id': p.get('hubspot_owner_id'), 'owner_email': o['email'] if o else None,
                    'properties': dict(p),
                    'companies': sorted(co for (ct, co, _t) in self.assoc if ct == c['id']),
                    'associations': sorted([{'company': co, 'type': t} for (ct, co, t) in self.assoc
                                            if ct == c['id']], key=lambda x: (x['company'], x['type'])),
                    'writes': c['writes'], 'created': hs_time(c['created']),
                    'updated': hs_time(c['modified'])})
            leads = []
            ext = self.s.sf_external_id
            for l in self.leads.values():
                o = self.owner_by_sf(l.get('OwnerId'))
                leads.append({
                    'id': l['Id'], 'email': l.get('Email'), 'external_id': l.get(ext),
                    'external_id_field': ext, 'owner_id': l.get('OwnerId'),
                    'owner_email': o['email'] if o else None,
                    'assigned_by_rule': l.get('_assigned_by_rule', False),
                    'fields': {k: (sf_time(v) if sf_field_type(self, 'Lead', k) == 'datetime' and v is not None
                                   else v) for k, v in l.items() if not k.startswith('_')},
                    'writes': l['_writes']})
            companies = [{'id': c['id'], 'domain': c['properties'].get('domain'),
                          'owner_id': c['properties'].get('hubspot_owner_id'),
                          'properties': dict(c['properties'])} for c in self.companies.values()]
            accounts = [{'id': a['Id'], 'name': a['Name'], 'website': a['Website'],
                         'owner_id': a['OwnerId'],
                         'owner_email': (self.owner_by_sf(a['OwnerId']) or {}).get('email')}
                        for a in self.accounts.values()]
            owners = [{'email': o['email'], 'hubspot_id': o['hs_id'] if o['hubspot'] else None,
                       'salesforce_id': o['sf_id'], 'username': o['username'], 'active': o['active']}
                      for o in self.owners]
            return {'contacts': contacts, 'leads': leads, 'companies': companies,
                    'accounts': accounts, 'owners': owners}

    def _write_records(self):
        if not self.opts.state:
            return
        path = os.path.join(self.opts.state, 'records.json')
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(self.records_view(), f, indent=1, ensure_ascii=False)
        os.replace(tmp, path)

    def changed(self):
        """Records changed: records.json is rewritten by the flusher (at most
        every 0.2 s) and at exit."""
        self.dirty = True

    def flusher(self):
        while True:
            time.sleep(0.2)
            self.flush()

    def flush(self):
        if self.dirty and self.opts.state:
            with self.lock:
                self.dirty = False
                self._write_records()


def sf_field_type(state, obj, name):
    return sf_schema(state, obj).get(name)


def sf_schema(state, obj):
    sch = dict(SF_STD[obj])
    if obj == 'Lead':
        sch[state.s.sf_external_id] = 'string'
        for f in state.s.sf_lead_fields:
            sch[f] = 'string'
    if obj == 'Account':
        for a in state.accounts.values():
            for k, v in a.items():
                if k not in sch and not k.startswith('_'):
                    sch[k] = 'int' if isinstance(v, int) and not isinstance(v, bool) else \
                        'boolean' if isinstance(v, bool) else 'string'
    return sch


# ---------------------------------------------------------------- responses


class Resp:
    def __init__(self, status, body=None, headers=None, ctype=None):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.ctype = ctype


class Reset(Exception):
    """Close the connection without an answer (TCP RST)."""


class Hang(Exception):
    def __init__(self, ms):
        self.ms = ms


HS_CT = 'application/json;charset=utf-8'
SF_CT = 'application/json;charset=UTF-8'


def hs_error(status, category, message, **extra):
    body = {'status': 'error', 'message': message, 'correlationId': correlation_id()}
    if category:
        body['category'] = category
    body.update(extra)
    return Resp(status, body, ctype=HS_CT)


def hs_validation(errors):
    """400 VALIDATION_ERROR as HubSpot words property errors."""
    detail = json.dumps([{'isValid': False, 'message': m, 'error': code, 'name': name}
                         for (name, code, m) in errors], separators=(',', ':'))
    return hs_error(400, 'VALIDATION_ERROR', 'Property values were not valid: ' + detail)


def sf_error(status, code, message, fields=None):
    e = {'message': message, 'errorCode': code}
    if fields is not None:
        e['fields'] = fields
    return Resp(status, [e], ctype=SF_CT)


def sf_oauth_error(error, desc, status=400):
    return Resp(status, {'error': error, 'error_description': desc}, ctype=SF_CT)


# ---------------------------------------------------------------- request


class Req:
    def __init__(self, method, target, headers, body, base_url):
        self.method = method
        u = urllib.parse.urlsplit(target)
        self.path = u.path
        self.raw_query = u.query
        self.query = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        self.target = target
        self.headers = headers
        self.body = body
        self.base_url = base_url
        self.params = {}
        self.surface = None
        self.route = None
        self._json = None

    def q(self, name, default=None):
        v = self.query.get(name)
        return v[0] if v else default

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def json(self):
        return json.loads(self.body.decode('utf-8')) if self.body else None


# ---------------------------------------------------------------- HubSpot


class HubSpot:
    def __init__(self, state):
        self.st = state

    # -- auth and limits

    def auth(self, req):
        h = req.header('Authorization', '')
        m = re.match(r'Bearer\s+(\S+)\s*$', h)
        tok = m.group(1) if m else None
        s = self.st.s
        if tok:
            with self.st.lock:
                if tok not in self.st.hs_seen_tokens:
                    self.st.hs_seen_tokens[tok] = len(self.st.hs_seen_tokens) + 1
                req.token_label = 'hs-token-%d' % self.st.hs_seen_tokens[tok]
        if not tok or tok in self.st.hs_revoked or (s.hs_tokens and tok not in s.hs_tokens):
            return hs_error(401, 'INVALID_AUTHENTICATION',
                            'Authentication credentials not found. This API supports OAuth 2.0 '
                            'authentication and you can find more details in the developer docs.')
        return None

    def count_call(self):
        """Count one call; (headers, over the burst limit)."""
        s = self.st.s
        t = now_ms()
        with self.st.lock:
            q = self.st.hs_calls
            while q and q[0] <= t - s.hs_burst_interval_ms:
                q.popleft()
            over = s.hs_enforce_limits and len(q) >= s.hs_burst_max
            q.append(t)
            self.st.hs_daily_used += 1
            in_sec = sum(1 for x in q if x > t - 1000)
            h = {
                'X-HubSpot-RateLimit-Daily': str(s.hs_daily_limit),
                'X-HubSpot-RateLimit-Daily-Remaining': str(max(0, s.hs_daily_limit - self.st.hs_daily_used)),
                'X-HubSpot-RateLimit-Interval-Milliseconds': str(s.hs_burst_interval_ms),
                'X-HubSpot-RateLimit-Max': str(s.hs_burst_max),
                'X-HubSpot-RateLimit-Remaining': str(max(0, s.hs_burst_max - len(q))),
                'X-HubSpot-RateLimit-Secondly': str(s.hs_secondly_max),
                'X-HubSpot-RateLimit-Secondly-Remaining': str(max(0, s.hs_secondly_max - in_sec)),
            }
        return h, over

    @staticmethod
    def rate_limit_resp(req, policy=None, retry_after=None):
        search = (req.route or '').endswith('.search')
        policy = (policy or ('SECONDLY' if search else 'TEN_SECONDLY_ROLLING')).upper()
        if policy == 'SECONDLY':
            r = hs_error(429, None, 'You have reached your secondly limit.', errorType='RATE_LIMIT',
                         policyName='SECONDLY',
                         groupName='publicapi:private-app-api-calls-search:fake')
        elif policy == 'DAILY':
            r = hs_error(429, None, 'You have reached your daily limit.', errorType='RATE_LIMIT',
                         policyName='DAILY', groupName='publicapi:private-app-api-calls-daily:fake')
        else:
            r = hs_error(429, None, 'You have reached your ten_secondly_rolling limit.',
                         errorType='RATE_LIMIT', policyName='TEN_SECONDLY_ROLLING',
                         groupName='publicapi:private-app-api-calls-ten-secondly:fake')
        if retry_after is not None:
            r.headers['Retry-After'] = str(retry_after)
        return r

    # -- objects

    def obj_view(self, o, kind, props=None, extra_defaults=True, all_props=False):
        p = o['properties']
        if all_props:
            names = [k for k in p]
        else:
            names = list(props) if props else list(HS_DEFAULT_PROPS[kind])
            if props and extra_defaults:
                for k in ('createdate', HS_MODIFIED[kind], 'hs_object_id'):
                    if k not in names:
                        names.append(k)
        out = {}
        for k in names:
            v = p.get(k)
            out[k] = None if v is None else str(v)
        return {'id': o['id'], 'properties': out, 'createdAt': hs_time(o['created']),
                'updatedAt': hs_time(o['modified']), 'archived': False}

    def table(self, kind):
        return self.st.contacts if kind == 'contacts' else self.st.companies

    def known_props(self, kind):
        if kind == 'contacts':
            return HS_CONTACT_PROPS | set(self.st.s.hs_contact_properties)
        ks = set(HS_COMPANY_PROPS)
        for c in self.st.companies.values():
            ks |= set(c['properties'])
        return ks

    def find_contact_by_email(self, email):
        email = (email or '').lower()
        for c in self.st.contacts.values():
            if (c['properties'].get('email') or '').lower() == email:
                return c
        return None

    def check_props(self, kind, props, creating):
        """[] or a list of (name, code, message) property errors."""
        errs = []
        if not isinstance(props, dict):
            return [('properties', 'INVALID_INPUT', 'properties must be an object')]
        known = self.known_props(kind)
        for k, v in props.items():
            if self.st.s.hs_strict_properties and k not in known:
                errs.append((k, 'PROPERTY_DOESNT_EXIST', 'Property "%s" does not exist' % k))
            elif k in HS_READONLY:
                errs.append((k, 'READ_ONLY_VALUE', '%s is a read only property; its value cannot be set.' % k))
        if 'email' in props and props['email'] not in (None, ''):
            e = str(props['email'])
            if not valid_email(e) or self.st.invalid_email('hubspot', e):
                errs.append(('email', 'INVALID_EMAIL', 'Email address %s is invalid' % e))
        own = props.get('hubspot_owner_id')
        if own not in (None, '') and not self.st.owner_by_hs(own):
            errs.append(('hubspot_owner_id', 'INVALID_OWNER_ID', '%s was not a valid owner id' % own))
        return errs

    def normalize_props(self, props):
        out = {}
        for k, v in props.items():
            if v is None:
                out[k] = None
            elif isinstance(v, bool):
                out[k] = 'true' if v else 'false'
            else:
                out[k] = str(v)
            if k == 'email' and out[k]:
                out[k] = out[k].lower()
        return out

    def new_contact(self, props):
        t = now_ms()
        n = self.st.next('contact')
        cid = str(1000 + n * 51)
        p = self.normalize_props(props)
        p.update({'hs_object_id': cid, 'createdate': hs_time(t), 'lastmodifieddate': hs_time(t)})
        c = {'id': cid, 'properties': p, 'created': t, 'modified': t,
             'visible_at': t + self.st.s.hs_search_lag_ms, 'writes': 1, 'archived': False}
        self.st.contacts[cid] = c
        return c

    def update_contact(self, c, props):
        t = max(now_ms(), c['modified'] + 1)
        c['properties'].update(self.normalize_props(props))
        c['properties']['lastmodifieddate'] = hs_time(t)
        c['modified'] = t
        c['visible_at'] = t + self.st.s.hs_search_lag_ms
        c['writes'] += 1

    # -- handlers

    def body_json(self, req):
        ct = (req.header('Content-Type') or '').lower()
        if req.body and 'json' not in ct:
            return None, hs_error(415, None, 'Unsupported Media Type: %s' % (ct or 'none'))
        try:
            return req.json(), None
        except (ValueError, UnicodeDecodeError) as e:
            return None, hs_error(400, 'VALIDATION_ERROR', 'Invalid input JSON on line 1: %s' % e)

    def search(self, req, kind):
        body, err = self.body_json(req)
        if err:
            return err
        body = body or {}
        if not isinstance(body, dict):
            return hs_error(400, 'VALIDATION_ERROR', 'Invalid input JSON: expected an object')
        try:
            limit = int(body.get('limit', 10))
            after = int(body.get('after') or 0)
        except (TypeError, ValueError):
            return hs_error(400, 'VALIDATION_ERROR', 'limit and after must be integers')
        if limit < 0 or limit > 200:
            return hs_error(400, 'VALIDATION_ERROR',
                            'Invalid input JSON : limit must be between 0 and 200 (got %d)' % limit)
        if after + limit > 10000:
            return hs_error(400, 'VALIDATION_ERROR',
                            'Searches are limited to 10,000 results; page with hs_object_id or a '
                            'date filter instead')
        groups = body.get('filterGroups') or []
        if not isinstance(groups, list) or len(groups) > 6:
            return hs_error(400, 'VALIDATION_ERROR', 'filterGroups: a list of at most 6 groups')
        for g in groups:
            for f in (g.get('filters') if isinstance(g, dict) else None) or []:
                if not isinstance(f, dict) or not f.get('propertyName'):
                    return hs_error(400, 'VALIDATION_ERROR', 'Invalid filter: %s' % json.dumps(f))
                if (f.get('operator') or 'EQ').upper() not in HS_OPERATORS:
                    return hs_error(400, 'VALIDATION_ERROR',
                                    'Invalid input JSON : Cannot build FilterOperator, Unknown operator: %s'
                                    % f.get('operator'))
        t = now_ms()
        with self.st.lock:
            rows = [o for o in self.table(kind).values()
                    if not o.get('archived') and o['visible_at'] <= t]
            try:
                if groups:
                    rows = [o for o in rows if any(self.match_group(o, g) for g in groups)]
                if body.get('query'):
                    ql = str(body['query']).lower()
                    rows = [o for o in rows if any(ql in (o['properties'].get(k) or '').lower()
                                                   for k in HS_DEFAULT_PROPS[kind])]
                rows = self.sort(rows, body.get('sorts') or [])
            except ValueError as e:
                return hs_error(400, 'VALIDATION_ERROR', str(e))
            page = rows[after:after + limit]
            out = {'total': len(rows),
                   'results': [self.obj_view(o, kind, body.get('properties')) for o in page]}
            if after + limit < len(rows):
                out['paging'] = {'next': {'after': str(after + limit)}}
        return Resp(200, out, ctype=HS_CT)

    def match_group(self, o, g):
        for f in g.get('filters') or []:
            if not self.match_filter(o, f):
                return False
        return True

    @staticmethod
    def _cmp_value(name, v):
        if v is None:
            return None
        if name in HS_DATETIME:
            return parse_time(v)
        if name in HS_NUMBER:
            try:
                return float(v)
            except (TypeError, ValueError):
                return None
        return str(v).lower()

    def match_filter(self, o, f):
        name = f.get('propertyName')
        op = (f.get('operator') or 'EQ').upper()
        have = o['properties'].get(name)
        if op == 'HAS_PROPERTY':
            return have not in (None, '')
        if op == 'NOT_HAS_PROPERTY':
            return have in (None, '')
        hv = self._cmp_value(name, have)
        if op in ('IN', 'NOT_IN'):
            vals = [self._cmp_value(name, x) for x in (f.get('values') or [])]
            return (hv in vals) == (op == 'IN') if hv is not None else op == 'NOT_IN'
        if op in ('CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN'):
            pat = str(f.get('value', '')).lower()
            toks = re.split(r'[\s@.,;]+', (have or '').lower())
            hit = any(fnmatch.fnmatchcase(tk, pat) for tk in toks) or fnmatch.fnmatchcase((have or '').lower(), pat)
            return hit == (op == 'CONTAINS_TOKEN')
        if 'value' not in f:
            raise ValueError('filter on %s with operator %s needs a value' % (name, op))
        v = self._cmp_value(name, f.get('value'))
        if op == 'EQ':
            return hv is not None and hv == v
        if op == 'NEQ':
            return hv != v
        if hv is None or v is None:
            return False
        if op == 'BETWEEN':
            hi = self._cmp_value(name, f.get('highValue'))
            return hi is not None and v <= hv <= hi
        try:
            if op == 'GT':
                return hv > v
            if op == 'GTE':
                return hv >= v
            if op == 'LT':
                return hv < v
            if op == 'LTE':
                return hv <= v
        except TypeError:
            return False
        raise ValueError('Unknown operator %s' % op)

    def sort(self, rows, sorts):
        rows = sorted(rows, key=lambda o: int(o['id']))
        for s in reversed(sorts):
            if isinstance(s, str):
                desc, name = s.startswith('-'), s.lstrip('-')
            elif isinstance(s, dict):
                name = s.get('propertyName')
                desc = str(s.get('direction', 'ASCENDING')).upper() == 'DESCENDING'
            else:
                raise ValueError('a sort is a property name or {propertyName, direction}')

            def key(o, name=name):
                v = self._cmp_value(name, o['properties'].get(name))
                return (v is None, v if v is not None else 0)
            rows = sorted(rows, key=key, reverse=desc)
        return rows

    def list_objects(self, req, kind):
        try:
            limit = int(req.q('limit', '10'))
            after = int(req.q('after') or 0)
        except ValueError:
            return hs_error(400, 'VALIDATION_ERROR', 'limit and after must be integers')
        if limit < 1 or limit > 100:
            return hs_error(400, 'VALIDATION_ERROR', 'limit must be between 1 and 100')
        props = []
        for v in req.query.get('properties', []):
            props += [x for x in v.split(',') if x]
        archived = req.q('archived', 'false').lower() == 'true'
        with self.st.lock:
            rows = sorted((o for o in self.table(kind).values() if bool(o.get('archived')) == archived),
                          key=lambda o: int(o['id']))
            rows = [o for o in rows if int(o['id']) > after]
            page = rows[:limit]
            out = {'results': [self.obj_view(o, kind, props or None, extra_defaults=False) for o in page]}
            if len(rows) > limit:
                nxt = page[-1]['id']
                q = dict(limit=str(limit), after=nxt)
                if props:
                    q['properties'] = ','.join(props)
                out['paging'] = {'next': {'after': nxt, 'link': '%s/crm/v3/objects/%s?%s' % (
                    req.base_url, kind, urllib.parse.urlencode(q))}}
        return Resp(200, out, ctype=HS_CT)

    def get_object(self, req, kind):
        oid = req.params['id']
        with self.st.lock:
            if kind == 'contacts' and req.q('idProperty') == 'email':
                o = self.find_contact_by_email(oid)
            else:
                o = self.table(kind).get(oid)
            if not o:
                return hs_error(404, 'OBJECT_NOT_FOUND', 'resource not found')
            props = []
            for v in req.query.get('properties', []):
                props += [x for x in v.split(',') if x]
            return Resp(200, self.obj_view(o, kind, props or None, extra_defaults=False), ctype=HS_CT)

    def create_contact(self, req):
        body, err = self.body_json(req)
        if err:
            return err
        if not isinstance(body, dict) or not isinstance(body.get('properties'), dict):
            return hs_error(400, 'VALIDATION_ERROR', 'Invalid input JSON: "properties" is required')
        props = body['properties']
        with self.st.lock:
            errs = self.check_props('contacts', props, True)
            if errs:
                return hs_validation(errs)
            email = props.get('email')
            if email:
                dup = self.find_contact_by_email(email)
                if dup:
                    return hs_error(409, 'CONFLICT', 'Contact already exists. Existing ID: %s' % dup['id'])
            assocs = []
            for a in body.get('associations') or []:
                try:
                    to = str(a['to']['id'])
                    types = [int(t['associationTypeId']) for t in a.get('types') or []]
                except (KeyError, TypeError, ValueError):
                    return hs_error(400, 'VALIDATION_ERROR', 'Invalid association input')
                if to not in self.st.companies:
                    return hs_error(400, 'VALIDATION_ERROR',
                                    'One or more associations are invalid: company %s does not exist' % to)
                for t in types:
                    if t not in (1, 279):
                        return hs_error(400, 'VALIDATION_ERROR',
                                        '%d is not a valid association type between contacts and companies' % t)
                    assocs.append((to, t))
            c = self.new_contact(props)
            for to, t in assocs:
                self.st.assoc.add((c['id'], to, t))
            view = self.obj_view(c, 'contacts', all_props=True)
        self.st.changed()
        return Resp(201, view, ctype=HS_CT)

    def update_contact_route(self, req):
        body, err = self.body_json(req)
        if err:
            return err
        if not isinstance(body, dict) or not isinstance(body.get('properties'), dict):
            return hs_error(400, 'VALIDATION_ERROR', 'Invalid input JSON: "properties" is required')
        props = body['properties']
        idp = req.q('idProperty')
        with self.st.lock:
            if idp == 'email':
                c = self.find_contact_by_email(req.params['id'])
            elif idp in (None, '', 'hs_object_id'):
                c = self.st.contacts.get(req.params['id'])
            else:
                return hs_error(400, 'VALIDATION_ERROR', 'Invalid idProperty %s' % idp)
            if not c:
                return hs_error(404, 'OBJECT_NOT_FOUND', 'resource not found')
            errs = self.check_props('contacts', props, False)
            if errs:
                return hs_validation(errs)
            if props.get('email'):
                dup = self.find_contact_by_email(props['email'])
                if dup and dup is not c:
                    return hs_error(409, 'CONFLICT', 'Contact already exists. Existing ID: %s' % dup['id'])
            self.update_contact(c, props)
            view = self.obj_view(c, 'contacts', list(props), extra_defaults=True)
        self.st.changed()
        return Resp(200, view, ctype=HS_CT)

    def upsert_contacts(self, req):
        body, err = self.body_json(req)
        if err:
            return err
        inputs = body.get('inputs') if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not inputs:
            return hs_error(400, 'VALIDATION_ERROR', 'Invalid input JSON: "inputs" is required')
        if len(inputs) > 100:
            return hs_error(400, 'VALIDATION_ERROR', 'Batch input has %d inputs; at most 100 are allowed'
                            % len(inputs))
        started = now_ms()
        with self.st.lock:
            keys, errs = [], []
            for i, inp in enumerate(inputs):
                if not isinstance(inp, dict) or not isinstance(inp.get('properties'), dict) \
                        or inp.get('id') in (None, ''):
                    return hs_error(400, 'VALIDATION_ERROR',
                                    'Invalid input JSON: inputs[%d] needs id and properties' % i)
                idp = inp.get('idProperty') or 'hs_object_id'
                if idp not in ('email', 'hs_object_id'):
                    return hs_error(400, 'VALIDATION_ERROR',
                                    'Property %s is not a unique identifier property' % idp)
                key = (idp, str(inp['id']).lower())
                keys.append(key)
                props = dict(inp['properties'])
                if idp == 'email':
                    props.setdefault('email', inp['id'])
                    if not valid_email(str(inp['id'])) or self.st.invalid_email('hubspot', inp['id']):
                        errs.append(('email', 'INVALID_EMAIL', 'Email address %s is invalid' % inp['id']))
                        continue
                errs += self.check_props('contacts', props, True)
            dups = sorted({k[1] for k in keys if keys.count(k) > 1})
            if dups:
                return hs_error(400, 'VALIDATION_ERROR',
                                'Duplicate IDs found in batch input: %s. IDs must be unique' % dups)
            if errs:
                return hs_validation(errs)
            results = []
            for inp in inputs:
                idp = inp.get('idProperty') or 'hs_object_id'
                props = dict(inp['properties'])
                if idp == 'email':
                    c = self.find_contact_by_email(inp['id'])
                    props.setdefault('email', inp['id'])
                else:
                    c = self.st.contacts.get(str(inp['id']))
                    if not c:
                        return hs_error(404, 'OBJECT_NOT_FOUND', 'resource not found')
                if c:
                    self.update_contact(c, props)
                    new = False
                else:
                    c = self.new_contact(props)
                    new = True
                v = self.obj_view(c, 'contacts', list(props), extra_defaults=True)
                v['new'] = new
                results.append(v)
        self.st.changed()
        done = now_ms()
        return Resp(200, {'status': 'COMPLETE', 'results': results, 'requestedAt': hs_time(started),
                          'startedAt': hs_time(started), 'completedAt': hs_time(done)}, ctype=HS_CT)

    def _assoc_objects(self, req):
        cid, coid = req.params['id'], req.params['to']
        if cid not in self.st.contacts or coid not in self.st.companies:
            return hs_error(404, 'OBJECT_NOT_FOUND', 'resource not found')
        return None

    def assoc_default(self, req):
        started = now_ms()
        with self.st.lock:
            err = self._assoc_objects(req)
            if err:
                return err
            self.st.assoc.add((req.params['id'], req.params['to'], 279))
        self.st.changed()
        return Resp(200, {'status': 'COMPLETE', 'results': [{
            'from': {'id': req.params['id']}, 'to': {'id': req.params['to']},
            'associationSpec': {'associationCategory': 'HUBSPOT_DEFINED', 'associationTypeId': 279}}],
            'startedAt': hs_time(started), 'completedAt': hs_time(now_ms())}, ctype=HS_CT)

    def assoc_labelled(self, req):
        body, err = self.body_json(req)
        if err:
            return err
        if not isinstance(body, list) or not body:
            return hs_error(400, 'VALIDATION_ERROR', 'Invalid input JSON: expected a list of association types')
        with self.st.lock:
            err = self._assoc_objects(req)
            if err:
                return err
            for t in body:
                try:
                    tid = int(t['associationTypeId'])
                except (KeyError, TypeError, ValueError):
                    return hs_error(400, 'VALIDATION_ERROR', 'Invalid association type')
                if tid not in (1, 279):
                    return hs_error(400, 'VALIDATION_ERROR',
                                    '%d is not a valid association type between contacts and companies' % tid)
                self.st.assoc.add((req.params['id'], req.params['to'], tid))
        self.st.changed()
        loc = '%s/crm/v4/objects/contacts/%s/associations/companies' % (req.base_url, req.params['id'])
        return Resp(201, {'fromObjectTypeId': '0-1', 'fromObjectId': int(req.params['id']),
                          'toObjectTypeId': '0-2', 'toObjectId': int(req.params['to']), 'labels': []},
                    headers={'Location': loc}, ctype=HS_CT)

    def owner_view(self, o):
        return {'id': o['hs_id'], 'email': o['email'], 'firstName': o['firstName'],
                'lastName': o['lastName'], 'userId': o['hs_user_id'],
                'userIdIncludingInactive': o['hs_user_id'], 'type': o['type'],
                'teams': o['teams'], 'archived': not o['active'],
                'createdAt': hs_time(o['created']), 'updatedAt': hs_time(o['modified'])}

    def owners(self, req):
        try:
            limit = int(req.q('limit', '100'))
            after = int(req.q('after') or 0)
        except ValueError:
            return hs_error(400, 'VALIDATION_ERROR', 'limit and after must be integers')
        if limit < 1 or limit > 500:
            return hs_error(400, 'VALIDATION_ERROR', 'limit must be between 1 and 500')
        archived = req.q('archived', 'false').lower() == 'true'
        email = (req.q('email') or '').lower()
        with self.st.lock:
            rows = [o for o in self.st.owners if o['hubspot'] and (not o['active']) == archived
                    and (not email or o['email'] == email)]
            page = rows[after:after + limit]
            out = {'results': [self.owner_view(o) for o in page]}
            if after + limit < len(rows):
                q = {'limit': str(limit), 'after': str(after + limit)}
                if email:
                    q['email'] = email
                out['paging'] = {'next': {'after': str(after + limit),
                                          'link': '%s/crm/v3/owners/?%s' % (req.base_url, urllib.parse.urlencode(q))}}
        return Resp(200, out, ctype=HS_CT)

    def owner_get(self, req):
        with self.st.lock:
            if req.q('idProperty') == 'userId':
                o = next((x for x in self.st.owners if x['hubspot'] and str(x['hs_user_id']) == req.params['id']), None)
            else:
                o = self.st.owner_by_hs(req.params['id'])
            if not o:
                return hs_error(404, 'OBJECT_NOT_FOUND', 'resource not found')
            return Resp(200, self.owner_view(o), ctype=HS_CT)

    def usage(self, req):
        s = self.st.s
        return Resp(200, {'results': [{
            'name': 'private-apps-api-calls-daily', 'usageLimit': s.hs_daily_limit,
            'currentUsage': self.st.hs_daily_used, 'collectedAt': hs_time(now_ms()),
            'fetchStatus': 'SUCCESS',
            'resetsAt': hs_time((now_ms() // 86400000 + 1) * 86400000)}]}, ctype=HS_CT)


# ---------------------------------------------------------------- SOQL subset


class SoqlError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


_SOQL_TOKEN = re.compile(r"""\s*(?:
    (?P<dt>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\dT])
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<str>'(?:[^'\\]|\\.)*')
  | (?P<op><=|>=|!=|<>|=|<|>|\(|\)|,)
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  )""", re.X)
_SOQL_KW = {'select', 'from', 'where', 'and', 'or', 'not', 'like', 'in', 'order', 'by', 'asc',
            'desc', 'nulls', 'first', 'last', 'limit', 'offset', 'null', 'true', 'false', 'count'}


def _soql_unescape(s):
    out, i = [], 1
    while i < len(s) - 1:
        c = s[i]
        if c == '\\':
            i += 1
            n = s[i]
            out.append({'n': '\n', 't': '\t', 'r': '\r', 'b': '\b', 'f': '\f'}.get(n, '\\' + n if n in '%_' else n))
        else:
            out.append(c)
        i += 1
    return ''.join(out)


class Soql:
    """SELECT f[, Owner.Email ...] | COUNT() FROM Account|User|Lead [WHERE cond
    {AND|OR cond}, NOT, parentheses; = != <> < <= > >= LIKE IN (...)] [ORDER BY f
    [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]"""

    def __init__(self, text, state):
        self.text = text
        self.st = state
        self.toks = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = _SOQL_TOKEN.match(text, pos)
            if not m or m.end() == pos:
                bad = text[pos:].strip()[:20]
                raise self._malformed(pos, "unexpected token: '%s'" % bad.split()[0] if bad else 'end')
            kind = m.lastgroup
            val = m.group(kind)
            self.toks.append((kind, val, m.start(kind)))
            pos = m.end()
        self.i = 0

    def _malformed(self, pos, msg):
        line = self.text.replace('\n', ' ')
        return SoqlError('MALFORMED_QUERY', '\n%s\n%s^\nERROR at Row:1:Column:%d\n%s'
                         % (line, ' ' * pos, pos + 1, msg))

    def peek(self, k=0):
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else ('eof', '', len(self.text))

    def kw(self, word):
        t = self.peek()
        if t[0] == 'id' and t[1].lower() == word:
            self.i += 1
            return True
        return False

    def expect_kw(self, word):
        if not self.kw(word):
            t = self.peek()
            raise self._malformed(t[2], "unexpected token: '%s'" % (t[1] or '<EOF>'))

    def expect_op(self, op):
        t = self.peek()
        if t[0] != 'op' or t[1] != op:
            raise self._malformed(t[2], "unexpected token: '%s'" % (t[1] or '<EOF>'))
        self.i += 1

    def parse(self):
        self.expect_kw('select')
        self.count = False
        self.fields = []
        if self.peek()[0] == 'id' and self.peek()[1].lower() == 'count' and self.peek(1)[1] == '(':
            self.i += 1
            self.expect_op('(')
            self.expect_op(')')
            self.count = True
        else:
            while True:
                t = self.peek()
                if t[0] != 'id' or t[1].lower() in ('from',):
                    raise self._malformed(t[2], "unexpected token: '%s'" % (t[1] or '<EOF>'))
                self.fields.append(t)
                self.i += 1
                if self.peek()[1] == ',':
                    self.i += 1
                    continue
                break
        self.expect_kw('from')
        t = self.peek()
        if t[0] != 'id':
            raise self._malformed(t[2], "unexpected token: '%s'" % (t[1] or '<EOF>'))
        self.i += 1
        obj = next((o for o in SF_STD if o.lower() == t[1].lower()), None)
        if not obj:
            raise SoqlError('INVALID_TYPE', "\n%s\n%s^\nERROR at Row:1:Column:%d\nsObject type '%s' is not "
                            "supported. If you are attempting to use a custom object, be sure to append the "
                            "'__c' after the entity name. Please reference your WSDL or the describe call for "
                            "the appropriate names." % (self.text, ' ' * t[2], t[2] + 1, t[1]))
        self.obj = obj
        self.schema = sf_schema(self.st, obj)
        self.cols = [self.resolve(f) for f in self.fields]
        self.where = None
        if self.kw('where'):
            self.where = self.p_or()
        self.order = []
        if self.kw('order'):
            self.expect_kw('by')
            while True:
                t = self.peek()
                if t[0] != 'id':
                    raise self._malformed(t[2], "unexpected token: '%s'" % (t[1] or '<EOF>'))
                self.i += 1
                col = self.resolve(t)
                desc = False
                if self.kw('desc'):
                    desc = True
                else:
                    self.kw('asc')
                nulls_last = desc
                if self.kw('nulls'):
                    if self.kw('last'):
                        nulls_last = True
                    else:
                        self.expect_kw('first')
                        nulls_last = False
                self.order.append((col, desc, nulls_last))
                if self.peek()[1] == ',':
                    self.i += 1
                    continue
                break
        self.limit = None
        self.offset = 0
        if self.kw('limit'):
            self.limit = self.int_tok()
        if self.kw('offset'):
            self.offset = self.int_tok()
            if self.offset > 2000:
                raise SoqlError('NUMBER_OUTSIDE_VALID_RANGE', 'Maximum SOQL offset allowed is 2000')
        t = self.peek()
        if t[0] != 'eof':
            raise self._malformed(t[2], "unexpected token: '%s'" % t[1])
        return self

    def int_tok(self):
        t = self.peek()
        if t[0] != 'num' or not t[1].isdigit():
            raise self._malformed(t[2], "unexpected token: '%s'" % (t[1] or '<EOF>'))
        self.i += 1
        return int(t[1])

    def resolve(self, tok):
        """A field token -> (path of canonical names, type, object)."""
        parts = tok[1].split('.')
        obj, schema = self.obj, self.schema
        out = []
        for j, p in enumerate(parts):
            if j < len(parts) - 1:
                rel = next((r for r in SF_RELS[obj] if r.lower() == p.lower()), None)
                if not rel:
                    raise self._no_column(tok, p, obj)
                out.append(rel)
                obj = SF_RELS[obj][rel]
                schema = sf_schema(self.st, obj)
            else:
                name = next((f for f in schema if f.lower() == p.lower()), None)
                if not name:
                    raise self._no_column(tok, p, obj)
                out.append(name)
                return (tuple(out), schema[name], obj)

    def _no_column(self, tok, name, obj):
        return SoqlError('INVALID_FIELD', "\n%s\n%s^\nERROR at Row:1:Column:%d\nNo such column '%s' on "
                         "entity '%s'. If you are attempting to use a custom field, be sure to append the "
                         "'__c' after the custom field name. Please reference your WSDL or the describe call "
                         "for the appropriate names." % (self.text, ' ' * tok[2], tok[2] + 1, name, obj))

    # WHERE: or -> and -> not -> atom
    def p_or(self):
        left = self.p_and()
        while self.kw('or'):
            left = ('or', left, self.p_and())
        return left

    def p_and(self):
        left = self.p_not()
        while self.kw('and'):
            left = ('and', left, self.p_not())
        return left

    def p_not(self):
        if self.kw('not'):
            return ('not', self.p_not())
        if self.peek()[1] == '(':
            self.i += 1
            e = self.p_or()
            self.expect_op(')')
            return e
        return self.p_cond()

    def p_cond(self):
        t = self.peek()
        if t[0] != 'id':
            raise self._malformed(t[2], "unexpected token: '%s'" % (t[1] or '<EOF>'))
        self.i += 1
        col = self.resolve(t)
        o = self.peek()
        if o[0] == 'op' and o[1] in ('=', '!=', '<>', '<', '<=', '>', '>='):
            self.i += 1
            op = '!=' if o[1] == '<>' else o[1]
            val = self.literal(col, t)
            return ('cmp', op, col, val)
        if self.kw('like'):
            val = self.literal(col, t)
            if col[1] not in ('string', 'id') or not isinstance(val, str):
                raise SoqlError('INVALID_FIELD', "invalid operator on field '%s': LIKE" % t[1])
            return ('like', col, val)
        neg = False
        if self.kw('not'):
            neg = True
        if self.kw('in'):
            self.expect_op('(')
            vals = [self.literal(col, t)]
            while self.peek()[1] == ',':
                self.i += 1
                vals.append(self.literal(col, t))
            self.expect_op(')')
            return ('in', neg, col, vals)
        raise self._malformed(o[2], "unexpected token: '%s'" % (o[1] or '<EOF>'))

    def literal(self, col, ftok):
        t = self.peek()
        if t[0] == 'eof' or t[0] == 'op':
            raise self._malformed(t[2], "unexpected token: '%s'" % (t[1] or '<EOF>'))
        self.i += 1
        typ = col[1]
        name = col[0][-1]
        kind, v = t[0], t[1]
        if kind == 'id' and v.lower() == 'null':
            return None
        if typ == 'datetime':
            if kind == 'dt':
                return parse_time(v)
            if kind == 'str':
                raise SoqlError('INVALID_FIELD', "\n%s\n%s^\nERROR at Row:1:Column:%d\nvalue of filter "
                                "criterion for field '%s' must be of type dateTime and should not be "
                                "enclosed in quotes" % (self.text, ' ' * t[2], t[2] + 1, name))
            raise SoqlError('INVALID_FIELD', "\n%s\n%s^\nERROR at Row:1:Column:%d\nvalue of filter "
                            "criterion for field '%s' must be of type dateTime" % (self.text, ' ' * t[2],
                                                                                  t[2] + 1, name))
        if typ == 'boolean':
            if kind == 'id' and v.lower() in ('true', 'false'):
                return v.lower() == 'true'
            raise SoqlError('INVALID_FIELD', "\n%s\n%s^\nERROR at Row:1:Column:%d\nvalue of filter "
                            "criterion for field '%s' must be of type boolean and should not be enclosed "
                            "in quotes" % (self.text, ' ' * t[2], t[2] + 1, name))
        if typ == 'int':
            if kind == 'num':
                return float(v)
            raise SoqlError('INVALID_FIELD', "\n%s\n%s^\nERROR at Row:1:Column:%d\nvalue of filter "
                            "criterion for field '%s' must be of type double and should not be enclosed "
                            "in quotes" % (self.text, ' ' * t[2], t[2] + 1, name))
        if kind != 'str':
            raise SoqlError('INVALID_FIELD', "\n%s\n%s^\nERROR at Row:1:Column:%d\nvalue of filter "
                            "criterion for field '%s' must be of type string and should be enclosed in "
                            "quotes" % (self.text, ' ' * t[2], t[2] + 1, name))
        return _soql_unescape(v)

    # evaluation
    def get(self, rec, col):
        path = col[0]
        v = rec
        obj = self.obj
        for j, p in enumerate(path):
            if v is None:
                return None
            if j < len(path) - 1:
                target = SF_RELS[obj][p]
                v = self.st.owner_by_sf(v.get(p + 'Id')) if p == 'Owner' else None
                v = sf_user_record(v) if v else None
                obj = target
            else:
                v = v.get(p)
        return v

    def test(self, rec, e):
        op = e[0]
        if op == 'and':
            return self.test(rec, e[1]) and self.test(rec, e[2])
        if op == 'or':
            return self.test(rec, e[1]) or self.test(rec, e[2])
        if op == 'not':
            return not self.test(rec, e[1])
        if op == 'like':
            v = self.get(rec, e[1])
            if v is None:
                return False
            rx = ''
            pat = e[2]
            i = 0
            while i < len(pat):
                c = pat[i]
                if c == '\\' and i + 1 < len(pat):
                    rx += re.escape(pat[i + 1])
                    i += 2
                    continue
                rx += '.*' if c == '%' else '.' if c == '_' else re.escape(c)
                i += 1
            return re.fullmatch(rx, str(v), re.I | re.S) is not None
        if op == 'in':
            v = self.norm(self.get(rec, e[2]), e[2])
            hit = v in [self.norm(x, e[2]) for x in e[3]]
            return hit != e[1]
        _, cmp, col, lit = e
        v = self.norm(self.get(rec, col), col)
        lit = self.norm(lit, col)
        if cmp == '=':
            return v == lit
        if cmp == '!=':
            return v != lit
        if v is None or lit is None:
            return False
        return {'<': v < lit, '<=': v <= lit, '>': v > lit, '>=': v >= lit}[cmp]

    @staticmethod
    def norm(v, col):
        if v is None:
            return None
        if col[1] == 'id':
            return str(v)[:15]
        if col[1] == 'string':
            return str(v).lower()
        return v

    def run(self, records):
        rows = [r for r in records if self.where is None or self.test(r, self.where)]
        for col, desc, nulls_last in reversed(self.order):
            def key(r, col=col):
                v = self.norm(self.get(r, col), col)
                return v
            nn = [r for r in rows if key(r) is not None]
            nl = [r for r in rows if key(r) is None]
            nn.sort(key=key, reverse=desc)
            rows = nn + nl if nulls_last else nl + nn
        rows = rows[self.offset:]
        if self.limit is not None:
            rows = rows[:self.limit]
        return rows


def sf_user_record(o):
    return {'Id': o['sf_id'], 'Username': o['username'], 'Email': o['email'],
            'FirstName': o['firstName'], 'LastName': o['lastName'],
            'Name': ('%s %s' % (o['firstName'], o['lastName'])).strip(), 'IsActive': o['active'],
            'UserType': 'Standard', 'CreatedDate': o['created'], 'LastModifiedDate': o['modified'],
            'SystemModstamp': o['modified']}


# ---------------------------------------------------------------- Salesforce


class Salesforce:
    def __init__(self, state):
        self.st = state

    # -- OAuth

    def token(self, req):
        ct = (req.header('Content-Type') or '').lower()
        if 'application/x-www-form-urlencoded' not in ct:
            return sf_oauth_error('invalid_request', 'must use application/x-www-form-urlencoded')
        form = urllib.parse.parse_qs(req.body.decode('utf-8', 'replace'), keep_blank_values=True)
        f = {k: v[0] for k, v in form.items()}
        s = self.st.s
        grant = f.get('grant_type')
        if grant == 'client_credentials':
            if f.get('client_id') != s.sf_client_id:
                return sf_oauth_error('invalid_client_id', 'client identifier invalid')
            if not hmac.compare_digest(f.get('client_secret', ''), s.sf_client_secret):
                return sf_oauth_error('invalid_client', 'invalid client credentials')
            return self.issue(req, self.st.integration_user, client_credentials=True)
        if grant == 'urn:ietf:params:oauth:grant-type:jwt-bearer':
            return self.jwt_grant(req, f.get('assertion', ''))
        if grant in ('password', 'refresh_token', 'authorization_code'):
            return sf_oauth_error('invalid_grant', 'authentication failure')
        return sf_oauth_error('unsupported_grant_type', 'grant type not supported')

    def jwt_grant(self, req, assertion):
        s = self.st.s
        parts = assertion.split('.')
        if len(parts) != 3:
            return sf_oauth_error('invalid_grant', 'invalid assertion')
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            sig = b64url_decode(parts[2])
        except (ValueError, UnicodeDecodeError):
            return sf_oauth_error('invalid_grant', 'invalid assertion')
        if not isinstance(header, dict) or not isinstance(claims, dict) or header.get('alg') != 'RS256':
            return sf_oauth_error('invalid_grant', 'invalid assertion')
        if claims.get('iss') != s.sf_client_id:
            return sf_oauth_error('invalid_client_id', 'client identifier invalid')
        if not self.st.jwt_key or not rs256_verify(self.st.jwt_key, (parts[0] + '.' + parts[1]).encode(), sig):
            return sf_oauth_error('invalid_grant', 'invalid signature')
        auds = claims.get('aud')
        auds = auds if isinstance(auds, list) else [auds]
        ok_aud = {req.base_url, req.base_url + '/'} | set(s.sf_jwt_audiences)
        if not any(a in ok_aud for a in auds):
            return sf_oauth_error('invalid_grant', 'audience is invalid')
        exp = claims.get('exp')
        if not isinstance(exp, (int, float)) or isinstance(exp, bool):
            return sf_oauth_error('invalid_grant', 'invalid assertion')
        if exp * 1000 < now_ms():
            return sf_oauth_error('invalid_grant', 'expired authorization code')
        sub = str(claims.get('sub') or '').lower()
        user = next((o for o in self.st.owners if o['username'].lower() == sub and o['active']), None)
        if not user:
            return sf_oauth_error('invalid_grant', "user hasn't approved this consumer")
        return self.issue(req, user, client_credentials=False)

    def issue(self, req, user, client_credentials):
        s = self.st.s
        t = now_ms()
        tok = '%s!AR%s' % (self.st.org_id[:15], secrets.token_urlsafe(72))
        with self.st.lock:
            n = len(self.st.sf_tokens) + 1
            self.st.sf_tokens[tok] = {'user': user['sf_id'], 'expires': t + s.sf_token_ttl_s * 1000,
                                      'n': n, 'expired': False}
        req.issued_label = 'sf-token-%d' % n
        ident = '%s/id/%s/%s' % (req.base_url, self.st.org_id, user['sf_id'])
        if client_credentials:
            # the shape of Salesforce's client-credentials example (no scope,
            # no refresh_token, no expires_in)
            body = {'access_token': tok, 'signature': base64.b64encode(hmac.new(
                s.sf_client_secret.encode(), (ident + str(t)).encode(), hashlib.sha256).digest()).decode(),
                'token_format': 'opaque', 'instance_url': req.base_url, 'id': ident,
                'token_type': 'Bearer', 'issued_at': str(t)}
        else:
            body = {'access_token': tok, 'scope': 'api', 'instance_url': req.base_url, 'id': ident,
                    'token_type': 'Bearer'}
        return Resp(200, body, ctype=SF_CT)

    def auth(self, req):
        h = req.header('Authorization', '')
        m = re.match(r'(?:Bearer|OAuth)\s+(\S+)\s*$', h)
        info = self.st.sf_tokens.get(m.group(1)) if m else None
        if info:
            req.token_label = 'sf-token-%d' % info['n']
        if not info or info['expired'] or info['expires'] <= now_ms():
            return sf_error(401, 'INVALID_SESSION_ID', 'Session expired or invalid')
        req.user = info['user']
        return None

    def count_call(self, req):
        """403 when over the daily API limit, else None; and the header."""
        s = self.st.s
        with self.st.lock:
            over = s.sf_api_usage >= s.sf_api_limit
            if not over:
                s.sf_api_usage += 1
            hdr = {'Sforce-Limit-Info': 'api-usage=%d/%d' % (s.sf_api_usage, s.sf_api_limit)}
        if over:
            r = sf_error(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.')
            r.headers.update(hdr)
            return r, hdr
        return None, hdr

    @staticmethod
    def limit_resp(concurrent=False):
        if concurrent:
            return sf_error(403, 'REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.')
        return sf_error(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.')

    # -- API

    @staticmethod
    def label(v):
        n = v - 20
        return "%s '%02d" % (('Winter', 'Spring', 'Summer')[n % 3], 11 + n // 3)

    def versions(self, req):
        return Resp(200, [{'label': self.label(v), 'url': '/services/data/v%d.0' % v, 'version': '%d.0' % v}
                          for v in range(20, self.st.s.sf_max_version + 1)], ctype=SF_CT)

    def resources(self, req):
        b = '/services/data/v%s' % req.params['ver']
        return Resp(200, {k: '%s/%s' % (b, k) for k in ('sobjects', 'query', 'queryAll', 'limits',
                                                        'composite', 'search')}, ctype=SF_CT)

    def limits(self, req):
        s = self.st.s
        return Resp(200, {'DailyApiRequests': {'Max': s.sf_api_limit,
                                               'Remaining': max(0, s.sf_api_limit - s.sf_api_usage)}},
                    ctype=SF_CT)

    def rec_view(self, obj, rec, ver, fields=None):
        sch = sf_schema(self.st, obj)
        out = {'attributes': {'type': obj, 'url': '/services/data/v%s/sobjects/%s/%s' % (ver, obj, rec['Id'])}}
        for k in (fields or sch):
            t = sch.get(k)
            v = rec.get(k)
            if k == 'Name' and obj == 'Lead':
                v = ' '.join(x for x in (rec.get('FirstName'), rec.get('LastName')) if x)
            out[k] = sf_time(v) if t == 'datetime' and v is not None else v
        return out

    def records_of(self, obj):
        if obj == 'Account':
            return list(self.st.accounts.values())
        if obj == 'Lead':
            return [self.lead_with_name(l) for l in self.st.leads.values()]
        return [sf_user_record(o) for o in self.st.owners]

    @staticmethod
    def lead_with_name(l):
        r = dict(l)
        r['Name'] = ' '.join(x for x in (l.get('FirstName'), l.get('LastName')) if x)
        return r

    def query(self, req):
        q = req.q('q')
        if q is None or not q.strip():
            return sf_error(400, 'MALFORMED_QUERY', 'A query string has to be specified')
        ver = req.params['ver']
        with self.st.lock:
            try:
                sq = Soql(q, self.st).parse()
                rows = sq.run(self.records_of(sq.obj))
            except SoqlError as e:
                return sf_error(400, e.code, e.message)
            if sq.count:
                return Resp(200, {'totalSize': len(rows), 'done': True, 'records': []}, ctype=SF_CT)
            recs = [self.project(sq, r, ver) for r in rows]
            batch = self.batch_size(req)
            cur = None
            if len(recs) > batch:
                cur = sf_make_id('01g', self.st.next('cursor'))
                self.st.cursors[cur] = {'records': recs, 'ver': ver}
            return Resp(200, self.page(recs, 0, batch, cur, ver), ctype=SF_CT)

    def batch_size(self, req):
        b = self.st.s.sf_query_batch
        m = re.search(r'batchSize\s*=\s*(\d+)', req.header('Sforce-Query-Options') or '')
        if m:
            b = min(2000, max(200, int(m.group(1))))
        return max(1, b)

    @staticmethod
    def page(recs, off, batch, cur, ver):
        chunk = recs[off:off + batch]
        done = off + batch >= len(recs)
        out = {'totalSize': len(recs), 'done': done, 'records': chunk}
        if not done:
            out['nextRecordsUrl'] = '/services/data/v%s/query/%s-%d' % (ver, cur, off + batch)
        return out

    def query_more(self, req):
        m = re.fullmatch(r'([A-Za-z0-9]{15,18})-(\d+)', req.params['loc'])
        with self.st.lock:
            c = self.st.cursors.get(m.group(1)) if m else None
            if not c:
                return sf_error(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator')
            return Resp(200, self.page(c['records'], int(m.group(2)), self.batch_size(req), m.group(1),
                                       c['ver']), ctype=SF_CT)

    def project(self, sq, rec, ver):
        out = {'attributes': {'type': sq.obj, 'url': '/services/data/v%s/sobjects/%s/%s' % (ver, sq.obj, rec['Id'])}}
        for col in sq.cols:
            path, typ, obj = col
            if len(path) == 1:
                v = rec.get(path[0])
                out[path[0]] = sf_time(v) if typ == 'datetime' and v is not None else v
                continue
            rel = path[0]
            o = self.st.owner_by_sf(rec.get(rel + 'Id'))
            if rel not in out:
                out[rel] = None if not o else {'attributes': {
                    'type': 'User', 'url': '/services/data/v%s/sobjects/User/%s' % (ver, o['sf_id'])}}
            if out[rel] is not None:
                u = sf_user_record(o)
                v = u.get(path[1])
                out[rel][path[1]] = sf_time(v) if typ == 'datetime' and v is not None else v
        return out

    # -- writes

    def body_json(self, req):
        ct = (req.header('Content-Type') or '').lower()
        if 'json' not in ct:
            return None, sf_error(415, 'UNSUPPORTED_MEDIA_TYPE',
                                  'Content type %s is not supported; send application/json' % (ct or 'none'))
        try:
            return req.json(), None
        except (ValueError, UnicodeDecodeError) as e:
            return None, sf_error(400, 'JSON_PARSER_ERROR', 'Unexpected character: %s' % e)

    def check_lead(self, body, creating, ext_field=None):
        """Errors for a Lead body: [(code, message, fields)]."""
        sch = sf_schema(self.st, 'Lead')
        errs = []
        if not isinstance(body, dict):
            return [('JSON_PARSER_ERROR', 'Cannot deserialize instance of Lead from a non-object', [])]
        for k in body:
            if k == 'attributes':
                continue
            if k == 'Id':
                errs.append(('INVALID_FIELD', 'The Id field should not be specified in the sobject data.', None))
            elif k not in sch:
                errs.append(('INVALID_FIELD', "No such column '%s' on sobject of type Lead" % k, None))
            elif k in SF_READONLY:
                errs.append(('INVALID_FIELD_FOR_INSERT_UPDATE',
                             'Unable to create/update fields: %s. Please check the security settings of this '
                             'field and verify that it is read/write for your profile or permission set.' % k, [k]))
        if errs:
            return errs
        for k, v in body.items():
            if k == 'attributes' or v is None:
                continue
            t = sch[k]
            if t in ('string', 'id') and not isinstance(v, str):
                if isinstance(v, (int, float)) and not isinstance(v, bool) and t == 'string':
                    continue
                errs.append(('JSON_PARSER_ERROR', 'Cannot deserialize instance of string from %s value %s'
                             % (type(v).__name__, json.dumps(v)), []))
            if t == 'int' and (isinstance(v, bool) or not isinstance(v, (int, float, str))
                               or (isinstance(v, str) and not re.fullmatch(r'-?\d+', v))):
                errs.append(('JSON_PARSER_ERROR', 'Cannot deserialize instance of int from %s' % json.dumps(v), []))
            if t == 'boolean' and not isinstance(v, bool):
                errs.append(('JSON_PARSER_ERROR', 'Cannot deserialize instance of boolean from %s' % json.dumps(v), []))
            ml = SF_MAXLEN.get(('Lead', k))
            if ml and isinstance(v, str) and len(v) > ml[1]:
                errs.append(('STRING_TOO_LONG', '%s: data value too large: %s (max length=%d)'
                             % (ml[0], v[:40], ml[1]), [k]))
        if errs:
            return errs
        if body.get('Email'):
            e = str(body['Email'])
            if not valid_email(e) or self.st.invalid_email('salesforce', e):
                errs.append(('INVALID_EMAIL_ADDRESS', 'Email: invalid email address: %s' % e, ['Email']))
        if body.get('OwnerId'):
            oid = body['OwnerId']
            if not sf_id15(oid) or not oid.startswith('005'):
                errs.append(('MALFORMED_ID', 'Owner ID: id value of incorrect type: %s' % oid, ['OwnerId']))
            elif not self.st.owner_by_sf(oid):
                errs.append(('INVALID_CROSS_REFERENCE_KEY', 'Owner ID: id value of incorrect type: %s' % oid,
                             ['OwnerId']))
            elif not self.st.owner_by_sf(oid)['active']:
                errs.append(('INACTIVE_OWNER_OR_USER', 'operation performed with inactive user [%s] as owner of lead'
                             % oid, []))
        missing = []
        for k in ('LastName', 'Company'):
            if creating and not body.get(k):
                missing.append(k)
            elif not creating and k in body and not body.get(k):
                missing.append(k)
        if missing:
            errs.append(('REQUIRED_FIELD_MISSING', 'Required fields are missing: [%s]' % ', '.join(missing), missing))
        if creating and ext_field is None and self.st.s.sf_external_id_unique:
            ext = self.st.s.sf_external_id
            if body.get(ext) not in (None, ''):
                dup = self.find_by(ext, body[ext])
                if dup:
                    errs.append(('DUPLICATE_VALUE', 'duplicate value found: %s duplicates value on record with id: %s'
                                 % (ext, dup[0]['Id']), []))
        return errs

    def find_by(self, field, value):
        value = str(value)
        if field == 'Id':
            i = sf_id15(value)
            return [l for l in self.st.leads.values() if i and l['Id'][:15] == i]
        return [l for l in self.st.leads.values()
                if l.get(field) is not None and str(l[field]).lower() == value.lower()]

    def assign(self, req, lead, owner_given):
        """Lead assignment rules: overwrite OwnerId unless Sforce-Auto-Assign: FALSE."""
        rule = self.st.s.sf_assignment_rule_owner
        hdr = (req.header('Sforce-Auto-Assign') or 'TRUE').strip()
        if rule and hdr.upper() != 'FALSE':
            lead['OwnerId'] = rule
            lead['_assigned_by_rule'] = True
        elif owner_given:
            lead['_assigned_by_rule'] = False

    def new_lead(self, req, body):
        t = now_ms()
        n = self.st.next('lead')
        lid = sf_make_id('00Q', 7000 + n)
        sch = sf_schema(self.st, 'Lead')
        lead = {k: None for k in sch if k != 'Name'}
        lead.update({'Id': lid, 'Status': 'Open - Not Contacted', 'OwnerId': req.user,
                     'IsConverted': False, 'IsDeleted': False, 'CreatedDate': t,
                     'LastModifiedDate': t, 'SystemModstamp': t, '_writes': 1,
                     '_assigned_by_rule': False})
        lead.update(self.clean(body))
        self.assign(req, lead, 'OwnerId' in body)
        self.st.leads[lid[:15]] = lead
        return lead

    def update_lead(self, req, lead, body):
        t = max(now_ms(), lead['SystemModstamp'] + 1)
        lead.update(self.clean(body))
        lead['LastModifiedDate'] = lead['SystemModstamp'] = t
        lead['_writes'] += 1
        self.assign(req, lead, 'OwnerId' in body)

    @staticmethod
    def clean(body):
        out = {}
        for k, v in body.items():
            if k == 'attributes':
                continue
            if k == 'NumberOfEmployees' and isinstance(v, str):
                v = int(v)
            if k == 'OwnerId' and v:
                v = sf_id18(v[:15])
            out[k] = v
        return out

    @staticmethod
    def errs_resp(errs):
        return Resp(400, [dict({'message': m, 'errorCode': c}, **({'fields': f} if f is not None else {}))
                          for (c, m, f) in errs], ctype=SF_CT)

    def lead_create(self, req):
        body, err = self.body_json(req)
        if err:
            return err
        with self.st.lock:
            errs = self.check_lead(body, True)
            if errs:
                return self.errs_resp(errs)
            lead = self.new_lead(req, body)
        self.st.changed()
        return Resp(201, {'id': lead['Id'], 'success': True, 'errors': []}, ctype=SF_CT)

    def lead_get(self, req):
        lid = req.params['id']
        with self.st.lock:
            if not sf_id15(lid):
                return sf_error(404, 'NOT_FOUND', 'Provided external ID field does not exist or is not '
                                'accessible: %s' % lid)
            rows = self.find_by('Id', lid)
            if not rows:
                return sf_error(404, 'NOT_FOUND', 'The requested resource does not exist')
            fields = None
            if req.q('fields'):
                sch = sf_schema(self.st, 'Lead')
                fields = []
                for f in req.q('fields').split(','):
                    name = next((x for x in sch if x.lower() == f.strip().lower()), None)
                    if not name:
                        return sf_error(400, 'INVALID_FIELD', "No such column '%s' on entity 'Lead'" % f)
                    fields.append(name)
                fields = ['Id'] + [f for f in fields if f != 'Id']
            return Resp(200, self.rec_view('Lead', rows[0], req.params['ver'], fields), ctype=SF_CT)

    def lead_update(self, req):
        body, err = self.body_json(req)
        if err:
            return err
        with self.st.lock:
            rows = self.find_by('Id', req.params['id']) if sf_id15(req.params['id']) else []
            if not rows:
                return sf_error(404, 'NOT_FOUND', 'The requested resource does not exist')
            errs = self.check_lead(body, False)
            if errs:
                return self.errs_resp(errs)
            self.update_lead(req, rows[0], body)
        self.st.changed()
        return Resp(204)

    def ext_field(self, name):
        if name.lower() == 'id':
            return 'Id'
        ext = self.st.s.sf_external_id
        return ext if name.lower() == ext.lower() else None

    def lead_get_by_ext(self, req):
        field = self.ext_field(req.params['field'])
        if not field:
            return sf_error(404, 'NOT_FOUND', 'The requested resource does not exist')
        with self.st.lock:
            rows = self.find_by(field, req.params['value'])
            if not rows:
                return sf_error(404, 'NOT_FOUND', 'The requested resource does not exist')
            if len(rows) > 1:
                return Resp(300, ['/services/data/v%s/sobjects/Lead/%s' % (req.params['ver'], r['Id'])
                                  for r in rows], ctype=SF_CT)
            return Resp(200, self.rec_view('Lead', rows[0], req.params['ver']), ctype=SF_CT)

    def upsert_one(self, req, field, value, body, ver):
        """(status, result dict or list for 300, errs)"""
        rows = self.find_by(field, value)
        if len(rows) > 1:
            return 300, ['/services/data/v%s/sobjects/Lead/%s' % (ver, r['Id']) for r in rows], None
        if isinstance(body, dict) and field in body and field != 'Id' and \
                str(body[field]).lower() != str(value).lower():
            return 400, None, [('INVALID_FIELD', 'The value of the external ID field %s in the body does not match '
                                'the value in the URL' % field, [field])]
        if rows:
            errs = self.check_lead(body, False, field)
            if errs:
                return 400, None, errs
            self.update_lead(req, rows[0], body)
            return 200, {'id': rows[0]['Id'], 'success': True, 'errors': [], 'created': False}, None
        if field == 'Id':
            return 404, None, [('NOT_FOUND', 'The requested resource does not exist', None)]
        b = dict(body) if isinstance(body, dict) else body
        errs = self.check_lead(b, True, field)
        if errs:
            return 400, None, errs
        b[field] = value
        lead = self.new_lead(req, b)
        return 201, {'id': lead['Id'], 'success': True, 'errors': [], 'created': True}, None

    def lead_upsert(self, req):
        field = self.ext_field(req.params['field'])
        if not field:
            return sf_error(404, 'NOT_FOUND', 'The requested resource does not exist')
        body, err = self.body_json(req)
        if err:
            return err
        ver = req.params['ver']
        value = req.params['value']
        with self.st.lock:
            status, res, errs = self.upsert_one(req, field, value, body, ver)
        if errs:
            if status == 404:
                return sf_error(404, 'NOT_FOUND', errs[0][1])
            return self.errs_resp(errs)
        if status in (200, 201):
            self.st.changed()
        if status == 300:
            return Resp(300, res, ctype=SF_CT)
        if float(ver) < 46:
            if status == 200:
                return Resp(204)
            res.pop('created', None)
        return Resp(status, res, ctype=SF_CT)

    def composite_upsert(self, req):
        field = self.ext_field(req.params['field'])
        if not field:
            return sf_error(404, 'NOT_FOUND', 'The requested resource does not exist')
        body, err = self.body_json(req)
        if err:
            return err
        if not isinstance(body, dict) or not isinstance(body.get('records'), list):
            return sf_error(400, 'JSON_PARSER_ERROR', 'records is required')
        if len(body['records']) > 200:
            return sf_error(400, 'EXCEEDED_ID_LIMIT', 'Maximum number of records allowed is 200')
        ver = req.params['ver']
        out = []
        with self.st.lock:
            for r in body['records']:
                r = dict(r)
                r.pop('attributes', None)
                value = r.pop(field, None)
                if value in (None, ''):
                    out.append({'success': False, 'errors': [{'statusCode': 'REQUIRED_FIELD_MISSING',
                                                              'message': 'Required fields are missing: [%s]' % field,
                                                              'fields': [field]}]})
                    continue
                status, res, errs = self.upsert_one(req, field, str(value), r, ver)
                if errs:
                    out.append({'success': False, 'errors': [{'statusCode': c, 'message': m, 'fields': f or []}
                                                             for (c, m, f) in errs]})
                elif status == 300:
                    out.append({'success': False, 'errors': [{'statusCode': 'DUPLICATE_EXTERNAL_ID',
                                                              'message': 'more than one record found for '
                                                              'external id field: %s' % res, 'fields': []}]})
                else:
                    out.append(res)
        self.st.changed()
        return Resp(200, out, ctype=SF_CT)

    def sobject_get(self, req):
        obj = next((o for o in SF_STD if o.lower() == req.params['obj'].lower()), None)
        if not obj:
            return sf_error(404, 'NOT_FOUND', 'The requested resource does not exist')
        i = sf_id15(req.params['id'])
        with self.st.lock:
            rec = next((r for r in self.records_of(obj) if i and r['Id'][:15] == i), None)
            if not rec:
                return sf_error(404, 'NOT_FOUND', 'The requested resource does not exist')
            return Resp(200, self.rec_view(obj, rec, req.params['ver']), ctype=SF_CT)

    def describe(self, req):
        obj = next((o for o in SF_STD if o.lower() == req.params['obj'].lower()), None)
        if not obj:
            return sf_error(404, 'NOT_FOUND', 'The requested resource does not exist')
        sch = sf_schema(self.st, obj)
        tmap = {'id': 'id', 'string': 'string', 'datetime': 'datetime', 'boolean': 'boolean', 'int': 'int'}
        fields = [{'name': k, 'type': tmap[t], 'externalId': obj == 'Lead' and k == self.st.s.sf_external_id,
                   'unique': obj == 'Lead' and k == self.st.s.sf_external_id and self.st.s.sf_external_id_unique,
                   'createable': k not in SF_READONLY, 'updateable': k not in SF_READONLY,
                   'nillable': k not in ('Id', 'LastName', 'Company', 'Name'),
                   'length': SF_MAXLEN.get((obj, k), ('', 255 if t == 'string' else 0))[1]}
                  for k, t in sch.items()]
        return Resp(200, {'name': obj, 'label': obj, 'keyPrefix': SF_PREFIX[obj], 'createable': obj == 'Lead',
                          'fields': fields}, ctype=SF_CT)


# ---------------------------------------------------------------- routing

V = r'v(?P<ver>\d+\.\d)'
HS_TABLE = [
    ('POST', r'/crm/v3/objects/companies/search', 'companies.search', lambda h, r: h.search(r, 'companies')),
    ('GET', r'/crm/v3/objects/companies/?', 'companies.list', lambda h, r: h.list_objects(r, 'companies')),
    ('GET', r'/crm/v3/objects/companies/(?P<id>[^/]+)', 'companies.get', lambda h, r: h.get_object(r, 'companies')),
    ('POST', r'/crm/v3/objects/contacts/search', 'contacts.search', lambda h, r: h.search(r, 'contacts')),
    ('POST', r'/crm/v3/objects/contacts/batch/upsert', 'contacts.upsert', lambda h, r: h.upsert_contacts(r)),
    ('POST', r'/crm/v3/objects/contacts/?', 'contacts.create', lambda h, r: h.create_contact(r)),
    ('GET', r'/crm/v3/objects/contacts/(?P<id>[^/]+)', 'contacts.get', lambda h, r: h.get_object(r, 'contacts')),
    ('PATCH', r'/crm/v3/objects/contacts/(?P<id>[^/]+)', 'contacts.update', lambda h, r: h.update_contact_route(r)),
    ('PUT', r'/crm/v4/objects/(?:contacts|contact|0-1)/(?P<id>\d+)/associations/default/(?:companies|company|0-2)/(?P<to>\d+)',
     'associations.default', lambda h, r: h.assoc_default(r)),
    ('PUT', r'/crm/v4/objects/(?:contacts|contact|0-1)/(?P<id>\d+)/associations/(?:companies|company|0-2)/(?P<to>\d+)',
     'associations.labelled', lambda h, r: h.assoc_labelled(r)),
    ('GET', r'/crm/v3/owners/?', 'owners.list', lambda h, r: h.owners(r)),
    ('GET', r'/crm/v3/owners/(?P<id>[^/]+)', 'owners.get', lambda h, r: h.owner_get(r)),
    ('GET', r'/account-info/v3/api-usage/daily/private-apps', 'usage.daily', lambda h, r: h.usage(r)),
]
SF_TABLE = [
    ('POST', r'/services/oauth2/token', 'oauth.token', lambda s, r: s.token(r)),
    ('GET', r'/services/data/?', 'versions', lambda s, r: s.versions(r)),
    ('GET', r'/services/data/%s/?' % V, 'resources', lambda s, r: s.resources(r)),
    ('GET', r'/services/data/%s/(?:query|queryAll)/?' % V, 'query', lambda s, r: s.query(r)),
    ('GET', r'/services/data/%s/(?:query|queryAll)/(?P<loc>[^/]+)' % V, 'query.more', lambda s, r: s.query_more(r)),
    ('GET', r'/services/data/%s/limits/?' % V, 'limits', lambda s, r: s.limits(r)),
    ('GET', r'/services/data/%s/sobjects/(?P<obj>\w+)/describe/?' % V, 'describe', lambda s, r: s.describe(r)),
    ('POST', r'/services/data/%s/sobjects/Lead/?' % V, 'lead.create', lambda s, r: s.lead_create(r)),
    ('GET', r'/services/data/%s/sobjects/Lead/(?P<id>[^/]+)' % V, 'lead.get', lambda s, r: s.lead_get(r)),
    ('PATCH', r'/services/data/%s/sobjects/Lead/(?P<id>[^/]+)' % V, 'lead.update', lambda s, r: s.lead_update(r)),
    ('PATCH', r'/services/data/%s/sobjects/Lead/(?P<field>[^/]+)/(?P<value>[^/]+)' % V, 'lead.upsert',
     lambda s, r: s.lead_upsert(r)),
    ('GET', r'/services/data/%s/sobjects/Lead/(?P<field>[^/]+)/(?P<value>[^/]+)' % V, 'lead.get_by_ext',
     lambda s, r: s.lead_get_by_ext(r)),
    ('PATCH', r'/services/data/%s/composite/sobjects/Lead/(?P<field>[^/]+)' % V, 'composite.upsert',
     lambda s, r: s.composite_upsert(r)),
    ('GET', r'/services/data/%s/sobjects/(?P<obj>\w+)/(?P<id>[^/]+)' % V, 'sobject.get', lambda s, r: s.sobject_get(r)),
]
HS_TABLE = [(m, re.compile(p + '$'), n, f) for (m, p, n, f) in HS_TABLE]
SF_TABLE = [(m, re.compile(p + '$'), n, f) for (m, p, n, f) in SF_TABLE]
# date-versioned HubSpot paths (/crm/objects/2026-03/companies/search) are served as v3
_HS_DATED = re.compile(r'^/crm/(objects|owners)/\d{4}-\d{2}(?=/|$)')


def surface_of(path):
    if path.startswith('/crm/') or path.startswith('/account-info/'):
        return 'hubspot'
    if path.startswith('/services/'):
        return 'salesforce'
    return None


def route_of(method, path):
    """(surface, route name or None, handler or None, params, path known for another method)"""
    surface = surface_of(path)
    if surface is None:
        return None, None, None, {}, False
    if surface == 'hubspot':
        path = _HS_DATED.sub(lambda m: '/crm/v3/' + m.group(1), path)
    table = HS_TABLE if surface == 'hubspot' else SF_TABLE
    other = False
    for m, rx, name, fn in table:
        mm = rx.match(path)
        if mm:
            if m == method:
                params = {k: urllib.parse.unquote(v) for k, v in mm.groupdict().items()}
                return surface, name, fn, params, False
            other = True
    return surface, None, None, {}, other


# ---------------------------------------------------------------- control API


class Control:
    def __init__(self, state, server_ref):
        self.st = state
        self.server_ref = server_ref

    def handle(self, req):
        p = req.path[len('/_fake'):].rstrip('/') or '/'
        m = req.method
        try:
            body = req.json() if req.body else None
        except ValueError as e:
            return Resp(400, {'error': 'bad JSON: %s' % e})
        if p == '/health' and m == 'GET':
            return Resp(200, {'ok': True, 'port': self.server_ref.port, 'base_url': req.base_url})
        if p == '/records' and m == 'GET':
            return Resp(200, self.st.records_view())
        if p == '/requests' and m == 'GET':
            with self.st.lock:
                rows = list(self.st.requests)
            if req.q('surface'):
                rows = [r for r in rows if r.get('surface') == req.q('surface')]
            if req.q('route'):
                rows = [r for r in rows if fnmatch.fnmatchcase(r.get('route') or '', req.q('route'))]
            if req.q('since'):
                rows = [r for r in rows if r['seq'] > int(req.q('since'))]
            return Resp(200, {'requests': rows, 'last_seq': self.st.seq})
        if p == '/requests' and m == 'DELETE':
            with self.st.lock:
                self.st.requests.clear()
            return Resp(200, {'ok': True})
        if p == '/reset' and m in ('POST', 'GET'):
            self.st.reset()
            return Resp(200, {'ok': True})
        if p == '/faults' and m == 'GET':
            with self.st.lock:
                return Resp(200, {'faults': [f.view() for f in self.st.faults]})
        if p == '/faults' and m == 'POST':
            specs = body if isinstance(body, list) else [body]
            ids = []
            try:
                for s in specs:
                    f = self.st.add_fault(s)
                    ids.append(f.id)
                    if f.kind == 'down' and f.mode == 'refuse':
                        self.server_ref.go_down(f.until)
            except (ValueError, TypeError, re.error) as e:
                return Resp(400, {'error': str(e)})
            return Resp(201, {'ids': ids, 'id': ids[0] if len(ids) == 1 else None})
        if p == '/faults' and m == 'DELETE':
            with self.st.lock:
                self.st.faults = []
                self.st.release.set()
                self.st.release = threading.Event()
            return Resp(200, {'ok': True})
        mm = re.fullmatch(r'/faults/(\d+)', p)
        if mm and m == 'DELETE':
            with self.st.lock:
                n = len(self.st.faults)
                self.st.faults = [f for f in self.st.faults if f.id != int(mm.group(1))]
                if len(self.st.faults) == n:
                    return Resp(404, {'error': 'no fault %s' % mm.group(1)})
            return Resp(200, {'ok': True})
        if p == '/tokens/expire' and m == 'POST':
            surface = (body or {}).get('surface', 'any')
            n = 0
            with self.st.lock:
                if surface in ('salesforce', 'any'):
                    for info in self.st.sf_tokens.values():
                        if not info['expired']:
                            info['expired'] = True
                            n += 1
                if surface in ('hubspot', 'any'):
                    for tok in self.st.hs_seen_tokens:
                        if tok not in self.st.hs_revoked:
                            self.st.hs_revoked.add(tok)
                            n += 1
            return Resp(200, {'expired': n})
        if p == '/config' and m == 'GET':
            return Resp(200, dict(self.st.s))
        if p == '/config' and m == 'POST':
            if not isinstance(body, dict):
                return Resp(400, {'error': 'send a JSON object of settings'})
            with self.st.lock:
                for k, v in body.items():
                    if k not in DEFAULTS:
                        return Resp(400, {'error': 'unknown setting %s (known: %s)' % (k, ', '.join(DEFAULTS))})
                    try:
                        self.st.s[k] = None if v is None else coerce_setting(k, v)
                    except (TypeError, ValueError) as e:
                        return Resp(400, {'error': '%s: %s' % (k, e)})
            return Resp(200, dict(self.st.s))
        if p == '/seed' and m == 'POST':
            try:
                self.st.load_seed(body or {})
            except (KeyError, TypeError, ValueError) as e:
                return Resp(400, {'error': 'bad seed: %s' % e})
            self.st.changed()
            return Resp(200, {'ok': True})
        return Resp(404, {'error': 'no control endpoint %s %s' % (m, req.path)})


# ---------------------------------------------------------------- HTTP


def mask_headers(headers):
    out = {}
    for k, v in headers.items():
        if k.lower() in ('authorization', 'proxy-authorization', 'cookie'):
            scheme = v.split(' ', 1)[0] if ' ' in v else ''
            v = (scheme + ' ***').strip()
        out[k] = v
    return out


def mask_body(path, ctype, body):
    text = body.decode('utf-8', 'replace')
    if 'x-www-form-urlencoded' in (ctype or '').lower():
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True)
        masked = [(k, '***' if k in ('client_secret', 'assertion', 'password', 'refresh_token', 'code')
                   else v) for k, v in pairs]
        return urllib.parse.urlencode(masked)
    return text


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    # headers and body go out in two sends: without this a kept-alive
    # client waits for a delayed ACK, about 40 ms a call
    disable_nagle_algorithm = True
    server_version = 'fakecrm/1'
    sys_version = ''
    timeout = 300

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if not self.server.app.quiet:
            sys.stderr.write('fakecrm: %s %s\n' % (self.address_string(), fmt % args))

    def setup(self):
        super().setup()
        self._killed = False

    def finish(self):
        if self._killed:
            return
        try:
            super().finish()
        except OSError:
            pass

    def kill(self):
        """Close without an answer: RST."""
        self._killed = True
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        except OSError:
            pass
        try:
            self.rfile.close()      # drops the makefile() reference to the socket
        except (OSError, ValueError):
            pass
        try:
            self.connection.close()
        except OSError:
            pass
        # handle_one_request() flushes wfile after the method returns
        self.rfile = io.BytesIO()
        self.wfile = io.BytesIO()

    def read_body(self):
        te = (self.headers.get('Transfer-Encoding') or '').lower()
        if 'chunked' in te:
            out = io.BytesIO()
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b'\r\n', b'\n', b''):
                        pass
                    break
                out.write(self.rfile.read(size))
                self.rfile.readline(8)
                if out.tell() > 16 << 20:
                    raise ValueError('body too large')
            return out.getvalue()
        n = int(self.headers.get('Content-Length') or 0)
        if n > 16 << 20:
            raise ValueError('body too large')
        return self.rfile.read(n) if n else b''

    def do_any(self):
        app = self.server.app
        st = app.state
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.kill()
            return
        host = self.headers.get('Host') or '127.0.0.1:%d' % app.port
        req = Req(self.command, self.path, self.headers, body, 'http://' + host)
        if req.path.startswith('/_fake/') or req.path == '/_fake':
            try:
                resp = app.control.handle(req)
            except Exception as e:
                traceback.print_exc()
                resp = Resp(500, {'error': 'control: %s: %s' % (type(e).__name__, e)})
            return self.send(resp, None)
        surface, route, fn, params, other = route_of(req.method, req.path)
        req.surface, req.route, req.params = surface, route, params
        req.token_label = None
        req.issued_label = None
        req.user = None
        entry = st.log_request({
            'time': hs_time(now_ms()), 'surface': surface, 'route': route, 'method': req.method,
            'path': req.target, 'headers': mask_headers(dict(self.headers.items())),
            'body': mask_body(req.path, self.headers.get('Content-Type'), body)})
        try:
            resp = self.dispatch(req, surface, route, fn, other, entry)
        except Reset:
            entry['status'] = 'reset'
            st.finish_request(entry)
            self.kill()
            return
        except Hang as h:
            entry['status'] = 'hang'
            st.finish_request(entry)
            st.release.wait(h.ms / 1000.0)
            self.kill()
            return
        except Exception:
            traceback.print_exc()
            resp = hs_error(500, None, 'internal error in the fake') if surface == 'hubspot' else \
                sf_error(500, 'UNKNOWN_EXCEPTION', 'An unexpected error occurred (fake)')
        entry['status'] = resp.status
        if req.token_label:
            entry['token'] = req.token_label
        if req.issued_label:
            entry['issued'] = req.issued_label
        st.finish_request(entry)
        self.send(resp, surface)

    def dispatch(self, req, surface, route, fn, other, entry):
        st = self.server.app.state
        if st.down_until and now_ms() < st.down_until:
            entry['fault'] = 'down'
            raise Reset()
        extra = {}
        if surface == 'hubspot':
            extra, over = self.server.app.hubspot.count_call()
        latency, fault = st.pick_faults(surface, route, req.method, req.path)
        if latency:
            entry['latency_ms'] = latency
            st.release.wait(latency / 1000.0)
        if fault is not None:
            entry['fault'] = fault.id
            resp = self.fault_resp(req, surface, fault)
            if resp is not None:
                resp.headers = dict(extra, **resp.headers)
                if surface == 'salesforce' and req.path.startswith('/services/data/v'):
                    resp.headers.setdefault('Sforce-Limit-Info', 'api-usage=%d/%d' % (
                        st.s.sf_api_usage, st.s.sf_api_limit))
                return resp
        if surface is None:
            return Resp(404, {'error': 'not a HubSpot or Salesforce path: %s' % req.path})
        if surface == 'hubspot':
            app = self.server.app.hubspot
            resp = app.auth(req)
            if resp is None and over:
                resp = HubSpot.rate_limit_resp(req, 'TEN_SECONDLY_ROLLING')
            if resp is None:
                if fn is None:
                    resp = hs_error(405 if other else 404, None,
                                    'Method Not Allowed' if other else 'Resource not found: %s' % req.path)
                else:
                    resp = fn(app, req)
            resp.headers = dict(extra, **resp.headers)
            return resp
        app = self.server.app.salesforce
        if route in ('oauth.token', 'versions'):
            return fn(app, req)
        m = re.match(r'/services/data/v(\d+)\.(\d)(?:/|$)', req.path)
        if not m or not (20 <= int(m.group(1)) <= st.s.sf_max_version) or m.group(2) != '0':
            return sf_error(404, 'NOT_FOUND', 'The requested resource does not exist')
        resp = app.auth(req)
        if resp is not None:
            return resp
        over, hdr = app.count_call(req)
        if over is not None:
            return over
        if fn is None:
            resp = sf_error(405 if other else 404, 'METHOD_NOT_ALLOWED' if other else 'NOT_FOUND',
                            'HTTP Method \'%s\' not allowed. Allowed are GET,PATCH,DELETE' % req.method
                            if other else 'The requested resource does not exist')
        else:
            resp = fn(app, req)
        resp.headers = dict(hdr, **resp.headers)
        return resp

    def fault_resp(self, req, surface, f):
        if f.kind in ('reset', 'down'):
            raise Reset()
        if f.kind == 'hang':
            raise Hang(f.hang_ms)
        if f.kind == 'rate_limit':
            if surface == 'salesforce':
                return Salesforce.limit_resp(concurrent=f.spec.get('concurrent', False))
            return HubSpot.rate_limit_resp(req, f.spec.get('policy'), f.retry_after)
        if f.kind == 'status':
            st_code = f.status
            if 'body' in f.spec:
                b = f.spec['body']
                r = Resp(st_code, b if not isinstance(b, str) else b.encode(),
                         ctype=f.spec.get('content_type', 'application/json' if not isinstance(b, str) else 'text/plain'))
            elif f.spec.get('html'):
                r = Resp(st_code, ('<html><head><title>%d</title></head><body><h1>%d</h1></body></html>'
                                   % (st_code, st_code)).encode(), ctype='text/html')
            elif surface == 'salesforce':
                if st_code == 503:
                    r = sf_error(503, 'SERVER_UNAVAILABLE', 'Server temporarily unavailable')
                elif st_code == 429:
                    r = sf_error(429, 'REQUEST_LIMIT_EXCEEDED', 'Too many requests')
                else:
                    r = sf_error(st_code, 'UNKNOWN_EXCEPTION', 'An unexpected error occurred. Please include '
                                 'this ErrorId if you contact support: %d-%d (fake)' % (secrets.randbelow(10**9),
                                                                                        secrets.randbelow(10**5)))
            else:
                msgs = {500: 'internal error', 502: 'Bad Gateway', 503: 'Service Unavailable',
                        504: 'Gateway Timeout', 429: 'You have reached your ten_secondly_rolling limit.'}
                r = hs_error(st_code, None, msgs.get(st_code, 'error'))
            if f.retry_after is not None:
                r.headers['Retry-After'] = str(f.retry_after)
            return r
        return None

    def send(self, resp, surface):
        body = resp.body
        ctype = resp.ctype
        if body is None:
            data = b''
        elif isinstance(body, bytes):
            data = body
        else:
            data = jdump(body)
            ctype = ctype or 'application/json'
        try:
            self.send_response(resp.status)
            if resp.status != 204 and resp.status != 304:
                self.send_header('Content-Type', ctype or 'application/json')
                self.send_header('Content-Length', str(len(data)))
            if surface == 'hubspot':
                self.send_header('X-HubSpot-Correlation-Id', correlation_id())
            for k, v in resp.headers.items():
                self.send_header(k, v)
            if self.close_connection:
                self.send_header('Connection', 'close')
            self.end_headers()
            if resp.status not in (204, 304) and self.command != 'HEAD':
                self.wfile.write(data)
        except OSError:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class App:
    def __init__(self, opts):
        self.opts = opts
        self.quiet = opts.quiet
        self.state = State(opts)
        self.hubspot = HubSpot(self.state)
        self.salesforce = Salesforce(self.state)
        self.control = Control(self.state, self)
        self.server = None
        self.port = None
        self.stopping = False
        self.down_until = 0
        self.cv = threading.Condition()

    def make_server(self, port):
        srv = Server((self.opts.host, port), Handler)
        srv.app = self
        return srv

    def go_down(self, until):
        """Close the listening socket until `until` (ms), then listen again on the same port."""
        with self.cv:
            self.down_until = max(self.down_until, until)
            self.cv.notify_all()
        srv = self.server
        # refuse at once: a listening socket shut down refuses new
        # connections while serve_forever winds down (it polls every 0.1 s,
        # long enough for a client's retry on a new connection to get in)
        try:
            srv.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        threading.Thread(target=lambda: (time.sleep(0.05), srv.shutdown()), daemon=True).start()

    def stop(self):
        self.stopping = True
        with self.cv:
            self.cv.notify_all()
        srv = self.server
        if srv:
            threading.Thread(target=srv.shutdown, daemon=True).start()

    def run(self):
        self.server = self.make_server(self.opts.port)
        self.port = self.server.server_address[1]
        if self.opts.port_file:
            tmp = self.opts.port_file + '.tmp'
            with open(tmp, 'w') as f:
                f.write('%d\n' % self.port)
            os.replace(tmp, self.opts.port_file)
        threading.Thread(target=self.state.flusher, daemon=True).start()
        print('fakecrm: listening on http://%s:%d' % (self.opts.host, self.port), flush=True)
        while True:
            self.server.serve_forever(poll_interval=0.1)
            if self.stopping:
                break
            # down: refuse connections until the time is up
            self.server.server_close()
            with self.cv:
                while not self.stopping and now_ms() < self.down_until:
                    self.cv.wait(min(0.2, max(0.01, (self.down_until - now_ms()) / 1000.0)))
            if self.stopping:
                break
            for _ in range(200):
                try:
                    self.server = self.make_server(self.port)
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                sys.stderr.write('fakecrm: cannot listen on port %d again\n' % self.port)
                self.state.flush()
                return 1
            self.state.down_until = 0
        self.server.server_close()
        self.state.flush()
        return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description='A fake HubSpot and Salesforce REST server for tests '
                                 '(see tests/crm/README).')
    ap.add_argument('--host', default='127.0.0.1', help='loopback address to listen on (default 127.0.0.1)')
    ap.add_argument('--port', type=int, default=0, help='port; 0 picks a free one (default)')
    ap.add_argument('--port-file', help='write the port here once listening')
    ap.add_argument('--state', help='folder for requests.jsonl and records.json')
    ap.add_argument('--seed', action='append', help='seed JSON file (owners, accounts); may repeat')
    ap.add_argument('--fault', action='append', help='a fault rule (JSON) active from the start; may repeat')
    ap.add_argument('--quiet', action='store_true', help='no access log on standard error')
    ap.add_argument('--hs-token', dest='hs_tokens', action='append',
                    help='accepted HubSpot token (repeat); default: any Bearer token')
    ap.add_argument('--hs-search-lag-ms', dest='hs_search_lag_ms', type=int)
    ap.add_argument('--hs-enforce-limits', dest='hs_enforce_limits', action='store_true', default=None)
    ap.add_argument('--hs-burst-max', dest='hs_burst_max', type=int)
    ap.add_argument('--hs-contact-property', dest='hs_contact_properties', action='append')
    ap.add_argument('--sf-client-id', dest='sf_client_id')
    ap.add_argument('--sf-client-secret', dest='sf_client_secret')
    ap.add_argument('--sf-jwt-pubkey', help='PEM public key or certificate that verifies JWT assertions')
    ap.add_argument('--sf-jwt-audience', dest='sf_jwt_audiences', action='append',
                    help='accepted JWT aud besides the fake\'s own base URL (repeat)')
    ap.add_argument('--sf-token-ttl', dest='sf_token_ttl_s', type=int, help='access token lifetime, seconds')
    ap.add_argument('--sf-external-id', dest='sf_external_id', help='Lead external-id field (Leadroute_Id__c)')
    ap.add_argument('--sf-assignment-rule-owner', dest='sf_assignment_rule_owner',
                    help='User id the Lead assignment rule gives leads to (off by default)')
    ap.add_argument('--sf-api-limit', dest='sf_api_limit', type=int)
    ap.add_argument('--sf-query-batch', dest='sf_query_batch', type=int,
                    help='records per query page (default 2000)')
    ap.add_argument('--sf-lead-field', dest='sf_lead_fields', action='append', help='extra Lead field (repeat)')
    opts = ap.parse_args(argv)
    if opts.host not in ('127.0.0.1', 'localhost', '::1') and not opts.host.startswith('127.'):
        ap.error('--host must be a loopback address')
    if opts.state:
        os.makedirs(opts.state, exist_ok=True)
    try:
        app = App(opts)
    except (OSError, ValueError, KeyError, TypeError, re.error) as e:
        ap.error('cannot start: %s: %s' % (type(e).__name__, e))
    signal.signal(signal.SIGTERM, lambda *_: app.stop())
    signal.signal(signal.SIGINT, lambda *_: app.stop())
    return app.run()


if __name__ == '__main__':
    sys.exit(main())
