/* slack - Slack incoming-webhook sinks for notices and alerts (slack.h).
 * Must never put the webhook URL into a message, never let a value that is
 * not ours into mrkdwn unescaped, and never send a section over Slack's
 * limit.
 */
#include "notify/slack.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "crm/crm.h"
#include "crm/http.h"
#include "handler/config.h"
#include "notify/crmlink.h"
#include "util/xalloc.h"

#define SLACK_MAX_ANSWER 4096     /* bytes of Slack's answer kept */

/* ---- mrkdwn ---- */

void slack_escape(struct buf *b, const char *s, size_t max)
{
	if (!s)
		return;
	buf_add(b, "", 0);   /* allocated, so a cut below has a place to write */
	size_t start = b->len, keep = b->len;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		const char *rep = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : NULL;
		size_t n = 1;
		if (!rep)      /* a whole UTF-8 character: never split one */
			while (p[n] && (p[n] & 0xc0) == 0x80)
				n++;
		size_t add = rep ? strlen(rep) : n;
		if (b->len - start + add > max) {
			b->len = keep;
			b->data[b->len] = '\0';
			buf_adds(b, "...");
			return;
		}
		buf_add(b, rep ? rep : (const char *)p, add);
		if (b->len - start + 3 <= max)
			keep = b->len;
		p += n;
	}
}

static void put(struct json_object *o, const char *k, struct json_object *v)
{
	if (!v || json_object_object_add(o, k, v) != 0) {
		fprintf(stderr, "leadroute: json-c cannot build a Slack message\n");
		abort();   /* json-c fails only without memory: as xalloc does */
	}
}

static struct json_object *new_object(void)
{
	struct json_object *o = json_object_new_object();
	if (!o) {
		fprintf(stderr, "leadroute: json-c cannot build a Slack message\n");
		abort();
	}
	return o;
}

static struct json_object *new_array(void)
{
	struct json_object *a = json_object_new_array();
	if (!a) {
		fprintf(stderr, "leadroute: json-c cannot build a Slack message\n");
		abort();
	}
	return a;
}

static void push(struct json_object *a, struct json_object *v)
{
	if (json_object_array_add(a, v) != 0) {
		fprintf(stderr, "leadroute: json-c cannot build a Slack message\n");
		abort();
	}
}

/* {"type":"section","text":{"type":"mrkdwn","text":TEXT}} */
static struct json_object *section(const char *text)
{
	struct json_object *t = new_object(), *s = new_object();
	put(t, "type", json_object_new_string("mrkdwn"));
	put(t, "text", json_object_new_string(text));
	put(s, "type", json_object_new_string("section"));
	put(s, "text", t);
	return s;
}

/* {"type":"context","elements":[{"type":"mrkdwn","text":TEXT}]} */
static struct json_object *context(const char *text)
{
	struct json_object *e = new_object(), *els = new_array(), *c = new_object();
	put(e, "type", json_object_new_string("mrkdwn"));
	put(e, "text", json_object_new_string(text));
	push(els, e);
	put(c, "type", json_object_new_string("context"));
	put(c, "elements", els);
	return c;
}

static char *message_text(struct json_object *msg)
{
	const char *s = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN |
	                                                    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s) {
		fprintf(stderr, "leadroute: json-c cannot write a Slack message\n");
		abort();
	}
	char *out = xstrdup(s);
	json_object_put(msg);
	return out;
}

/* Caps of the escaped values: together well under SLACK_MAX_SECTION. */
#define CAP_WHO 400
#define CAP_NAME 400
#define CAP_COMPANY 300
#define CAP_EMAIL 400
#define CAP_SHORT 200
#define CAP_LINK 2900

/* "Jane Doe, Example Inc" (escaped) */
static void lead_title(struct buf *b, const struct notice *n)
{
	if (!n->lead_found) {
		buf_adds(b, "lead ");
		slack_escape(b, n->lead_id, CAP_SHORT);
		buf_adds(b, " (no longer stored)");
		return;
	}
	slack_escape(b, n->name ? n->name : "(no name)", CAP_NAME);
	if (n->company) {
		buf_adds(b, ", ");
		slack_escape(b, n->company, CAP_COMPANY);
	}
}

static void headline(struct buf *b, const struct notice *n)
{
	if (n->assigned) {
		buf_adds(b, "New lead for ");
		slack_escape(b, n->member, CAP_WHO);
	} else {
		buf_adds(b, "Lead not assigned: no available member in queue ");
		slack_escape(b, n->queue ? n->queue : "(none)", CAP_SHORT);
	}
}

char *slack_notice_json(const struct notice *n)
{
	struct buf text = { 0 }, summary = { 0 }, ctx = { 0 };

	headline(&text, n);
	buf_adds(&text, ": ");
	lead_title(&text, n);

	buf_addc(&summary, '*');
	headline(&summary, n);
	buf_adds(&summary, "*\n");
	if (n->lead_found) {
		buf_addc(&summary, '*');
		slack_escape(&summary, n->name ? n->name : "(no name)", CAP_NAME);
		buf_addc(&summary, '*');
		if (n->company) {
			buf_adds(&summary, ", ");
			slack_escape(&summary, n->company, CAP_COMPANY);
		}
	} else {
		lead_title(&summary, n);
	}
	const char *sep = "\n";
	if (n->email) {
		buf_adds(&summary, sep);
		slack_escape(&summary, n->email, CAP_EMAIL);
		sep = " · ";
	}
	if (n->country) {
		buf_adds(&summary, sep);
		slack_escape(&summary, n->country, CAP_SHORT);
		sep = " · ";
	}
	if (n->employees) {
		buf_adds(&summary, sep);
		slack_escape(&summary, n->employees, CAP_SHORT);
		buf_adds(&summary, " employees");
	}

	if (n->queue) {
		buf_adds(&ctx, "queue ");
		slack_escape(&ctx, n->queue, CAP_SHORT);
		buf_adds(&ctx, " · ");
	}
	if (n->rule_line > 0)
		buf_printf(&ctx, "rule line %d · ", n->rule_line);
	if (n->fallbacks > 0)
		buf_printf(&ctx, "%d fallback%s · ", n->fallbacks, n->fallbacks == 1 ? "" : "s");
	buf_adds(&ctx, "lead ");
	slack_escape(&ctx, n->lead_id, CAP_SHORT);

	struct json_object *msg = new_object(), *blocks = new_array();
	put(msg, "text", json_object_new_string(buf_str(&text)));
	push(blocks, section(buf_str(&summary)));
	if (n->crm_link && strlen(n->crm_link) <= CAP_LINK - 40) {
		struct buf link = { 0 };
		buf_addc(&link, '<');
		slack_escape(&link, n->crm_link, CAP_LINK);
		buf_adds(&link, "|Open in the CRM>");
		push(blocks, section(buf_str(&link)));
		buf_free(&link);
	}
	push(blocks, context(buf_str(&ctx)));
	put(msg, "blocks", blocks);
	buf_free(&text);
	buf_free(&summary);
	buf_free(&ctx);
	return message_text(msg);
}

char *slack_alert_json(const char *data_json, char *err, size_t errlen)
{
	struct json_object *d = data_json ? json_tokener_parse(data_json) : NULL, *v;
	const char *kind = NULL;
	if (d && json_object_is_type(d, json_type_object) &&
	    json_object_object_get_ex(d, "alert", &v) && json_object_is_type(v, json_type_string))
		kind = json_object_get_string(v);
	if (!kind || !*kind) {
		snprintf(err, errlen, "the alert event's data is not a JSON object with an \"alert\"");
		json_object_put(d);
		return NULL;
	}
	const char *message = "(no message)", *key = NULL;
	int64_t suppressed = 0;
	if (json_object_object_get_ex(d, "message", &v) && json_object_is_type(v, json_type_string))
		message = json_object_get_string(v);
	if (json_object_object_get_ex(d, "key", &v) && json_object_is_type(v, json_type_string))
		key = json_object_get_string(v);
	if (json_object_object_get_ex(d, "suppressed", &v) && json_object_is_type(v, json_type_int))
		suppressed = json_object_get_int64(v);

	char *ckind = notice_clean(kind, 64), *cmsg = notice_clean(message, 2400);
	char *ckey = notice_clean(key, NOTICE_MAX_VALUE);
	struct buf text = { 0 }, summary = { 0 }, ctx = { 0 };
	buf_adds(&text, "leadroute alert ");
	slack_escape(&text, ckind, 200);
	buf_adds(&text, ": ");
	slack_escape(&text, cmsg, 2600);
	buf_adds(&summary, "*leadroute alert* `");
	slack_escape(&summary, ckind, 200);
	buf_adds(&summary, "`\n");
	slack_escape(&summary, cmsg, 2600);
	if (ckey && *ckey) {
		buf_adds(&ctx, "key ");
		slack_escape(&ctx, ckey, CAP_SHORT * 2);
	}
	if (suppressed > 0)
		buf_printf(&ctx, "%s%lld more held back since the last one", ctx.len ? " · " : "",
		           (long long)suppressed);

	struct json_object *msg = new_object(), *blocks = new_array();
	put(msg, "text", json_object_new_string(buf_str(&text)));
	push(blocks, section(buf_str(&summary)));
	if (ctx.len)
		push(blocks, context(buf_str(&ctx)));
	put(msg, "blocks", blocks);
	free(ckind);
	free(cmsg);
	free(ckey);
	buf_free(&text);
	buf_free(&summary);
	buf_free(&ctx);
	json_object_put(d);
	return message_text(msg);
}

/* ---- the sinks ---- */

struct slack_sink {
	struct sink sink;
	struct store *store;        /* borrowed; NULL for alerts */
	char *url;                  /* the webhook: a secret */
	const char *setting;        /* the variable it came from, for messages */
	char *link;                 /* LEADROUTE_CRM_LINK; NULL: none */
	int timeout_ms;
	bool alerts;
};

/* Slack's error codes that mean the webhook itself must be fixed. */
static bool webhook_broken(long status, const char *answer)
{
	static const char *const codes[] = {
		"no_service", "invalid_token", "no_team", "channel_not_found", "channel_is_archived",
		"action_prohibited", "user_not_found", "team_disabled", "no_active_hooks",
	};
	if (status == 401 || status == 403 || status == 404 || status == 410)
		return true;
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (strcmp(answer, codes[i]) == 0)
			return true;
	return false;
}

/* Slack's answer body as one short line of printable ASCII. */
static void answer_words(const struct http_response *rs, char *out, size_t size)
{
	size_t j = 0;
	for (size_t i = 0; i < rs->body.len && j + 1 < size && j < 120; i++) {
		unsigned char c = (unsigned char)rs->body.data[i];
		if (c == '\n' || c == '\r') {
			if (j && out[j - 1] != ' ')
				out[j++] = ' ';
			continue;
		}
		out[j++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	while (j && out[j - 1] == ' ')
		j--;
	out[j] = '\0';
}

/* Post one message; fill res (status, http_status, retry_after_ms,
 * message).  Returns res->status. */
static enum sink_status post(struct slack_sink *ss, const char *json, struct sink_result *res)
{
	char err[256] = "";
	res->http_status = 0;
	res->retry_after_ms = 0;
	res->message[0] = '\0';
	/* a new handle, so a new connection: libcurl resends on a kept-alive
	 * connection found closed, and a Slack post is not idempotent */
	struct http *h = http_open(err, sizeof err);
	if (!h) {
		snprintf(res->message, sizeof res->message, "%s", err);
		return res->status = SINK_RETRY;
	}
	static const char *const headers[] = { "Content-Type: application/json; charset=utf-8",
	                                       NULL };
	struct http_request rq = {
		.method = "POST", .url = ss->url, .headers = headers, .body = json,
		.body_len = strlen(json), .timeout_ms = ss->timeout_ms, .max_body = SLACK_MAX_ANSWER,
		.what = ss->alerts ? "Slack alert" : "Slack notice",
	};
	struct http_response rs = { 0 };
	int rc = http_do(h, &rq, &rs);
	struct crm_result cr = { 0 };
	enum crm_status cs = http_classify(&rq, &rs, rc, &cr);
	res->http_status = cr.http_status;
	res->retry_after_ms = cr.retry_after_ms;
	char words[128];
	answer_words(&rs, words, sizeof words);
	if (cs == CRM_DONE) {
		res->status = SINK_DONE;
	} else if (rc != 0 || rs.status == 0) {
		res->status = cs == CRM_RETRY ? SINK_RETRY : SINK_DEAD;
		snprintf(res->message, sizeof res->message, "%.400s%s", cr.message,
		         cs == CRM_DEAD ? " (check the URL in the setting)" : "");
	} else if (cs == CRM_RETRY) {
		res->status = SINK_RETRY;
		snprintf(res->message, sizeof res->message, "%s: HTTP %ld %s", rq.what, rs.status,
		         words[0] ? words : "(no words)");
	} else {
		res->status = SINK_DEAD;
		char reason[256];
		if (rs.status >= 300 && rs.status <= 399)
			snprintf(reason, sizeof reason, "a redirect, not followed: %s must be the "
			         "webhook URL Slack gave", ss->setting);
		else if (webhook_broken(rs.status, words))
			snprintf(reason, sizeof reason, "the webhook in %s needs fixing (revoked, or its "
			         "channel archived, deleted or closed to it): no message passes until "
			         "it is", ss->setting);
		else
			snprintf(reason, sizeof reason, "Slack refused this message (%s works; later "
			         "messages may pass)", ss->setting);
		snprintf(res->message, sizeof res->message, "%s refused: HTTP %ld %.120s: %.300s",
		         rq.what, rs.status, words[0] ? words : "(no words)", reason);
	}
	crm_redact(res->message, sizeof res->message, ss->url);   /* never, but be sure */
	http_response_free(&rs);
	http_close(h);
	return res->status;
}

/* Record event id as refused (n > 1: the rest of the batch goes on). */
static void add_dead(struct sink_result *res, int64_t id)
{
	if (res->n_dead < SINK_MAX_DEAD)
		res->dead[res->n_dead++] = id;
}

static bool notice_wants(const struct sink *sk, const char *type)
{
	(void)sk;
	return strcmp(type, "owner_assigned") == 0 || strcmp(type, "lead_unassigned") == 0;
}

static bool alert_wants(const struct sink *sk, const char *type)
{
	(void)sk;
	return strcmp(type, "alert") == 0;
}

/* The message for one event: JSON, or NULL with res->message filled and
 * *failed telling a store failure (retry) from a bad event (dead). */
static char *message_for(struct slack_sink *ss, const struct sink_event *ev,
                         struct sink_result *res, bool *failed)
{
	*failed = false;
	if (ss->alerts)
		return slack_alert_json(ev->data_json, res->message, sizeof res->message);
	struct notice n;
	int rc = notice_load(ss->store, ev, ss->link, &n, res->message, sizeof res->message);
	if (rc != 0) {
		*failed = rc == NOTICE_FAILED;
		return NULL;
	}
	char *json = slack_notice_json(&n);
	notice_free(&n);
	return json;
}

/* Events go out one by one (max_batch is 1; a longer batch is taken in
 * order and a RETRY stops it, so the events before are sent again). */
static int slack_send(struct sink *sk, const struct sink_event *ev, size_t n,
                      struct sink_result *res)
{
	struct slack_sink *ss = sk->state;
	*res = (struct sink_result){ .status = SINK_DONE };
	char last_dead[sizeof res->message] = "";
	int last_http = 0;
	for (size_t i = 0; i < n; i++) {
		if (!sk->wants(sk, ev[i].type))
			continue;
		bool failed;
		char *json = message_for(ss, &ev[i], res, &failed);
		enum sink_status st;
		if (!json) {
			st = failed ? SINK_RETRY : SINK_DEAD;
		} else {
			st = post(ss, json, res);
			free(json);
		}
		if (st == SINK_RETRY) {
			res->status = SINK_RETRY;
			return -1;
		}
		if (st == SINK_DEAD) {
			add_dead(res, ev[i].id);
			snprintf(last_dead, sizeof last_dead, "%s", res->message);
			last_http = res->http_status;
		}
	}
	if (res->n_dead == 0) {
		*res = (struct sink_result){ .status = SINK_DONE, .http_status = res->http_status };
		return 0;
	}
	snprintf(res->message, sizeof res->message, "%s", last_dead);
	res->http_status = last_http;
	res->retry_after_ms = 0;
	if (n == 1) {            /* the whole batch refused */
		res->status = SINK_DEAD;
		res->n_dead = 0;
		return -1;
	}
	return 0;
}

static void slack_close(struct sink *sk)
{
	if (!sk)
		return;
	struct slack_sink *ss = sk->state;
	free(ss->url);
	free(ss->link);
	free(ss);
}

/* The webhook URL from setting: 1 and *url, 0 when unset, -1 on error. */
static int webhook_setting(const char *setting, char **url, char *err, size_t errlen)
{
	bool failed;
	*url = config_get(setting, err, errlen, &failed);
	if (failed)
		return -1;
	if (!*url)
		return 0;
	bool ok = strncasecmp(*url, "https://", 8) == 0 || strncasecmp(*url, "http://", 7) == 0;
	for (const unsigned char *p = (const unsigned char *)*url; ok && *p; p++)
		ok = *p > ' ' && *p < 0x7f;
	if (!ok) {
		snprintf(err, errlen, "%s must be the https:// URL of a Slack incoming webhook, "
		         "without spaces", setting);
		free(*url);
		*url = NULL;
		return -1;
	}
	return 1;
}

static struct sink *slack_open(struct store *s, bool alerts, char *err, size_t errlen)
{
	err[0] = '\0';
	const char *setting = alerts ? "LEADROUTE_SLACK_ALERT_WEBHOOK_URL"
	                             : "LEADROUTE_SLACK_WEBHOOK_URL";
	char *url;
	int got = webhook_setting(setting, &url, err, errlen);
	if (got <= 0)
		return NULL;
	int timeout_ms;
	char *link = NULL;
	if (notice_timeout_setting(&timeout_ms, err, errlen) != 0 ||
	    (!alerts && crmlink_setting(&link, err, errlen) != 0)) {
		free(url);
		return NULL;
	}
	struct http *probe = http_open(err, errlen);   /* libcurl can start */
	if (!probe) {
		free(url);
		free(link);
		return NULL;
	}
	http_close(probe);
	struct slack_sink *ss = xcalloc(1, sizeof *ss);
	ss->store = s;
	ss->url = url;
	ss->setting = setting;
	ss->link = link;
	ss->timeout_ms = timeout_ms;
	ss->alerts = alerts;
	ss->sink = (struct sink){
		.name = alerts ? "slack_alert" : "slack_notice",
		.max_batch = 1,
		.wants = alerts ? alert_wants : notice_wants,
		.send = slack_send,
		.close = slack_close,
		.state = ss,
	};
	return &ss->sink;
}

struct sink *slack_notice_open(struct store *s, char *err, size_t errlen)
{
	return slack_open(s, false, err, errlen);
}

struct sink *slack_alert_open(struct store *s, char *err, size_t errlen)
{
	return slack_open(s, true, err, errlen);
}
