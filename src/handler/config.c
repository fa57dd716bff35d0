/* config - settings from the environment, with _FILE variants for secrets.
 * Must never fall back silently from a bad value, and never print a secret. */
#include "handler/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/xalloc.h"

char *config_get(const char *name, char *err, size_t errlen, bool *failed)
{
	*failed = false;
	const char *v = getenv(name);
	char fname[128];
	snprintf(fname, sizeof fname, "%s_FILE", name);
	const char *path = getenv(fname);
	if (v && path) {
		snprintf(err, errlen, "both %s and %s are set; keep one", name, fname);
		*failed = true;
		return NULL;
	}
	if (v)
		return xstrdup(v);
	if (!path)
		return NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: cannot read '%s': %s", fname, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		*failed = true;
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) || st.st_size > 65536) {
		snprintf(err, errlen, "%s: '%s' must be a regular file of at most 64 KiB readable "
		         "only by its owner (chmod 600)", fname, path);
		close(fd);
		*failed = true;
		return NULL;
	}
	struct buf b = {0};
	char chunk[4096];
	ssize_t got;
	while ((got = read(fd, chunk, sizeof chunk)) > 0)
		buf_add(&b, chunk, (size_t)got);
	close(fd);
	if (got < 0) {
		snprintf(err, errlen, "%s: cannot read '%s': %s", fname, path, strerror(errno));
		buf_free(&b);
		*failed = true;
		return NULL;
	}
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.data[--b.len] = '\0';
	return buf_take(&b);
}

static int get_int(const char *name, int64_t def, int64_t min, int64_t max, int64_t *out,
                   char *err, size_t errlen)
{
	bool failed;
	char *v = config_get(name, err, errlen, &failed);
	if (failed)
		return -1;
	if (!v) {
		*out = def;
		return 0;
	}
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	bool ok = *v && !*end && errno == 0 && x >= min && x <= max;
	if (!ok)
		snprintf(err, errlen, "%s must be a whole number from %lld to %lld, not '%.40s'", name,
		         (long long)min, (long long)max, v);
	else
		*out = x;
	free(v);
	return ok ? 0 : -1;
}

static int get_str(const char *name, const char *def, char **out, char *err, size_t errlen)
{
	bool failed;
	char *v = config_get(name, err, errlen, &failed);
	if (failed)
		return -1;
	*out = v ? v : def ? xstrdup(def) : NULL;
	return 0;
}

int config_sync_parse(const char *v, enum store_sync *out, char *err, size_t errlen)
{
	if (!v || strcmp(v, "group") == 0)
		*out = STORE_SYNC_GROUP;
	else if (strcmp(v, "full") == 0)
		*out = STORE_SYNC_FULL;
	else if (strcmp(v, "normal") == 0)
		*out = STORE_SYNC_NORMAL;
	else {
		snprintf(err, errlen, "LEADROUTE_SYNC must be group, full or normal, not '%.40s'", v);
		return -1;
	}
	return 0;
}

/* A setting that must be there for the chosen connector. */
static int need(const char *v, const char *name, const char *crm, char *err, size_t errlen)
{
	if (v && *v)
		return 0;
	snprintf(err, errlen, "LEADROUTE_CRM=%s needs %s (or %s_FILE)", crm, name, name);
	return -1;
}

int config_crm_load(struct config_crm *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	char **o = c->own, *kind = NULL;
	int64_t timeout, attempts, age_h, lookup, lookup_ms, al_window, al_every, al_valid, al_crm;
	if (get_str("LEADROUTE_CRM", "local", &kind, err, errlen) ||
	    get_str("LEADROUTE_HUBSPOT_URL", "https://api.hubapi.com", &o[0], err, errlen) ||
	    get_str("LEADROUTE_HUBSPOT_TOKEN", NULL, &o[1], err, errlen) ||
	    get_str("LEADROUTE_SALESFORCE_LOGIN_URL", "https://login.salesforce.com", &o[2], err,
	            errlen) ||
	    get_str("LEADROUTE_SALESFORCE_CLIENT_ID", NULL, &o[3], err, errlen) ||
	    get_str("LEADROUTE_SALESFORCE_CLIENT_SECRET", NULL, &o[4], err, errlen) ||
	    get_str("LEADROUTE_SALESFORCE_JWT_KEY", NULL, &o[5], err, errlen) ||
	    get_str("LEADROUTE_SALESFORCE_USER", NULL, &o[6], err, errlen) ||
	    get_str("LEADROUTE_SALESFORCE_EXTERNAL_ID", "Leadroute_Id__c", &o[7], err, errlen) ||
	    get_str("LEADROUTE_SALESFORCE_API_VERSION", "v62.0", &o[8], err, errlen) ||
	    get_str("LEADROUTE_WEBHOOK_URL", NULL, &o[9], err, errlen) ||
	    get_str("LEADROUTE_WEBHOOK_SECRET", NULL, &o[10], err, errlen) ||
	    get_str("LEADROUTE_HUBSPOT_LEAD_PROPERTY", "leadroute_id", &o[11], err, errlen) ||
	    get_int("LEADROUTE_CRM_TIMEOUT_MS", 10000, 100, 600000, &timeout, err, errlen) ||
	    get_int("LEADROUTE_OUTBOX_MAX_ATTEMPTS", 100, 1, 10000, &attempts, err, errlen) ||
	    get_int("LEADROUTE_OUTBOX_MAX_AGE_HOURS", 72, 1, 24 * 365, &age_h, err, errlen) ||
	    get_int("LEADROUTE_CRM_LOOKUP", 0, 0, 1, &lookup, err, errlen) ||
	    get_int("LEADROUTE_CRM_LOOKUP_TIMEOUT_MS", 500, 10, 60000, &lookup_ms, err, errlen) ||
	    get_int("LEADROUTE_ALERT_WINDOW_MINUTES", 15, 1, 24 * 60, &al_window, err, errlen) ||
	    get_int("LEADROUTE_ALERT_EVERY_MINUTES", 30, 0, 7 * 24 * 60, &al_every, err, errlen) ||
	    get_int("LEADROUTE_ALERT_VALIDATION_FAILURES", 25, 1, 1000000, &al_valid, err,
	            errlen) ||
	    get_int("LEADROUTE_ALERT_CRM_FAILURES", 10, 1, 1000000, &al_crm, err, errlen))
		goto fail;
	struct crm_config *k = &c->crm;
	*k = (struct crm_config){
		.timeout_ms = (int)timeout, .hubspot_url = o[0], .hubspot_token = o[1],
		.sf_login_url = o[2], .sf_client_id = o[3], .sf_client_secret = o[4],
		.sf_jwt_key = o[5], .sf_user = o[6], .sf_external_id = o[7], .sf_api_version = o[8],
		.webhook_url = o[9], .webhook_secret = o[10], .hubspot_lead_property = o[11],
	};
	outbox_policy_default(&c->outbox, (int)timeout);
	c->outbox.max_attempts = (int)attempts;
	c->outbox.max_age_ms = age_h * 3600 * 1000;
	c->outbox.alerts = (struct alert_policy){ .window_ms = al_window * 60000,
		.every_ms = al_every * 60000, .validation_failures = (int)al_valid,
		.crm_failures = (int)al_crm };
	c->lookup = lookup == 1;
	c->lookup_timeout_ms = (int)lookup_ms;
	if (strcmp(kind, "local") == 0) {
		k->kind = CRM_LOCAL;
	} else if (strcmp(kind, "hubspot") == 0) {
		k->kind = CRM_HUBSPOT;
		if (need(k->hubspot_token, "LEADROUTE_HUBSPOT_TOKEN", kind, err, errlen))
			goto fail;
	} else if (strcmp(kind, "salesforce") == 0) {
		k->kind = CRM_SALESFORCE;
		if (need(k->sf_client_id, "LEADROUTE_SALESFORCE_CLIENT_ID", kind, err, errlen))
			goto fail;
		if (!k->sf_client_secret && !k->sf_jwt_key) {
			snprintf(err, errlen, "LEADROUTE_CRM=salesforce needs "
			         "LEADROUTE_SALESFORCE_CLIENT_SECRET (client credentials) or "
			         "LEADROUTE_SALESFORCE_JWT_KEY and LEADROUTE_SALESFORCE_USER (JWT bearer)");
			goto fail;
		}
		if (k->sf_jwt_key && need(k->sf_user, "LEADROUTE_SALESFORCE_USER", kind, err, errlen))
			goto fail;
	} else if (strcmp(kind, "webhook") == 0) {
		k->kind = CRM_WEBHOOK;
		if (need(k->webhook_url, "LEADROUTE_WEBHOOK_URL", kind, err, errlen) ||
		    need(k->webhook_secret, "LEADROUTE_WEBHOOK_SECRET", kind, err, errlen))
			goto fail;
	} else {
		snprintf(err, errlen, "LEADROUTE_CRM must be local, hubspot, salesforce or webhook, "
		         "not '%.40s'", kind);
		goto fail;
	}
	free(kind);
	return 0;
fail:
	free(kind);
	config_crm_free(c);
	return -1;
}

void config_crm_free(struct config_crm *c)
{
	for (size_t i = 0; i < sizeof c->own / sizeof c->own[0]; i++) {
		if (c->own[i]) {
			/* tokens and keys: do not leave them in freed memory */
			memset(c->own[i], 0, strlen(c->own[i]));
			free(c->own[i]);
		}
	}
	memset(c, 0, sizeof *c);
}

int config_load(struct config *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	int64_t max_body, min_seconds, rate, dry_run;
	char *secret = NULL, *sync = NULL;
	if (get_str("LEADROUTE_RULES", NULL, &c->rules, err, errlen) ||
	    get_str("LEADROUTE_DB", NULL, &c->db, err, errlen) ||
	    get_str("LEADROUTE_WWW", PKGDATADIR "/www", &c->www, err, errlen) ||
	    get_str("LEADROUTE_SECRET", NULL, &secret, err, errlen) ||
	    get_str("LEADROUTE_SPAM_HONEYPOT", "hp_website2", &c->honeypot, err, errlen) ||
	    get_str("LEADROUTE_SYNC", "group", &sync, err, errlen) ||
	    get_str("LEADROUTE_LOG", NULL, &c->log_file, err, errlen) ||
	    get_str("LEADROUTE_SCHEDULER_SECRET", NULL, &c->scheduler_secret, err, errlen) ||
	    get_str("LEADROUTE_CRM_WEBHOOK_SECRET", NULL, &c->crm_hook_secret, err, errlen) ||
	    get_int("LEADROUTE_MAX_BODY", 65536, 1024, 16 * 1024 * 1024, &max_body, err, errlen) ||
	    get_int("LEADROUTE_SPAM_MIN_SECONDS", 3, 0, 3600, &min_seconds, err, errlen) ||
	    get_int("LEADROUTE_RATE_LIMIT", 10, 0, 100000, &rate, err, errlen) ||
	    get_int("LEADROUTE_DRY_RUN", 0, 0, 1, &dry_run, err, errlen))
		goto fail;
	c->max_body = (size_t)max_body;
	c->min_seconds = min_seconds;
	c->rate_limit = rate;
	c->dry_run = dry_run == 1;
	if (!c->rules) {
		snprintf(err, errlen, "LEADROUTE_RULES is not set: name the .routes file to route with");
		goto fail;
	}
	if (!c->db) {
		snprintf(err, errlen, "LEADROUTE_DB is not set: name the SQLite file leads are stored in");
		goto fail;
	}
	if (config_crm_load(&c->crm, err, errlen) != 0)
		goto fail;
	if (config_sync_parse(sync, &c->sync, err, errlen) != 0)
		goto fail;
	if (secret) {
		c->secret_len = strlen(secret);
		c->secret = (unsigned char *)secret;
		secret = NULL;
		if (c->secret_len < 16) {
			snprintf(err, errlen, "LEADROUTE_SECRET must be at least 16 characters");
			goto fail;
		}
	} else if (c->min_seconds > 0) {
		snprintf(err, errlen, "LEADROUTE_SECRET is not set: it signs the form's time token "
		         "(or set LEADROUTE_SPAM_MIN_SECONDS=0 to turn that check off)");
		goto fail;
	}
	free(sync);
	return 0;
fail:
	free(secret);
	free(sync);
	config_free(c);
	return -1;
}

void config_free(struct config *c)
{
	free(c->rules);
	free(c->db);
	config_crm_free(&c->crm);
	free(c->www);
	if (c->secret) {
		memset(c->secret, 0, c->secret_len);
		free(c->secret);
	}
	free(c->honeypot);
	free(c->log_file);
	char *hooks[] = { c->scheduler_secret, c->crm_hook_secret };
	for (size_t i = 0; i < 2; i++)
		if (hooks[i]) {
			memset(hooks[i], 0, strlen(hooks[i]));
			free(hooks[i]);
		}
	memset(c, 0, sizeof *c);
}
