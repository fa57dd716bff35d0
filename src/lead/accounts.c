/* accounts - a CSV account index in memory, sorted for binary search.
 * Must never keep a partly read file: a bad row fails the whole load. */
#include "lead/accounts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lead/normalize.h"
#include "util/buf.h"
#include "util/xalloc.h"

int csv_record(const char **pp, char **fields, int max, char *err, size_t errlen)
{
	const char *p = *pp;
	int n = 0;
	for (;;) {
		struct buf b = {0};
		if (*p == '"') {
			p++;
			for (;;) {
				if (*p == '\0') {
					snprintf(err, errlen, "quote not closed");
					buf_free(&b);
					for (int i = 0; i < n; i++)
						free(fields[i]);
					return -1;
				}
				if (*p == '"' && p[1] == '"') {
					buf_addc(&b, '"');
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					buf_addc(&b, *p++);
				}
			}
			while (*p && *p != ',' && *p != '\n' && *p != '\r')
				p++;   /* text after a closing quote is ignored */
		} else {
			while (*p && *p != ',' && *p != '\n' && *p != '\r')
				buf_addc(&b, *p++);
		}
		if (n < max)
			fields[n++] = buf_take(&b);
		else
			buf_free(&b);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == '\r')
			p++;
		if (*p == '\n')
			p++;
		break;
	}
	*pp = p;
	return n;
}

/* By domain, then by line: the earliest line of a domain is the one kept. */
static int cmp_row(const void *a, const void *b)
{
	const struct account_row *x = a, *y = b;
	int c = strcmp(x->domain, y->domain);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

static void row_free(struct account_row *r)
{
	free(r->domain);
	free(r->id);
	free(r->owner);
	free(r->lifecycle);
	free(r->tier);
}

static char *nonempty(char *s)
{
	char *t = norm_text(s);
	free(s);
	if (!t[0]) {
		free(t);
		return NULL;
	}
	return t;
}

/* Owner ids keep their case (Salesforce ids are case-sensitive). */
static char *trimmed(char *s)
{
	char *t = norm_text(s);   /* only to know whether anything is there */
	bool empty = !t[0];
	free(t);
	if (empty) {
		free(s);
		return NULL;
	}
	char *a = s;
	while (*a == ' ' || *a == '\t')
		a++;
	size_t n = strlen(a);
	while (n && (a[n - 1] == ' ' || a[n - 1] == '\t'))
		n--;
	char *out = xstrndup(a, n);
	free(s);
	return out;
}

void accounts_free(struct account_index *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < ix->n; i++)
		row_free(&ix->rows[i]);
	for (size_t i = 0; i < ix->n_dropped; i++)
		row_free(&ix->dropped[i]);
	free(ix->rows);
	free(ix->dropped);
	free(ix);
}

struct account_index *accounts_load_csv(const char *path, const psl_ctx_t *psl, char *err,
                                        size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	struct buf text = {0};
	char chunk[65536];
	size_t got;
	while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0)
		buf_add(&text, chunk, got);
	bool rerr = ferror(fp);
	fclose(fp);
	if (rerr) {
		snprintf(err, errlen, "cannot read '%s'", path);
		buf_free(&text);
		return NULL;
	}
	if (text.len != strlen(buf_str(&text))) {
		snprintf(err, errlen, "'%s' holds a NUL byte; it is not a CSV file", path);
		buf_free(&text);
		return NULL;
	}
	enum { MAXF = 32 };
	char *f[MAXF], msg[200];
	const char *p = buf_str(&text);
	if (strncmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;   /* spreadsheet byte-order mark */
	int line = 1;
	int nh = csv_record(&p, f, MAXF, msg, sizeof msg);
	int col_domain = -1, col_id = -1, col_owner = -1, col_life = -1, col_tier = -1;
	for (int i = 0; i < nh; i++) {
		char *h = norm_text(f[i]);
		if (strcmp(h, "domain") == 0) col_domain = i;
		else if (strcmp(h, "account_id") == 0 || strcmp(h, "id") == 0) col_id = i;
		else if (strcmp(h, "owner") == 0) col_owner = i;
		else if (strcmp(h, "lifecycle") == 0) col_life = i;
		else if (strcmp(h, "tier") == 0) col_tier = i;
		free(h);
		free(f[i]);
	}
	if (col_domain < 0) {
		snprintf(err, errlen, "%s:1: no 'domain' column in the header row "
		         "(expected domain,account_id,owner,lifecycle,tier)", path);
		buf_free(&text);
		return NULL;
	}
	struct account_index *ix = xcalloc(1, sizeof *ix);
	bool ok = true;
	while (ok && *p) {
		line++;
		int nf = csv_record(&p, f, MAXF, msg, sizeof msg);
		if (nf < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, line, msg);
			ok = false;
			break;
		}
		if (nf == 1 && !f[0][0]) {
			free(f[0]);
			continue;   /* blank line */
		}
		char *dom = col_domain < nf ? norm_text(f[col_domain]) : xstrdup("");
		char *reg = dom[0] ? lead_registrable_domain(psl, dom) : NULL;
		if (!reg) {
			snprintf(err, errlen, "%s:%d: '%s' is not a registrable domain", path, line, dom);
			ok = false;
		} else if (ix->n >= ACCOUNTS_MAX_ROWS) {
			snprintf(err, errlen, "%s:%d: more than %d accounts", path, line, ACCOUNTS_MAX_ROWS);
			ok = false;
			free(reg);
			reg = NULL;
		}
		free(dom);
		if (ok) {
			ix->rows = xgrow(ix->rows, &ix->cap, ix->n + 1, sizeof *ix->rows);
			struct account_row *r = &ix->rows[ix->n++];
			memset(r, 0, sizeof *r);
			r->domain = reg;
			r->line = line;
			if (col_id >= 0 && col_id < nf) { r->id = trimmed(f[col_id]); f[col_id] = NULL; }
			if (col_owner >= 0 && col_owner < nf) { r->owner = trimmed(f[col_owner]); f[col_owner] = NULL; }
			if (col_life >= 0 && col_life < nf) { r->lifecycle = nonempty(f[col_life]); f[col_life] = NULL; }
			if (col_tier >= 0 && col_tier < nf) { r->tier = nonempty(f[col_tier]); f[col_tier] = NULL; }
		}
		for (int i = 0; i < nf; i++)
			free(f[i]);
	}
	buf_free(&text);
	if (ok) {
		qsort(ix->rows, ix->n, sizeof *ix->rows, cmp_row);
		size_t n = 0;
		for (size_t i = 0; i < ix->n; i++) {
			struct account_row *r = &ix->rows[i];
			if (n && strcmp(ix->rows[n - 1].domain, r->domain) == 0) {
				struct account_row *k = &ix->rows[n - 1];
				if (ok && (k->owner || r->owner) &&
				    (!k->owner || !r->owner || strcmp(k->owner, r->owner) != 0)) {
					snprintf(err, errlen, "%s:%d: domain '%s' is also on line %d with "
					         "another owner; keep one row per domain", path,
					         r->line > k->line ? r->line : k->line, r->domain,
					         r->line > k->line ? k->line : r->line);
					ok = false;
				}
				ix->dropped = xgrow(ix->dropped, &ix->cap_dropped, ix->n_dropped + 1,
				                    sizeof *ix->dropped);
				ix->dropped[ix->n_dropped++] = *r;
				continue;
			}
			ix->rows[n++] = *r;
		}
		ix->n = n;
	}
	if (!ok) {
		accounts_free(ix);
		return NULL;
	}
	return ix;
}

const struct account_row *accounts_find(const struct account_index *ix, const char *domain)
{
	size_t lo = 0, hi = ix->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(ix->rows[mid].domain, domain);
		if (c == 0)
			return &ix->rows[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool lookup_find(void *ctx, const char *domain, struct account *out)
{
	const struct account_row *r = accounts_find(ctx, domain);
	if (!r)
		return false;
	*out = (struct account){ r->id, r->owner, r->lifecycle, r->tier };
	return true;
}

struct account_lookup accounts_lookup(const struct account_index *ix)
{
	return (struct account_lookup){ lookup_find, (void *)ix };
}
