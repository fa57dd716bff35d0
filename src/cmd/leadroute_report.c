/* leadroute_report - `leadroute report [--since 14d] [--html FILE]`.
 *
 * The routing review over the last N days or hours: the figures come from
 * src/report (a read-only look at LEADROUTE_DB; the rules' text from
 * LEADROUTE_RULES when it can be read), printed as a plain table on
 * standard output and, with --html, also written as one HTML page.  Exit
 * status: 0 done, 1 the database or the HTML file failed, 2 usage.  Must
 * never write to the database.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/leadroute_cmd.h"
#include "handler/config.h"
#include "report/report.h"
#include "util/clock.h"

#define DEFAULT_SINCE "14d"

static int report_usage(void)
{
	fprintf(stderr, "usage: leadroute report [--since Nd|Nh] [--html FILE]\n"
	        "  --since  the window, ending now: days (14d, the default) or hours (36h)\n"
	        "  --html   also write the report as one HTML page to FILE\n");
	return 2;
}

/* The value of option name at argv[*i] ("--name V" or "--name=V"), or NULL
 * when argv[*i] is another option; *missing when the value is absent. */
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

static int write_html(const struct report *r, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "leadroute: cannot write the HTML report to '%s': %s\n", path,
		        strerror(errno));
		return 1;
	}
	int rc = report_render_html(r, f);
	int err = errno;
	if (fclose(f) != 0 && rc == 0) {
		rc = -1;
		err = errno;
	}
	if (rc != 0) {
		fprintf(stderr, "leadroute: cannot write the HTML report to '%s': %s\n", path,
		        strerror(err));
		return 1;
	}
	return 0;
}

int cmd_report(int argc, char **argv)
{
	const char *since_text = DEFAULT_SINCE, *html = NULL;
	for (int i = 0; i < argc; i++) {
		bool missing = false;
		const char *v;
		if ((v = option_value(argc, argv, &i, "--since", &missing)) != NULL) {
			since_text = v;
		} else if ((v = option_value(argc, argv, &i, "--html", &missing)) != NULL) {
			html = v;
		} else if (missing) {
			fprintf(stderr, "leadroute: %s needs a value\n", argv[i]);
			return report_usage();
		} else {
			fprintf(stderr, "leadroute: report does not take '%s'\n", argv[i]);
			return report_usage();
		}
	}
	int64_t window;
	if (report_parse_since(since_text, &window) != 0) {
		fprintf(stderr, "leadroute: --since '%s' is not a window: give whole days or hours, "
		        "like 14d or 36h\n", since_text);
		return report_usage();
	}
	if (html && !*html) {
		fprintf(stderr, "leadroute: --html needs a file name\n");
		return report_usage();
	}

	char err[1024];
	bool failed = false;
	char *db = config_get("LEADROUTE_DB", err, sizeof err, &failed);
	if (!db) {
		fprintf(stderr, "leadroute: %s\n", failed ? err
		        : "LEADROUTE_DB is not set: name the SQLite file leads are stored in");
		return 1;
	}
	char rules_err[512];
	bool rules_failed = false;
	char *rules = config_get("LEADROUTE_RULES", rules_err, sizeof rules_err, &rules_failed);
	if (rules_failed)
		fprintf(stderr, "leadroute: %s; rules are shown by line only\n", rules_err);

	int64_t until = clock_wall_ms();
	int64_t since = window < until ? until - window : 0;
	struct report r;
	int rc = 0;
	if (report_compute(db, since, until, rules, &r, err, sizeof err) != 0) {
		fprintf(stderr, "leadroute: %s\n", err);
		rc = 1;
	} else {
		if (report_render_text(&r, stdout) != 0) {
			fprintf(stderr, "leadroute: cannot write the report: %s\n", strerror(errno));
			rc = 1;
		}
		if (rc == 0 && html)
			rc = write_html(&r, html);
		report_free(&r);
	}
	free(rules);
	free(db);
	return rc;
}
