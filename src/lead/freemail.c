/* freemail - the set of free-mail (personal address) domains.
 *
 * Loads data/freemail.txt (installed as PKGDATADIR/freemail.txt) into one
 * block of NUL-separated names plus a sorted array searched with bsearch:
 * freemail_is_personal is on the request path, so it must never allocate,
 * never do I/O and never be worse than O(log n).  Must never print and
 * never keep global state.
 */
#include "lead/freemail.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/xalloc.h"

#ifndef PKGDATADIR
#error "PKGDATADIR must name the installed data directory (-DPKGDATADIR='\"...\"')"
#endif

#define FREEMAIL_FILE_NAME "freemail.txt"
#define FREEMAIL_INSTALLED PKGDATADIR "/" FREEMAIL_FILE_NAME
#define FREEMAIL_ENV "LEADROUTE_FREEMAIL"
/* A DNS name is at most 253 bytes in text form (without the final dot). */
#define FREEMAIL_DOMAIN_MAX 253
/* Longest line accepted: a domain plus room for white space and a comment. */
#define FREEMAIL_LINE_MAX 1024

struct freemail {
	char *names;            /* every domain, NUL-terminated, back to back */
	const char **domains;   /* sorted, unique; pointers into names */
	size_t ndomains;
};

static void set_error(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool is_ascii_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Letters, digits, '-', '_' and single dots inside; no leading or trailing
 * dot.  (Lower-cased already.) */
static bool is_domain_name(const char *s, size_t len)
{
	if (len == 0 || len > FREEMAIL_DOMAIN_MAX || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.' && s[i + 1] == '.')
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || c == '.'))
			return false;
	}
	return true;
}

/*
 * Turn one line into a domain in place: cut the '#' comment, trim white
 * space, lower-case, drop one final dot.  Returns its length (0 for a blank
 * or comment line) or -1 when what is left is not a domain name.
 */
static long line_to_domain(char *line, char **domain)
{
	char *start = line, *end;
	char *hash = strchr(line, '#');
	size_t len;

	if (hash)
		*hash = '\0';
	while (is_ascii_space(*start))
		start++;
	end = start + strlen(start);
	while (end > start && is_ascii_space(end[-1]))
		end--;
	*end = '\0';
	len = (size_t)(end - start);
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		start[i] = ascii_lower(start[i]);
	if (len > 1 && start[len - 1] == '.')
		start[--len] = '\0';
	*domain = start;
	return is_domain_name(start, len) ? (long)len : -1;
}

static int compare_domains(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Read every domain of f into names (NUL-separated) and their offsets. */
static bool read_domains(FILE *f, const char *path, struct buf *names, size_t **offsets,
			 size_t *count, char *err, size_t errlen)
{
	char line[FREEMAIL_LINE_MAX];
	size_t lineno = 0, cap = 0;

	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);
		char *domain = NULL;
		long len;

		lineno++;
		if (n > 0 && line[n - 1] != '\n' && !feof(f)) {
			set_error(err, errlen, "'%s' line %zu: longer than %d bytes; expected one "
				  "domain per line", path, lineno, FREEMAIL_LINE_MAX - 2);
			return false;
		}
		len = line_to_domain(line, &domain);
		if (len < 0) {
			set_error(err, errlen, "'%s' line %zu: '%.80s' is not a domain name "
				  "(expected one domain per line, '#' starts a comment)",
				  path, lineno, domain);
			return false;
		}
		if (len == 0)
			continue;
		*offsets = xgrow(*offsets, &cap, *count + 1, sizeof(**offsets));
		(*offsets)[(*count)++] = names->len;
		buf_add(names, domain, (size_t)len + 1);
	}
	if (ferror(f)) {
		set_error(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return false;
	}
	return true;
}

/* The list used when the caller names none; see freemail.h. */
static const char *default_list_path(void)
{
	if (access(FREEMAIL_INSTALLED, R_OK) == 0)
		return FREEMAIL_INSTALLED;
#ifdef SRCDIR
	if (access(SRCDIR "/data/" FREEMAIL_FILE_NAME, R_OK) == 0)
		return SRCDIR "/data/" FREEMAIL_FILE_NAME;
#endif
	return FREEMAIL_INSTALLED;
}

struct freemail *freemail_load(const char *path, char *err, size_t errlen)
{
	const char *hint = "";
	struct buf names = { 0 };
	size_t *offsets = NULL, count = 0, out = 0;
	struct freemail *fm;
	FILE *f;

	if (!path) {
		const char *env = getenv(FREEMAIL_ENV);

		if (env && *env) {
			path = env;
			hint = " (the path comes from " FREEMAIL_ENV ")";
		} else {
			path = default_list_path();
			hint = " (reinstall leadroute, or set " FREEMAIL_ENV " to a domain "
			       "list such as the source tree's data/" FREEMAIL_FILE_NAME ")";
		}
	}
	f = fopen(path, "re");
	if (!f) {
		set_error(err, errlen, "cannot read '%s': %s%s", path, strerror(errno), hint);
		return NULL;
	}
	if (!read_domains(f, path, &names, &offsets, &count, err, errlen)) {
		fclose(f);
		buf_free(&names);
		free(offsets);
		return NULL;
	}
	fclose(f);

	fm = xcalloc(1, sizeof(*fm));
	fm->names = buf_take(&names);
	fm->domains = xcalloc(count ? count : 1, sizeof(*fm->domains));
	for (size_t i = 0; i < count; i++)
		fm->domains[i] = fm->names + offsets[i];
	free(offsets);
	qsort(fm->domains, count, sizeof(*fm->domains), compare_domains);
	for (size_t i = 0; i < count; i++)
		if (out == 0 || strcmp(fm->domains[out - 1], fm->domains[i]) != 0)
			fm->domains[out++] = fm->domains[i];
	fm->ndomains = out;
	return fm;
}

void freemail_free(struct freemail *fm)
{
	if (!fm)
		return;
	free(fm->names);
	free(fm->domains);
	free(fm);
}

bool freemail_is_personal(const struct freemail *fm, const char *domain)
{
	char key[FREEMAIL_DOMAIN_MAX + 2];
	const char *keyp = key;
	size_t len;

	if (!fm || !domain)
		return false;
	len = strnlen(domain, sizeof(key));
	if (len == sizeof(key))
		return false;
	for (size_t i = 0; i < len; i++)
		key[i] = ascii_lower(domain[i]);
	if (len > 1 && key[len - 1] == '.')
		len--;
	key[len] = '\0';
	if (len == 0)
		return false;
	return bsearch(&keyp, fm->domains, fm->ndomains, sizeof(*fm->domains),
		       compare_domains) != NULL;
}

size_t freemail_count(const struct freemail *fm)
{
	return fm ? fm->ndomains : 0;
}
