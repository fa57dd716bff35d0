/* leadroute - the operator's command: accounts, leads, members.
 *
 *   leadroute accounts import FILE.csv     fill the account index
 *   leadroute accounts sync [--full]       mirror the CRM's accounts (changed since the last sync)
 *   leadroute leads list [--json] [-n N]   the stored leads, newest first
 *   leadroute members away EMAIL --until DATE   (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC)
 *   leadroute members back EMAIL
 *   leadroute outbox list|show|retry|drain|run   the CRM outbox (leadroute_outbox.c)
 *   leadroute report [--since 14d] [--html FILE]  the routing review (leadroute_report.c)
 *   leadroute replay --rules NEW.routes    stored leads through new rules (leadroute_replay.c)
 * It reads the same environment as the handler (LEADROUTE_DB, ...).  Exit
 * status: 0 done, 1 the operation failed, 2 usage.  Must never change the
 * store partly: each command is one transaction.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "cmd/leadroute_cmd.h"
#include "crm/crm.h"
#include "handler/config.h"
#include "lead/accounts.h"
#include "lead/refdata.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/hmap.h"
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
	        /* report: the routing review (leadroute_report.c) */
	        "       leadroute report [--since Nd|Nh] [--html FILE]\n"
	        "       leadroute replay --rules NEW.routes [--since 30d] [--examples N] [--json]\n"
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
	/* account conflicts (leadroute report): a domain another account gives
	 * later in the file (the index keeps the first line), or one stored
	 * under another account before (the index keeps the file's) */
	int64_t now = clock_wall_ms();
	size_t conflicts = 0;
	for (size_t i = 0; rc == 0 && i < ix->n_dropped; i++) {
		const struct account_row *d = &ix->dropped[i], *k = accounts_find(ix, d->domain);
		if (!k || !d->id || !k->id || strcmp(d->id, k->id) == 0)
			continue;
		struct store_account lost = { d->domain, d->id, d->owner, d->lifecycle, d->tier };
		struct store_account kept = { k->domain, k->id, k->owner, k->lifecycle, k->tier };
		rc = store_account_conflict_add(s, &lost, &kept, now);
		conflicts++;
	}
	for (size_t i = 0; rc == 0 && i < ix->n; i++) {
		const struct account_row *r = &ix->rows[i];
		struct store_account a = { r->domain, r->id, r->owner, r->lifecycle, r->tier };
		int got = store_account_put_noting_conflict(s, &a, now);
		rc = got < 0 ? -1 : 0;
		conflicts += got > 0;
	}
	if (rc == 0)
		rc = store_commit(s);
	if (rc != 0 && s) {
		fprintf(stderr, "leadroute: %s; nothing imported\n", store_error(s));
		store_rollback(s);
	} else if (rc == 0) {
		printf("imported %zu account%s from %s\n", ix->n, ix->n == 1 ? "" : "s", path);
		if (conflicts)
			printf("%zu domain%s claimed by another account as well (recorded; see "
			       "leadroute report)\n", conflicts, conflicts == 1 ? " was" : "s were");
	}
	/* end of account conflicts */
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
	/* account conflicts (leadroute report): how many were recorded, and the
	 * domains this sync stored, each with the account kept (claimed_ids,
	 * owned; claimed maps a domain to its index there) */
	long conflicts;
	long reassigned;        /* lead_reassigned events recorded */
	struct hmap claimed;
	char **claimed_ids;
	size_t n_claimed, cap_claimed;
	int in_batch;
	bool failed;
};

/* Store a (inside the batch's transaction).  Within one sync the index
 * keeps the account that claimed a domain first, and a later claimant is
 * recorded as a conflict; the first claimant replaces an account stored
 * before the sync, recorded as a conflict when it is another one.  1: a
 * conflict recorded, 0: none, -1: error. */
/* How far back an account's change of owner reassigns its leads. */
#define REASSIGN_LOOKBACK_MS (30 * 24 * 3600 * INT64_C(1000))

static int sync_claim(struct sync_ctx *c, const struct store_account *a)
{
	size_t len = strlen(a->domain);
	uint32_t i;
	bool has_id = a->id && a->id[0];
	if (has_id && hmap_get(&c->claimed, a->domain, len, &i) &&
	    strcmp(c->claimed_ids[i], a->id) != 0) {
		struct store_account kept;
		int found = store_account_get(c->s, a->domain, &kept);
		if (found <= 0)
			return -1;
		return store_account_conflict_add(c->s, a, &kept, clock_wall_ms()) == 0 ? 1 : -1;
	}
	/* the account changed hands in the CRM: the leads we gave its old owner
	 * are owned by someone else now (lead_reassigned, for the report) */
	char *old_owner = NULL;
	struct store_account before;
	int had = store_account_get(c->s, a->domain, &before);
	if (had < 0)
		return -1;
	if (had && before.owner && a->owner && strcasecmp(before.owner, a->owner) != 0)
		old_owner = xstrdup(before.owner);
	int got = store_account_put_noting_conflict(c->s, a, clock_wall_ms());
	if (got >= 0 && old_owner) {
		int64_t now = clock_wall_ms();
		int64_t n = store_leads_reassigned(c->s, a->domain, old_owner, a->owner,
		                                   now - REASSIGN_LOOKBACK_MS, now);
		if (n < 0)
			got = -1;
		else
			c->reassigned += n;
	}
	free(old_owner);
	if (got >= 0 && has_id && !hmap_get(&c->claimed, a->domain, len, &i)) {
		c->claimed_ids = xgrow(c->claimed_ids, &c->cap_claimed, c->n_claimed + 1,
		                       sizeof *c->claimed_ids);
		c->claimed_ids[c->n_claimed] = xstrdup(a->id);
		hmap_put(&c->claimed, a->domain, len, (uint32_t)c->n_claimed++);
	}
	return got;
}

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
	if (rc == 0) {
		int got = sync_claim(c, &a);   /* account conflicts */
		rc = got < 0 ? -1 : 0;
		c->conflicts += got > 0;
	}
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
		hmap_init(&ctx.claimed);   /* account conflicts */
		struct crm_result res;
		long n = crm_sync_accounts(c, since, sync_one, &ctx, &res);
		for (size_t i = 0; i < ctx.n_claimed; i++)   /* account conflicts */
			free(ctx.claimed_ids[i]);
		free(ctx.claimed_ids);
		hmap_free(&ctx.claimed);
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
			if (ctx.conflicts)   /* account conflicts */
				printf("%ld domain%s claimed by another account as well (recorded; see "
				       "leadroute report)\n", ctx.conflicts,
				       ctx.conflicts == 1 ? " was" : "s were");
			if (ctx.reassigned)
				printf("%ld lead%s of the last 30 days now with the account's new owner "
				       "(lead_reassigned)\n", ctx.reassigned,
				       ctx.reassigned == 1 ? "" : "s");
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
	/* report: the routing review (leadroute_report.c) */
	if (argc >= 2 && strcmp(argv[1], "report") == 0)
		return cmd_report(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "replay") == 0)   /* leadroute_replay.c */
		return cmd_replay(argc - 2, argv + 2);
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
