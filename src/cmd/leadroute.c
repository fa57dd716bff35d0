/* leadroute - the operator's command: accounts, leads, members.
 *
 *   leadroute accounts import FILE.csv     fill the account index
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
#include "handler/config.h"
#include "lead/accounts.h"
#include "lead/refdata.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/xalloc.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: leadroute accounts import FILE.csv\n"
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
