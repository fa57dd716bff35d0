/* webhook - POST each lead's payload, signed, to one URL (webhook.h).
 * Must never put the secret, the signature or the URL in a message, and
 * never send a body other than the payload exactly as the outbox holds it
 * (the signature covers those bytes).
 */
#include "crm/webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "crm/http.h"
#include "intake/hooksig.h"
#include "util/buf.h"
#include "util/xalloc.h"

struct webhook {
	struct http *http;
	char *url;
	char *secret;
	int timeout_ms;
	struct http_response rs;
};

struct webhook *webhook_open(const struct crm_config *cfg, char *err, size_t errlen)
{
	const char *url = cfg->webhook_url, *secret = cfg->webhook_secret;

	if (!url || !*url) {
		snprintf(err, errlen, "webhook: the URL is not set");
		return NULL;
	}
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
		snprintf(err, errlen, "webhook: the URL is not http(s)");
		return NULL;
	}
	if (!secret || strlen(secret) < WEBHOOK_MIN_SECRET) {
		snprintf(err, errlen, "webhook: the signing secret is not set or shorter than %d "
		         "characters", WEBHOOK_MIN_SECRET);
		return NULL;
	}
	struct http *http = http_open(err, errlen);
	if (!http)
		return NULL;
	struct webhook *w = xcalloc(1, sizeof *w);
	w->http = http;
	w->url = xstrdup(url);
	w->secret = xstrdup(secret);
	w->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
	w->rs.retry_after_ms = -1;
	return w;
}

void webhook_close(struct webhook *w)
{
	if (!w)
		return;
	http_close(w->http);
	http_response_free(&w->rs);
	free(w->url);
	OPENSSL_cleanse(w->secret, strlen(w->secret));
	free(w->secret);
	free(w);
}

/* Keep what can go into a header line: printable ASCII only. */
static bool header_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

int webhook_deliver(struct webhook *w, const char *payload_json, struct crm_result *res)
{
	struct crm_lead l;
	char err[256], sig[68];

	if (crm_lead_parse(payload_json, &l, err, sizeof err) != 0)
		return crm_result_set(res, CRM_DEAD, "webhook: %s", err);
	if (!header_safe(l.lead_id) || strlen(l.lead_id) > 200) {
		crm_lead_free(&l);
		return crm_result_set(res, CRM_DEAD, "webhook: the lead id cannot be an "
		                      "Idempotency-Key header");
	}
	int64_t ts = (int64_t)time(NULL);
	size_t len = strlen(payload_json);
	if (hooksig_sign(w->secret, ts, payload_json, len, sig) != 0) {
		crm_lead_free(&l);
		return crm_result_set(res, CRM_RETRY, "webhook: cannot compute the signature");
	}
	struct buf h_ts = { 0 }, h_sig = { 0 }, h_key = { 0 };
	buf_printf(&h_ts, "Leadroute-Timestamp: %lld", (long long)ts);
	buf_printf(&h_sig, "Leadroute-Signature: %s", sig);
	buf_printf(&h_key, "Idempotency-Key: %s", l.lead_id);
	const char *headers[] = { "Content-Type: application/json", buf_str(&h_ts), buf_str(&h_sig),
	                          buf_str(&h_key), NULL };
	struct http_request rq = {
		.method = "POST", .url = w->url, .headers = headers, .body = payload_json,
		.body_len = len, .timeout_ms = w->timeout_ms, .max_body = 64 * 1024,
		.what = "webhook",
	};
	int rc = http_do(w->http, &rq, &w->rs);
	enum crm_status st = http_classify(&rq, &w->rs, rc, res);
	OPENSSL_cleanse(h_sig.data, h_sig.len);
	OPENSSL_cleanse(sig, sizeof sig);
	buf_free(&h_ts);
	buf_free(&h_sig);
	buf_free(&h_key);

	if (st == CRM_DONE) {
		/* a record id when the receiver names one, else the lead id */
		const char *id = NULL;
		struct json_object *o = NULL;
		if (w->rs.body.len > 0 && w->rs.body.len < 64 * 1024)
			o = json_tokener_parse(w->rs.body.data);
		struct json_object *v;
		if (o && json_object_is_type(o, json_type_object) &&
		    json_object_object_get_ex(o, "id", &v) && json_object_is_type(v, json_type_string))
			id = json_object_get_string(v);
		snprintf(res->record_id, sizeof res->record_id, "%s", id && *id ? id : l.lead_id);
		if (o)
			json_object_put(o);
		crm_lead_free(&l);
		return crm_result_set(res, CRM_DONE, "%s", "");
	}
	if (res->http_status != 0 && w->rs.body.len > 0) {
		/* the receiver's own words, printable and short */
		char said[160];
		size_t j = 0;
		for (size_t i = 0; i < w->rs.body.len && j + 1 < sizeof said; i++) {
			unsigned char c = (unsigned char)w->rs.body.data[i];
			said[j++] = c >= ' ' && c < 0x7f ? (char)c : ' ';
		}
		said[j] = '\0';
		size_t used = strlen(res->message);
		snprintf(res->message + used, sizeof res->message - used, ": %s", said);
	}
	crm_lead_free(&l);
	return -1;
}
