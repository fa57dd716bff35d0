/* salesforce - the Salesforce connector (see salesforce.h and crm.h).
 *
 * Every REST call goes through sf_call: it logs in when there is no
 * token, sends the request to the instance with the bearer token, reads
 * Sforce-Limit-Info, and on a 401 logs in again and sends the request once
 * more.  Answers become crm_results in sf_verdict, with Salesforce's own
 * errorCode and message.
 *
 * Secrets (the client secret, the JWT key, assertions, access tokens) live
 * only in struct sf and in the request being sent; every message goes
 * through set_msg, which also blanks any secret that might come back
 * inside an answer.  Request bodies holding a secret are cleansed after use.
 */
#include "crm/salesforce.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "crm/http.h"
#include "crm/jwt.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/xalloc.h"

#define JWT_LIFETIME_S 180          /* Salesforce wants exp within 3 minutes */
#define USER_CACHE_MAX 512          /* member email -> User Id entries kept */
#define USER_CACHE_TTL_MS (3600 * INT64_C(1000))   /* ... and for how long */
#define LOOKUP_LIMIT 50             /* Accounts a domain's LIKE may bring back */
#define SYNC_MAX_PAGES 100000       /* a bound on nextRecordsUrl paging */
#define TOKEN_MAX_BODY (64u << 10)  /* a token answer is small */

struct user_entry {
	char *email;   /* lower case */
	char *id;
	int64_t at_ms; /* when Salesforce said so (CLOCK_MONOTONIC) */
};

struct sf {
	/* settings, copied */
	char *login_url;        /* no trailing slash */
	char *client_id;
	char *client_secret;    /* secret; NULL with the JWT flow */
	char *user;             /* JWT subject */
	char *ext_field;
	char *api_version;
	int timeout_ms;
	struct jwt_key *jwt;    /* secret; NULL with client credentials */

	struct http *http;
	/* the session */
	char *token;            /* secret; NULL: log in before the next call */
	char *instance_url;     /* no trailing slash */

	struct user_entry *users;
	size_t n_users, cap_users;

	long api_used, api_max; /* Sforce-Limit-Info; api_max 0: not seen */
};

/* ---- small helpers ---- */

static char *dup_trimmed_url(const char *s)
{
	size_t n = strlen(s);
	while (n && s[n - 1] == '/')
		n--;
	return xstrndup(s, n);
}

/* https://anything, or http:// to a loopback host only (tests and local
 * proxies): a secret never crosses a network in the clear. */
static bool url_ok(const char *u)
{
	static const char *const loop[] = { "127.0.0.1", "localhost", "[::1]" };

	if (strncmp(u, "https://", 8) == 0)
		return u[8] != '\0' && u[8] != '/';
	if (strncmp(u, "http://", 7) != 0)
		return false;
	u += 7;
	for (size_t i = 0; i < sizeof loop / sizeof loop[0]; i++) {
		size_t n = strlen(loop[i]);
		if (strncmp(u, loop[i], n) == 0 && (u[n] == '\0' || u[n] == ':' || u[n] == '/'))
			return true;
	}
	return false;
}

/* An API name: a letter, then letters, digits and underscores. */
static bool field_name_ok(const char *s)
{
	if (!isalpha((unsigned char)s[0]))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* "v" digits "." digits */
static bool version_ok(const char *s)
{
	if (*s++ != 'v' || !isdigit((unsigned char)*s))
		return false;
	while (isdigit((unsigned char)*s))
		s++;
	if (*s++ != '.' || !isdigit((unsigned char)*s))
		return false;
	while (isdigit((unsigned char)*s))
		s++;
	return *s == '\0';
}

/* Replace every occurrence of secret in b with "[redacted]". */
static void redact(struct buf *b, const char *secret)
{
	size_t n;
	char *p;

	if (!secret || (n = strlen(secret)) < 6 || !b->data)
		return;
	while ((p = strstr(b->data, secret)) != NULL) {
		struct buf o = {0};
		buf_add(&o, b->data, (size_t)(p - b->data));
		buf_adds(&o, "[redacted]");
		buf_adds(&o, p + n);
		buf_free(b);
		*b = o;
	}
}

/* res->message = the formatted text, with every secret s knows blanked. */
static void set_msg(const struct sf *s, struct crm_result *res, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_msg(const struct sf *s, struct crm_result *res, const char *fmt, ...)
{
	struct buf b = {0};
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (s) {
		redact(&b, s->token);
		redact(&b, s->client_secret);
	}
	snprintf(res->message, sizeof res->message, "%s", buf_str(&b));
	buf_free(&b);
}

static void result_init(struct crm_result *res)
{
	memset(res, 0, sizeof *res);
	res->status = CRM_DONE;
}

static void fail(const struct sf *s, struct crm_result *res, enum crm_status st, int http,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void fail(const struct sf *s, struct crm_result *res, enum crm_status st, int http,
                 const char *fmt, ...)
{
	struct buf b = {0};
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	res->status = st;
	res->http_status = http;
	set_msg(s, res, "%s", buf_str(&b));
	buf_free(&b);
}

/* A string member of o, or NULL (borrowed). */
static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Parse an answer body; NULL when it is not JSON. */
static json_object *parse_json(const struct buf *b)
{
	json_tokener *tok;
	json_object *o;

	if (!b->data || b->len == 0 || b->len > INT32_MAX)
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, b->data, (int)b->len);
	if (o && json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* Append up to max characters of a body that is not the JSON we expected,
 * printable ASCII only. */
static void add_snippet(struct buf *b, const struct buf *body, size_t max)
{
	size_t k = 0;
	bool space = false;

	for (size_t i = 0; i < body->len && k < max; i++) {
		unsigned char c = (unsigned char)body->data[i];
		if (c <= ' ' || c >= 0x7f) {
			space = k > 0;
			continue;
		}
		if (space)
			buf_addc(b, ' '), k++;
		space = false;
		buf_addc(b, (char)c);
		k++;
	}
}

/* "errorCode: message (fields: a, b)" for each error of Salesforce's array
 * form, "error: error_description" for the object form (token endpoint),
 * else a snippet of the body; appended to b.  Returns the first errorCode
 * (borrowed from *doc, which the caller frees) or NULL. */
static const char *describe_errors(struct buf *b, const struct buf *body, json_object **doc)
{
	json_object *o = parse_json(body);
	const char *first = NULL;

	*doc = o;
	if (o && json_object_is_type(o, json_type_array)) {
		size_t n = json_object_array_length(o);
		for (size_t i = 0; i < n && i < 5; i++) {
			json_object *e = json_object_array_get_idx(o, i);
			const char *code = jstr(e, "errorCode"), *msg = jstr(e, "message");
			if (!code && !msg)
				continue;
			if (b->len)
				buf_adds(b, "; ");
			if (!first && code)
				first = code;
			buf_printf(b, "%s: %s", code ? code : "error", msg ? msg : "(no message)");
			json_object *f;
			if (json_object_object_get_ex(e, "fields", &f) &&
			    json_object_is_type(f, json_type_array) && json_object_array_length(f) > 0) {
				buf_adds(b, " (fields: ");
				for (size_t j = 0; j < json_object_array_length(f) && j < 8; j++) {
					const char *fs = json_object_get_string(json_object_array_get_idx(f, j));
					buf_printf(b, "%s%s", j ? ", " : "", fs ? fs : "?");
				}
				buf_adds(b, ")");
			}
			/* a Duplicate Rule names the record it matched */
			json_object *dr, *mr;
			if (json_object_object_get_ex(e, "duplicateResult", &dr) &&
			    json_object_object_get_ex(dr, "matchResults", &mr) &&
			    json_object_is_type(mr, json_type_array) && json_object_array_length(mr) > 0) {
				json_object *recs, *rec;
				json_object *m0 = json_object_array_get_idx(mr, 0);
				if (json_object_object_get_ex(m0, "matchRecords", &recs) &&
				    json_object_is_type(recs, json_type_array) &&
				    json_object_array_length(recs) > 0 &&
				    json_object_object_get_ex(json_object_array_get_idx(recs, 0), "record",
				                              &rec) && jstr(rec, "Id"))
					buf_printf(b, " (matches %s)", jstr(rec, "Id"));
			}
		}
		if (b->len)
			return first;
	} else if (o && json_object_is_type(o, json_type_object)) {
		const char *e = jstr(o, "error"), *d = jstr(o, "error_description");
		const char *code = jstr(o, "errorCode"), *msg = jstr(o, "message");
		if (e || d) {
			buf_printf(b, "%s%s%s", e ? e : "", e && d ? ": " : "", d ? d : "");
			return e;
		}
		if (code || msg) {
			buf_printf(b, "%s%s%s", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
			return code;
		}
	}
	if (body->len)
		add_snippet(b, body, 160);
	return NULL;
}

/* ---- setup ---- */

static void sf_free(struct sf *s)
{
	if (!s)
		return;
	if (s->client_secret) {
		OPENSSL_cleanse(s->client_secret, strlen(s->client_secret));
		free(s->client_secret);
	}
	if (s->token) {
		OPENSSL_cleanse(s->token, strlen(s->token));
		free(s->token);
	}
	jwt_key_free(s->jwt);
	http_close(s->http);
	free(s->login_url);
	free(s->client_id);
	free(s->user);
	free(s->ext_field);
	free(s->api_version);
	free(s->instance_url);
	for (size_t i = 0; i < s->n_users; i++) {
		free(s->users[i].email);
		free(s->users[i].id);
	}
	free(s->users);
	free(s);
}

static const char *or_default(const char *v, const char *def)
{
	return v && v[0] ? v : def;
}

void *sf_open(const struct crm_config *cfg, char *err, size_t errlen)
{
	struct sf *s;
	const char *login = or_default(cfg->sf_login_url, SF_DEFAULT_LOGIN_URL);
	const char *ext = or_default(cfg->sf_external_id, SF_DEFAULT_EXTERNAL_ID);
	const char *ver = or_default(cfg->sf_api_version, SF_DEFAULT_API_VERSION);

	if (!cfg->sf_client_id || !cfg->sf_client_id[0]) {
		snprintf(err, errlen, "Salesforce needs a client id (LEADROUTE_SALESFORCE_CLIENT_ID)");
		return NULL;
	}
	bool jwt = cfg->sf_jwt_key && cfg->sf_jwt_key[0];
	if (!jwt && !(cfg->sf_client_secret && cfg->sf_client_secret[0])) {
		snprintf(err, errlen, "Salesforce needs a client secret (client credentials) "
		         "or a JWT key and a user (JWT bearer)");
		return NULL;
	}
	if (jwt && !(cfg->sf_user && cfg->sf_user[0])) {
		snprintf(err, errlen, "the Salesforce JWT bearer flow needs a user name "
		         "(LEADROUTE_SALESFORCE_USER)");
		return NULL;
	}
	if (!url_ok(login)) {
		snprintf(err, errlen, "the Salesforce login URL '%.100s' must be https:// "
		         "(http:// only to a loopback host)", login);
		return NULL;
	}
	if (!field_name_ok(ext)) {
		snprintf(err, errlen, "'%.80s' is not a Salesforce field name", ext);
		return NULL;
	}
	if (!version_ok(ver)) {
		snprintf(err, errlen, "'%.40s' is not a Salesforce API version (like v62.0)", ver);
		return NULL;
	}

	s = xcalloc(1, sizeof *s);
	s->login_url = dup_trimmed_url(login);
	s->client_id = xstrdup(cfg->sf_client_id);
	s->ext_field = xstrdup(ext);
	s->api_version = xstrdup(ver);
	s->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
	if (jwt) {
		char kerr[200];
		s->jwt = jwt_key_load(cfg->sf_jwt_key, kerr, sizeof kerr);
		if (!s->jwt) {
			snprintf(err, errlen, "Salesforce: %s", kerr);
			sf_free(s);
			return NULL;
		}
		s->user = xstrdup(cfg->sf_user);
	} else {
		s->client_secret = xstrdup(cfg->sf_client_secret);
	}
	s->http = http_open(err, errlen);
	if (!s->http) {
		sf_free(s);
		return NULL;
	}
	return s;
}

void sf_close(void *h)
{
	sf_free(h);
}

int sf_api_usage(const void *h, long *used, long *max)
{
	const struct sf *s = h;
	if (!s || s->api_max <= 0)
		return 0;
	*used = s->api_used;
	*max = s->api_max;
	return 1;
}

/* ---- login ---- */

static void drop_token(struct sf *s)
{
	if (s->token) {
		OPENSSL_cleanse(s->token, strlen(s->token));
		free(s->token);
		s->token = NULL;
	}
}

/* Get a token (and the instance URL) from the token endpoint within
 * timeout_ms.  0, or -1 with res filled: DEAD for a refusal (the endpoint's
 * error_description), RETRY for no answer or a 5xx. */
static int sf_login(struct sf *s, int timeout_ms, struct crm_result *res)
{
	struct buf form = {0}, url = {0};
	struct http_response rs = {0};
	json_object *doc = NULL;
	int rc = -1;

	drop_token(s);
	buf_printf(&url, "%s/services/oauth2/token", s->login_url);
	if (s->jwt) {
		char jerr[200];
		/* the audience is the login host the assertion is sent to */
		char *assertion = jwt_assertion(s->jwt, s->client_id, s->user, s->login_url,
		                                clock_wall_ms() / 1000 + JWT_LIFETIME_S, jerr, sizeof jerr);
		if (!assertion) {
			fail(s, res, CRM_DEAD, 0, "Salesforce login: %s", jerr);
			goto out;
		}
		buf_adds(&form, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
		                "&assertion=");
		buf_adds(&form, assertion);   /* base64url and dots: nothing to escape */
		OPENSSL_cleanse(assertion, strlen(assertion));
		free(assertion);
	} else {
		char *id = http_escape(s->client_id), *secret = http_escape(s->client_secret);
		buf_printf(&form, "grant_type=client_credentials&client_id=%s&client_secret=%s", id,
		           secret);
		OPENSSL_cleanse(secret, strlen(secret));
		free(id);
		free(secret);
	}

	static const char *const headers[] = {
		"Content-Type: application/x-www-form-urlencoded", "Accept: application/json", NULL
	};
	struct http_request rq = {
		.method = "POST", .url = buf_str(&url), .headers = headers,
		.body = form.data, .body_len = form.len, .timeout_ms = timeout_ms,
		.max_body = TOKEN_MAX_BODY, .what = "Salesforce login",
	};
	int hrc = http_do(s->http, &rq, &rs);
	if (hrc != 0 || rs.status >= 500 || rs.status == 408 || rs.status == 429) {
		http_classify(&rq, &rs, hrc, res);
		if (hrc == 0) {
			struct buf m = {0};
			json_object *d = NULL;
			describe_errors(&m, &rs.body, &d);
			json_object_put(d);
			if (m.len)
				set_msg(s, res, "Salesforce login: HTTP %ld: %s", rs.status, buf_str(&m));
			buf_free(&m);
		} else {
			set_msg(s, res, "%s", res->message);
		}
		res->status = CRM_RETRY;
		goto out;
	}
	if (rs.status != 200) {
		struct buf m = {0};
		describe_errors(&m, &rs.body, &doc);
		fail(s, res, CRM_DEAD, (int)rs.status, "Salesforce login refused: HTTP %ld%s%s",
		     rs.status, m.len ? ": " : "", buf_str(&m));
		buf_free(&m);
		goto out;
	}
	doc = parse_json(&rs.body);
	const char *tok = jstr(doc, "access_token"), *inst = jstr(doc, "instance_url");
	if (!tok || !tok[0] || !inst || !inst[0]) {
		fail(s, res, CRM_RETRY, (int)rs.status,
		     "Salesforce login: the answer has no access_token or instance_url");
		goto out;
	}
	if (!url_ok(inst)) {
		fail(s, res, CRM_DEAD, (int)rs.status,
		     "Salesforce login: instance_url '%.100s' is not https://", inst);
		goto out;
	}
	s->token = xstrdup(tok);
	free(s->instance_url);
	s->instance_url = dup_trimmed_url(inst);
	rc = 0;

out:
	if (doc)
		json_object_put(doc);
	if (rs.body.data)
		OPENSSL_cleanse(rs.body.data, rs.body.len);   /* held the token */
	http_response_free(&rs);
	if (form.data)
		OPENSSL_cleanse(form.data, form.len);
	buf_free(&form);
	buf_free(&url);
	return rc;
}

/* ---- REST calls ---- */

/* Remember the org's API usage; when the answer says the 24-hour
 * allowance is used up, set res->pause_ms (SF_LIMIT_PARK_MS, as a 403
 * REQUEST_LIMIT_EXCEEDED would): the next call would be refused. */
static void read_limit_info(struct sf *s, const struct http_response *rs,
                            struct crm_result *res)
{
	const char *v = http_header(rs, "Sforce-Limit-Info");
	const char *p;
	long used, max;

	if (v && (p = strstr(v, "api-usage=")) != NULL &&
	    sscanf(p + 10, "%ld/%ld", &used, &max) == 2 && used >= 0 && max > 0) {
		s->api_used = used;
		s->api_max = max;
		if (used >= max && res->pause_ms < SF_LIMIT_PARK_MS) {
			res->pause_ms = SF_LIMIT_PARK_MS;
			snprintf(res->pause_why, sizeof res->pause_why,
			         "Sforce-Limit-Info: api-usage=%ld/%ld", used, max);
		}
	}
}

/* Remaining milliseconds before deadline (a CLOCK_MONOTONIC time; 0: no
 * deadline, the per-call timeout), capped by the per-call timeout; 0 when
 * the deadline has passed. */
static int budget(const struct sf *s, int64_t deadline)
{
	if (!deadline)
		return s->timeout_ms;
	int64_t left = deadline - clock_mono_ms();
	if (left <= 0)
		return 0;
	return left < s->timeout_ms ? (int)left : s->timeout_ms;
}

/* Send method path_or_url (a path under the instance, "/services/...")
 * with body (JSON) and extra headers; logs in first when needed and once
 * more on a 401.  Returns 0 with rs holding an answer (any status; the
 * caller judges it), -1 with res filled (no answer, login failed, or out
 * of time). */
static int sf_call(struct sf *s, const char *method, const char *path, const char *body,
                   const char *extra_header, int64_t deadline, const char *what,
                   struct http_response *rs, struct crm_result *res)
{
	for (int attempt = 0;; attempt++) {
		if (res->pause_ms > 0) {
			/* an earlier call of this task used up the org's allowance */
			fail(s, res, CRM_RETRY, 0, "%s: not sent, the org's API allowance is used "
			     "up (%s)", what, res->pause_why);
			res->retry_after_ms = res->pause_ms;
			return -1;
		}
		int t = budget(s, deadline);
		if (t <= 0) {
			fail(s, res, CRM_RETRY, 0, "%s: no time left", what);
			return -1;
		}
		if (!s->token && sf_login(s, t, res) != 0)
			return -1;
		t = budget(s, deadline);
		if (t <= 0) {
			fail(s, res, CRM_RETRY, 0, "%s: no time left after logging in", what);
			return -1;
		}

		struct buf url = {0}, auth = {0};
		buf_printf(&url, "%s%s", s->instance_url, path);
		buf_printf(&auth, "Authorization: Bearer %s", s->token);
		const char *headers[5];
		size_t nh = 0;
		headers[nh++] = auth.data;
		headers[nh++] = "Accept: application/json";
		if (body)
			headers[nh++] = "Content-Type: application/json";
		if (extra_header)
			headers[nh++] = extra_header;
		headers[nh] = NULL;
		struct http_request rq = {
			.method = method, .url = url.data, .headers = headers, .body = body,
			.body_len = body ? strlen(body) : 0, .timeout_ms = t, .what = what,
		};
		int hrc = http_do(s->http, &rq, rs);
		OPENSSL_cleanse(auth.data, auth.len);
		buf_free(&auth);
		if (hrc != 0) {
			http_classify(&rq, rs, hrc, res);
			set_msg(s, res, "%s", res->message);
			buf_free(&url);
			return -1;
		}
		buf_free(&url);
		read_limit_info(s, rs, res);
		if (rs->status != 401)
			return 0;
		/* the session expired or was revoked: one new login, one retry */
		drop_token(s);
		if (attempt > 0)
			return 0;
	}
}

/* The verdict on an answer that is not the success the caller wanted:
 * RETRY for 5xx, 408, 429 and the daily API cap, DEAD for the rest, with
 * Salesforce's errorCode and message. */
static void sf_verdict(struct sf *s, const char *what, const struct http_response *rs,
                       struct crm_result *res)
{
	struct buf m = {0};
	json_object *doc = NULL;
	const char *code = describe_errors(&m, &rs->body, &doc);
	long st = rs->status;

	res->http_status = (int)st;
	res->retry_after_ms = 0;
	if (st == 403 && code && strcmp(code, "REQUEST_LIMIT_EXCEEDED") == 0) {
		res->status = CRM_RETRY;
		res->retry_after_ms = SF_LIMIT_PARK_MS;
		set_msg(s, res, "%s: HTTP 403 %s (parked for an hour)", what, buf_str(&m));
	} else if (st >= 500 || st == 408 || st == 429) {
		res->status = CRM_RETRY;
		if (rs->retry_after_ms > 0)
			res->retry_after_ms = rs->retry_after_ms;
		set_msg(s, res, "%s: HTTP %ld%s%s", what, st, m.len ? " " : "", buf_str(&m));
	} else if (st == 401) {
		res->status = CRM_DEAD;
		set_msg(s, res, "%s: HTTP 401 after logging in again%s%s", what, m.len ? ": " : "",
		        buf_str(&m));
	} else if (st == 300) {
		res->status = CRM_DEAD;
		set_msg(s, res, "%s: HTTP 300: several Leads have this %s; "
		        "the external id field must be unique", what, s->ext_field);
	} else {
		res->status = CRM_DEAD;
		set_msg(s, res, "%s: HTTP %ld%s%s", what, st, m.len ? " " : "", buf_str(&m));
	}
	if (doc)
		json_object_put(doc);
	buf_free(&m);
}

/* ---- SOQL ---- */

/* Append s as the inside of a SOQL string literal; like: also escape the
 * LIKE wildcards. */
static void soql_escape(struct buf *b, const char *s, bool like)
{
	for (; *s; s++) {
		switch (*s) {
		case '\\': buf_adds(b, "\\\\"); break;
		case '\'': buf_adds(b, "\\'"); break;
		case '"': buf_adds(b, "\\\""); break;
		case '\n': buf_adds(b, "\\n"); break;
		case '\r': buf_adds(b, "\\r"); break;
		case '\t': buf_adds(b, "\\t"); break;
		case '%':
		case '_':
			if (like)
				buf_addc(b, '\\');
			buf_addc(b, *s);
			break;
		default:
			if ((unsigned char)*s >= 0x20)
				buf_addc(b, *s);
		}
	}
}

/* GET query?q=<soql> (next: a nextRecordsUrl path instead); 0, *doc (the
 * caller frees) and *recs (its "records" array, borrowed) on a 200 with a
 * query result, -1 with res filled. */
static int sf_query(struct sf *s, const char *soql, const char *next, int64_t deadline,
                    const char *what, json_object **doc, json_object **recs,
                    struct crm_result *res)
{
	struct buf path = {0};
	struct http_response rs = {0};
	int rc = -1;

	*doc = NULL;
	if (next) {
		buf_adds(&path, next);
	} else {
		char *q = http_escape(soql);
		buf_printf(&path, "/services/data/%s/query?q=%s", s->api_version, q);
		free(q);
	}
	if (sf_call(s, "GET", path.data, NULL, NULL, deadline, what, &rs, res) != 0)
		goto out;
	if (rs.status != 200) {
		sf_verdict(s, what, &rs, res);
		goto out;
	}
	*doc = parse_json(&rs.body);
	if (!*doc || !json_object_object_get_ex(*doc, "records", recs) ||
	    !json_object_is_type(*recs, json_type_array)) {
		if (*doc)
			json_object_put(*doc);
		*doc = NULL;
		fail(s, res, CRM_RETRY, 200, "%s: the answer is not a query result", what);
		goto out;
	}
	res->status = CRM_DONE;
	res->http_status = 200;
	rc = 0;
out:
	http_response_free(&rs);
	buf_free(&path);
	return rc;
}

/* The host of a Website value, lower case, without scheme, user, port,
 * path, trailing dots and a leading "www."; written to out (size n). */
static void website_host(const char *w, char *out, size_t n)
{
	const char *p = w, *e;

	while (isspace((unsigned char)*p))
		p++;
	const char *sch = strstr(p, "://");
	if (sch && (size_t)(sch - p) < 16)
		p = sch + 3;
	size_t hl = strcspn(p, "/?# \t");
	const char *at = memchr(p, '@', hl);
	if (at) {
		hl -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	e = memchr(p, ':', hl);
	if (e)
		hl = (size_t)(e - p);
	while (hl && p[hl - 1] == '.')
		hl--;
	if (hl >= 4 && strncasecmp(p, "www.", 4) == 0) {
		p += 4;
		hl -= 4;
	}
	if (hl >= n)
		hl = 0;
	for (size_t i = 0; i < hl; i++)
		out[i] = (char)tolower((unsigned char)p[i]);
	out[hl] = '\0';
}

/* "2024-05-06T07:08:09.000+0000" (or ...Z, ...+00:00) as ms; -1 if not. */
static int64_t parse_modstamp(const char *t)
{
	struct tm tm = {0};
	int ms = 0, n = 0;
	char rest[16] = "";

	if (!t || sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	                 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -1;
	t += n;
	if (*t == '.') {
		int digits = 0;
		for (t++; isdigit((unsigned char)*t); t++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*t - '0');
		for (; digits < 3; digits++)
			ms *= 10;
	}
	long off = 0;
	if (*t == 'Z') {
		t++;
	} else if (*t == '+' || *t == '-') {
		int hh = 0, mm = 0;
		if (sscanf(t + 1, "%2d%*[:]%2d", &hh, &mm) != 2 && sscanf(t + 1, "%2d%2d", &hh, &mm) != 2)
			return -1;
		off = (hh * 60L + mm) * 60 * (*t == '-' ? -1 : 1);
		t += strlen(t);
	}
	if (sscanf(t, "%15s", rest) == 1)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t secs = timegm(&tm);
	if (secs == (time_t)-1)
		return -1;
	return ((int64_t)secs - off) * 1000 + ms;
}

static void copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

/* An Account record to crm_account; false when it has no usable Website. */
static bool account_from(json_object *rec, struct crm_account *a)
{
	json_object *owner;
	char host[256];

	memset(a, 0, sizeof *a);
	const char *web = jstr(rec, "Website");
	if (!web)
		return false;
	website_host(web, host, sizeof host);
	if (!host[0])
		return false;
	copy_str(a->domain, sizeof a->domain, host);
	copy_str(a->id, sizeof a->id, jstr(rec, "Id"));
	if (json_object_object_get_ex(rec, "Owner", &owner))
		copy_str(a->owner, sizeof a->owner, jstr(owner, "Email"));
	copy_str(a->lifecycle, sizeof a->lifecycle, jstr(rec, "Type"));
	const char *ms = jstr(rec, "SystemModstamp");
	a->modified_ms = ms ? parse_modstamp(ms) : -1;
	if (a->modified_ms < 0)
		a->modified_ms = 0;
	for (char *c = a->owner; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return a->id[0] != '\0';
}

int sf_lookup_account(void *h, const char *domain, int timeout_ms, struct crm_account *out,
                      struct crm_result *res)
{
	struct sf *s = h;
	struct buf q = {0};
	json_object *doc = NULL, *recs = NULL;
	char want[256];
	int rc = -1;

	result_init(res);
	memset(out, 0, sizeof *out);
	if (!domain || !domain[0] || strlen(domain) >= sizeof want) {
		fail(s, res, CRM_DEAD, 0, "Salesforce account lookup: no domain");
		return -1;
	}
	website_host(domain, want, sizeof want);
	if (!want[0]) {
		fail(s, res, CRM_DEAD, 0, "Salesforce account lookup: '%.100s' is not a domain", domain);
		return -1;
	}
	int64_t deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : s->timeout_ms);

	buf_adds(&q, "SELECT Id, Name, Website, Type, Owner.Email, SystemModstamp FROM Account "
	             "WHERE Website LIKE '%");
	soql_escape(&q, want, true);
	buf_printf(&q, "%%' ORDER BY LastModifiedDate DESC LIMIT %d", LOOKUP_LIMIT);
	if (sf_query(s, q.data, NULL, deadline, "Salesforce account lookup", &doc, &recs, res) != 0)
		goto out;
	rc = 0;
	for (size_t i = 0; i < json_object_array_length(recs); i++) {
		struct crm_account a;
		if (account_from(json_object_array_get_idx(recs, i), &a) &&
		    strcmp(a.domain, want) == 0) {
			*out = a;
			rc = 1;
			break;
		}
	}
out:
	if (doc)
		json_object_put(doc);
	buf_free(&q);
	return rc;
}

long sf_sync_accounts(void *h, int64_t since_ms, crm_account_fn fn, void *ctx,
                      struct crm_result *res)
{
	struct sf *s = h;
	struct buf q = {0};
	char *next = NULL;
	long seen = 0;
	char when[32];
	struct tm tm;

	result_init(res);
	if (since_ms < 0)
		since_ms = 0;
	time_t secs = (time_t)(since_ms / 1000);   /* floor: ">=" keeps every ms after it */
	if (!gmtime_r(&secs, &tm) || strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		fail(s, res, CRM_DEAD, 0, "Salesforce accounts sync: bad time %lld",
		     (long long)since_ms);
		return -1;
	}
	buf_printf(&q, "SELECT Id, Name, Website, Type, Owner.Email, SystemModstamp FROM Account "
	               "WHERE SystemModstamp >= %s ORDER BY SystemModstamp", when);

	for (int page = 0;; page++) {
		json_object *doc = NULL, *recs = NULL, *v;
		if (page >= SYNC_MAX_PAGES) {
			fail(s, res, CRM_DEAD, 200, "Salesforce accounts sync: more than %d pages",
			     SYNC_MAX_PAGES);
			seen = -1;
			break;
		}
		if (sf_query(s, q.data, next, 0, "Salesforce accounts sync", &doc, &recs, res) != 0) {
			seen = -1;
			break;
		}
		bool stop = false;
		for (size_t i = 0; i < json_object_array_length(recs) && !stop; i++) {
			struct crm_account a;
			/* the SOQL literal has whole seconds: drop what precedes since_ms */
			if (!account_from(json_object_array_get_idx(recs, i), &a) ||
			    (a.modified_ms > 0 && a.modified_ms < since_ms))
				continue;
			seen++;
			stop = fn(ctx, &a) != 0;
		}
		bool done = !json_object_object_get_ex(doc, "done", &v) || json_object_get_boolean(v);
		const char *nu = jstr(doc, "nextRecordsUrl");
		free(next);
		next = NULL;
		if (!stop && !done && nu) {
			/* never send the token anywhere but the instance's data API */
			if (strncmp(nu, "/services/data/", 15) != 0) {
				fail(s, res, CRM_DEAD, 200,
				     "Salesforce accounts sync: nextRecordsUrl '%.100s' is not a data API path",
				     nu);
				json_object_put(doc);
				seen = -1;
				break;
			}
			next = xstrdup(nu);
		}
		json_object_put(doc);
		if (!next)
			break;
	}
	free(next);
	buf_free(&q);
	if (seen >= 0) {
		res->status = CRM_DONE;
		res->message[0] = '\0';
	}
	return seen;
}

/* ---- owners ---- */

/* Drop email's cached User Id (it was refused as an owner, or is old). */
static void forget_owner(struct sf *s, const char *email)
{
	for (size_t i = 0; i < s->n_users; i++) {
		if (strcasecmp(s->users[i].email, email) != 0)
			continue;
		free(s->users[i].email);
		free(s->users[i].id);
		s->users[i] = s->users[--s->n_users];
		return;
	}
}

/* The Id of the active User with this email (cached): 1 and id, 0 when
 * there is none (res says so, DEAD), -1 with res filled. */
static int owner_id(struct sf *s, const char *email, char *id, size_t idlen,
                    struct crm_result *res)
{
	char key[256];
	struct buf q = {0};
	json_object *doc = NULL, *recs = NULL;
	int rc = -1;

	if (strlen(email) >= sizeof key) {
		fail(s, res, CRM_DEAD, 0, "Salesforce owner: the email is too long");
		return -1;
	}
	size_t kn = 0;
	for (; email[kn]; kn++)
		key[kn] = (char)tolower((unsigned char)email[kn]);
	key[kn] = '\0';
	for (size_t i = 0; i < s->n_users; i++)
		if (strcmp(s->users[i].email, key) == 0) {
			if (clock_mono_ms() - s->users[i].at_ms < USER_CACHE_TTL_MS) {
				copy_str(id, idlen, s->users[i].id);
				return 1;
			}
			forget_owner(s, key);
			break;
		}

	buf_adds(&q, "SELECT Id, Email FROM User WHERE Email = '");
	soql_escape(&q, key, false);
	buf_adds(&q, "' AND IsActive = true ORDER BY CreatedDate LIMIT 1");
	if (sf_query(s, q.data, NULL, 0, "Salesforce owner lookup", &doc, &recs, res) != 0)
		goto out;
	const char *uid = json_object_array_length(recs) > 0
	                  ? jstr(json_object_array_get_idx(recs, 0), "Id") : NULL;
	if (!uid || !uid[0]) {
		fail(s, res, CRM_DEAD, 200, "Salesforce owner: no active User has the email '%.200s'",
		     key);
		rc = 0;
		goto out;
	}
	if (s->n_users >= USER_CACHE_MAX) {
		for (size_t i = 0; i < s->n_users; i++) {
			free(s->users[i].email);
			free(s->users[i].id);
		}
		s->n_users = 0;
	}
	s->users = xgrow(s->users, &s->cap_users, s->n_users + 1, sizeof *s->users);
	s->users[s->n_users].email = xstrdup(key);
	s->users[s->n_users].id = xstrdup(uid);
	s->users[s->n_users].at_ms = clock_mono_ms();
	s->n_users++;
	copy_str(id, idlen, uid);
	rc = 1;
out:
	if (doc)
		json_object_put(doc);
	buf_free(&q);
	return rc;
}

/* ---- leads ---- */

/* Append "Name": s (at most max characters, cut on a UTF-8 boundary) to
 * the object being built in b. */
static void add_field(struct buf *b, const char *name, const char *s, size_t max)
{
	size_t chars = 0, i = 0;

	if (!s || !s[0])
		return;
	for (; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (chars == max)
				break;
			chars++;
		}
	}
	char *cut = xstrndup(s, i);
	buf_printf(b, "%s\"%s\":", b->len > 1 ? "," : "", name);
	buf_add_json_str(b, cut);
	free(cut);
}

/* Append "Name": n when s is a plain non-negative number (digits, one
 * optional point). */
static void add_number(struct buf *b, const char *name, const char *s, bool integer)
{
	int dots = 0, digits = 0;

	if (!s)
		return;
	for (const char *p = s; *p; p++) {
		if (isdigit((unsigned char)*p))
			digits++;
		else if (*p == '.' && !integer && dots == 0)
			dots++;
		else
			return;
	}
	if (!digits || strlen(s) > 15)
		return;
	buf_printf(b, "%s\"%s\":%s", b->len > 1 ? "," : "", name, s);
}

/* The Lead's fields as a JSON object: the submission's fields under
 * their standard names, LastName and Company always (derived when the
 * buyer did not give them), OwnerId when there is one. */
static void lead_body(const struct crm_lead *l, const char *owner, struct buf *body)
{
	static const struct { const char *field, *name; size_t max; } text[] = {
		{ "first_name", "FirstName", 40 }, { "phone", "Phone", 40 },
		{ "title", "Title", 128 }, { "website", "Website", 255 },
		{ "country", "Country", 80 }, { "message", "Description", 32000 },
	};
	const char *at = l->email ? strchr(l->email, '@') : NULL;
	char *v, *domain = NULL;

	buf_addc(body, '{');
	/* LastName and Company are required: derive them rather than refuse */
	if ((v = crm_lead_field(l, "last_name")) != NULL) {
		add_field(body, "LastName", v, 80);
	} else if (at && at != l->email) {
		char *local = xstrndup(l->email, (size_t)(at - l->email));
		add_field(body, "LastName", local, 80);
		free(local);
	} else {
		add_field(body, "LastName", "[not provided]", 80);
	}
	free(v);
	if (!l->domain || !l->domain[0])
		domain = crm_lead_field(l, "domain");
	if ((v = crm_lead_field(l, "company")) != NULL)
		add_field(body, "Company", v, 255);
	else if (l->domain && l->domain[0])
		add_field(body, "Company", l->domain, 255);
	else if (domain)
		add_field(body, "Company", domain, 255);
	else if (at && at[1])
		add_field(body, "Company", at + 1, 255);
	else
		add_field(body, "Company", "[not provided]", 255);
	free(v);
	free(domain);

	if (l->email && strlen(l->email) <= 80)
		add_field(body, "Email", l->email, 80);
	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
		v = crm_lead_field(l, text[i].field);
		add_field(body, text[i].name, v, text[i].max);
		free(v);
	}
	v = crm_lead_field(l, "employees");
	add_number(body, "NumberOfEmployees", v, true);
	free(v);
	v = crm_lead_field(l, "revenue");
	add_number(body, "AnnualRevenue", v, false);
	free(v);
	add_field(body, "LeadSource", "Web", 40);
	if (owner && owner[0])
		add_field(body, "OwnerId", owner, 18);
	buf_addc(body, '}');
}

/* An upsert answered 204 (API versions before 46.0: updated, no body):
 * ask for the record's Id by the same external id.  Leaves record_id
 * empty when that fails; the lead is written either way. */
static void record_id_by_ext(struct sf *s, const char *upsert_path, struct crm_result *res)
{
	struct http_response rs = {0};
	struct crm_result ignore;
	struct buf path = {0};

	result_init(&ignore);
	ignore.pause_ms = res->pause_ms;
	memcpy(ignore.pause_why, res->pause_why, sizeof ignore.pause_why);
	buf_printf(&path, "%s?fields=Id", upsert_path);
	int rc = sf_call(s, "GET", path.data, NULL, NULL, 0, "Salesforce lead id", &rs, &ignore);
	res->pause_ms = ignore.pause_ms;
	memcpy(res->pause_why, ignore.pause_why, sizeof res->pause_why);
	if (rc == 0 && rs.status == 200) {
		json_object *doc = parse_json(&rs.body);
		copy_str(res->record_id, sizeof res->record_id, jstr(doc, "Id"));
		if (doc)
			json_object_put(doc);
	}
	http_response_free(&rs);
	buf_free(&path);
}

int sf_deliver(void *h, const char *payload, struct crm_result *res)
{
	struct sf *s = h;
	struct crm_lead l;
	struct buf body = {0}, path = {0};
	struct http_response rs = {0};
	char owner[64] = "", perr[200];
	int rc = -1;

	result_init(res);
	if (crm_lead_parse(payload, &l, perr, sizeof perr) != 0) {
		fail(s, res, CRM_DEAD, 0, "Salesforce lead: %s", perr);
		return -1;
	}
	if (l.owner && l.owner[0] && owner_id(s, l.owner, owner, sizeof owner, res) != 1)
		goto out;
	lead_body(&l, owner, &body);

	char *ext = http_escape(l.lead_id);
	buf_printf(&path, "/services/data/%s/sobjects/Lead/%s/%s", s->api_version, s->ext_field, ext);
	free(ext);
	if (sf_call(s, "PATCH", path.data, body.data, "Sforce-Auto-Assign: FALSE", 0,
	            "Salesforce lead upsert", &rs, res) != 0)
		goto out;
	if (rs.status == 200 || rs.status == 201 || rs.status == 204) {
		json_object *doc = parse_json(&rs.body);
		res->status = CRM_DONE;
		res->http_status = (int)rs.status;
		res->retry_after_ms = 0;
		res->message[0] = '\0';
		copy_str(res->record_id, sizeof res->record_id, jstr(doc, "id"));
		if (doc)
			json_object_put(doc);
		if (!res->record_id[0])
			record_id_by_ext(s, path.data, res);
		rc = 0;
	} else {
		sf_verdict(s, "Salesforce lead upsert", &rs, res);
		/* an owner deactivated or deleted since it was cached: ask again
		 * next time rather than repeat the cached id */
		if (owner[0] && (strstr(res->message, "INACTIVE_OWNER_OR_USER") ||
		                 strstr(res->message, "OwnerId")))
			forget_owner(s, l.owner);
	}
out:
	http_response_free(&rs);
	buf_free(&body);
	buf_free(&path);
	crm_lead_free(&l);
	return rc;
}
