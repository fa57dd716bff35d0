/* hubspot - leads to HubSpot contacts (upsert by email, owner by member
 * email, association with the company), companies to accounts (lookup,
 * sync); the contract is in hubspot.h.
 * Must never put the token (or the Authorization header) in a message,
 * never create a contact except through the upsert keyed on email, and
 * never trust a field of HubSpot's answers to exist or have a type.
 */
#include "config.h"   /* _GNU_SOURCE: strcasestr, timegm */

#include "crm/hubspot.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "crm/http.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/xalloc.h"

#define PAGE 100                       /* search results per page (HubSpot allows 200) */
#define LOOKUP_LIMIT 10
#define OWNER_RELIST_MS (60 * 1000)    /* list all owners at most this often */
#define MAX_OWNERS 10000               /* cached owners, a bound on memory */
#define TEN_SECONDLY_MS 10000
#define SECONDLY_MS 1000
#define DAILY_PARK_MS (3600 * INT64_C(1000))

struct owner {
	char *email, *id;
	int64_t at_ms;                 /* when HubSpot said so */
};

struct hubspot {
	struct http *http;
	char *base;                    /* no trailing slash */
	char *auth;                    /* the Authorization header line */
	char *lead_property;           /* NULL: none */
	int timeout_ms;
	struct owner *owners;
	size_t n_owners, cap_owners;
	int64_t owners_listed_ms;      /* the last full listing (id -> email); 0: never */
	struct http_response rs;       /* reused by every call */
};

static const char *const COMPANY_PROPS =
	"[\"domain\",\"name\",\"hubspot_owner_id\",\"lifecyclestage\","
	"\"hs_ideal_customer_profile\",\"hs_lastmodifieddate\"]";

/* ---- time ---- */

/* "2024-05-06T07:08:09.012Z" (or with an offset), or milliseconds as
 * digits; -1 when neither. */
static int64_t parse_time_ms(const char *s)
{
	if (!s || !*s)
		return -1;
	size_t n = strlen(s);
	if (strspn(s, "0123456789") == n && n <= 15)
		return strtoll(s, NULL, 10);
	int y, mo, d, h, mi, sec, used = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 ||
	    used == 0)
		return -1;
	const char *p = s + used;
	int64_t frac = 0;
	if (*p == '.') {
		int digits = 0;
		for (p++; isdigit((unsigned char)*p); p++, digits++)
			if (digits < 3)
				frac = frac * 10 + (*p - '0');
		for (; digits < 3; digits++)
			frac *= 10;
	}
	int64_t off = 0;
	if (*p == '+' || *p == '-') {
		int oh = 0, om = 0;
		if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
			return -1;
		off = (int64_t)(oh * 60 + om) * 60 * 1000 * (*p == '-' ? -1 : 1);
	} else if (*p != 'Z' && *p != '\0') {
		return -1;
	}
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
	                 .tm_hour = h, .tm_min = mi, .tm_sec = sec };
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	return (int64_t)t * 1000 + frac - off;
}

/* ---- JSON ---- */

static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static const char *str_of(struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static struct json_object *array_of(struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key);
	return v && json_object_is_type(v, json_type_array) ? v : NULL;
}

/* ---- setup ---- */

struct hubspot *hubspot_open(const struct crm_config *cfg, char *err, size_t errlen)
{
	const char *base = cfg->hubspot_url && *cfg->hubspot_url ? cfg->hubspot_url
	                                                         : HUBSPOT_DEFAULT_URL;
	const char *tok = cfg->hubspot_token;

	if (!tok || !*tok) {
		snprintf(err, errlen, "hubspot: the private-app token is not set");
		return NULL;
	}
	for (const char *p = tok; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			snprintf(err, errlen, "hubspot: the private-app token holds a space or a "
			         "control character");
			return NULL;
		}
	if (strncasecmp(base, "http://", 7) != 0 && strncasecmp(base, "https://", 8) != 0) {
		snprintf(err, errlen, "hubspot: the base URL '%.100s' is not http(s)", base);
		return NULL;
	}
	const char *prop = cfg->hubspot_lead_property ? cfg->hubspot_lead_property
	                                              : HUBSPOT_DEFAULT_LEAD_PROPERTY;
	for (const char *p = prop; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_')) {
			snprintf(err, errlen, "hubspot: the lead id property '%.64s' is not a "
			         "HubSpot property name (letters, digits, _)", prop);
			return NULL;
		}
	struct http *http = http_open(err, errlen);
	if (!http)
		return NULL;

	struct hubspot *h = xcalloc(1, sizeof *h);
	h->http = http;
	size_t n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	h->base = xstrndup(base, n);
	struct buf b = { 0 };
	buf_printf(&b, "Authorization: Bearer %s", tok);
	h->auth = buf_take(&b);
	h->lead_property = *prop ? xstrdup(prop) : NULL;
	h->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
	h->rs.retry_after_ms = -1;
	return h;
}

static void owners_free(struct hubspot *h)
{
	for (size_t i = 0; i < h->n_owners; i++) {
		free(h->owners[i].email);
		free(h->owners[i].id);
	}
	free(h->owners);
	h->owners = NULL;
	h->n_owners = h->cap_owners = 0;
}

void hubspot_close(struct hubspot *h)
{
	if (!h)
		return;
	http_close(h->http);
	http_response_free(&h->rs);
	free(h->base);
	if (h->auth) {
		memset(h->auth, 0, strlen(h->auth));
		free(h->auth);
	}
	free(h->lead_property);
	owners_free(h);
	free(h);
}

/* ---- one call ---- */

/* Printable start of a body that is not HubSpot's JSON (a proxy's page). */
static void snippet(const struct buf *b, char *out, size_t size)
{
	size_t j = 0;
	for (size_t i = 0; i < b->len && j + 1 < size && j < 100; i++) {
		unsigned char c = (unsigned char)b->data[i];
		out[j++] = c >= ' ' && c < 0x7f ? (char)c : ' ';
	}
	out[j] = '\0';
}

/* A header's value as a count: -1 when absent or not digits only. */
static long long header_count(const struct http_response *rs, const char *name)
{
	const char *v = http_header(rs, name);
	size_t n = v ? strlen(v) : 0;
	if (n == 0 || n > 15 || strspn(v, "0123456789") != n)
		return -1;
	return strtoll(v, NULL, 10);
}

/* Read the budget headers of any answer into res->pause_ms: nothing left
 * in the rolling window pauses for the window; nothing left today, for
 * DAILY_PARK_MS (the day ends at midnight in the account's time zone,
 * which the answer does not say). */
static void note_budget(const struct http_response *rs, struct crm_result *res)
{
	long long win = header_count(rs, "X-HubSpot-RateLimit-Interval-Milliseconds");
	if (header_count(rs, "X-HubSpot-RateLimit-Daily-Remaining") == 0 &&
	    res->pause_ms < DAILY_PARK_MS) {
		res->pause_ms = DAILY_PARK_MS;
		snprintf(res->pause_why, sizeof res->pause_why,
		         "X-HubSpot-RateLimit-Daily-Remaining: 0");
	} else if (header_count(rs, "X-HubSpot-RateLimit-Remaining") == 0 && win > 0 &&
	           win <= 3600 * 1000 && res->pause_ms < win) {
		res->pause_ms = win;
		snprintf(res->pause_why, sizeof res->pause_why, "X-HubSpot-RateLimit-Remaining: 0 "
		         "in a %lld ms window", win);
	}
}

/* The wait a 429 asks for: Retry-After (http_classify took it), else the
 * official SDK's rules on the body, else the window HubSpot's headers
 * name when nothing is left in it. */
static int64_t rate_wait_ms(const struct http_response *rs, struct json_object *err,
                            const char **why)
{
	const char *policy = str_of(err, "policyName");
	const char *msg = str_of(err, "message");

	if (rs->retry_after_ms >= 0) {
		*why = "Retry-After";
		return rs->retry_after_ms;
	}
	if (policy && strcmp(policy, "TEN_SECONDLY_ROLLING") == 0) {
		*why = "TEN_SECONDLY_ROLLING";
		return TEN_SECONDLY_MS;
	}
	if (msg && strcasestr(msg, "secondly limit")) {
		*why = "secondly limit";
		return SECONDLY_MS;
	}
	if (policy && strcmp(policy, "DAILY") == 0) {
		*why = "DAILY";
		return DAILY_PARK_MS;
	}
	long long win = header_count(rs, "X-HubSpot-RateLimit-Interval-Milliseconds");
	if (header_count(rs, "X-HubSpot-RateLimit-Remaining") == 0 && win > 0 &&
	    win <= 3600 * 1000) {
		*why = "X-HubSpot-RateLimit-Interval-Milliseconds";
		return win;
	}
	*why = "no hint";
	return 0;
}

/* Put HubSpot's own words into a failed call's result. */
static void explain(const struct http_request *rq, const struct http_response *rs,
                    struct crm_result *res)
{
	if (res->http_status == 0)
		return;   /* no answer: the transport message stands */

	struct json_object *err = NULL;
	if (rs->body.len > 0)
		err = json_tokener_parse(rs->body.data);
	if (err && !json_object_is_type(err, json_type_object)) {
		json_object_put(err);
		err = NULL;
	}
	const char *msg = str_of(err, "message"), *cat = str_of(err, "category");
	const char *corr = str_of(err, "correlationId");
	struct json_object *errs = array_of(err, "errors");
	const char *detail = NULL;
	if (errs && json_object_array_length(errs) > 0)
		detail = str_of(json_object_array_get_idx(errs, 0), "message");
	if (detail && msg && strstr(msg, detail))
		detail = NULL;
	char body[128] = "";
	if (!err)
		snippet(&rs->body, body, sizeof body);

	struct buf b = { 0 };
	if (res->http_status == 401) {
		buf_printf(&b, "ALERT: HubSpot refused the private-app token (%s, HTTP 401%s%s): "
		           "it was revoked, rotated or mistyped; put a valid token in the "
		           "settings and revive the dead letters", rq->what, cat ? " " : "",
		           cat ? cat : "");
	} else if (res->http_status == 429) {
		const char *why = "";
		res->retry_after_ms = rate_wait_ms(rs, err, &why);
		buf_printf(&b, "%s: HubSpot rate limit (HTTP 429%s%s): wait %lld ms (%s)", rq->what,
		           cat ? " " : "", cat ? cat : "", (long long)res->retry_after_ms, why);
	} else {
		buf_printf(&b, "%s: HTTP %d%s%s", rq->what, res->http_status, cat ? " " : "",
		           cat ? cat : "");
	}
	if (msg)
		buf_printf(&b, ": %s", msg);
	if (detail)
		buf_printf(&b, " (%s)", detail);
	if (body[0])
		buf_printf(&b, ": %s", body);
	if (corr)
		buf_printf(&b, " [correlationId %s]", corr);
	snprintf(res->message, sizeof res->message, "%s", buf_str(&b));
	buf_free(&b);
	if (err)
		json_object_put(err);
}

/* One call to HubSpot at path (which starts with '/').  0 when it answered
 * 2xx, with *out the parsed body (NULL when empty; caller puts it); -1
 * with res filled otherwise. */
static int call(struct hubspot *h, const char *method, const char *path, const char *body,
                int timeout_ms, const char *what, struct crm_result *res,
                struct json_object **out)
{
	struct buf url = { 0 };
	const char *headers[4];
	size_t nh = 0;

	*out = NULL;
	buf_adds(&url, h->base);
	buf_adds(&url, path);
	headers[nh++] = h->auth;
	headers[nh++] = "Accept: application/json";
	if (body)
		headers[nh++] = "Content-Type: application/json";
	headers[nh] = NULL;
	struct http_request rq = {
		.method = method, .url = buf_str(&url), .headers = headers, .body = body,
		.body_len = body ? strlen(body) : 0, .timeout_ms = timeout_ms, .what = what,
	};
	if (res->pause_ms > 0) {
		/* an earlier call of this task spent the budget: a call now would
		 * only earn a 429 */
		res->status = CRM_RETRY;
		res->retry_after_ms = res->pause_ms;
		snprintf(res->message, sizeof res->message, "%s: not sent, HubSpot's rate limit "
		         "is spent (%s)", what, res->pause_why);
		buf_free(&url);
		return -1;
	}
	int rc = http_do(h->http, &rq, &h->rs);
	if (rc == 0)
		note_budget(&h->rs, res);
	enum crm_status st = http_classify(&rq, &h->rs, rc, res);
	if (st != CRM_DONE) {
		explain(&rq, &h->rs, res);
		buf_free(&url);
		return -1;
	}
	buf_free(&url);
	if (h->rs.body.len == 0)
		return 0;
	enum json_tokener_error jerr = json_tokener_success;
	struct json_object *o = json_tokener_parse_verbose(h->rs.body.data, &jerr);
	if (!o || !json_object_is_type(o, json_type_object)) {
		if (o)
			json_object_put(o);
		res->status = CRM_RETRY;
		snprintf(res->message, sizeof res->message,
		         "%s: HTTP %d but the answer is not a JSON object (%s)", what,
		         res->http_status, o ? "another JSON value" : json_tokener_error_desc(jerr));
		return -1;
	}
	*out = o;
	return 0;
}

/* ---- owners ---- */

static void owner_put(struct hubspot *h, const char *email, const char *id, int64_t now)
{
	for (size_t i = 0; i < h->n_owners; i++)
		if (strcasecmp(h->owners[i].email, email) == 0) {
			free(h->owners[i].id);
			h->owners[i].id = xstrdup(id);
			h->owners[i].at_ms = now;
			return;
		}
	if (h->n_owners >= MAX_OWNERS)
		return;
	h->owners = xgrow(h->owners, &h->cap_owners, h->n_owners + 1, sizeof *h->owners);
	h->owners[h->n_owners++] = (struct owner){ xstrdup(email), xstrdup(id), now };
}

static const struct owner *owner_by_email(const struct hubspot *h, const char *email, int64_t now)
{
	for (size_t i = 0; i < h->n_owners; i++)
		if (strcasecmp(h->owners[i].email, email) == 0 &&
		    now - h->owners[i].at_ms < HUBSPOT_OWNER_TTL_MS)
			return &h->owners[i];
	return NULL;
}

static const struct owner *owner_by_id(const struct hubspot *h, const char *id, int64_t now)
{
	for (size_t i = 0; i < h->n_owners; i++)
		if (strcmp(h->owners[i].id, id) == 0 && now - h->owners[i].at_ms < HUBSPOT_OWNER_TTL_MS)
			return &h->owners[i];
	return NULL;
}

/* Cache every owner of one page of GET /crm/v3/owners/; returns how many
 * matched email (NULL: count none) and fills id with the first. */
static int owners_take(struct hubspot *h, struct json_object *page, const char *email,
                       char *id, size_t idlen, int64_t now)
{
	struct json_object *results = array_of(page, "results");
	int found = 0;
	for (size_t i = 0; results && i < json_object_array_length(results); i++) {
		struct json_object *o = json_object_array_get_idx(results, i);
		const char *oe = str_of(o, "email"), *oid = str_of(o, "id");
		if (!oe || !*oe || !oid || !*oid)
			continue;
		owner_put(h, oe, oid, now);
		if (email && strcasecmp(oe, email) == 0 && found++ == 0)
			snprintf(id, idlen, "%s", oid);
	}
	return found;
}

/* The owner id of the member with this email: 1 and id filled, 0 when
 * HubSpot has no such (active) owner, -1 with res filled. */
static int owner_id(struct hubspot *h, const char *email, char *id, size_t idlen, int timeout_ms,
                    struct crm_result *res)
{
	int64_t now = clock_wall_ms();
	const struct owner *o = owner_by_email(h, email, now);
	if (o) {
		snprintf(id, idlen, "%s", o->id);
		return 1;
	}
	char *esc = http_escape(email);
	struct buf path = { 0 };
	buf_printf(&path, "/crm/v3/owners/?email=%s&limit=100&archived=false", esc);
	free(esc);
	struct json_object *page;
	int rc = call(h, "GET", buf_str(&path), NULL, timeout_ms, "HubSpot owners", res, &page);
	buf_free(&path);
	if (rc != 0)
		return -1;
	int found = owners_take(h, page, email, id, idlen, now);
	if (page)
		json_object_put(page);
	return found > 0;
}

static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - clock_mono_ms();
	return left <= 0 ? 0 : left > 3600000 ? 3600000 : (int)left;
}

/* The email of owner id: 1 and out filled, 0 when HubSpot lists no such
 * owner, -1 with res filled.  Lists every owner (paged) when the cache
 * misses, at most once a minute. */
static int owner_email(struct hubspot *h, const char *id, char *out, size_t outlen,
                       int64_t deadline, struct crm_result *res)
{
	int64_t now = clock_wall_ms();
	const struct owner *o = owner_by_id(h, id, now);
	if (!o && (h->owners_listed_ms == 0 || now - h->owners_listed_ms >= OWNER_RELIST_MS)) {
		char *after = NULL;
		h->owners_listed_ms = now;
		for (int pages = 0; pages < 1000; pages++) {
			int left = remaining_ms(deadline);
			if (left == 0) {
				free(after);
				return crm_result_set(res, CRM_RETRY, "HubSpot owners: out of time");
			}
			struct buf path = { 0 };
			buf_adds(&path, "/crm/v3/owners/?limit=100&archived=false");
			if (after) {
				char *esc = http_escape(after);
				buf_printf(&path, "&after=%s", esc);
				free(esc);
			}
			struct json_object *page;
			int rc = call(h, "GET", buf_str(&path), NULL, left, "HubSpot owners", res,
			              &page);
			buf_free(&path);
			free(after);
			after = NULL;
			if (rc != 0) {
				h->owners_listed_ms = 0;
				return -1;
			}
			owners_take(h, page, NULL, NULL, 0, now);
			const char *next = str_of(member(member(page, "paging"), "next"), "after");
			if (next && *next)
				after = xstrdup(next);
			if (page)
				json_object_put(page);
			if (!after)
				break;
		}
		free(after);
		o = owner_by_id(h, id, now);
	}
	if (!o)
		return 0;
	snprintf(out, outlen, "%s", o->email);
	return 1;
}

/* ---- deliver ---- */

static void add_prop(struct buf *b, bool *first, const char *name, const char *value)
{
	if (!value || !*value)
		return;
	if (!*first)
		buf_addc(b, ',');
	*first = false;
	buf_add_json_str(b, name);
	buf_addc(b, ':');
	buf_add_json_str(b, value);
}

static void add_field_prop(struct buf *b, bool *first, const char *name,
                           const struct crm_lead *l, const char *field)
{
	char *v = crm_lead_field(l, field);
	add_prop(b, first, name, v);
	free(v);
}

static bool all_digits(const char *s)
{
	return s && *s && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 20;
}

/* The batch upsert's answer: 0 and the contact id, or -1 with res filled
 * from the input's error (a 207 multi-status). */
static int upsert_result(struct json_object *o, struct crm_result *res)
{
	struct json_object *errs = array_of(o, "errors");
	if (errs && json_object_array_length(errs) > 0) {
		struct json_object *e = json_object_array_get_idx(errs, 0);
		const char *cat = str_of(e, "category"), *msg = str_of(e, "message");
		bool retry = cat && (strcmp(cat, "RATE_LIMITS") == 0 ||
		                     strcmp(cat, "INTERNAL_ERROR") == 0);
		return crm_result_set(res, retry ? CRM_RETRY : CRM_DEAD,
		                      "HubSpot contacts upsert: %s: %s", cat ? cat : "error",
		                      msg ? msg : "(no message)");
	}
	struct json_object *results = array_of(o, "results");
	const char *id = NULL;
	if (results && json_object_array_length(results) > 0)
		id = str_of(json_object_array_get_idx(results, 0), "id");
	if (!id || !*id)
		return crm_result_set(res, CRM_RETRY,
		                      "HubSpot contacts upsert: HTTP %d without a contact id",
		                      res->http_status);
	snprintf(res->record_id, sizeof res->record_id, "%s", id);
	return 0;
}

int hubspot_deliver(struct hubspot *h, const char *payload_json, struct crm_result *res)
{
	struct crm_lead l;
	char err[256], owner[64] = "";

	if (crm_lead_parse(payload_json, &l, err, sizeof err) != 0)
		return crm_result_set(res, CRM_DEAD, "hubspot: %s", err);
	if (!l.email || !*l.email) {
		crm_result_set(res, CRM_DEAD, "hubspot: lead %s has no email; HubSpot keys contacts "
		               "on it", l.lead_id);
		crm_lead_free(&l);
		return -1;
	}
	if (l.owner && *l.owner) {
		int rc = owner_id(h, l.owner, owner, sizeof owner, h->timeout_ms, res);
		if (rc < 0) {
			crm_lead_free(&l);
			return -1;
		}
		if (rc == 0) {
			crm_result_set(res, CRM_DEAD, "hubspot: member '%s' is not an active HubSpot "
			               "owner (GET /crm/v3/owners/?email= found none): add the user in "
			               "HubSpot or change the rules", l.owner);
			crm_lead_free(&l);
			return -1;
		}
	}

	struct buf body = { 0 };
	bool first = true;
	buf_adds(&body, "{\"inputs\":[{\"idProperty\":\"email\",\"id\":");
	buf_add_json_str(&body, l.email);
	buf_adds(&body, ",\"properties\":{");
	add_prop(&body, &first, "email", l.email);
	add_field_prop(&body, &first, "firstname", &l, "first_name");
	add_field_prop(&body, &first, "lastname", &l, "last_name");
	add_field_prop(&body, &first, "company", &l, "company");
	add_field_prop(&body, &first, "website", &l, "website");
	add_field_prop(&body, &first, "country", &l, "country");
	add_prop(&body, &first, "hubspot_owner_id", owner);
	if (h->lead_property)
		add_prop(&body, &first, h->lead_property, l.lead_id);
	buf_adds(&body, "}}]}");

	struct json_object *o;
	int rc = call(h, "POST", "/crm/v3/objects/contacts/batch/upsert", buf_str(&body),
	              h->timeout_ms, "HubSpot contacts upsert", res, &o);
	buf_free(&body);
	if (rc == 0) {
		rc = upsert_result(o, res);
		if (o)
			json_object_put(o);
	}
	if (rc != 0) {
		crm_lead_free(&l);
		return -1;
	}

	/* the contact is written; associate it with its company when known */
	char contact[128];
	snprintf(contact, sizeof contact, "%s", res->record_id);
	if (all_digits(l.account_id) && all_digits(contact)) {
		struct buf path = { 0 };
		buf_printf(&path, "/crm/v4/objects/contacts/%s/associations/default/companies/%s",
		           contact, l.account_id);
		struct crm_result ar;
		memset(&ar, 0, sizeof ar);
		ar.pause_ms = res->pause_ms;
		memcpy(ar.pause_why, res->pause_why, sizeof ar.pause_why);
		rc = call(h, "PUT", buf_str(&path), NULL, h->timeout_ms, "HubSpot association",
		          &ar, &o);
		buf_free(&path);
		res->pause_ms = ar.pause_ms;
		memcpy(res->pause_why, ar.pause_why, sizeof res->pause_why);
		if (o)
			json_object_put(o);
		if (rc != 0 && ar.status == CRM_RETRY) {
			/* the upsert is idempotent: the retry writes the same contact */
			*res = ar;
			snprintf(res->record_id, sizeof res->record_id, "%s", contact);
			crm_lead_free(&l);
			return -1;
		}
		if (rc != 0) {
			res->status = CRM_DONE;
			snprintf(res->message, sizeof res->message,
			         "warning: contact %.40s written but not associated with company %.40s: %.360s",
			         contact, l.account_id, ar.message);
			crm_lead_free(&l);
			return 0;
		}
	}
	crm_lead_free(&l);
	res->message[0] = '\0';
	return crm_result_set(res, CRM_DONE, "%s", "");
}

/* ---- accounts ---- */

/* A company's domain as the index keeps it: lower case, no scheme, no
 * "www.", no path. */
static void clean_domain(const char *in, char *out, size_t size)
{
	const char *p = in ? in : "";
	const char *scheme = strstr(p, "://");
	if (scheme)
		p = scheme + 3;
	if (strncasecmp(p, "www.", 4) == 0)
		p += 4;
	size_t j = 0;
	for (; *p && *p != '/' && *p != '?' && *p != '#' && j + 1 < size; p++)
		out[j++] = (char)tolower((unsigned char)*p);
	while (j > 0 && out[j - 1] == '.')
		j--;
	out[j] = '\0';
}

/* One search result to an account: 0, or -1 with res filled (the owner's
 * email could not be had in time). */
static int company_account(struct hubspot *h, struct json_object *r, struct crm_account *a,
                           int64_t deadline, struct crm_result *res)
{
	struct json_object *props = member(r, "properties");
	memset(a, 0, sizeof *a);
	clean_domain(str_of(props, "domain"), a->domain, sizeof a->domain);
	snprintf(a->id, sizeof a->id, "%s", str_of(r, "id") ? str_of(r, "id") : "");
	const char *v = str_of(props, "lifecyclestage");
	snprintf(a->lifecycle, sizeof a->lifecycle, "%s", v ? v : "");
	v = str_of(props, "hs_ideal_customer_profile");
	snprintf(a->tier, sizeof a->tier, "%s", v ? v : "");
	a->modified_ms = parse_time_ms(str_of(props, "hs_lastmodifieddate"));
	if (a->modified_ms < 0)
		a->modified_ms = parse_time_ms(str_of(r, "updatedAt"));
	const char *oid = str_of(props, "hubspot_owner_id");
	if (oid && *oid && owner_email(h, oid, a->owner, sizeof a->owner, deadline, res) < 0)
		return -1;
	return 0;
}

int hubspot_lookup_account(struct hubspot *h, const char *domain, int timeout_ms,
                           struct crm_account *out, struct crm_result *res)
{
	int64_t deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : h->timeout_ms);
	char want[256];
	clean_domain(domain, want, sizeof want);
	if (!want[0])
		return 0;

	struct buf body = { 0 };
	buf_adds(&body, "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"domain\","
	         "\"operator\":\"EQ\",\"value\":");
	buf_add_json_str(&body, want);
	buf_printf(&body, "}]}],\"properties\":%s,\"sorts\":[],\"limit\":%d,\"after\":\"0\"}",
	           COMPANY_PROPS, LOOKUP_LIMIT);
	struct json_object *o;
	int rc = call(h, "POST", "/crm/v3/objects/companies/search", buf_str(&body),
	              remaining_ms(deadline) > 0 ? remaining_ms(deadline) : 1,
	              "HubSpot companies search", res, &o);
	buf_free(&body);
	if (rc != 0)
		return -1;

	struct json_object *results = array_of(o, "results"), *pick = NULL;
	size_t n = results ? json_object_array_length(results) : 0;
	for (size_t i = 0; i < n && !pick; i++) {
		char d[256];
		struct json_object *r = json_object_array_get_idx(results, i);
		clean_domain(str_of(member(r, "properties"), "domain"), d, sizeof d);
		if (strcmp(d, want) == 0)
			pick = r;
	}
	int found = 0;
	if (pick) {
		found = company_account(h, pick, out, deadline, res) == 0 ? 1 : -1;
		if (found < 0)
			memset(out, 0, sizeof *out);
	}
	if (o)
		json_object_put(o);
	return found;
}

/* Ids handed out at the newest modification time seen, so a new slice
 * that starts at that time does not hand them out again. */
struct boundary {
	int64_t ms;
	char **ids;
	size_t n, cap;
};

static void boundary_clear(struct boundary *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->ids[i]);
	b->n = 0;
}

static bool boundary_has(const struct boundary *b, int64_t ms, const char *id)
{
	if (ms != b->ms)
		return false;
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->ids[i], id) == 0)
			return true;
	return false;
}

static void boundary_add(struct boundary *b, int64_t ms, const char *id)
{
	if (ms != b->ms) {
		boundary_clear(b);
		b->ms = ms;
	}
	b->ids = xgrow(b->ids, &b->cap, b->n + 1, sizeof *b->ids);
	b->ids[b->n++] = xstrdup(id);
}

long hubspot_sync_accounts(struct hubspot *h, int64_t since_ms, crm_account_fn fn, void *ctx,
                           struct crm_result *res)
{
	struct boundary seen = { .ms = -1 };
	int64_t from = since_ms > 0 ? since_ms : 0;
	const char *op = "GTE";
	char *after = NULL;
	long count = 0, in_slice = 0;
	bool stop = false;

	while (!stop) {
		struct buf body = { 0 };
		buf_printf(&body, "{\"filterGroups\":[{\"filters\":[{\"propertyName\":"
		           "\"hs_lastmodifieddate\",\"operator\":\"%s\",\"value\":\"%lld\"}]}],"
		           "\"properties\":%s,\"sorts\":[{\"propertyName\":\"hs_lastmodifieddate\","
		           "\"direction\":\"ASCENDING\"}],\"limit\":%d,\"after\":", op,
		           (long long)from, COMPANY_PROPS, PAGE);
		buf_add_json_str(&body, after ? after : "0");
		buf_addc(&body, '}');
		struct json_object *o;
		int rc = call(h, "POST", "/crm/v3/objects/companies/search", buf_str(&body),
		              h->timeout_ms, "HubSpot companies search", res, &o);
		buf_free(&body);
		if (rc != 0) {
			count = -1;
			break;
		}
		struct json_object *results = array_of(o, "results");
		size_t n = results ? json_object_array_length(results) : 0;
		int64_t deadline = clock_mono_ms() + h->timeout_ms;
		for (size_t i = 0; i < n && !stop; i++) {
			struct json_object *r = json_object_array_get_idx(results, i);
			struct crm_account a;
			if (company_account(h, r, &a, deadline, res) != 0) {
				count = -1;
				stop = true;
				break;
			}
			if (!a.id[0] || boundary_has(&seen, a.modified_ms, a.id))
				continue;
			boundary_add(&seen, a.modified_ms, a.id);
			count++;
			if (fn && fn(ctx, &a) != 0)
				stop = true;
		}
		in_slice += (long)n;
		const char *next = str_of(member(member(o, "paging"), "next"), "after");
		free(after);
		after = next && *next && n > 0 ? xstrdup(next) : NULL;
		if (o)
			json_object_put(o);
		if (stop || !after)
			break;
		if (in_slice + PAGE > HUBSPOT_SEARCH_WINDOW) {
			/* the window ends: start a new search at the newest time seen;
			 * the ids already handed out at that time are skipped */
			free(after);
			after = NULL;
			in_slice = 0;
			if (seen.ms <= from) {
				/* a whole window at one millisecond: go past it (the
				 * rest of that millisecond is lost; HubSpot offers no
				 * finer key) */
				op = "GT";
				from = seen.ms > from ? seen.ms : from;
			} else {
				op = "GTE";
				from = seen.ms;
			}
		}
	}
	free(after);
	boundary_clear(&seen);
	free(seen.ids);
	if (count >= 0)
		res->message[0] = '\0';
	return count;
}
