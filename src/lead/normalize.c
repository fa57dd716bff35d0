/* normalize - cleaning of text and numbers shared by rules and leads.
 * Must never treat two values differently in rules and in leads. */
#include "lead/normalize.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

char *norm_text(const char *s)
{
	struct buf b = {0};
	bool space = false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned c = *p;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
			space = b.len > 0;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			continue;
		if (space) {
			buf_addc(&b, ' ');
			space = false;
		}
		buf_addc(&b, (char)(c < 0x80 ? tolower((int)c) : (int)c));
	}
	return buf_take(&b);
}

char *norm_upper(char *dst, const char *s, size_t n)
{
	size_t i = 0;
	for (; s[i] && i + 1 < n; i++)
		dst[i] = (char)toupper((unsigned char)s[i]);
	dst[i] = '\0';
	return dst;
}

/* One number with separators and suffix at *pp; advances *pp. */
static bool parse_one(const char **pp, double *out)
{
	const char *p = *pp;
	char digits[64];
	size_t n = 0;
	bool any = false, dot = false;
	if (*p == '-' || *p == '+')
		digits[n++] = *p++;
	for (;; p++) {
		if (isdigit((unsigned char)*p)) {
			any = true;
		} else if (*p == '.' && !dot && isdigit((unsigned char)p[1])) {
			dot = true;
		} else if ((*p == ',' || *p == '_' || *p == ' ') && any && !dot &&
		           isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
		           isdigit((unsigned char)p[3])) {
			continue;   /* thousands separator: exactly three digits follow */
		} else {
			break;
		}
		if (n + 1 >= sizeof digits)
			return false;
		digits[n++] = *p;
	}
	if (!any)
		return false;
	digits[n] = '\0';
	errno = 0;
	double v = strtod(digits, NULL);
	if (errno || !isfinite(v))
		return false;
	if (*p == 'k' || *p == 'K') {
		v *= 1e3;
		p++;
	} else if (*p == 'm' || *p == 'M') {
		v *= 1e6;
		p++;
	}
	*pp = p;
	*out = v;
	return true;
}

bool norm_number(const char *s, double *out)
{
	const char *p = s;
	double lo, hi;
	while (isspace((unsigned char)*p))
		p++;
	if (!parse_one(&p, &lo))
		return false;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '+') {
		p++;
	} else if (*p == '-' || strncmp(p, "to ", 3) == 0) {
		p += *p == '-' ? 1 : 3;
		while (isspace((unsigned char)*p))
			p++;
		if (!parse_one(&p, &hi) || hi < lo)
			return false;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p)
		return false;
	*out = lo;
	return isfinite(lo);
}
