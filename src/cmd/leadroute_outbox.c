/* leadroute_outbox - `leadroute outbox ...`: look at and work the CRM outbox.
 *
 *   leadroute outbox list [--state pending|done|dead] [-n N] [--json]
 *   leadroute outbox show ID
 *   leadroute outbox retry ID|--all     dead letters back to pending, due now
 *   leadroute outbox drain [--max N]    deliver what is due once (for cron)
 *   leadroute outbox run                deliver as rows fall due until SIGTERM/SIGINT
 * Settings come from the environment, like the handler's (README).  Must
 * never print a token or key, and never leave a run stopped mid-row: a
 * stop signal is noticed between rows.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cmd/leadroute_cmd.h"
#include "crm/crm.h"
#include "events/sinks.h"
#include "handler/config.h"
#include "metrics/metrics.h"
#include "outbox/outbox.h"
#include "store/store.h"
#include "util/clock.h"

static void iso_time(int64_t ms, char out[32])
{
	if (ms <= 0) {
		snprintf(out, 32, "-");
		return;
	}
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static struct json_object *row_json(const struct store_outbox_row *r, bool payload)
{
	struct json_object *o = json_object_new_object();
	char due[32], created[32], updated[32];
	iso_time(r->due_ms, due);
	iso_time(r->created_ms, created);
	iso_time(r->updated_ms, updated);
	json_object_object_add(o, "id", json_object_new_int64(r->id));
	json_object_object_add(o, "lead_id", json_object_new_string(r->lead_id));
	json_object_object_add(o, "state", json_object_new_string(r->state));
	json_object_object_add(o, "attempts", json_object_new_int(r->attempts));
	json_object_object_add(o, "due", json_object_new_string(due));
	json_object_object_add(o, "created", json_object_new_string(created));
	json_object_object_add(o, "updated", json_object_new_string(updated));
	json_object_object_add(o, "http_status", r->http_status
	                       ? json_object_new_int(r->http_status) : NULL);
	json_object_object_add(o, "last_error", r->last_error
	                       ? json_object_new_string(r->last_error) : NULL);
	json_object_object_add(o, "record_id", r->record_id
	                       ? json_object_new_string(r->record_id) : NULL);
	if (payload) {
		struct json_object *p = json_tokener_parse(r->payload);
		json_object_object_add(o, "payload", p ? p : json_object_new_string(r->payload));
	}
	return o;
}

struct list_ctx {
	bool json;
	struct json_object *arr;
};

static int list_row(void *ctx, const struct store_outbox_row *r)
{
	struct list_ctx *l = ctx;
	if (l->json) {
		json_object_array_add(l->arr, row_json(r, false));
		return 0;
	}
	char due[32];
	iso_time(r->due_ms, due);
	printf("%-6lld %-36s %-7s %3d  %-20s %s\n", (long long)r->id, r->lead_id, r->state,
	       r->attempts, due, r->last_error ? r->last_error : r->record_id ? r->record_id : "");
	return 0;
}

static int cmd_list(struct store *s, int argc, char **argv)
{
	const char *state = NULL;
	int n = 50;
	struct list_ctx l = {0};
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			l.json = true;
		} else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc &&
		           (strcmp(argv[i + 1], "pending") == 0 || strcmp(argv[i + 1], "done") == 0 ||
		            strcmp(argv[i + 1], "dead") == 0)) {
			state = argv[++i];
		} else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0) {
			n = atoi(argv[++i]);
		} else {
			fprintf(stderr, "leadroute outbox list: unknown or incomplete option '%s' "
			        "(--state pending|done|dead, -n N, --json)\n", argv[i]);
			return 2;
		}
	}
	if (l.json)
		l.arr = json_object_new_array();
	else
		printf("%-6s %-36s %-7s %3s  %-20s %s\n", "ID", "LEAD", "STATE", "TRY", "DUE",
		       "LAST ERROR / CRM RECORD");
	int rc = store_outbox_each(s, state, n, list_row, &l);
	if (rc != 0)
		fprintf(stderr, "leadroute: %s\n", store_error(s));
	else if (l.json)
		printf("%s\n", json_object_to_json_string_ext(l.arr, JSON_C_TO_STRING_PRETTY |
		                                              JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(l.arr);
	return rc == 0 ? 0 : 1;
}

static bool parse_id(const char *s, int64_t *id)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || errno || v <= 0)
		return false;
	*id = v;
	return true;
}

static int cmd_show(struct store *s, int argc, char **argv)
{
	int64_t id;
	if (argc != 1 || !parse_id(argv[0], &id)) {
		fprintf(stderr, "usage: leadroute outbox show ID\n");
		return 2;
	}
	struct store_outbox_row r;
	int got = store_outbox_get(s, id, &r);
	if (got < 0) {
		fprintf(stderr, "leadroute: %s\n", store_error(s));
		return 1;
	}
	if (got == 0) {
		fprintf(stderr, "leadroute: no outbox row %lld (see leadroute outbox list)\n",
		        (long long)id);
		return 1;
	}
	struct json_object *o = row_json(&r, true);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	                                              JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	store_outbox_row_free(&r);
	return 0;
}

static int cmd_retry(struct store *s, int argc, char **argv)
{
	int64_t id = 0;
	if (argc != 1 || (strcmp(argv[0], "--all") != 0 && !parse_id(argv[0], &id))) {
		fprintf(stderr, "usage: leadroute outbox retry ID|--all\n");
		return 2;
	}
	int n = -1;
	if (store_begin(s) == 0 && (n = store_outbox_revive(s, id, clock_wall_ms())) >= 0 &&
	    store_commit(s) != 0)
		n = -1;
	if (n < 0) {
		store_rollback(s);
		fprintf(stderr, "leadroute: %s\n", store_error(s));
		return 1;
	}
	if (n == 0 && id > 0) {
		fprintf(stderr, "leadroute: outbox row %lld is not a dead letter\n", (long long)id);
		return 1;
	}
	printf("%d dead letter%s back in the outbox, due now\n", n, n == 1 ? "" : "s");
	return 0;
}

static void print_counts(const struct outbox_counts *k)
{
	printf("delivered %d, to retry %d, dead-lettered %d", k->done, k->retried, k->dead);
	if (k->paused_until > 0) {
		char until[32];
		iso_time(k->paused_until, until);
		printf("; the CRM asked us to wait until %s", until);
	}
	printf("\n");
	fflush(stdout);
	if (k->alert[0])
		fprintf(stderr, "leadroute outbox: %s\n", k->alert);
}

/* ---- event sinks: drain and run feed them too (src/events/sinks.h) ---- */
#define OUTBOX_CMD_SINK_BATCHES 1000

/* Run the sinks once; prints what happened when anything did.  0, or 1
 * after a store error. */
static int run_sinks(struct store *s, const struct sink_list *sl, const struct config_crm *cc,
                     bool quiet_when_idle)
{
	if (!sl->n)
		return 0;
	struct sinks_counts k;
	memset(&k, 0, sizeof k);
	char err[1024];
	int n = sinks_run(s, sl->v, sl->n, &cc->outbox, clock_wall_ms(), OUTBOX_CMD_SINK_BATCHES,
	                  &k, err, sizeof err);
	if (n < 0) {
		fprintf(stderr, "leadroute: %s\n", err);
		return 1;
	}
	if (n || !quiet_when_idle)
		printf("events: sent %d, skipped %d, refused %d, batches to retry %d\n", k.sent,
		       k.skipped, k.dead, k.retried);
	for (int i = 0; i < k.n_problems; i++)
		fprintf(stderr, "leadroute: %s\n", k.problems[i]);
	fflush(stdout);
	return 0;
}
/* ---- end of event sinks ---- */

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/* The shared metrics next to LEADROUTE_DB (metrics.h), which record the
 * worker's CRM calls like the handler's; NULL after printing why. */
static struct metrics *open_metrics(void)
{
	char err[1024];
	bool failed;
	char *db = config_get("LEADROUTE_DB", err, sizeof err, &failed);
	struct metrics *m = db ? metrics_open(db, err, sizeof err) : NULL;
	if (!m)
		fprintf(stderr, "leadroute: %s\n", db || failed ? err : "LEADROUTE_DB is not set");
	free(db);
	return m;
}

static int cmd_work(struct store *s, const struct config_crm *cc, bool forever, int max)
{
	char err[1024];
	struct metrics *m = open_metrics();
	if (!m)
		return 1;
	struct crm *c = crm_open(&cc->crm, s, err, sizeof err);
	if (!c) {
		fprintf(stderr, "leadroute: %s\n", err);
		metrics_close(m);
		return 1;
	}
	struct sink_list sl;   /* event sinks */
	if (sinks_open_from_env(s, &sl, err, sizeof err) != 0) {
		fprintf(stderr, "leadroute: %s\n", err);
		crm_close(c);
		metrics_close(m);
		return 1;
	}
	if (forever) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_stop;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0) {
			fprintf(stderr, "leadroute: cannot catch SIGTERM: %s\n", strerror(errno));
			sink_list_free(&sl);
			crm_close(c);
			metrics_close(m);
			return 1;
		}
	}
	int rc = 0;
	do {
		struct outbox_counts k = { .metrics = m };
		int n = 0;
		while (!stopping && n < max) {
			int got = outbox_deliver_one(s, c, &cc->outbox, clock_wall_ms(), NULL, &k, err,
			                             sizeof err);
			if (got < 0) {
				fprintf(stderr, "leadroute: %s\n", err);
				rc = 1;
				break;
			}
			if (got == 0)
				break;
			n++;
		}
		if (n || !forever || k.paused_until)
			print_counts(&k);
		if (rc == 0 && !stopping)
			rc = run_sinks(s, &sl, cc, forever);   /* event sinks */
		if (!forever || rc)
			break;
		/* sleep until the next row is due (at most a second, so new
		 * leads and a stop are noticed soon) */
		int64_t now = clock_wall_ms(), due = store_outbox_next_due(s), wait = 1000;
		if (due > now && due - now < wait)
			wait = due - now;
		if (k.paused_until > now && k.paused_until - now < wait)
			wait = k.paused_until - now;
		if (due == 0 || due > now || k.paused_until > now) {
			struct timespec ts = { wait / 1000, (wait % 1000) * 1000000 };
			nanosleep(&ts, NULL);
		}
	} while (!stopping);
	sink_list_free(&sl);   /* event sinks */
	crm_close(c);
	metrics_close(m);
	return rc;
}

int cmd_outbox(int argc, char **argv)
{
	if (argc < 1) {
		fprintf(stderr, "usage: leadroute outbox list|show|retry|drain|run ...\n");
		return 2;
	}
	const char *sub = argv[0];
	char err[1024];
	struct config_crm cc;
	if (config_crm_load(&cc, err, sizeof err) != 0) {
		fprintf(stderr, "leadroute: %s\n", err);
		return 1;
	}
	struct store *s = leadroute_open_store();
	if (!s) {
		config_crm_free(&cc);
		return 1;
	}
	int rc = 2;
	if (strcmp(sub, "list") == 0) {
		rc = cmd_list(s, argc - 1, argv + 1);
	} else if (strcmp(sub, "show") == 0) {
		rc = cmd_show(s, argc - 1, argv + 1);
	} else if (strcmp(sub, "retry") == 0) {
		rc = cmd_retry(s, argc - 1, argv + 1);
	} else if (strcmp(sub, "drain") == 0) {
		int max = 100000;
		if (argc == 3 && strcmp(argv[1], "--max") == 0 && atoi(argv[2]) > 0)
			max = atoi(argv[2]);
		else if (argc != 1)
			max = 0;
		if (max)
			rc = cmd_work(s, &cc, false, max);
		else
			fprintf(stderr, "usage: leadroute outbox drain [--max N]\n");
	} else if (strcmp(sub, "run") == 0 && argc == 1) {
		rc = cmd_work(s, &cc, true, 1000);
	} else {
		fprintf(stderr, "usage: leadroute outbox list|show|retry|drain|run ...\n");
	}
	store_close(s);
	config_crm_free(&cc);
	return rc;
}
