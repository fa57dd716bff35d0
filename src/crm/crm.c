/* crm - the dispatcher behind crm.h: crm_open picks the connector by kind
 * and every call goes to it; plus what the connectors share (the parsed
 * payload, result messages, redaction).
 * Must never talk to a CRM itself (the connectors do), and never hand out
 * a message that still holds one of the configured secrets: every result
 * is redacted here, whatever the connector already did.
 */
#include "crm/crm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "crm/hubspot.h"
#include "crm/local.h"
#include "crm/salesforce.h"
#include "crm/webhook.h"
#include "util/xalloc.h"

#define MAX_SECRETS 4

struct crm {
	enum crm_kind kind;
	union {
		struct hubspot *hubspot;
		void *salesforce;
		struct webhook *webhook;
		struct local_crm *local;
	} u;
	char *secrets[MAX_SECRETS];   /* copies, only to redact messages */
};

static const char *const kind_names[] = {
	[CRM_LOCAL] = "local",
	[CRM_HUBSPOT] = "hubspot",
	[CRM_SALESFORCE] = "salesforce",
	[CRM_WEBHOOK] = "webhook",
};

int crm_kind_parse(const char *name, enum crm_kind *out)
{
	for (size_t i = 0; name && i < sizeof kind_names / sizeof kind_names[0]; i++)
		if (strcmp(name, kind_names[i]) == 0) {
			*out = (enum crm_kind)i;
			return 0;
		}
	return -1;
}

const char *crm_name(const struct crm *c)
{
	return c && (size_t)c->kind < sizeof kind_names / sizeof kind_names[0] ? kind_names[c->kind]
	                                                                       : "unknown";
}

static void keep_secret(struct crm *c, const char *s)
{
	if (!s || strlen(s) < 4)
		return;
	for (size_t i = 0; i < MAX_SECRETS; i++)
		if (!c->secrets[i]) {
			c->secrets[i] = xstrdup(s);
			return;
		}
}

struct crm *crm_open(const struct crm_config *cfg, struct store *store, char *err, size_t errlen)
{
	struct crm *c = xcalloc(1, sizeof *c);
	c->kind = cfg->kind;
	switch (cfg->kind) {
	case CRM_LOCAL:
		c->u.local = local_crm_open(store, err, errlen);
		if (c->u.local)
			return c;
		break;
	case CRM_HUBSPOT:
		c->u.hubspot = hubspot_open(cfg, err, errlen);
		keep_secret(c, cfg->hubspot_token);
		if (c->u.hubspot)
			return c;
		break;
	case CRM_SALESFORCE:
		c->u.salesforce = sf_open(cfg, err, errlen);
		keep_secret(c, cfg->sf_client_secret);
		keep_secret(c, cfg->sf_jwt_key);
		if (c->u.salesforce)
			return c;
		break;
	case CRM_WEBHOOK:
		c->u.webhook = webhook_open(cfg, err, errlen);
		keep_secret(c, cfg->webhook_secret);
		if (c->u.webhook)
			return c;
		break;
	default:
		snprintf(err, errlen, "unknown CRM kind %d", (int)cfg->kind);
		break;
	}
	for (size_t i = 0; i < MAX_SECRETS; i++)
		if (c->secrets[i])
			crm_redact(err, errlen, c->secrets[i]);
	crm_close(c);
	return NULL;
}

void crm_close(struct crm *c)
{
	if (!c)
		return;
	switch (c->kind) {
	case CRM_LOCAL:
		local_crm_close(c->u.local);
		break;
	case CRM_HUBSPOT:
		hubspot_close(c->u.hubspot);
		break;
	case CRM_SALESFORCE:
		if (c->u.salesforce)
			sf_close(c->u.salesforce);
		break;
	case CRM_WEBHOOK:
		webhook_close(c->u.webhook);
		break;
	}
	for (size_t i = 0; i < MAX_SECRETS; i++) {
		if (c->secrets[i]) {
			memset(c->secrets[i], 0, strlen(c->secrets[i]));
			free(c->secrets[i]);
		}
	}
	free(c);
}

static void result_init(struct crm_result *res)
{
	memset(res, 0, sizeof *res);
	res->status = CRM_RETRY;
}

static void result_redact(const struct crm *c, struct crm_result *res)
{
	for (size_t i = 0; i < MAX_SECRETS; i++)
		if (c->secrets[i]) {
			crm_redact(res->message, sizeof res->message, c->secrets[i]);
			crm_redact(res->record_id, sizeof res->record_id, c->secrets[i]);
		}
}

int crm_deliver(struct crm *c, const char *payload_json, struct crm_result *res)
{
	result_init(res);
	/* the connectors' return values agree with res->status; the answer
	 * below is taken from res alone so that it always does */
	switch (c->kind) {
	case CRM_LOCAL:
		(void)local_crm_deliver(c->u.local, payload_json, res);
		break;
	case CRM_HUBSPOT:
		(void)hubspot_deliver(c->u.hubspot, payload_json, res);
		break;
	case CRM_SALESFORCE:
		(void)sf_deliver(c->u.salesforce, payload_json, res);
		break;
	case CRM_WEBHOOK:
		(void)webhook_deliver(c->u.webhook, payload_json, res);
		break;
	}
	result_redact(c, res);
	return res->status == CRM_DONE ? 0 : -1;
}

int crm_lookup_account(struct crm *c, const char *domain, int timeout_ms,
                       struct crm_account *out, struct crm_result *res)
{
	int rc = -1;
	result_init(res);
	memset(out, 0, sizeof *out);
	switch (c->kind) {
	case CRM_LOCAL:
		rc = local_crm_lookup_account(c->u.local, domain, out, res);
		break;
	case CRM_HUBSPOT:
		rc = hubspot_lookup_account(c->u.hubspot, domain, timeout_ms, out, res);
		break;
	case CRM_SALESFORCE:
		rc = sf_lookup_account(c->u.salesforce, domain, timeout_ms, out, res);
		break;
	case CRM_WEBHOOK:
		rc = 0;   /* a webhook knows no accounts */
		break;
	}
	if (rc >= 0)
		res->status = CRM_DONE;
	result_redact(c, res);
	return rc;
}

long crm_sync_accounts(struct crm *c, int64_t since_ms, crm_account_fn fn, void *ctx,
                       struct crm_result *res)
{
	long n = -1;
	result_init(res);
	switch (c->kind) {
	case CRM_LOCAL:
	case CRM_WEBHOOK:
		n = 0;   /* the local index is the store itself; a webhook has none */
		break;
	case CRM_HUBSPOT:
		n = hubspot_sync_accounts(c->u.hubspot, since_ms, fn, ctx, res);
		break;
	case CRM_SALESFORCE:
		n = sf_sync_accounts(c->u.salesforce, since_ms, fn, ctx, res);
		break;
	}
	if (n >= 0)
		res->status = CRM_DONE;
	result_redact(c, res);
	return n;
}

/* ---- shared by the connectors ---- */

int crm_result_set(struct crm_result *res, enum crm_status status, const char *fmt, ...)
{
	va_list ap;
	res->status = status;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof res->message, fmt, ap);
	va_end(ap);
	return status == CRM_DONE ? 0 : -1;
}

void crm_redact(char *msg, size_t size, const char *secret)
{
	static const char mark[] = "[redacted]";
	size_t slen = secret ? strlen(secret) : 0;
	char *p;

	if (!msg || size == 0 || slen < 4)
		return;
	while ((p = strstr(msg, secret)) != NULL) {
		size_t head = (size_t)(p - msg), tail = strlen(p + slen);
		size_t mlen = sizeof mark - 1;
		/* room for head + mark + tail + NUL; cut the tail to fit */
		if (head + mlen >= size) {
			mlen = size - 1 - head;
			tail = 0;
		} else if (head + mlen + tail >= size) {
			tail = size - 1 - head - mlen;
		}
		memmove(p + mlen, p + slen, tail);
		memcpy(p, mark, mlen);
		p[mlen + tail] = '\0';
	}
}

static const char *str_member(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int crm_lead_parse(const char *payload_json, struct crm_lead *out, char *err, size_t errlen)
{
	enum json_tokener_error jerr = json_tokener_success;
	struct json_object *root, *v;

	memset(out, 0, sizeof *out);
	root = json_tokener_parse_verbose(payload_json ? payload_json : "", &jerr);
	if (!root) {
		snprintf(err, errlen, "the outbox payload is not JSON: %s",
		         json_tokener_error_desc(jerr));
		return -1;
	}
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		snprintf(err, errlen, "the outbox payload is not a JSON object");
		return -1;
	}
	out->root = root;
	out->lead_id = str_member(root, "lead_id");
	if (!out->lead_id || !*out->lead_id) {
		crm_lead_free(out);
		snprintf(err, errlen, "the outbox payload has no lead_id");
		return -1;
	}
	out->email = str_member(root, "email");
	out->domain = str_member(root, "domain");
	out->queue = str_member(root, "queue");
	out->owner = str_member(root, "owner");
	out->account_id = str_member(root, "account_id");
	out->outcome = str_member(root, "outcome");
	if (json_object_object_get_ex(root, "created_ms", &v) &&
	    (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		out->created_ms = json_object_get_int64(v);
	if (json_object_object_get_ex(root, "rule_line", &v) && json_object_is_type(v, json_type_int))
		out->rule_line = json_object_get_int(v);
	if (json_object_object_get_ex(root, "review_owner", &v) &&
	    json_object_is_type(v, json_type_boolean))
		out->review_owner = json_object_get_boolean(v);
	return 0;
}

void crm_lead_free(struct crm_lead *l)
{
	if (!l)
		return;
	if (l->root)
		json_object_put(l->root);
	memset(l, 0, sizeof *l);
}

char *crm_lead_field(const struct crm_lead *l, const char *name)
{
	struct json_object *fields, *v;
	char tmp[64];

	if (!l->root || !json_object_object_get_ex(l->root, "fields", &fields) ||
	    !json_object_is_type(fields, json_type_object) ||
	    !json_object_object_get_ex(fields, name, &v) || !v)
		return NULL;
	switch (json_object_get_type(v)) {
	case json_type_string: {
		const char *s = json_object_get_string(v);
		return s && *s ? xstrdup(s) : NULL;
	}
	case json_type_int:
		snprintf(tmp, sizeof tmp, "%lld", (long long)json_object_get_int64(v));
		return xstrdup(tmp);
	case json_type_double: {
		double d = json_object_get_double(v);
		if (d >= -9e15 && d <= 9e15 && d == (double)(long long)d)
			snprintf(tmp, sizeof tmp, "%lld", (long long)d);
		else
			snprintf(tmp, sizeof tmp, "%.17g", d);
		return xstrdup(tmp);
	}
	case json_type_boolean:
		return xstrdup(json_object_get_boolean(v) ? "true" : "false");
	default:
		return NULL;
	}
}
