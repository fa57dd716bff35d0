/* sf_drive - drive the Salesforce connector from the command line, for
 * tests/crm/salesforce-test.sh.
 *
 *   sf_drive [--via-crm] < commands
 *
 * Commands on standard input, one a line:
 *     deliver JSON|FILE   one outbox payload, on the line or in FILE
 *     lookup DOMAIN MS    a live account lookup within MS milliseconds
 *     sync SINCE_MS       every account modified at or after SINCE_MS
 *     usage               the last Sforce-Limit-Info seen (not with --via-crm)
 *
 * Settings come from the environment exactly as leadroute reads them
 * (LEADROUTE_SALESFORCE_*, LEADROUTE_CRM_TIMEOUT_MS; config.c).  One
 * connector lives through all commands, so the token and the owner cache
 * carry over between them, as in the handler.  Each command prints one
 * JSON line: {"cmd","status","http","rc","retry_after_ms","ms","record_id",
 * "message","pause_ms","pause_why"} plus "account" (lookup), "accounts" (sync) or "used"/"max"
 * (usage).  Exit 0 at the end of the input, 2 on a setup error.
 *
 * By default the connector's own functions are called (sf_*), so the
 * test sees what the connector itself would let out, without crm.c's
 * redaction; --via-crm goes through crm_open and crm_* instead.
 */
#include <stdio.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crm/crm.h"
#include "crm/salesforce.h"
#include "handler/config.h"
#include "util/buf.h"
#include "util/xalloc.h"

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long t0;   /* when the current command began */

static const char *status_name(enum crm_status s)
{
	return s == CRM_DONE ? "done" : s == CRM_RETRY ? "retry" : "dead";
}

static void print_result(const char *cmd, long rc, const struct crm_result *res,
                         const char *extra)
{
	struct buf b = {0};
	buf_adds(&b, "{\"cmd\":");
	buf_add_json_str(&b, cmd);
	buf_printf(&b, ",\"status\":\"%s\",\"http\":%d,\"rc\":%ld,\"retry_after_ms\":%lld,"
	           "\"ms\":%lld,\"record_id\":", status_name(res->status), res->http_status, rc,
	           (long long)res->retry_after_ms, mono_ms() - t0);
	buf_add_json_str(&b, res->record_id);
	buf_adds(&b, ",\"message\":");
	buf_add_json_str(&b, res->message);
	buf_printf(&b, ",\"pause_ms\":%lld,\"pause_why\":", (long long)res->pause_ms);
	buf_add_json_str(&b, res->pause_why);
	if (extra)
		buf_adds(&b, extra);
	buf_adds(&b, "}\n");
	fputs(buf_str(&b), stdout);
	fflush(stdout);
	buf_free(&b);
}

static void add_account(struct buf *b, const struct crm_account *a)
{
	buf_adds(b, "{\"domain\":");
	buf_add_json_str(b, a->domain);
	buf_adds(b, ",\"id\":");
	buf_add_json_str(b, a->id);
	buf_adds(b, ",\"owner\":");
	buf_add_json_str(b, a->owner);
	buf_adds(b, ",\"lifecycle\":");
	buf_add_json_str(b, a->lifecycle);
	buf_printf(b, ",\"modified_ms\":%lld}", (long long)a->modified_ms);
}

static int on_account(void *ctx, const struct crm_account *a)
{
	struct buf *b = ctx;
	buf_adds(b, b->len ? "," : "");
	add_account(b, a);
	return 0;
}

static char *read_file(const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	struct buf b = {0};
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	if (f != stdin)
		fclose(f);
	return b.data ? buf_take(&b) : xstrdup("");
}

static void print_error(const char *cmd, const char *msg)
{
	struct buf b = {0};
	buf_adds(&b, "{\"cmd\":");
	buf_add_json_str(&b, cmd);
	buf_adds(&b, ",\"status\":\"error\",\"message\":");
	buf_add_json_str(&b, msg);
	buf_adds(&b, "}\n");
	fputs(buf_str(&b), stdout);
	fflush(stdout);
	buf_free(&b);
}

int main(int argc, char **argv)
{
	struct config_crm cc;
	char err[512];
	int via_crm = argc > 1 && strcmp(argv[1], "--via-crm") == 0;

	if (argc > 1 + via_crm) {
		fprintf(stderr, "usage: sf_drive [--via-crm] < commands\n");
		return 2;
	}
	setenv("LEADROUTE_CRM", "salesforce", 1);
	if (config_crm_load(&cc, err, sizeof err) != 0) {
		print_error("open", err);
		return 2;
	}
	struct crm *c = NULL;
	void *sf = NULL;
	if (via_crm)
		c = crm_open(&cc.crm, NULL, err, sizeof err);
	else
		sf = sf_open(&cc.crm, err, sizeof err);
	if (!c && !sf) {
		print_error("open", err);
		config_crm_free(&cc);
		return 2;
	}

	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		char *cmd = line, *arg = strchr(line, ' ');
		if (arg)
			*arg++ = '\0';
		else
			arg = line + n;
		if (!cmd[0])
			continue;
		struct crm_result res;
		memset(&res, 0, sizeof res);
		t0 = mono_ms();
		if (strcmp(cmd, "deliver") == 0) {
			char *payload = arg[0] == '{' ? xstrdup(arg) : read_file(arg);
			if (!payload) {
				print_error(cmd, "cannot read the payload file");
				continue;
			}
			int r = c ? crm_deliver(c, payload, &res) : sf_deliver(sf, payload, &res);
			print_result(cmd, r, &res, NULL);
			free(payload);
		} else if (strcmp(cmd, "lookup") == 0) {
			struct crm_account a;
			char domain[300] = "";
			int ms = 0;
			if (sscanf(arg, "%299s %d", domain, &ms) != 2) {
				print_error(cmd, "lookup DOMAIN MS");
				continue;
			}
			int r = c ? crm_lookup_account(c, domain, ms, &a, &res)
			          : sf_lookup_account(sf, domain, ms, &a, &res);
			struct buf extra = {0};
			if (r == 1) {
				buf_adds(&extra, ",\"account\":");
				add_account(&extra, &a);
			}
			print_result(cmd, r, &res, extra.data);
			buf_free(&extra);
		} else if (strcmp(cmd, "sync") == 0) {
			struct buf list = {0}, extra = {0};
			long long since = atoll(arg);
			long r = c ? crm_sync_accounts(c, since, on_account, &list, &res)
			           : sf_sync_accounts(sf, since, on_account, &list, &res);
			buf_printf(&extra, ",\"accounts\":[%s]", buf_str(&list));
			print_result(cmd, r, &res, extra.data);
			buf_free(&list);
			buf_free(&extra);
		} else if (strcmp(cmd, "usage") == 0 && sf) {
			long used = 0, max = 0;
			int r = sf_api_usage(sf, &used, &max);
			printf("{\"cmd\":\"usage\",\"rc\":%d,\"used\":%ld,\"max\":%ld}\n", r, used, max);
			fflush(stdout);
		} else {
			print_error(cmd, "unknown command");
		}
	}
	free(line);
	if (c)
		crm_close(c);
	if (sf)
		sf_close(sf);
	config_crm_free(&cc);
	return 0;
}
