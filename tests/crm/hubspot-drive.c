/* hubspot-drive - drives one connector through crm.h for the shell tests
 * (hubspot-test.sh, webhook-test.sh): one struct crm for the whole run, so
 * caches and kept-alive connections behave as in the handler.
 *
 * Settings from the environment: DRIVE_CRM (hubspot, webhook or local),
 * DRIVE_URL (the HubSpot base URL or the webhook URL), DRIVE_TOKEN (the
 * HubSpot token), DRIVE_SECRET (the webhook secret), DRIVE_TIMEOUT_MS,
 * DRIVE_LEAD_PROPERTY (HubSpot's lead id property; unset: the default).
 * Commands on standard input, one a line; one JSON line out for each:
 *   deliver <payload JSON>    -> {"rc","status","http","retry_after_ms","pause_ms","pause_why","record_id","message","ms"}
 *   url <new webhook URL>     -> reopens the connector with that URL
 *   lookup <domain> <timeout_ms> -> ... plus "found" and "account"
 *   sync <since_ms> [stop_after] -> ... plus "count" and "ids" (in order)
 *   sign <secret> <ts> <body> -> {"signature"}   (hooksig_sign, for the docs' example)
 * Never prints a token or secret it was given (the results are what
 * crm.h hands out, which is what the tests check).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "crm/crm.h"
#include "intake/hooksig.h"
#include "crm/webhook.h"
#include "util/xalloc.h"

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *status_name(enum crm_status s)
{
	return s == CRM_DONE ? "DONE" : s == CRM_RETRY ? "RETRY" : "DEAD";
}

static void put(struct json_object *o, const char *k, struct json_object *v)
{
	if (!v || json_object_object_add(o, k, v) != 0) {
		fprintf(stderr, "hubspot-drive: json-c failed\n");
		exit(2);
	}
}

static struct json_object *result_json(int64_t rc, const struct crm_result *res, int64_t ms)
{
	struct json_object *o = json_object_new_object();
	if (!o)
		exit(2);
	put(o, "rc", json_object_new_int64(rc));
	put(o, "status", json_object_new_string(status_name(res->status)));
	put(o, "http", json_object_new_int(res->http_status));
	put(o, "retry_after_ms", json_object_new_int64(res->retry_after_ms));
	put(o, "pause_ms", json_object_new_int64(res->pause_ms));
	put(o, "pause_why", json_object_new_string(res->pause_why));
	put(o, "record_id", json_object_new_string(res->record_id));
	put(o, "message", json_object_new_string(res->message));
	put(o, "ms", json_object_new_int64(ms));
	return o;
}

static void emit(struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (!s)
		exit(2);
	printf("%s\n", s);
	fflush(stdout);
	json_object_put(o);
}

static struct json_object *account_json(const struct crm_account *a)
{
	struct json_object *o = json_object_new_object();
	if (!o)
		exit(2);
	put(o, "domain", json_object_new_string(a->domain));
	put(o, "id", json_object_new_string(a->id));
	put(o, "owner", json_object_new_string(a->owner));
	put(o, "lifecycle", json_object_new_string(a->lifecycle));
	put(o, "tier", json_object_new_string(a->tier));
	put(o, "modified_ms", json_object_new_int64(a->modified_ms));
	return o;
}

struct sync_ctx {
	struct json_object *ids;
	long stop_after, seen;
};

static int on_account(void *ctx, const struct crm_account *a)
{
	struct sync_ctx *s = ctx;
	struct json_object *id = json_object_new_string(a->id);
	if (!id || json_object_array_add(s->ids, id) != 0)
		exit(2);
	s->seen++;
	return s->stop_after > 0 && s->seen >= s->stop_after;
}

static struct crm *open_crm(struct crm_config *cfg)
{
	char err[512];
	struct crm *c = crm_open(cfg, NULL, err, sizeof err);
	if (!c) {
		fprintf(stderr, "hubspot-drive: %s\n", err);
		exit(1);
	}
	return c;
}

int main(void)
{
	const char *kind = getenv("DRIVE_CRM"), *t = getenv("DRIVE_TIMEOUT_MS");
	struct crm_config cfg = { .kind = CRM_HUBSPOT };
	char *url = NULL;

	if (kind && crm_kind_parse(kind, &cfg.kind) != 0) {
		fprintf(stderr, "hubspot-drive: DRIVE_CRM '%s' is not a connector\n", kind);
		return 2;
	}
	cfg.timeout_ms = t ? atoi(t) : 5000;
	url = getenv("DRIVE_URL") ? xstrdup(getenv("DRIVE_URL")) : NULL;
	cfg.hubspot_url = url;
	cfg.hubspot_token = getenv("DRIVE_TOKEN");
	cfg.hubspot_lead_property = getenv("DRIVE_LEAD_PROPERTY");
	cfg.webhook_url = url;
	cfg.webhook_secret = getenv("DRIVE_SECRET");
	struct crm *c = open_crm(&cfg);

	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		char *arg = strchr(line, ' ');
		if (arg)
			*arg++ = '\0';
		struct crm_result res;
		int64_t t0 = mono_ms();
		if (strcmp(line, "deliver") == 0 && arg) {
			int rc = crm_deliver(c, arg, &res);
			emit(result_json(rc, &res, mono_ms() - t0));
		} else if (strcmp(line, "url") == 0 && arg) {
			crm_close(c);
			free(url);
			url = xstrdup(arg);
			cfg.hubspot_url = cfg.webhook_url = url;
			c = open_crm(&cfg);
			printf("{\"rc\":0}\n");
			fflush(stdout);
		} else if (strcmp(line, "lookup") == 0 && arg) {
			char domain[256];
			int timeout = 0;
			if (sscanf(arg, "%255s %d", domain, &timeout) != 2)
				return 2;
			struct crm_account a;
			int rc = crm_lookup_account(c, domain, timeout, &a, &res);
			struct json_object *o = result_json(rc, &res, mono_ms() - t0);
			put(o, "found", json_object_new_int(rc));
			if (rc == 1)
				put(o, "account", account_json(&a));
			emit(o);
		} else if (strcmp(line, "sync") == 0 && arg) {
			long long since = 0;
			struct sync_ctx s = { .ids = json_object_new_array() };
			if (!s.ids || sscanf(arg, "%lld %ld", &since, &s.stop_after) < 1)
				return 2;
			long count = crm_sync_accounts(c, since, on_account, &s, &res);
			struct json_object *o = result_json(count, &res, mono_ms() - t0);
			put(o, "count", json_object_new_int64(count));
			put(o, "ids", s.ids);
			emit(o);
		} else if (strcmp(line, "sign") == 0 && arg) {
			char secret[256], sig[68];
			long long ts;
			int used = 0;
			if (sscanf(arg, "%255s %lld %n", secret, &ts, &used) != 2 || used == 0)
				return 2;
			const char *body = arg + used;
			if (hooksig_sign(secret, ts, body, strlen(body), sig) != 0)
				return 1;
			struct json_object *o = json_object_new_object();
			if (!o)
				return 2;
			put(o, "signature", json_object_new_string(sig));
			emit(o);
		} else {
			fprintf(stderr, "hubspot-drive: unknown command '%s'\n", line);
			return 2;
		}
	}
	free(line);
	crm_close(c);
	free(url);
	return 0;
}
