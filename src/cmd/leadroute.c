/* leadroute - the operator's command: accounts, leads, members.
 *
 *   leadroute accounts import FILE.csv     fill the account index
 *   leadroute accounts sync [--full]       mirror the CRM's accounts (changed since the last sync)
 *   leadroute leads list [--json] [-n N]   the stored leads, newest first
 *   leadroute members away EMAIL --until DATE   (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC)
 *   leadroute members back EMAIL
 *   leadroute outbox list|show|retry|drain|run   the CRM outbox (leadroute_outbox.c)
 * It reads the same environment as the handler (LEADROUTE_DB, ...).  Exit
 * status: 0 done, 1 the operation failed, 2 usage.  Must never change the
 * store partly: each command is one transaction.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cmd/leadroute_cmd.h"
#include "crm/crm.h"
#include "handler/config.h"
#include "lead/accounts.h"
#include "lead/refdata.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/xalloc.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: leadroute accounts import FILE.csv\n"
	        "       leadroute accounts sync [--full]\n"
	        "       leadroute leads list [--json] [-n N]\n"
	        "       leadroute members away EMAIL --until YYYY-MM-DD[THH:MM]\n"
	        "       leadroute members back EMAIL\n"
	        "       leadroute outbox list [--state pending|done|dead] [-n N] [--json]\n"
	        "       leadroute outbox show ID | retry ID|--all | drain [--max N] | run\n"
	        "settings come from the environment (LEADROUTE_DB, ...; see the README)\n");
}

struct store *leadroute_open_store(void)
{
	char err[512];
	bool failed;
	char *db = config_get("LEADROUTE_DB", err, sizeof err, &failed);
	if (!db) {
		fprintf(stderr, "leadroute: %s\n", failed ? err
		        : "LEADROUTE_DB is not set: name the SQLite file leads are stored in");
		return NULL;
	}
	enum store_sync sync;
	struct store *s = NULL;
	if (config_sync_parse(getenv("LEADROUTE_SYNC"), &sync, err, sizeof err) == 0)
		s = store_open(db, sync, err, sizeof err);
	if (!s)
		fprintf(stderr, "leadroute: %s\n", err);
	free(db);
	return s;
}

static int cmd_import(const char *path)
{
	struct refdata rd;
	char err[512];
	if (refdata_load(&rd, err, sizeof err) != 0) {
		fprintf(stderr, "leadroute: %s\n", err);
		return 1;
	}
	struct account_index *ix = accounts_load_csv(path, rd.psl, err, sizeof err);
	if (!ix) {
		fprintf(stderr, "leadroute: %s\n", err);
		refdata_free(&rd);
		return 1;
	}
	struct store *s = leadroute_open_store();
	int rc = s ? store_begin(s) : -1;
	for (size_t i = 0; rc == 0 && i < ix->n; i++) {
		const struct account_row *r = &ix->rows[i];
		struct store_account a = { r->domain, r->id, r->owner, r->lifecycle, r->tier };
		rc = store_account_put(s, &a);
	}
	if (rc == 0)
		rc = store_commit(s);
	if (rc != 0 && s) {
		fprintf(stderr, "leadroute: %s; nothing imported\n", store_error(s));
		store_rollback(s);
	} else if (rc == 0) {
		printf("imported %zu account%s from %s\n", ix->n, ix->n == 1 ? "" : "s", path);
	}
	store_close(s);
	accounts_free(ix);
	refdata_free(&rd);
	return rc == 0 ? 0 : 1;
}

struct list_ctx {
	bool json;
	struct json_object *arr;
	size_t n;
};

/* ---- accounts sync ---- */

struct sync_ctx {
	struct store *s;
	const struct refdata *rd;
	long seen, stored, skipped;
	int in_batch;
	bool failed;
};

/* One account from the CRM into the index, keyed like the handler looks
 * it up: by registrable domain.  Commits every 500 accounts, so a long
 * sync keeps its progress and never holds the write lock for long. */
static int sync_one(void *ctx, const struct crm_account *ca)
{
	struct sync_ctx *c = ctx;
	c->seen++;
	char *domain = ca->domain[0] ? lead_registrable_domain(c->rd->psl, ca->domain) : NULL;
	if (!domain) {
		c->skipped++;   /* a company without a usable domain cannot be matched */
		return 0;
	}
	struct store_account a = { domain, ca->id, ca->owner[0] ? ca->owner : NULL,
	                           ca->lifecycle[0] ? ca->lifecycle : NULL,
	                           ca->tier[0] ? ca->tier : NULL };
	int rc = c->in_batch == 0 ? store_begin(c->s) : 0;
	if (rc == 0)
		rc = store_account_put(c->s, &a);
	free(domain);
	if (rc == 0 && ++c->in_batch >= 500) {
		rc = store_commit(c->s);
		c->in_batch = 0;
	}
	if (rc != 0) {
		store_rollback(c->s);
		c->in_batch = 0;
		c->failed = true;
		return 1;
	}
	c->stored++;
	return 0;
}

#define SYNC_KEY "accounts_sync_ms"
#define SYNC_OVERLAP_MS (5 * 60 * 1000)   /* clock skew and late index updates */

static int cmd_sync(int argc, char **argv)
{
	bool full = argc == 1 && strcmp(argv[0], "--full") == 0;
	if (argc > 1 || (argc == 1 && !full)) {
		fprintf(stderr, "usage: leadroute accounts sync [--full]\n");
		return 2;
	}
	struct refdata rd;
	struct config_crm cc;
	char err[1024];
	if (refdata_load(&rd, err, sizeof err) != 0) {
		fprintf(stderr, "leadroute: %s\n", err);
		return 1;
	}
	if (config_crm_load(&cc, err, sizeof err) != 0) {
		fprintf(stderr, "leadroute: %s\n", err);
		refdata_free(&rd);
		return 1;
	}
	struct store *s = leadroute_open_store();
	struct crm *c = s ? crm_open(&cc.crm, s, err, sizeof err) : NULL;
	int rc = 1;
	if (s && !c)
		fprintf(stderr, "leadroute: %s\n", err);
	char *last = NULL;
	int got = c && !full ? store_meta_get(s, SYNC_KEY, &last) : 0;
	if (got < 0)
		fprintf(stderr, "leadroute: %s\n", store_error(s));
	if (c && got >= 0) {
		int64_t since = last ? strtoll(last, NULL, 10) - SYNC_OVERLAP_MS : 0;
		if (since < 0)
			since = 0;
		int64_t started = clock_wall_ms();
		struct sync_ctx ctx = { .s = s, .rd = &rd };
		struct crm_result res;
		long n = crm_sync_accounts(c, since, sync_one, &ctx, &res);
		if (!ctx.failed && ctx.in_batch && store_commit(s) != 0)
			ctx.failed = true;
		char mark[32];
		snprintf(mark, sizeof mark, "%lld", (long long)started);
		if (ctx.failed) {
			fprintf(stderr, "leadroute: %s; %ld accounts stored before it\n", store_error(s),
			        ctx.stored);
		} else if (n < 0) {
			fprintf(stderr, "leadroute: %s sync stopped: %s; %ld accounts stored, run it "
			        "again to go on\n", crm_name(c), res.message, ctx.stored);
		} else if (store_begin(s) != 0 || store_meta_put(s, SYNC_KEY, mark) != 0 ||
		           store_commit(s) != 0) {
			store_rollback(s);
			fprintf(stderr, "leadroute: %s\n", store_error(s));
		} else {
			printf("%s: %ld accounts changed since %s, %ld stored, %ld without a domain\n",
			       crm_name(c), ctx.seen, since ? "the last sync" : "the start", ctx.stored,
			       ctx.skipped);
			rc = 0;
		}
	}
	free(last);
	crm_close(c);
	store_close(s);
	config_crm_free(&cc);
	refdata_free(&rd);
	return rc;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static int list_row(void *ctx, const struct store_lead_row *r)
{
	struct list_ctx *c = ctx;
	c->n++;
	if (c->json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(r->id));
		json_object_object_add(o, "created", json_object_new_string(r->created));
		json_object_object_add(o, "email", r->email ? json_object_new_string(r->email) : NULL);
		json_object_object_add(o, "queue", r->queue ? json_object_new_string(r->queue) : NULL);
		json_object_object_add(o, "owner", r->member ? json_object_new_string(r->member) : NULL);
		json_object_object_add(o, "account_owner",
		                       r->owner ? json_object_new_string(r->owner) : NULL);
		json_object_object_add(o, "outcome", r->outcome ? json_object_new_string(r->outcome) : NULL);
		json_object_object_add(o, "status", json_object_new_string(r->status));
		json_object_object_add(o, "rule_line", json_object_new_int(r->rule_line));
		json_object_object_add(o, "crm_status", json_object_new_string(r->crm_status));
		json_object_array_add(c->arr, o);
		return 0;
	}
	printf("%-20s  %-32s  %-14s  %-24s  %-9s  %4d  %-10s  %s\n", r->created, or_dash(r->email),
	       or_dash(r->queue), or_dash(r->member), or_dash(r->outcome), r->rule_line,
	       or_dash(r->status), or_dash(r->crm_status));
	return 0;
}

static int cmd_list(int argc, char **argv)
{
	struct list_ctx c = {0};
	int limit = 100;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			c.json = true;
		} else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			limit = atoi(argv[++i]);
			if (limit <= 0) {
				fprintf(stderr, "leadroute: -n takes a positive number\n");
				return 2;
			}
		} else {
			usage(stderr);
			return 2;
		}
	}
	struct store *s = leadroute_open_store();
	if (!s)
		return 1;
	if (c.json)
		c.arr = json_object_new_array();
	else
		printf("%-20s  %-32s  %-14s  %-24s  %-9s  %4s  %-10s  %s\n", "created", "email", "queue",
		       "owner", "outcome", "rule", "status", "crm");
	int rc = store_leads_each(s, limit, list_row, &c);
	if (rc != 0)
		fprintf(stderr, "leadroute: %s\n", store_error(s));
	else if (c.json)
		printf("%s\n", json_object_to_json_string_ext(c.arr, JSON_C_TO_STRING_PRETTY |
		                                              JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(c.arr);
	store_close(s);
	return rc == 0 ? 0 : 1;
}

/* YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC) to milliseconds. */
static int parse_until(const char *s, int64_t *out)
{
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%dT%H:%M", &tm);
	if (!end || *end) {
		memset(&tm, 0, sizeof tm);
		end = strptime(s, "%Y-%m-%d", &tm);
		if (!end || *end)
			return -1;
	}
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = (int64_t)t * 1000;
	return 0;
}

static int cmd_members(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	int64_t until = 0;
	if (strcmp(argv[0], "away") == 0) {
		if (argc != 4 || strcmp(argv[2], "--until") != 0 || parse_until(argv[3], &until) != 0) {
			fprintf(stderr, "leadroute: members away EMAIL --until YYYY-MM-DD[THH:MM] (UTC)\n");
			return 2;
		}
		if (until <= clock_wall_ms()) {
			fprintf(stderr, "leadroute: --until %s is in the past\n", argv[3]);
			return 2;
		}
	} else if (strcmp(argv[0], "back") != 0 || argc != 2) {
		usage(stderr);
		return 2;
	}
	struct store *s = leadroute_open_store();
	if (!s)
		return 1;
	int rc = store_begin(s);
	if (rc == 0)
		rc = store_member_set_away(s, argv[1], until);
	if (rc == 0)
		rc = store_commit(s);
	if (rc != 0)
		fprintf(stderr, "leadroute: %s\n", store_error(s));
	else if (until)
		printf("%s is away until %s (UTC); no leads until then\n", argv[1], argv[3]);
	else
		printf("%s is back and takes leads again\n", argv[1]);
	store_close(s);
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "accounts") == 0 && strcmp(argv[2], "import") == 0) {
		if (argc != 4) {
			usage(stderr);
			return 2;
		}
		return cmd_import(argv[3]);
	}
	if (argc >= 3 && strcmp(argv[1], "accounts") == 0 && strcmp(argv[2], "sync") == 0)
		return cmd_sync(argc - 3, argv + 3);
	if (argc >= 3 && strcmp(argv[1], "leads") == 0 && strcmp(argv[2], "list") == 0)
		return cmd_list(argc - 3, argv + 3);
	if (argc >= 2 && strcmp(argv[1], "members") == 0)
		return cmd_members(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "outbox") == 0)
		return cmd_outbox(argc - 2, argv + 2);
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
