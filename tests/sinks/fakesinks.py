#!/usr/bin/env python3
"""fakesinks.py - a fake Amplitude, Mixpanel and Segment for leadroute's tests.

One process, Python 3 standard library only, serving the three analytics
tools' ingestion endpoints on one loopback port with their real request
checks, response bodies and errors (../shared/reference/crm-apis.md,
section 3), deduplicating like the real services (Amplitude on insert_id,
Mixpanel on $insert_id, Segment on messageId), so a test can count the
events received against the events kept.  Like tests/crm/fakecrm.py it
keeps a record of the requests (secrets masked) and takes fault rules over
HTTP.

    python3 tests/sinks/fakesinks.py --port 0 --port-file DIR/port --state DIR \\
        [--amplitude-key K] [--mixpanel-project P --mixpanel-user U --mixpanel-secret S] \\
        [--segment-key W] [--quiet]

Surfaces (point each tool's base URL at http://127.0.0.1:PORT):
    POST /2/httpapi                     Amplitude HTTP V2
    POST /import?strict=1&project_id=P  Mixpanel import (Basic user:secret)
    POST /v1/batch                      Segment batch (Basic writeKey:)

Control API under /_fake/:
    GET  /_fake/health                  {"ok": true, "port": N}
    GET  /_fake/events?tool=T           the events kept (after dedup), in arrival order
    GET  /_fake/stats                   per tool: requests, received, kept, duplicates, refused
    GET  /_fake/requests[?tool=&since=SEQ]   every request (Authorization and api_key masked)
    POST /_fake/reset                   forget events, requests and faults
    GET|POST /_fake/faults              list | add one rule or a list of rules
    DELETE /_fake/faults                remove all rules (and release hung requests)

A fault rule is a JSON object:
    {"kind": K, "tool": "amplitude"|"mixpanel"|"segment"|"any", "count": N|null,
     "for_ms": MS, ...}
count is how many requests it fires on (default 1; null: no limit while
for_ms lasts).  Kinds:
    status       answer "status" (500, 502, 503, 504, 413, 400, 401...) with
                 the tool's own error body; "retry_after" adds Retry-After
    rate_limit   429 with the tool's body; "retry_after" (seconds) adds
                 Retry-After (Segment always sends one: default 1)
    reset        close the connection without an answer
    lost_answer  take the request (events kept) and then reset the
                 connection: the client cannot know, and sends it again
    hang         say nothing for "ms" (default 60000) or until the faults
                 are deleted, then close
    down         reset every request for for_ms
    invalid      events whose type is "event_type" are invalid: Amplitude
                 answers 400 events_with_invalid_fields (nothing ingested),
                 Mixpanel 400 failed_records (the rest imported); Segment
                 takes everything (as the real one does)
"""

import argparse
import base64
import http.server
import io
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse

TOOLS = ('amplitude', 'mixpanel', 'segment')
AMPLITUDE_MAX_BYTES = 1 << 20
AMPLITUDE_MAX_EVENTS = 2000
MIXPANEL_MAX_BYTES = 2 << 20
MIXPANEL_MAX_EVENTS = 2000
SEGMENT_MAX_BATCH = 500 * 1024
SEGMENT_MAX_EVENT = 32 * 1024
PLACEHOLDER_IDS = {'anonymous', 'null', 'none', 'nil', 'undefined', '0', '-1', 'lmy47d',
                   '00000000-0000-0000-0000-000000000000'}


def now_ms():
    return int(time.time() * 1000)


def jdump(obj):
    return json.dumps(obj, separators=(',', ':'), ensure_ascii=False).encode('utf-8')


class Resp:
    def __init__(self, status, body=None, headers=None):
        self.status = status
        self.body = body
        self.headers = headers or {}


class Reset(Exception):
    """Close the connection without an answer (TCP RST)."""


class Hang(Exception):
    def __init__(self, ms):
        self.ms = ms


class Fault:
    KINDS = ('status', 'rate_limit', 'reset', 'lost_answer', 'hang', 'down', 'invalid')

    def __init__(self, spec, fid):
        if not isinstance(spec, dict):
            raise ValueError('a fault rule is a JSON object')
        self.spec = dict(spec)
        self.id = fid
        self.kind = spec.get('kind')
        if self.kind not in self.KINDS:
            raise ValueError('kind must be one of %s' % ', '.join(self.KINDS))
        self.tool = spec.get('tool', 'any')
        if self.tool not in TOOLS + ('any',):
            raise ValueError('tool must be one of %s or any' % ', '.join(TOOLS))
        self.for_ms = spec.get('for_ms')
        self.until = now_ms() + int(self.for_ms) if self.for_ms is not None else None
        if 'count' in spec:
            self.count = None if spec['count'] is None else int(spec['count'])
        elif self.kind in ('down', 'invalid') or self.until:
            self.count = None
        else:
            self.count = 1
        if self.kind == 'down' and self.until is None:
            raise ValueError('down needs for_ms')
        self.status = int(spec.get('status', 500))
        self.retry_after = spec.get('retry_after')
        self.ms = int(spec.get('ms', 60000))
        self.event_type = spec.get('event_type')
        if self.kind == 'invalid' and not self.event_type:
            raise ValueError('invalid needs event_type')
        self.fired = 0

    def active(self):
        if self.until is not None and now_ms() >= self.until:
            return False
        return self.count is None or self.fired < self.count

    def matches(self, tool):
        return self.tool in ('any', tool)

    def view(self):
        d = dict(self.spec)
        d.update(id=self.id, fired=self.fired, active=self.active(), count=self.count)
        return d


class State:
    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.RLock()
        self.release = threading.Event()
        self.reset()

    def reset(self):
        with self.lock:
            self.faults = []
            self.fault_seq = 0
            self.requests = []
            self.seq = 0
            self.kept = {t: [] for t in TOOLS}
            self.seen = {t: set() for t in TOOLS}
            self.stats = {t: {'requests': 0, 'received': 0, 'kept': 0, 'duplicates': 0,
                              'refused': 0} for t in TOOLS}
            self.release.set()
            self.release = threading.Event()

    def add_fault(self, spec):
        with self.lock:
            self.fault_seq += 1
            f = Fault(spec, self.fault_seq)
            self.faults.append(f)
            return f

    def terminal_fault(self, tool):
        """The first active non-'invalid' rule for tool, counted as fired."""
        with self.lock:
            for f in self.faults:
                if f.kind != 'invalid' and f.matches(tool) and f.active():
                    f.fired += 1
                    return f
        return None

    def invalid_types(self, tool):
        with self.lock:
            out = set()
            for f in self.faults:
                if f.kind == 'invalid' and f.matches(tool) and f.active():
                    out.add(f.event_type)
            return out

    def keep(self, tool, dedup_key, record):
        """Count one received event; keep it unless its dedup key was seen."""
        with self.lock:
            s = self.stats[tool]
            s['received'] += 1
            if dedup_key in self.seen[tool]:
                s['duplicates'] += 1
                return False
            self.seen[tool].add(dedup_key)
            self.kept[tool].append(record)
            s['kept'] += 1
            return True

    def log_request(self, entry):
        with self.lock:
            self.seq += 1
            entry['seq'] = self.seq
            self.requests.append(entry)
        if self.opts.state:
            with self.lock, open(os.path.join(self.opts.state, 'requests.jsonl'), 'a') as f:
                f.write(json.dumps(entry, ensure_ascii=False) + '\n')


# ---------------------------------------------------------------- the tools


def basic_auth(req):
    """(user, password) from a Basic Authorization header, or None."""
    h = req.headers.get('Authorization') or ''
    if not h.startswith('Basic '):
        return None
    try:
        raw = base64.b64decode(h[6:].strip(), validate=True).decode('utf-8')
    except (ValueError, UnicodeDecodeError):
        return None
    if ':' not in raw:
        return None
    user, _, pw = raw.partition(':')
    return user, pw


def amplitude_error(status, error, **extra):
    body = {'code': status, 'error': error}
    body.update(extra)
    return Resp(status, body)


def amplitude(st, req, fault):
    if len(req.body) >= AMPLITUDE_MAX_BYTES:
        return amplitude_error(413, 'Payload too large')
    try:
        body = json.loads(req.body.decode('utf-8'))
    except (ValueError, UnicodeDecodeError):
        return amplitude_error(400, 'Invalid JSON request body')
    if not isinstance(body, dict):
        return amplitude_error(400, 'Invalid JSON request body')
    key = body.get('api_key')
    if not key:
        return amplitude_error(400, 'Request missing required field', missing_field='api_key')
    if st.opts.amplitude_key and key != st.opts.amplitude_key:
        return amplitude_error(400, 'Invalid API key')
    events = body.get('events')
    if not isinstance(events, list) or not events:
        return amplitude_error(400, 'Request missing required field', missing_field='events')
    if len(events) >= AMPLITUDE_MAX_EVENTS:
        return amplitude_error(413, 'Payload too large')
    min_len = (body.get('options') or {}).get('min_id_length', 5)
    missing, invalid = {}, {}
    bad_types = st.invalid_types('amplitude')
    for i, e in enumerate(events):
        if not isinstance(e, dict):
            invalid.setdefault('event', []).append(i)
            continue
        if not e.get('event_type'):
            missing.setdefault('event_type', []).append(i)
        if not e.get('user_id') and not e.get('device_id'):
            missing.setdefault('user_id', []).append(i)
        for f in ('user_id', 'device_id'):
            v = e.get(f)
            if v is not None and (not isinstance(v, str) or len(v) < min_len or
                                  v.lower() in PLACEHOLDER_IDS):
                invalid.setdefault(f, []).append(i)
        t = e.get('time')
        if t is not None and (not isinstance(t, int) or isinstance(t, bool) or t < 10 ** 11):
            invalid.setdefault('time', []).append(i)
        for k, v in (e.get('event_properties') or {}).items():
            if isinstance(v, str) and len(v) > 1024:
                invalid.setdefault('event_properties', []).append(i)
        if e.get('event_type') in bad_types:
            invalid.setdefault('event_type', []).append(i)
    if missing:
        with st.lock:
            st.stats['amplitude']['refused'] += len(events)
        return amplitude_error(400, 'Request missing required field',
                               events_with_missing_fields=missing)
    if invalid:
        with st.lock:
            st.stats['amplitude']['refused'] += len(events)
        return amplitude_error(400, 'Invalid field values on some events',
                               events_with_invalid_fields=invalid)
    for e in events:
        st.keep('amplitude', e.get('insert_id') or id(e), {
            'event_type': e['event_type'], 'user_id': e.get('user_id'),
            'device_id': e.get('device_id'), 'time': e.get('time'),
            'insert_id': e.get('insert_id'), 'event_properties': e.get('event_properties')})
    return Resp(200, {'code': 200, 'events_ingested': len(events),
                      'payload_size_bytes': len(req.body), 'server_upload_time': now_ms()})


def mixpanel_error(status, error):
    return Resp(status, {'code': status, 'error': error, 'status': 0})


def mixpanel(st, req, fault):
    q = urllib.parse.parse_qs(req.query)
    auth = basic_auth(req)
    o = st.opts
    if auth is None:
        return mixpanel_error(401, 'Unauthorized, invalid project secret. See docs for more '
                              'details')
    if (o.mixpanel_user and auth[0] != o.mixpanel_user) or \
            (o.mixpanel_secret and auth[1] != o.mixpanel_secret):
        return mixpanel_error(401, 'Invalid service account credentials')
    project = (q.get('project_id') or [''])[0]
    if not project:
        return mixpanel_error(400, 'project_id is required when authenticating with a service '
                              'account')
    if o.mixpanel_project and project != o.mixpanel_project:
        return mixpanel_error(403, 'service account does not have access to project %s' % project)
    if len(req.body) > MIXPANEL_MAX_BYTES:
        return mixpanel_error(413, 'request body too large')
    try:
        events = json.loads(req.body.decode('utf-8'))
    except (ValueError, UnicodeDecodeError):
        return mixpanel_error(400, 'unable to parse request body')
    if isinstance(events, dict):
        events = [events]
    if not isinstance(events, list) or len(events) > MIXPANEL_MAX_EVENTS:
        return mixpanel_error(400, 'expected an array of at most 2000 events')
    strict = (q.get('strict') or ['0'])[0] == '1'
    bad_types = st.invalid_types('mixpanel')
    failed, good = [], []
    t_now = now_ms()
    for i, e in enumerate(events):
        p = e.get('properties') if isinstance(e, dict) else None
        ins = p.get('$insert_id') if isinstance(p, dict) else None
        problem = None
        if not isinstance(p, dict) or not e.get('event'):
            problem = ('event', "'event' must be a non-empty string")
        elif not isinstance(p.get('time'), int):
            problem = ('properties.time', "'properties.time' is invalid: must be a number")
        else:
            t = p['time'] if p['time'] > 10 ** 11 else p['time'] * 1000
            if t < 31536000000:
                problem = ('properties.time', "'properties.time' is invalid: must be after 1971")
            elif t > t_now + 3600 * 1000:
                problem = ('properties.time',
                           "'properties.time' is invalid: more than 1 hour in the future")
        if problem is None:
            d = p.get('distinct_id')
            if d is None or not isinstance(d, str) or d.lower() in PLACEHOLDER_IDS:
                problem = ('properties.distinct_id', "'properties.distinct_id' is invalid")
            elif not isinstance(ins, str) or not re.fullmatch(r'[A-Za-z0-9_-]{1,36}', ins):
                problem = ('properties.$insert_id', "'properties.$insert_id' is invalid: must be "
                           "1-36 alphanumeric characters, dashes or underscores")
            elif e.get('event') in bad_types:
                problem = ('event', "event '%s' failed validation (fake rule)" % e.get('event'))
        if problem:
            failed.append({'index': i, 'insert_id': ins or '', 'field': problem[0],
                           'message': problem[1]})
        else:
            good.append(e)
    if failed and not strict:
        good = []   # without strict=1 a bad batch is refused whole (simplified)
    for e in good:
        p = e['properties']
        st.keep('mixpanel', p['$insert_id'], {'event': e['event'], 'properties': p})
    with st.lock:
        st.stats['mixpanel']['refused'] += len(failed)
    if failed:
        return Resp(400, {'code': 400, 'error': 'some data points in the request failed validation',
                          'failed_records': failed, 'num_records_imported': len(good),
                          'status': 'Bad Request'})
    return Resp(200, {'code': 200, 'num_records_imported': len(good), 'status': 'OK'})


def segment(st, req, fault):
    auth = basic_auth(req)
    if auth is None or not auth[0]:
        return Resp(401, {'success': False, 'message': 'missing or invalid write key'})
    if st.opts.segment_key and auth[0] != st.opts.segment_key:
        return Resp(401, {'success': False, 'message': 'invalid write key'})
    if len(req.body) > SEGMENT_MAX_BATCH:
        return Resp(400, {'success': False, 'message': 'batch size exceeded the limit of 500KB'})
    try:
        body = json.loads(req.body.decode('utf-8'))
    except (ValueError, UnicodeDecodeError):
        return Resp(400, {'success': False, 'message': 'invalid JSON'})
    batch = body.get('batch') if isinstance(body, dict) else None
    if not isinstance(batch, list):
        return Resp(400, {'success': False, 'message': 'batch must be an array'})
    for m in batch:
        if len(jdump(m)) > SEGMENT_MAX_EVENT:
            return Resp(400, {'success': False,
                              'message': 'message size exceeded the limit of 32KB'})
    for m in batch:
        # Segment answers 200 and drops bad messages later: count them refused
        if not isinstance(m, dict) or m.get('type') != 'track' or not m.get('event') or \
                not (m.get('userId') or m.get('anonymousId')) or not m.get('messageId') or \
                len(m.get('messageId')) > 100:
            with st.lock:
                st.stats['segment']['refused'] += 1
            continue
        st.keep('segment', m['messageId'], {
            'event': m['event'], 'userId': m.get('userId'), 'anonymousId': m.get('anonymousId'),
            'timestamp': m.get('timestamp'), 'messageId': m['messageId'],
            'properties': m.get('properties')})
    return Resp(200, {'success': True})


ROUTES = {('POST', '/2/httpapi'): ('amplitude', amplitude),
          ('POST', '/import'): ('mixpanel', mixpanel),
          ('POST', '/v1/batch'): ('segment', segment)}


def fault_resp(tool, f):
    """The answer a status or rate_limit rule gives, in the tool's words."""
    if f.kind == 'rate_limit':
        status = 429
    else:
        status = f.status
    words = {400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 413: 'Payload too large',
             429: 'Too many requests for some devices and users', 500: 'Internal Server Error',
             502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout'}
    words = words.get(status, 'error')
    if tool == 'amplitude':
        body = {'code': status, 'error': words}
        if status == 429:
            body.update(eps_threshold=30, throttled_devices={}, throttled_users={},
                        throttled_events=[])
    elif tool == 'mixpanel':
        body = {'code': status, 'error': words, 'status': 0}
    else:
        body = {'success': False, 'message': words}
    r = Resp(status, body)
    ra = f.retry_after
    if ra is None and tool == 'segment' and status == 429:
        ra = 1
    if ra is not None:
        r.headers['Retry-After'] = str(ra)
        if tool == 'segment':
            r.headers['X-RateLimit-Reset'] = str(ra)
    return r


# ---------------------------------------------------------------- HTTP


def mask_body(tool, body):
    text = body.decode('utf-8', 'replace')
    if tool == 'amplitude':
        text = re.sub(r'("api_key"\s*:\s*")[^"]*"', r'\1***"', text)
    return text


def mask_headers(headers):
    out = {}
    for k, v in headers.items():
        if k.lower() in ('authorization', 'proxy-authorization', 'cookie'):
            v = ((v.split(' ', 1)[0] if ' ' in v else '') + ' ***').strip()
        out[k] = v
    return out


class Req:
    def __init__(self, method, target, headers, body):
        u = urllib.parse.urlsplit(target)
        self.method = method
        self.path = u.path
        self.query = u.query
        self.headers = headers
        self.body = body


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    disable_nagle_algorithm = True
    server_version = 'fakesinks/1'
    sys_version = ''
    timeout = 300

    def log_message(self, fmt, *args):
        if not self.server.app.opts.quiet:
            sys.stderr.write('fakesinks: %s %s\n' % (self.address_string(), fmt % args))

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
        for f in (self.rfile,):
            try:
                f.close()
            except (OSError, ValueError):
                pass
        try:
            self.connection.close()
        except OSError:
            pass
        self.rfile = io.BytesIO()
        self.wfile = io.BytesIO()

    def do_any(self):
        app = self.server.app
        st = app.state
        try:
            n = int(self.headers.get('Content-Length') or 0)
            if n > 16 << 20:
                raise ValueError('too large')
            body = self.rfile.read(n) if n else b''
        except (ValueError, OSError):
            self.kill()
            return
        req = Req(self.command, self.path, self.headers, body)
        if req.path.startswith('/_fake'):
            try:
                resp = app.control(req)
            except Exception as e:   # the control API answers every mistake
                resp = Resp(500, {'error': 'control: %s: %s' % (type(e).__name__, e)})
            return self.send(resp)
        route = ROUTES.get((req.method, req.path))
        tool = route[0] if route else None
        entry = {'time': now_ms(), 'tool': tool, 'method': req.method, 'path': self.path,
                 'headers': mask_headers(dict(self.headers.items())),
                 'body': mask_body(tool, body)}
        if route is None:
            entry['status'] = 404
            st.log_request(entry)
            return self.send(Resp(404, {'error': 'not an analytics endpoint: %s %s'
                                        % (req.method, req.path)}))
        with st.lock:
            st.stats[tool]['requests'] += 1
        f = st.terminal_fault(tool)
        try:
            if f is not None and f.kind in ('reset', 'down'):
                raise Reset()
            if f is not None and f.kind == 'hang':
                raise Hang(f.ms)
            if f is not None and f.kind in ('status', 'rate_limit'):
                resp = fault_resp(tool, f)
            else:
                resp = route[1](st, req, f)
                if f is not None and f.kind == 'lost_answer':
                    entry['taken'] = resp.status
                    raise Reset()
        except Reset:
            entry['status'] = 'reset'
            entry['fault'] = f.id if f else None
            st.log_request(entry)
            self.kill()
            return
        except Hang as h:
            entry['status'] = 'hang'
            entry['fault'] = f.id
            st.log_request(entry)
            st.release.wait(h.ms / 1000.0)
            self.kill()
            return
        entry['status'] = resp.status
        if f is not None:
            entry['fault'] = f.id
        st.log_request(entry)
        self.send(resp)

    def send(self, resp):
        data = b'' if resp.body is None else jdump(resp.body)
        try:
            self.send_response(resp.status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            for k, v in resp.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class App:
    def __init__(self, opts):
        self.opts = opts
        self.state = State(opts)
        self.server = None
        self.port = None

    def control(self, req):
        st = self.state
        p = req.path[len('/_fake'):].rstrip('/') or '/'
        q = urllib.parse.parse_qs(req.query)
        m = req.method
        try:
            body = json.loads(req.body.decode('utf-8')) if req.body else None
        except ValueError as e:
            return Resp(400, {'error': 'bad JSON: %s' % e})
        if p == '/health' and m == 'GET':
            return Resp(200, {'ok': True, 'port': self.port})
        if p == '/events' and m == 'GET':
            tool = (q.get('tool') or [''])[0]
            if tool not in TOOLS:
                return Resp(400, {'error': 'tool must be one of %s' % ', '.join(TOOLS)})
            with st.lock:
                return Resp(200, {'events': list(st.kept[tool]), 'stats': dict(st.stats[tool])})
        if p == '/stats' and m == 'GET':
            with st.lock:
                return Resp(200, json.loads(jdump(st.stats)))
        if p == '/requests' and m == 'GET':
            with st.lock:
                rows = list(st.requests)
            if q.get('tool'):
                rows = [r for r in rows if r.get('tool') == q['tool'][0]]
            if q.get('since'):
                rows = [r for r in rows if r['seq'] > int(q['since'][0])]
            return Resp(200, {'requests': rows, 'last_seq': st.seq})
        if p == '/reset' and m == 'POST':
            st.reset()
            return Resp(200, {'ok': True})
        if p == '/faults' and m == 'GET':
            with st.lock:
                return Resp(200, {'faults': [f.view() for f in st.faults]})
        if p == '/faults' and m == 'POST':
            specs = body if isinstance(body, list) else [body]
            try:
                ids = [st.add_fault(s).id for s in specs]
            except (ValueError, TypeError) as e:
                return Resp(400, {'error': str(e)})
            return Resp(201, {'ids': ids})
        if p == '/faults' and m == 'DELETE':
            with st.lock:
                st.faults = []
                st.release.set()
                st.release = threading.Event()
            return Resp(200, {'ok': True})
        return Resp(404, {'error': 'no control endpoint %s %s' % (m, req.path)})

    def run(self):
        self.server = Server((self.opts.host, self.opts.port), Handler)
        self.server.app = self
        self.port = self.server.server_address[1]
        if self.opts.port_file:
            tmp = self.opts.port_file + '.tmp'
            with open(tmp, 'w') as f:
                f.write('%d\n' % self.port)
            os.replace(tmp, self.opts.port_file)
        print('fakesinks: listening on http://%s:%d' % (self.opts.host, self.port), flush=True)
        self.server.serve_forever(poll_interval=0.1)
        self.server.server_close()
        return 0

    def stop(self):
        self.state.release.set()
        threading.Thread(target=self.server.shutdown, daemon=True).start()


def main(argv=None):
    ap = argparse.ArgumentParser(description='A fake Amplitude, Mixpanel and Segment for tests.')
    ap.add_argument('--host', default='127.0.0.1', help='loopback address (default 127.0.0.1)')
    ap.add_argument('--port', type=int, default=0, help='port; 0 picks a free one (default)')
    ap.add_argument('--port-file', help='write the port here once listening')
    ap.add_argument('--state', help='folder for requests.jsonl')
    ap.add_argument('--quiet', action='store_true', help='no access log on standard error')
    ap.add_argument('--amplitude-key', help='the accepted Amplitude api_key (default: any)')
    ap.add_argument('--mixpanel-project', help='the accepted Mixpanel project_id (default: any)')
    ap.add_argument('--mixpanel-user', help='the service account user (default: any)')
    ap.add_argument('--mixpanel-secret', help='the service account secret (default: any)')
    ap.add_argument('--segment-key', help='the accepted Segment write key (default: any)')
    opts = ap.parse_args(argv)
    if opts.host not in ('127.0.0.1', 'localhost', '::1') and not opts.host.startswith('127.'):
        ap.error('--host must be a loopback address')
    if opts.state:
        os.makedirs(opts.state, exist_ok=True)
    app = App(opts)
    signal.signal(signal.SIGTERM, lambda *_: app.stop())
    signal.signal(signal.SIGINT, lambda *_: app.stop())
    return app.run()


if __name__ == '__main__':
    sys.exit(main())
