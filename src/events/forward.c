/* forward - Amplitude, Mixpanel and Segment as sinks (forward.h).
 * Must never put a key, secret or Authorization header into a message,
 * never report an event taken that the destination did not answer 2xx for
 * (or, for Mixpanel's partial 400, did not leave out of failed_records),
 * and never send one batch with more than FORWARD_MAX_CALLS requests.
 */
#include "events/forward.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crm/crm.h"
#include "crm/http.h"
#include "handler/config.h"
#include "util/buf.h"
#include "util/xalloc.h"

#define ANSWER_MAX (1u << 20)   /* the destinations answer in a few hundred bytes */

struct fwd {
	enum forward_kind kind;
	struct http *http;
	char *url;                  /* the endpoint, query included */
	char *auth;                 /* "Authorization: Basic ..." or NULL: a secret */
	char *key, *secret;         /* kept for the body (Amplitude) and for redaction */
	char deploy[33];
	char device[48];            /* "leadroute-" + deploy: events about no lead */
	int timeout_ms;
};

static const char *const kind_names[] = { "amplitude", "mixpanel", "segment" };
static const char *const kind_what[] = { "Amplitude", "Mixpanel import", "Segment batch" };

void events_dedup_id(const char *deployment_id, int64_t id, char out[40])
{
	snprintf(out, 40, "lr-%.8s-%lld", deployment_id, (long long)id);
}

int events_deployment_id(struct store *s, char out[33], char *err, size_t errlen)
{
	char *v = NULL;
	int got = store_meta_get(s, "deployment_id", &v);
	if (got == 0) {
		/* made once, under the write lock, so two processes agree */
		got = store_begin(s);
		if (got == 0)
			got = store_meta_get(s, "deployment_id", &v);
		if (got == 0) {
			unsigned char b[16];
			if (RAND_bytes(b, sizeof b) != 1) {
				store_rollback(s);
				snprintf(err, errlen, "no random bytes for the deployment id");
				return -1;
			}
			char hex[33];
			for (int i = 0; i < 16; i++)
				snprintf(hex + 2 * i, 3, "%02x", b[i]);
			v = xstrdup(hex);
			got = store_meta_put(s, "deployment_id", hex) == 0 ? 1 : -1;
		}
		if (got == 1 && store_commit(s) != 0)
			got = -1;
		else if (got != 1)
			store_rollback(s);
	}
	if (got != 1 || !v || strlen(v) != 32) {
		snprintf(err, errlen, "the deployment id: %s", got < 0 ? store_error(s)
		         : "the meta table holds a malformed one");
		free(v);
		return -1;
	}
	memcpy(out, v, 33);
	free(v);
	return 0;
}

static void rfc3339(int64_t ms, char out[40])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		snprintf(out, 40, "1970-01-01T00:00:00.000Z");
		return;
	}
	size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 40 - n, ".%03dZ", (int)(ms % 1000));
}

/* The event's data as a new JSON object ({} when none or not an object). */
static struct json_object *data_object(const struct sink_event *ev)
{
	struct json_object *d = ev->data_json ? json_tokener_parse(ev->data_json) : NULL;
	if (d && json_object_is_type(d, json_type_object))
		return d;
	json_object_put(d);
	return json_object_new_object();
}

static struct json_object *event_json(const struct fwd *f, const struct sink_event *ev)
{
	char dedup[40];
	events_dedup_id(f->deploy, ev->id, dedup);
	struct json_object *o = json_object_new_object();
	if (f->kind == FORWARD_AMPLITUDE) {
		json_object_object_add(o, "event_type", json_object_new_string(ev->type));
		if (ev->lead_id)
			json_object_object_add(o, "user_id", json_object_new_string(ev->lead_id));
		else
			json_object_object_add(o, "device_id", json_object_new_string(f->device));
		json_object_object_add(o, "time", json_object_new_int64(ev->at_ms));
		json_object_object_add(o, "insert_id", json_object_new_string(dedup));
		json_object_object_add(o, "event_properties", data_object(ev));
	} else if (f->kind == FORWARD_MIXPANEL) {
		struct json_object *p = data_object(ev);
		/* ours win over data keys of the same name */
		json_object_object_add(p, "time", json_object_new_int64(ev->at_ms));
		const char *who = ev->lead_id ? ev->lead_id : f->device;
		json_object_object_add(p, "distinct_id", json_object_new_string(who));
		json_object_object_add(p, "$insert_id", json_object_new_string(dedup));
		json_object_object_add(o, "event", json_object_new_string(ev->type));
		json_object_object_add(o, "properties", p);
	} else {
		char ts[40];
		rfc3339(ev->at_ms, ts);
		json_object_object_add(o, "type", json_object_new_string("track"));
		json_object_object_add(o, "event", json_object_new_string(ev->type));
		if (ev->lead_id)
			json_object_object_add(o, "userId", json_object_new_string(ev->lead_id));
		else
			json_object_object_add(o, "anonymousId", json_object_new_string(f->device));
		json_object_object_add(o, "properties", data_object(ev));
		json_object_object_add(o, "timestamp", json_object_new_string(ts));
		json_object_object_add(o, "messageId", json_object_new_string(dedup));
	}
	return o;
}

/* The request body for events ev[idx[0..k)]; caller frees. */
static char *body_for(const struct fwd *f, const struct sink_event *ev, const size_t *idx,
                      size_t k)
{
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < k; i++)
		json_object_array_add(arr, event_json(f, &ev[idx[i]]));
	struct json_object *root = arr;
	if (f->kind == FORWARD_AMPLITUDE) {
		root = json_object_new_object();
		json_object_object_add(root, "api_key", json_object_new_string(f->key));
		json_object_object_add(root, "events", arr);
	} else if (f->kind == FORWARD_SEGMENT) {
		root = json_object_new_object();
		json_object_object_add(root, "batch", arr);
	}
	char *body = xstrdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
	                                                          JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return body;
}

/* One send in progress. */
struct sending {
	struct fwd *f;
	const struct sink_event *ev;
	size_t n;
	bool *dead;                 /* per event of the batch */
	int calls;
	bool retry;                 /* stop: the whole batch goes again later */
	int http_status;
	int64_t retry_after_ms;
	char message[512];          /* the retry's reason, or the last refusal's */
};

static void redact(const struct fwd *f, char *msg, size_t size)
{
	if (f->key)
		crm_redact(msg, size, f->key);
	if (f->secret)
		crm_redact(msg, size, f->secret);
	if (f->auth)
		crm_redact(msg, size, strrchr(f->auth, ' ') + 1);   /* the base64 */
}

/* The destination's own words from an error body: its "error" string, or
 * the start of the body. */
static void answer_words(const struct http_response *rs, struct json_object *root, char *out,
                         size_t size)
{
	struct json_object *e;
	if (root && json_object_object_get_ex(root, "error", &e) &&
	    json_object_is_type(e, json_type_string)) {
		snprintf(out, size, "%s", json_object_get_string(e));
		return;
	}
	snprintf(out, size, "%.160s", buf_str(&rs->body));
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

static void mark_dead(struct sending *sd, const size_t *idx, size_t k, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void mark_dead(struct sending *sd, const size_t *idx, size_t k, const char *fmt, ...)
{
	for (size_t i = 0; i < k; i++)
		sd->dead[idx[i]] = true;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sd->message, sizeof sd->message, fmt, ap);
	va_end(ap);
}

static void send_range(struct sending *sd, const size_t *idx, size_t k);

static void split(struct sending *sd, const size_t *idx, size_t k, const char *why)
{
	if (k == 1) {
		mark_dead(sd, idx, 1, "%s: event %lld alone is too large (%s)",
		          kind_what[sd->f->kind], (long long)sd->ev[idx[0]].id, why);
		return;
	}
	send_range(sd, idx, k / 2);
	send_range(sd, idx + k / 2, k - k / 2);
}

/* Amplitude's 400 lists refused events by their index in the request:
 * {"events_with_invalid_fields": {"time": [0, 3]}, "silenced_events": [2]}.
 * Marks them in out (k entries); returns how many. */
static size_t amplitude_listed(struct json_object *root, size_t k, bool *out)
{
	static const char *const maps[] = { "events_with_invalid_fields",
	                                    "events_with_missing_fields" };
	size_t n = 0;
	struct json_object *m, *arr;
	for (size_t i = 0; i < 2; i++) {
		if (!json_object_object_get_ex(root, maps[i], &m) ||
		    !json_object_is_type(m, json_type_object))
			continue;
		json_object_object_foreach(m, field, list) {
			(void)field;
			if (!json_object_is_type(list, json_type_array))
				continue;
			for (size_t j = 0; j < json_object_array_length(list); j++) {
				struct json_object *e = json_object_array_get_idx(list, j);
				int64_t x = json_object_get_int64(e);
				if (x >= 0 && (size_t)x < k && !out[x]) {
					out[x] = true;
					n++;
				}
			}
		}
	}
	if (json_object_object_get_ex(root, "silenced_events", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		for (size_t j = 0; j < json_object_array_length(arr); j++) {
			int64_t x = json_object_get_int64(json_object_array_get_idx(arr, j));
			if (x >= 0 && (size_t)x < k && !out[x]) {
				out[x] = true;
				n++;
			}
		}
	}
	return n;
}

static void amplitude_400(struct sending *sd, const size_t *idx, size_t k,
                          struct json_object *root, const char *words)
{
	if (strstr(words, "Invalid API key")) {
		sd->retry = true;
		snprintf(sd->message, sizeof sd->message, "Amplitude: HTTP 400: %s "
		         "(check LEADROUTE_AMPLITUDE_API_KEY)", words);
		return;
	}
	bool *listed = xcalloc(k, sizeof *listed);
	size_t n_listed = root ? amplitude_listed(root, k, listed) : 0;
	if (n_listed == 0) {
		mark_dead(sd, idx, k, "Amplitude: HTTP 400: %s", words);
		free(listed);
		return;
	}
	size_t *rest = xcalloc(k, sizeof *rest), n_rest = 0;
	for (size_t i = 0; i < k; i++) {
		if (listed[i])
			mark_dead(sd, &idx[i], 1, "Amplitude: HTTP 400: %s", words);
		else
			rest[n_rest++] = idx[i];
	}
	if (n_rest)
		send_range(sd, rest, n_rest);   /* the rest was not ingested */
	free(rest);
	free(listed);
}

/* Mixpanel's strict 400 is a partial success: failed_records were refused,
 * every other record was imported. */
static void mixpanel_400(struct sending *sd, const size_t *idx, size_t k,
                         struct json_object *root, const char *words)
{
	struct json_object *arr;
	if (!root || !json_object_object_get_ex(root, "failed_records", &arr) ||
	    !json_object_is_type(arr, json_type_array) || json_object_array_length(arr) == 0) {
		mark_dead(sd, idx, k, "Mixpanel import: HTTP 400: %s", words);
		return;
	}
	for (size_t j = 0; j < json_object_array_length(arr); j++) {
		struct json_object *r = json_object_array_get_idx(arr, j), *x, *field, *msg;
		if (!json_object_object_get_ex(r, "index", &x))
			continue;
		int64_t i = json_object_get_int64(x);
		if (i < 0 || (size_t)i >= k)
			continue;
		const char *fs = json_object_object_get_ex(r, "field", &field)
			? json_object_get_string(field) : "?";
		const char *ms = json_object_object_get_ex(r, "message", &msg)
			? json_object_get_string(msg) : words;
		mark_dead(sd, &idx[i], 1, "Mixpanel import: HTTP 400: %s: %s", fs ? fs : "?",
		          ms ? ms : "");
	}
}

static void send_range(struct sending *sd, const size_t *idx, size_t k)
{
	struct fwd *f = sd->f;
	if (sd->retry || k == 0)
		return;
	if (sd->calls >= FORWARD_MAX_CALLS) {
		sd->retry = true;
		snprintf(sd->message, sizeof sd->message, "%s: the batch needed more than %d "
		         "requests (split too often); trying again later", kind_what[f->kind],
		         FORWARD_MAX_CALLS);
		return;
	}
	sd->calls++;
	char *body = body_for(f, sd->ev, idx, k);
	const char *headers[] = { "Content-Type: application/json", "Accept: application/json",
	                          f->auth, NULL };
	struct http_request rq = { .method = "POST", .url = f->url, .headers = headers,
	                           .body = body, .body_len = strlen(body),
	                           .timeout_ms = f->timeout_ms, .max_body = ANSWER_MAX,
	                           .what = kind_what[f->kind] };
	struct http_response rs;
	memset(&rs, 0, sizeof rs);
	int rc = http_do(f->http, &rq, &rs);
	free(body);
	struct crm_result cr;
	memset(&cr, 0, sizeof cr);
	enum crm_status st = http_classify(&rq, &rs, rc, &cr);
	sd->http_status = cr.http_status;
	long code = rc == 0 ? rs.status : 0;
	struct json_object *root = NULL;
	char words[256] = "";
	if (code >= 300) {
		root = json_tokener_parse(buf_str(&rs.body));
		answer_words(&rs, root, words, sizeof words);
	}
	if (st == CRM_DONE) {
		/* taken */
	} else if (code == 413 || (code == 400 && f->kind == FORWARD_SEGMENT)) {
		split(sd, idx, k, words[0] ? words : "HTTP 413");
	} else if (code == 400 && f->kind == FORWARD_AMPLITUDE) {
		amplitude_400(sd, idx, k, root, words);
	} else if (code == 400 && f->kind == FORWARD_MIXPANEL) {
		mixpanel_400(sd, idx, k, root, words);
	} else if (st == CRM_RETRY || code == 401 || code == 403) {
		sd->retry = true;
		sd->retry_after_ms = cr.retry_after_ms;
		if (code == 429 && f->kind == FORWARD_AMPLITUDE && cr.retry_after_ms <= 0)
			sd->retry_after_ms = FORWARD_AMPLITUDE_429_MS;
		snprintf(sd->message, sizeof sd->message, "%.200s%s%.200s%s", cr.message,
		         words[0] ? ": " : "", words,
		         code == 401 || code == 403 ? " (check the key and secret settings)" : "");
	} else {
		mark_dead(sd, idx, k, "%.200s%s%.200s", cr.message, words[0] ? ": " : "", words);
	}
	json_object_put(root);
	http_response_free(&rs);
}

static int fwd_send(struct sink *sk, const struct sink_event *ev, size_t n,
                    struct sink_result *res)
{
	struct fwd *f = sk->state;
	memset(res, 0, sizeof *res);
	struct sending sd = { .f = f, .ev = ev, .n = n, .dead = xcalloc(n, sizeof(bool)) };
	size_t *idx = xcalloc(n, sizeof *idx);
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	send_range(&sd, idx, n);
	free(idx);
	res->http_status = sd.http_status;
	snprintf(res->message, sizeof res->message, "%s", sd.message);
	redact(f, res->message, sizeof res->message);
	if (sd.retry) {
		res->status = SINK_RETRY;
		res->retry_after_ms = sd.retry_after_ms;
		free(sd.dead);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (sd.dead[i] && res->n_dead < SINK_MAX_DEAD)
			res->dead[res->n_dead++] = ev[i].id;
	}
	free(sd.dead);
	if (res->n_dead == n) {
		res->status = SINK_DEAD;
		res->n_dead = 0;
		return -1;
	}
	res->status = SINK_DONE;
	return 0;
}

static bool wants_all(const struct sink *sk, const char *type)
{
	(void)sk;
	(void)type;
	return true;
}

static void fwd_close(struct sink *sk)
{
	if (!sk)
		return;
	struct fwd *f = sk->state;
	http_close(f->http);
	free(f->url);
	if (f->auth)
		OPENSSL_cleanse(f->auth, strlen(f->auth));
	free(f->auth);
	if (f->key)
		OPENSSL_cleanse(f->key, strlen(f->key));
	free(f->key);
	if (f->secret)
		OPENSSL_cleanse(f->secret, strlen(f->secret));
	free(f->secret);
	free(f);
	free(sk);
}

/* "Authorization: Basic base64(user:password)"; caller frees. */
static char *basic_auth(const char *user, const char *password)
{
	struct buf plain = {0};
	buf_printf(&plain, "%s:%s", user, password ? password : "");
	size_t cap = 4 * ((plain.len + 2) / 3) + 1;
	char *enc = xmalloc(cap);
	EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)plain.data, (int)plain.len);
	OPENSSL_cleanse(plain.data, plain.len);
	buf_free(&plain);
	struct buf h = {0};
	buf_printf(&h, "Authorization: Basic %s", enc);
	OPENSSL_cleanse(enc, strlen(enc));
	free(enc);
	return buf_take(&h);
}

struct sink *forward_open(const struct forward_config *cfg, char *err, size_t errlen)
{
	if (!cfg->base_url || !cfg->key || !cfg->deployment_id ||
	    (cfg->kind == FORWARD_MIXPANEL && (!cfg->secret || !cfg->project_id))) {
		snprintf(err, errlen, "%s: a required setting is missing", kind_what[cfg->kind]);
		return NULL;
	}
	struct fwd *f = xcalloc(1, sizeof *f);
	f->kind = cfg->kind;
	f->timeout_ms = cfg->timeout_ms;
	snprintf(f->deploy, sizeof f->deploy, "%s", cfg->deployment_id);
	snprintf(f->device, sizeof f->device, "leadroute-%s", f->deploy);
	size_t bl = strlen(cfg->base_url);
	while (bl > 0 && cfg->base_url[bl - 1] == '/')
		bl--;
	struct buf u = {0};
	buf_add(&u, cfg->base_url, bl);
	if (f->kind == FORWARD_AMPLITUDE) {
		buf_adds(&u, "/2/httpapi");
		f->key = xstrdup(cfg->key);
	} else if (f->kind == FORWARD_MIXPANEL) {
		char *pid = http_escape(cfg->project_id);
		buf_printf(&u, "/import?strict=1&project_id=%s", pid);
		free(pid);
		f->key = xstrdup(cfg->key);
		f->secret = xstrdup(cfg->secret);
		f->auth = basic_auth(cfg->key, cfg->secret);
	} else {
		buf_adds(&u, "/v1/batch");
		f->key = xstrdup(cfg->key);
		f->auth = basic_auth(cfg->key, "");
	}
	f->url = buf_take(&u);
	struct sink *sk = xcalloc(1, sizeof *sk);
	*sk = (struct sink){ .name = kind_names[f->kind], .max_batch = FORWARD_MAX_BATCH,
	                     .wants = wants_all, .send = fwd_send, .close = fwd_close, .state = f };
	f->http = http_open(err, errlen);
	if (!f->http) {
		fwd_close(sk);
		return NULL;
	}
	return sk;
}

/* ---- settings ---- */

/* The named settings (values NULL when unset), in the order given. */
static int get_all(const char *const *names, char **vals, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		bool failed;
		vals[i] = config_get(names[i], err, errlen, &failed);
		if (failed) {
			for (size_t j = 0; j < i; j++)
				free(vals[j]);
			return -1;
		}
		if (vals[i] && !*vals[i]) {
			free(vals[i]);
			vals[i] = NULL;
		}
	}
	return 0;
}

static void free_all(char **vals, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (vals[i])
			OPENSSL_cleanse(vals[i], strlen(vals[i]));
		free(vals[i]);
	}
}

static int check_url(const char *name, const char *url, char *err, size_t errlen)
{
	if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0)
		return 0;
	snprintf(err, errlen, "%s: '%s' is not an http:// or https:// URL", name, url);
	return -1;
}

int forward_open_from_env(struct store *s, int timeout_ms, struct sink *out[FORWARD_KINDS],
                          size_t *n, char *err, size_t errlen)
{
	static const char *const names[] = {
		"LEADROUTE_AMPLITUDE_API_KEY", "LEADROUTE_AMPLITUDE_URL",
		"LEADROUTE_MIXPANEL_PROJECT_ID", "LEADROUTE_MIXPANEL_USER",
		"LEADROUTE_MIXPANEL_SECRET", "LEADROUTE_MIXPANEL_URL",
		"LEADROUTE_SEGMENT_WRITE_KEY", "LEADROUTE_SEGMENT_URL",
	};
	enum { AMP_KEY, AMP_URL, MP_PROJECT, MP_USER, MP_SECRET, MP_URL, SEG_KEY, SEG_URL, N };
	char *v[N];
	*n = 0;
	if (get_all(names, v, N, err, errlen) != 0)
		return -1;
	int rc = 0;
	bool mp = v[MP_PROJECT] || v[MP_USER] || v[MP_SECRET];
	if (mp && !(v[MP_PROJECT] && v[MP_USER] && v[MP_SECRET])) {
		snprintf(err, errlen, "Mixpanel needs LEADROUTE_MIXPANEL_PROJECT_ID, "
		         "LEADROUTE_MIXPANEL_USER and LEADROUTE_MIXPANEL_SECRET "
		         "(a service account); %s is missing",
		         !v[MP_PROJECT] ? "LEADROUTE_MIXPANEL_PROJECT_ID"
		         : !v[MP_USER] ? "LEADROUTE_MIXPANEL_USER" : "LEADROUTE_MIXPANEL_SECRET");
		rc = -1;
	}
	const char *amp_url = v[AMP_URL] ? v[AMP_URL] : "https://api2.amplitude.com";
	const char *mp_url = v[MP_URL] ? v[MP_URL] : "https://api.mixpanel.com";
	const char *seg_url = v[SEG_URL] ? v[SEG_URL] : "https://api.segment.io";
	if (rc == 0)
		rc = check_url(names[AMP_URL], amp_url, err, errlen);
	if (rc == 0)
		rc = check_url(names[MP_URL], mp_url, err, errlen);
	if (rc == 0)
		rc = check_url(names[SEG_URL], seg_url, err, errlen);
	char deploy[33] = "";
	if (rc == 0 && (v[AMP_KEY] || mp || v[SEG_KEY]))
		rc = events_deployment_id(s, deploy, err, errlen);
	struct forward_config cfg[FORWARD_KINDS] = {
		{ FORWARD_AMPLITUDE, amp_url, v[AMP_KEY], NULL, NULL, deploy, timeout_ms },
		{ FORWARD_MIXPANEL, mp_url, v[MP_USER], v[MP_SECRET], v[MP_PROJECT], deploy,
		  timeout_ms },
		{ FORWARD_SEGMENT, seg_url, v[SEG_KEY], NULL, NULL, deploy, timeout_ms },
	};
	bool on[FORWARD_KINDS] = { v[AMP_KEY] != NULL, mp, v[SEG_KEY] != NULL };
	for (size_t i = 0; rc == 0 && i < FORWARD_KINDS; i++) {
		if (!on[i])
			continue;
		struct sink *sk = forward_open(&cfg[i], err, errlen);
		if (!sk)
			rc = -1;
		else
			out[(*n)++] = sk;
	}
	if (rc != 0) {
		for (size_t i = 0; i < *n; i++)
			out[i]->close(out[i]);
		*n = 0;
	}
	free_all(v, N);
	return rc;
}
