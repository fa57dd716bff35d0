/* fuzz_csv - the account CSV record splitter.
 *
 * The input (up to its first NUL, as accounts_load_csv refuses NUL bytes)
 * is split with csv_record until it is used up, as the loader does, with
 * the loader's field limit and with a small one (extra fields dropped).
 * Every record must make progress and stay inside the text; every field
 * must be shorter than what it consumed.  Each record is then written back
 * with RFC 4180 quoting and split again: it must come back identical.  The
 * fields also go through what the loader does next (norm_text, the
 * registrable domain).  accounts_load_csv itself would need a temporary
 * file per input, which is too slow to fuzz; it is csv_record plus this.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "lead/accounts.h"
#include "lead/lead.h"
#include "lead/normalize.h"
#include "lead/refdata.h"
#include "util/buf.h"

#define MAXF 32          /* accounts_load_csv's limit */
#define MAX_RECORDS 4096

static struct refdata rd;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];
	(void)argc;
	(void)argv;
	if (refdata_load(&rd, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz_csv: %s\n", err);
		exit(2);
	}
	return 0;
}

static void free_fields(char **f, int n)
{
	for (int i = 0; i < n; i++)
		free(f[i]);
}

/* Quote every field, join with ',', end with "\r\n" or "\n"; split again. */
static void round_trip(char **f, int n, bool crlf)
{
	struct buf b = {0};
	for (int i = 0; i < n; i++) {
		if (i)
			buf_addc(&b, ',');
		buf_addc(&b, '"');
		for (const char *c = f[i]; *c; c++) {
			if (*c == '"')
				buf_addc(&b, '"');
			buf_addc(&b, *c);
		}
		buf_addc(&b, '"');
	}
	buf_adds(&b, crlf ? "\r\n" : "\n");
	char *g[MAXF], err[200] = "";
	const char *p = buf_str(&b);
	int m = csv_record(&p, g, MAXF, err, sizeof err);
	FUZZ_CHECK(m == n, "round trip: %d fields became %d (%s)\n%s", n, m, err, buf_str(&b));
	for (int i = 0; i < n; i++)
		FUZZ_CHECK(strcmp(f[i], g[i]) == 0, "round trip: field %d \"%s\" became \"%s\"",
		           i, f[i], g[i]);
	FUZZ_CHECK(*p == '\0', "round trip: %zu bytes left over", strlen(p));
	free_fields(g, m);
	buf_free(&b);
}

static void split_all(const char *text, int max, bool deep)
{
	const char *end = text + strlen(text);
	const char *p = text;
	if (strncmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;   /* as the loader skips a byte-order mark */
	for (int rec = 0; *p && rec < MAX_RECORDS; rec++) {
		char *f[MAXF], err[200] = "";
		const char *before = p;
		int n = csv_record(&p, f, max, err, sizeof err);
		if (n < 0) {
			FUZZ_CHECK(err[0], "csv_record failed without a message");
			break;
		}
		FUZZ_CHECK(n >= 1 && n <= max, "%d fields (max %d)", n, max);
		FUZZ_CHECK(p > before && p <= end, "no progress, or past the end (%td of %td)",
		           p - text, end - text);
		for (int i = 0; i < n; i++) {
			FUZZ_CHECK(f[i] != NULL, "field %d is NULL", i);
			FUZZ_CHECK(strlen(f[i]) <= (size_t)(p - before), "field %d longer than its record",
			           i);
		}
		if (deep) {
			round_trip(f, n, rec % 2);
			for (int i = 0; i < n; i++) {
				char *t = norm_text(f[i]);
				if (t[0]) {
					char *reg = lead_registrable_domain(rd.psl, t);
					free(reg);
				}
				free(t);
			}
		}
		free_fields(f, n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	split_all(s, MAXF, true);
	split_all(s, 2, false);
	free(s);
	return 0;
}
