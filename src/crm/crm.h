/* crm - the CRM of record behind one interface: hubspot, salesforce,
 * webhook or local (the embedded store).
 *
 * A connector turns one routed lead (the outbox payload, crm_lead below)
 * into a record in the CRM with the owner the rules chose, and reports
 * what happened as a crm_result the outbox acts on: DONE, RETRY (timeouts,
 * connection errors, 429, 5xx, the CRMs' other rate-limit answers) or DEAD
 * (validation errors and other 4xx, in the CRM's own words).  Delivering
 * the same lead twice never makes a second record: HubSpot upserts the
 * contact by email, Salesforce upserts the Lead on an external-id field
 * holding the lead id, the webhook sends the lead id for the receiver to
 * dedupe on, local upserts on the lead id.
 *
 * Connectors also look accounts up by registrable domain (live lookup, with
 * a tight timeout) and list accounts changed since a time (accounts sync).
 *
 * Errors and messages never contain a token, key, secret or Authorization
 * header.  Strings handed out are owned by the caller unless "borrowed".
 * A struct crm is used by one thread; it keeps its libcurl handle (and
 * connections) and its tokens between calls.
 */
#ifndef LR_CRM_H
#define LR_CRM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

enum crm_kind { CRM_LOCAL, CRM_HUBSPOT, CRM_SALESFORCE, CRM_WEBHOOK };

/* Settings (config.c fills them from LEADROUTE_* variables; see README). */
struct crm_config {
	enum crm_kind kind;
	int timeout_ms;                 /* LEADROUTE_CRM_TIMEOUT_MS: one HTTP call, default 10000 */
	/* hubspot */
	const char *hubspot_url;        /* base URL, default https://api.hubapi.com */
	const char *hubspot_token;      /* private-app token */
	const char *hubspot_lead_property; /* contact property holding the lead id; NULL:
	                                      leadroute_id, "": none */
	/* salesforce */
	const char *sf_login_url;       /* token endpoint host, default https://login.salesforce.com */
	const char *sf_client_id;
	const char *sf_client_secret;   /* client credentials flow ... */
	const char *sf_jwt_key;         /* ... or JWT bearer: PEM private key text */
	const char *sf_user;            /* JWT subject (username) */
	const char *sf_external_id;     /* default Leadroute_Id__c */
	const char *sf_api_version;     /* default v62.0 */
	/* webhook */
	const char *webhook_url;
	const char *webhook_secret;
};

/* One routed lead as the outbox carries it (a JSON object):
 *   {"lead_id", "created_ms", "email", "domain", "fields": {...normalized
 *    submission...}, "queue", "owner" (member email or null),
 *    "account_id", "rule_line", "outcome", "review_owner" (bool)} */

enum crm_status { CRM_DONE, CRM_RETRY, CRM_DEAD };

struct crm_result {
	enum crm_status status;
	int http_status;            /* the last HTTP answer; 0: none (connection, timeout) */
	int64_t retry_after_ms;     /* RETRY: how long the CRM asked us to wait; 0: backoff decides */
	char record_id[128];        /* DONE: the CRM's id of the record written */
	char message[512];          /* RETRY/DEAD: what went wrong, with the CRM's own message;
	                               DONE: empty, or a warning (e.g. an association not made) */
	int64_t pause_ms;           /* any status: the CRM's rate-limit headers say its budget
	                               is spent; nobody should call it for this long (0: no hint).
	                               A connector that learns it mid-task makes no further call */
	char pause_why[160];        /* pause_ms > 0: which header said so */
};

/* Set res to status with a message (printf format); http_status and
 * retry_after_ms are left as they are.  Returns 0 for CRM_DONE, else -1,
 * so a connector can `return crm_result_set(...)`. */
int crm_result_set(struct crm_result *res, enum crm_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Replace every occurrence of secret (when it has 4 or more characters) in
 * msg with "[redacted]"; msg stays NUL-terminated within size. */
void crm_redact(char *msg, size_t size, const char *secret);

/* The parsed payload, for connectors.  Strings are borrowed from root and
 * NULL when absent, null or not a string. */
struct json_object;
struct crm_lead {
	const char *lead_id;        /* never NULL after crm_lead_parse succeeds */
	const char *email, *domain, *queue, *owner, *account_id, *outcome;
	int64_t created_ms;
	int rule_line;
	bool review_owner;
	struct json_object *root;   /* owns the strings above */
};
/* Parse payload_json.  0, or -1 with err filled when it is not a JSON
 * object with a non-empty string lead_id.  crm_lead_free releases it. */
int crm_lead_parse(const char *payload_json, struct crm_lead *out, char *err, size_t errlen);
void crm_lead_free(struct crm_lead *l);
/* fields.<name> as text (numbers and booleans written out); NULL when
 * absent, null or empty.  Caller frees. */
char *crm_lead_field(const struct crm_lead *l, const char *name);

/* "hubspot", "salesforce", "webhook" or "local" to a kind: 0, or -1 when
 * name is none of them. */
int crm_kind_parse(const char *name, enum crm_kind *out);

struct crm;

/* Open a connector.  local writes into store (borrowed; may be NULL for
 * the others).  Returns NULL and fills err when a required setting is
 * missing or libcurl cannot start. */
struct crm *crm_open(const struct crm_config *cfg, struct store *store, char *err, size_t errlen);
void crm_close(struct crm *c);
const char *crm_name(const struct crm *c);     /* "hubspot", ...: borrowed, static */

/* Write one lead (payload_json as above).  Always fills res; returns 0
 * when res->status is CRM_DONE, -1 otherwise. */
int crm_deliver(struct crm *c, const char *payload_json, struct crm_result *res);

/* An account as a CRM knows it. */
struct crm_account {
	char domain[256], id[128], owner[256], lifecycle[64], tier[64];
	int64_t modified_ms;
};

/* Live lookup of the account for a registrable domain within timeout_ms:
 * 1 and *out when found, 0 when the CRM has none, -1 with res filled when
 * the CRM did not answer in time or failed (route without it). */
int crm_lookup_account(struct crm *c, const char *domain, int timeout_ms,
                       struct crm_account *out, struct crm_result *res);

/* Accounts modified at or after since_ms, page by page, each handed to fn
 * (return nonzero from fn to stop).  Returns the number of accounts seen,
 * or -1 with res filled. */
typedef int (*crm_account_fn)(void *ctx, const struct crm_account *a);
long crm_sync_accounts(struct crm *c, int64_t since_ms, crm_account_fn fn, void *ctx,
                       struct crm_result *res);

#endif
