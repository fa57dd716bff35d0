/* leadroute replay - the what-if of a rules change, from the command line.
 *
 *   leadroute replay --rules NEW.routes [--since 30d] [--examples N] [--json]
 *
 * Loads NEW.routes as the handler would (parse, check, compile, lint) and
 * refuses it with routec's diagnostics before anything else is read; then
 * the rules deployed now (LEADROUTE_RULES) and the leads of LEADROUTE_DB
 * stored in the window, and prints where they would go (replay.h).  Exit
 * status: 0 done, 1 a rules file with errors or a database that cannot be
 * read, 2 usage.  Must never write to the database: replay opens it
 * read-only.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cmd/leadroute_cmd.h"
#include "handler/config.h"
#include "lead/refdata.h"
#include "replay/replay.h"
#include "rules/ruleset.h"
#include "util/clock.h"

#define DEFAULT_SINCE "30d"
#define DEFAULT_EXAMPLES 3

static void replay_usage(FILE *out)
{
	fprintf(out, "usage: leadroute replay --rules NEW.routes [--since Nd|Nh] [--examples N] "
	        "[--json]\n"
	        "  the leads stored since then (default %s) through the rules deployed\n"
	        "  (LEADROUTE_RULES) and through NEW.routes: how many would move, from\n"
	        "  which queue to which, with %d example leads per move (--examples);\n"
	        "  the database (LEADROUTE_DB) is only read\n", DEFAULT_SINCE, DEFAULT_EXAMPLES);
}

/* --name VALUE or --name=VALUE at argv[*i]: the value, or NULL when argv[*i]
 * is not that option.  *missing is set when the value is absent. */
static const char *option_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

/* Load one rules file as the handler does; its diagnostics go to stderr as
 * routec prints them.  NULL when it has errors (or cannot be read). */
static struct ruleset *load_rules(const char *path, const struct lead_env *env)
{
	struct diags d;
	diags_init(&d);
	struct ruleset *keep = NULL;
	struct ruleset *rs = ruleset_load(path, env, true, &d, &keep);
	diags_sort(&d);
	diags_print(&d, DIAG_TEXT, stderr, false);
	diags_free(&d);
	ruleset_free(keep);   /* after printing: the diagnostics point into it */
	return rs;
}

static void print_window(const char *since, int64_t since_ms)
{
	time_t t = (time_t)(since_ms / 1000);
	struct tm tm;
	char when[32] = "?";
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
	printf("leads stored since %s (%s)\n", when, since);
}

int cmd_replay(int argc, char **argv)
{
	const char *rules = NULL, *since = DEFAULT_SINCE;
	long examples = DEFAULT_EXAMPLES;
	bool json = false;
	for (int i = 0; i < argc; i++) {
		bool missing = false;
		const char *v;
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			replay_usage(stdout);
			return 0;
		} else if ((v = option_value(argc, argv, &i, "--rules", &missing))) {
			rules = v;
		} else if ((v = option_value(argc, argv, &i, "--since", &missing))) {
			since = v;
		} else if ((v = option_value(argc, argv, &i, "--examples", &missing))) {
			char *end;
			errno = 0;
			examples = strtol(v, &end, 10);
			if (errno || end == v || *end || examples < 0 ||
			    examples > REPLAY_MAX_EXAMPLES) {
				fprintf(stderr, "leadroute replay: --examples: '%s' is not a "
				        "number from 0 to %d\n", v, REPLAY_MAX_EXAMPLES);
				return 2;
			}
		} else if (missing) {
			fprintf(stderr, "leadroute replay: %s needs a value\n", argv[i]);
			replay_usage(stderr);
			return 2;
		} else {
			fprintf(stderr, "leadroute replay: unknown argument '%s'\n", argv[i]);
			replay_usage(stderr);
			return 2;
		}
	}
	if (!rules) {
		fprintf(stderr, "leadroute replay: --rules NEW.routes is required\n");
		replay_usage(stderr);
		return 2;
	}
	int64_t since_len;
	if (replay_parse_since(since, &since_len) != 0) {
		fprintf(stderr, "leadroute replay: --since: '%s' is not a duration like 30d or "
		        "12h\n", since);
		return 2;
	}
	int64_t since_ms = clock_wall_ms() - since_len;

	char err[1024];
	struct refdata rd;
	if (refdata_load(&rd, err, sizeof err) != 0) {
		fprintf(stderr, "leadroute replay: %s\n", err);
		return 1;
	}
	struct lead_env env = refdata_env(&rd);
	int rc = 1;
	struct ruleset *next = NULL, *now = NULL;
	char *deployed = NULL, *db = NULL;
	bool failed = false;
	struct replay_result res = {0};
	/* the new rules first: a file that does not load is refused before
	 * anything else is read */
	next = load_rules(rules, &env);
	if (!next) {
		fprintf(stderr, "leadroute replay: '%s' has errors; run routec --check %s\n", rules,
		        rules);
		goto done;
	}
	deployed = config_get("LEADROUTE_RULES", err, sizeof err, &failed);
	if (!deployed) {
		fprintf(stderr, "leadroute replay: %s\n", failed ? err
		        : "LEADROUTE_RULES is not set: name the rules file deployed now");
		goto done;
	}
	now = load_rules(deployed, &env);
	if (!now) {
		fprintf(stderr, "leadroute replay: the deployed rules '%s' (LEADROUTE_RULES) have "
		        "errors; run routec --check %s\n", deployed, deployed);
		goto done;
	}
	db = config_get("LEADROUTE_DB", err, sizeof err, &failed);
	if (!db) {
		fprintf(stderr, "leadroute replay: %s\n", failed ? err
		        : "LEADROUTE_DB is not set: name the SQLite file leads are stored in");
		goto done;
	}
	if (replay_run(db, now, next, &env, since_ms, (size_t)examples, &res, err, sizeof err)
	    != 0) {
		fprintf(stderr, "leadroute replay: %s\n", err);
		goto done;
	}
	if (json) {
		struct json_object *o = replay_to_json(&res);
		json_object_object_add(o, "rules", json_object_new_string(rules));
		json_object_object_add(o, "deployed", json_object_new_string(deployed));
		json_object_object_add(o, "since_ms", json_object_new_int64(since_ms));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
		                                              JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		printf("replay: %s (new) against %s (deployed)\n", rules, deployed);
		print_window(since, since_ms);
		replay_print_text(&res, stdout);
	}
	rc = fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
	if (rc)
		fprintf(stderr, "leadroute replay: cannot write the result: %s\n", strerror(errno));
done:
	replay_result_free(&res);
	ruleset_free(now);
	ruleset_free(next);
	free(deployed);
	free(db);
	refdata_free(&rd);
	return rc;
}
