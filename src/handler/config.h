/* config - the handler's and the operator command's settings.
 *
 * Read from the environment (how lighttpd's bin-environment, Apache's
 * FcgidInitialEnv and systemd pass settings).  Every setting NAME also
 * accepts NAME_FILE, naming a file that holds the value (for secrets); the
 * file must not be readable by group or others.  A value that does not
 * parse is an error naming the variable, never a silent default.  Secrets
 * are kept out of every message.  The table of settings is in the README.
 */
#ifndef LR_CONFIG_H
#define LR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crm/crm.h"
#include "outbox/outbox.h"
#include "store/store.h"

/* The CRM's settings, shared by the handler and the leadroute command
 * (README, "Settings").  crm holds pointers into the owned strings. */
struct config_crm {
	struct crm_config crm;
	char *own[13];
	struct outbox_policy outbox;    /* LEADROUTE_OUTBOX_MAX_ATTEMPTS, _MAX_AGE_HOURS */
	bool lookup;                    /* LEADROUTE_CRM_LOOKUP=1: ask the CRM live */
	int lookup_timeout_ms;          /* LEADROUTE_CRM_LOOKUP_TIMEOUT_MS, default 500 */
};

/* Fill c from LEADROUTE_CRM and the connector's variables; a connector
 * without its required settings is an error naming them.  Returns 0, or -1
 * with err filled.  Caller frees with config_crm_free. */
int config_crm_load(struct config_crm *c, char *err, size_t errlen);
void config_crm_free(struct config_crm *c);

struct config {
	char *rules;            /* LEADROUTE_RULES: the .routes file */
	char *db;               /* LEADROUTE_DB: the SQLite file */
	struct config_crm crm;  /* LEADROUTE_CRM (local by default) and its settings */
	char *www;              /* LEADROUTE_WWW: folder of the form template, index.html */
	unsigned char *secret;  /* LEADROUTE_SECRET: signs form tokens */
	size_t secret_len;
	size_t max_body;        /* LEADROUTE_MAX_BODY: bytes, default 65536 */
	char *honeypot;         /* LEADROUTE_SPAM_HONEYPOT: field name; "" disables */
	int64_t min_seconds;    /* LEADROUTE_SPAM_MIN_SECONDS: 0 disables */
	int64_t rate_limit;     /* LEADROUTE_RATE_LIMIT: per minute per address; 0 disables */
	enum store_sync sync;   /* LEADROUTE_SYNC: group (default), full or normal */
	bool dry_run;           /* LEADROUTE_DRY_RUN=1: route and answer, write nothing */
	char *log_file;         /* LEADROUTE_LOG: where diagnostics go; default stderr */
	char *scheduler_secret; /* LEADROUTE_SCHEDULER_SECRET: signs POST /booked; NULL: off */
	char *crm_hook_secret;  /* LEADROUTE_CRM_WEBHOOK_SECRET: signs POST /owner-changed */
};

/* Fill c from the environment.  Returns 0, or -1 with err naming the bad
 * variable.  Caller frees with config_free. */
int config_load(struct config *c, char *err, size_t errlen);
void config_free(struct config *c);

/* LEADROUTE_SYNC's value (NULL: the default, group) as a store_sync.
 * Returns 0, or -1 with err naming the bad value. */
int config_sync_parse(const char *v, enum store_sync *out, char *err, size_t errlen);

/* One setting with its _FILE variant: a new string (caller frees), NULL
 * when neither is set, or NULL with err filled when the file is unusable. */
char *config_get(const char *name, char *err, size_t errlen, bool *failed);

#endif
