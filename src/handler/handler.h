/* handler - one HTTP request in, one response out: the intake path.
 *
 * Independent of FastCGI: the main (src/cmd/leadroute_fcgi.c) reads the
 * request through libfcgi or the CGI environment into a struct request,
 * calls handler_handle, and writes the struct response.  Tests call
 * handler_handle directly.
 *
 * struct app holds what a handler process keeps between requests: its
 * settings, reference data, the current rule set (swapped when the file
 * changes and the new one loads clean), and the store.  It is the only
 * mutable state of the process, in one place.
 *
 * Endpoints: GET / (the form, with a fresh signed token), POST /lead,
 * POST /event (client beacons), GET /healthz, GET /metrics, and the signed
 * webhooks POST /booked (a scheduler's booking: meeting_booked) and POST
 * /owner-changed (the CRM moved a lead: lead_reassigned), see doc/events.md.  The path is
 * PATH_INFO when set, else SCRIPT_NAME, so /lead and
 * /cgi-bin/leadroute.fcgi/lead both work.
 */
#ifndef LR_HANDLER_H
#define LR_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

#include "events/sinks.h"
#include "handler/config.h"
#include "lead/refdata.h"
#include "rules/ruleset.h"
#include "store/store.h"
#include "util/buf.h"

struct metrics;   /* metrics/metrics.h */

struct app {
	struct config cfg;
	struct refdata rd;
	struct ruleset *rules;      /* the tree being served */
	struct rules_stamp {        /* the version of the file being served */
		struct timespec mtime;
		off_t size;
		ino_t ino;
		dev_t dev;
	} rules_stamp;
	time_t rules_recheck_at;    /* read it once more then (0: no need) */
	uint64_t rules_text_hash;   /* of the bytes last read, loaded or refused */
	bool rules_refused;         /* the file changed and did not load */
	char *rules_problem;        /* the refusal's first diagnostic, for /healthz */
	struct store *store;
	struct crm *crm;            /* the CRM of record (LEADROUTE_CRM) */
	struct sink_list sinks;     /* the event log's consumers (src/events/sinks.h) */
	char last_lead[37];         /* answered, its CRM write not yet tried */
	char *form_html;            /* www/index.html: the form, fresh (GET /) and
	                               re-shown with errors (422) */
	FILE *log;                  /* diagnostics; stderr unless LEADROUTE_LOG */
	uint64_t requests;
	struct metrics *metrics;    /* counters and histograms shared by the deployment's
	                               processes (DB-metrics, metrics/metrics.h); owned */
};

struct request {
	const char *method;         /* REQUEST_METHOD */
	const char *path;           /* PATH_INFO or SCRIPT_NAME */
	const char *content_type;
	const char *accept;         /* HTTP_ACCEPT */
	const char *idempotency_key;/* HTTP_IDEMPOTENCY_KEY */
	const char *signature;      /* HTTP_LEADROUTE_SIGNATURE ("v1=HEX"), or Calendly's
	                               HTTP_CALENDLY_WEBHOOK_SIGNATURE ("t=TS,v1=HEX") */
	const char *sig_timestamp;  /* HTTP_LEADROUTE_TIMESTAMP (seconds) */
	const char *remote_addr;
	const char *body;           /* read in full, at most cfg.max_body bytes */
	size_t body_len;
	bool body_too_large;        /* more than cfg.max_body bytes were sent */
	bool length_mismatch;       /* CONTENT_LENGTH given and not what arrived */
	int64_t now_ms;
};

struct response {
	int status;
	const char *content_type;   /* static string */
	char location[2048];        /* empty: none */
	const char *allow;          /* for 405 */
	struct buf body;
};

/* Set up the app from the environment: settings, reference data, rules,
 * store, templates.  Returns 0, or -1 with err filled. */
int app_init(struct app *a, char *err, size_t errlen);
void app_free(struct app *a);
/* Reload the rules when the file changed since it was loaded; a file with
 * errors is refused and logged, and the old tree keeps serving. */
void app_reload_rules(struct app *a);

/* Handle one request.  Always fills resp (caller frees resp->body). */
void handler_handle(struct app *a, const struct request *req, struct response *resp);

/* After the answer has gone out (FCGX_Finish_r): write the lead just
 * answered to a remote CRM through the outbox (outbox.h).  The embedded
 * CRM (local) needs nothing here: its record is written in the lead's own
 * transaction.  A failure leaves the row to the worker (`leadroute outbox
 * run` or `drain`); nothing is lost.
 * Returns the number of rows settled (0 or 1), or -1 on a store error
 * (logged). */
int handler_deliver_outbox(struct app *a, int64_t now_ms);

/* ---- event sinks ----
 * After the answer has gone out, next to handler_deliver_outbox: feed the
 * event log to the configured sinks (JSON-lines file, analytics), at most
 * HANDLER_SINK_BATCHES batches each, so a backlog is worked off a little
 * per request and a sink that is down costs nothing until its retry is
 * due.  Returns the batches settled, or -1 on a store error (logged; a
 * failing sink is logged too). */
#define HANDLER_SINK_BATCHES 2
int handler_run_sinks(struct app *a, int64_t now_ms);

/* The status line text for a code ("See Other"). */
const char *handler_status_text(int status);

#endif
