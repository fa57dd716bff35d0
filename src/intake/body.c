/* body - parse a submitted form or JSON body into a raw lead, within hard
 * limits (see body.h for the contract).
 * Must never read past len bytes, never accept a name twice (json-c would
 * keep the last silently, lead_set would replace), never let a NUL byte or
 * invalid UTF-8 through, and never echo more than ECHO_MAX bytes of input
 * or any control byte into an error message.
 */
#include "intake/body.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "util/xalloc.h"

#define ECHO_MAX 40                 /* bytes of input an error message may quote */
#define ECHO_BUF (ECHO_MAX + 4)     /* ... plus "..." and the NUL */

static enum body_status fail(enum body_status st, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum body_status fail(enum body_status st, char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return st;
}

/* Input quoted in a message: printable ASCII only (anything else, the quote
 * included, becomes '?'), at most ECHO_MAX bytes, "..." when cut. */
static const char *echo(char dst[ECHO_BUF], const char *s, size_t n)
{
	size_t k = 0;
	for (; k < n && k < ECHO_MAX; k++) {
		unsigned char c = (unsigned char)s[k];
		dst[k] = c >= 0x20 && c < 0x7f && c != '\'' ? (char)c : '?';
	}
	if (k < n) {
		memcpy(dst + k, "...", 3);
		k += 3;
	}
	dst[k] = '\0';
	return dst;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t need;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c == 0xe0) {
			need = 2;
			lo = 0xa0;
		} else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
			need = 2;
		} else if (c == 0xed) {
			need = 2;
			hi = 0x9f;
		} else if (c == 0xf0) {
			need = 3;
			lo = 0x90;
		} else if (c >= 0xf1 && c <= 0xf3) {
			need = 3;
		} else if (c == 0xf4) {
			need = 3;
			hi = 0x8f;
		} else {
			return false;   /* 80-C1, F5-FF */
		}
		if (n - i <= need)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= need; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		i += need + 1;
	}
	return true;
}

static bool name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

static bool name_chars_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char((unsigned char)s[i]))
			return false;
	return true;
}

/* Checks one decoded name (n bytes, NUL-terminated) and that out does not
 * have it yet.  lead_set folds case, so "Email" after "email" is a repeat. */
static enum body_status check_name(const struct lead *out, const char *name, size_t n,
                                   char *err, size_t errlen)
{
	char e[ECHO_BUF];

	if (n == 0)
		return fail(BODY_BAD, err, errlen, "empty field name");
	if (n > BODY_MAX_NAME)
		return fail(BODY_BAD, err, errlen, "field name longer than %d bytes: '%s'",
		            BODY_MAX_NAME, echo(e, name, n));
	if (!name_chars_ok(name, n))
		return fail(BODY_BAD, err, errlen,
		            "bad field name '%s' (letters, digits, '_', '.' and '-' only)",
		            echo(e, name, n));
	if (lead_get(out, name))
		return fail(BODY_BAD, err, errlen, "field '%s' given twice", echo(e, name, n));
	return BODY_OK;
}

/* Checks one value (n bytes, NUL-terminated) of the valid field name. */
static enum body_status check_value(const char *name, const char *v, size_t n,
                                    char *err, size_t errlen)
{
	char e[ECHO_BUF];

	if (n > BODY_MAX_VALUE)
		return fail(BODY_BAD, err, errlen, "field '%s': value longer than %d bytes",
		            echo(e, name, strlen(name)), BODY_MAX_VALUE);
	if (memchr(v, '\0', n))
		return fail(BODY_BAD, err, errlen, "field '%s': NUL byte in the value",
		            echo(e, name, strlen(name)));
	if (!utf8_valid(v, n))
		return fail(BODY_BAD, err, errlen, "field '%s': value is not valid UTF-8",
		            echo(e, name, strlen(name)));
	return BODY_OK;
}

/* ---- application/x-www-form-urlencoded ---------------------------------- */

enum decode_error { DECODE_OK, DECODE_ESCAPE, DECODE_NUL, DECODE_LONG };

static int hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes in[0..len) into out (at most max bytes plus a NUL; out has room
 * for max + 1).  *n is the decoded length on DECODE_OK. */
static enum decode_error decode(const char *in, size_t len, char *out, size_t max, size_t *n)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (len - i < 3)
				return DECODE_ESCAPE;   /* "%" or "%X" at the end */
			int hi = hex_digit((unsigned char)in[i + 1]);
			int lo = hex_digit((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0)
				return DECODE_ESCAPE;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0')
			return DECODE_NUL;
		if (o == max)
			return DECODE_LONG;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	*n = o;
	return DECODE_OK;
}

long body_url_decode(const char *in, size_t len, char *out, size_t outlen)
{
	size_t n = 0;

	if (!out || outlen == 0)
		return -1;
	out[0] = '\0';
	if (!in && len)
		return -1;
	size_t max = outlen - 1;
	if (max > LONG_MAX)
		max = LONG_MAX;
	if (decode(in, len, out, max, &n) != DECODE_OK) {
		out[0] = '\0';
		return -1;
	}
	return (long)n;
}

static enum body_status form_pair(struct lead *out, const char *raw_name, size_t raw_name_len,
                                  const char *raw_value, size_t raw_value_len, char *value,
                                  char *err, size_t errlen)
{
	char name[BODY_MAX_NAME + 1];
	char e[ECHO_BUF];
	size_t n = 0, vn = 0;
	enum body_status st;

	switch (decode(raw_name, raw_name_len, name, BODY_MAX_NAME, &n)) {
	case DECODE_OK:
		break;
	case DECODE_ESCAPE:
		return fail(BODY_BAD, err, errlen, "bad %%-escape in field name '%s'",
		            echo(e, raw_name, raw_name_len));
	case DECODE_NUL:
		return fail(BODY_BAD, err, errlen, "NUL byte in field name '%s'",
		            echo(e, raw_name, raw_name_len));
	case DECODE_LONG:
		return fail(BODY_BAD, err, errlen, "field name longer than %d bytes: '%s'",
		            BODY_MAX_NAME, echo(e, raw_name, raw_name_len));
	}
	st = check_name(out, name, n, err, errlen);
	if (st != BODY_OK)
		return st;

	switch (decode(raw_value, raw_value_len, value, BODY_MAX_VALUE, &vn)) {
	case DECODE_OK:
		break;
	case DECODE_ESCAPE:
		return fail(BODY_BAD, err, errlen, "field '%s': bad %%-escape in the value",
		            echo(e, name, n));
	case DECODE_NUL:
		return fail(BODY_BAD, err, errlen, "field '%s': NUL byte in the value",
		            echo(e, name, n));
	case DECODE_LONG:
		return fail(BODY_BAD, err, errlen, "field '%s': value longer than %d bytes",
		            echo(e, name, n), BODY_MAX_VALUE);
	}
	st = check_value(name, value, vn, err, errlen);
	if (st != BODY_OK)
		return st;
	lead_set(out, name, value);
	return BODY_OK;
}

enum body_status body_parse_form(const char *body, size_t len, struct lead *out,
                                 char *err, size_t errlen)
{
	size_t pairs = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!body && len)
		return fail(BODY_BAD, err, errlen, "no body");

	/* Count the non-empty pairs first: too many is refused before any
	 * of them is decoded or stored. */
	for (size_t i = 0; i < len;) {
		const char *amp = memchr(body + i, '&', len - i);
		size_t end = amp ? (size_t)(amp - body) : len;
		if (end > i && ++pairs > LEAD_MAX_FIELDS)
			return fail(BODY_TOO_MANY, err, errlen, "more than %d fields",
			            LEAD_MAX_FIELDS);
		i = end + 1;
	}

	char *value = xmalloc(BODY_MAX_VALUE + 1);
	enum body_status st = BODY_OK;
	for (size_t i = 0; i < len && st == BODY_OK;) {
		const char *amp = memchr(body + i, '&', len - i);
		size_t end = amp ? (size_t)(amp - body) : len;
		if (end > i) {
			const char *eq = memchr(body + i, '=', end - i);
			size_t name_end = eq ? (size_t)(eq - body) : end;
			size_t value_start = eq ? name_end + 1 : end;
			st = form_pair(out, body + i, name_end - i, body + value_start,
			               end - value_start, value, err, errlen);
		}
		i = end + 1;
	}
	free(value);
	return st;
}

/* ---- application/json ---------------------------------------------------- */

static bool json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* What a scan of the raw top level found: each key's raw bytes (between
 * the quotes, escapes not decoded). */
struct json_keys {
	size_t n;
	struct {
		size_t off, len;
	} key[LEAD_MAX_FIELDS];
};

/* Scans the raw JSON before json-c sees it, without allocating: counts the
 * top-level keys (too many is BODY_TOO_MANY; the count also reveals keys
 * json-c merged), refuses NUL bytes, \u0000 in a key (json-c would cut the
 * key there), single-quoted strings (json-c takes them even when strict),
 * any object or array below the top one, naming its field, and strings too
 * long to be a name or a value whatever their escapes.  Stops where
 * the top-level object ends; anything malformed it lets through is left to
 * json-c. */
static enum body_status json_scan(const char *s, size_t len, struct json_keys *keys,
                                  char *err, size_t errlen)
{
	char e[ECHO_BUF];
	size_t i = 0;
	int depth = 0;

	keys->n = 0;
	while (i < len && json_ws(s[i]))
		i++;
	if (i == len)
		return fail(BODY_BAD, err, errlen, "empty body");
	if (s[i] != '{')
		return fail(BODY_BAD, err, errlen, "the body must be a JSON object");
	for (; i < len; i++) {
		switch (s[i]) {
		case '\0':
			return fail(BODY_BAD, err, errlen, "NUL byte in the body");
		case '\'':
			return fail(BODY_BAD, err, errlen, "single-quoted string (not JSON)");
		case '{':
		case '[':
			if (++depth == 1)
				break;
			if (keys->n == 0)
				return fail(BODY_BAD, err, errlen, "the body must be one flat JSON object");
			return fail(BODY_BAD, err, errlen,
			            "field '%s' must be a string, number, boolean or null",
			            echo(e, s + keys->key[keys->n - 1].off, keys->key[keys->n - 1].len));
		case '}':
		case ']':
			if (--depth <= 0)
				return BODY_OK;
			break;
		case '"': {
			size_t start = ++i;
			bool nul = false;
			for (; i < len && s[i] != '"'; i++) {
				if (s[i] == '\0')
					return fail(BODY_BAD, err, errlen, "NUL byte in the body");
				if (s[i] == '\\') {
					if (len - i > 5 && memcmp(s + i + 1, "u0000", 5) == 0)
						nul = true;
					i++;   /* the escaped byte cannot end the string */
					if (i < len && s[i] == '\0')
						return fail(BODY_BAD, err, errlen, "NUL byte in the body");
				}
			}
			if (i >= len)
				return BODY_OK;   /* unterminated: json-c says so */
			size_t j = i + 1;
			while (j < len && json_ws(s[j]))
				j++;
			/* decoding shrinks a string at most 6 to 1 (\u0041 is A), so
			 * what is longer than that is refused before json-c copies it */
			if (depth != 1 || j == len || s[j] != ':') {
				if (i - start <= 6 * (size_t)BODY_MAX_VALUE)
					break;   /* a value */
				if (keys->n == 0)
					return fail(BODY_BAD, err, errlen, "string longer than %d bytes",
					            BODY_MAX_VALUE);
				return fail(BODY_BAD, err, errlen, "field '%s': value longer than %d bytes",
				            echo(e, s + keys->key[keys->n - 1].off,
				                 keys->key[keys->n - 1].len), BODY_MAX_VALUE);
			}
			if (i - start > 6 * (size_t)BODY_MAX_NAME)
				return fail(BODY_BAD, err, errlen, "field name longer than %d bytes: '%s'",
				            BODY_MAX_NAME, echo(e, s + start, i - start));
			if (keys->n == LEAD_MAX_FIELDS)
				return fail(BODY_TOO_MANY, err, errlen, "more than %d fields",
				            LEAD_MAX_FIELDS);
			keys->key[keys->n].off = start;
			keys->key[keys->n].len = i - start;
			keys->n++;
			if (nul)
				return fail(BODY_BAD, err, errlen, "NUL byte in field name '%s'",
				            echo(e, s + start, i - start));
			break;
		}
		default:
			break;
		}
	}
	return BODY_OK;
}

/* Names a key json-c merged: two raw keys with the same bytes, when there
 * are (an escaped spelling of the same key is only counted). */
static enum body_status json_repeated(const char *s, const struct json_keys *keys,
                                      char *err, size_t errlen)
{
	char e[ECHO_BUF];

	for (size_t a = 0; a < keys->n; a++)
		for (size_t b = a + 1; b < keys->n; b++)
			if (keys->key[a].len == keys->key[b].len &&
			    memcmp(s + keys->key[a].off, s + keys->key[b].off, keys->key[a].len) == 0)
				return fail(BODY_BAD, err, errlen, "field '%s' given twice",
				            echo(e, s + keys->key[a].off, keys->key[a].len));
	return fail(BODY_BAD, err, errlen, "a field name is given twice");
}

static enum body_status json_field(struct lead *out, const char *key, struct json_object *val,
                                   char *err, size_t errlen)
{
	char e[ECHO_BUF];
	char num[64];
	size_t klen = strlen(key);
	enum body_status st = check_name(out, key, klen, err, errlen);

	if (st != BODY_OK)
		return st;
	switch (json_object_get_type(val)) {
	case json_type_null:
		return BODY_OK;   /* absent */
	case json_type_string: {
		const char *v = json_object_get_string(val);
		int n = json_object_get_string_len(val);
		st = check_value(key, v, n > 0 ? (size_t)n : 0, err, errlen);
		if (st != BODY_OK)
			return st;
		lead_set(out, key, v);
		return BODY_OK;
	}
	case json_type_int: {
		/* json-c clamps what does not fit to these two */
		int64_t v = json_object_get_int64(val);
		if (v == INT64_MIN || v == INT64_MAX)
			return fail(BODY_BAD, err, errlen, "field '%s': number out of range",
			            echo(e, key, klen));
		snprintf(num, sizeof num, "%lld", (long long)v);
		lead_set(out, key, num);
		return BODY_OK;
	}
	case json_type_double: {
		double v = json_object_get_double(val);
		if (!isfinite(v))   /* NaN, Infinity, 1e999 */
			return fail(BODY_BAD, err, errlen, "field '%s': number out of range",
			            echo(e, key, klen));
		snprintf(num, sizeof num, "%.15g", v);
		lead_set(out, key, num);
		return BODY_OK;
	}
	case json_type_boolean:
		lead_set(out, key, json_object_get_boolean(val) ? "true" : "false");
		return BODY_OK;
	case json_type_object:
	case json_type_array:
		break;
	}
	return fail(BODY_BAD, err, errlen, "field '%s' must be a string, number, boolean or null",
	            echo(e, key, klen));
}

enum body_status body_parse_json(const char *body, size_t len, struct lead *out,
                                 char *err, size_t errlen)
{
	struct json_keys keys;
	enum body_status st;

	if (err && errlen)
		err[0] = '\0';
	if (!body && len)
		return fail(BODY_BAD, err, errlen, "no body");
	if (len > INT_MAX)
		return fail(BODY_BAD, err, errlen, "body too large");
	st = json_scan(body, len, &keys, err, errlen);
	if (st != BODY_OK)
		return st;

	/* depth 2: the top-level object and nothing below it (json_scan has
	 * already named the field of any nested value) */
	struct json_tokener *tok = json_tokener_new_ex(2);
	if (!tok) {
		fprintf(stderr, "leadroute: out of memory allocating a JSON tokener\n");
		abort();
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	struct json_object *obj = json_tokener_parse_ex(tok, body, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);

	if (!obj) {
		if (jerr == json_tokener_continue)
			return fail(BODY_BAD, err, errlen, "JSON body ends early");
		if (jerr == json_tokener_error_depth)
			return fail(BODY_BAD, err, errlen, "JSON nested too deeply");
		return fail(BODY_BAD, err, errlen, "bad JSON at byte %zu: %s", end,
		            json_tokener_error_desc(jerr));
	}
	while (end < len && json_ws(body[end]))
		end++;
	if (end < len) {
		st = fail(BODY_BAD, err, errlen, "data after the JSON object at byte %zu", end);
	} else if (!json_object_is_type(obj, json_type_object)) {
		st = fail(BODY_BAD, err, errlen, "the body must be a JSON object");
	} else if ((size_t)json_object_object_length(obj) != keys.n) {
		st = json_repeated(body, &keys, err, errlen);
	} else {
		json_object_object_foreach(obj, key, val) {
			st = json_field(out, key, val, err, errlen);
			if (st != BODY_OK)
				break;
		}
	}
	json_object_put(obj);
	return st;
}

/* ---- Content-Type -------------------------------------------------------- */

static bool ows(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 9110 token characters. */
static bool tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

enum body_kind body_kind_of(const char *ct)
{
	enum body_kind kind;
	const char *p = ct, *t;

	if (!ct)
		return BODY_UNSUPPORTED;
	while (ows(*p))
		p++;
	for (t = p; tchar(*p) || *p == '/'; p++)
		;
	if (is(t, (size_t)(p - t), "application/x-www-form-urlencoded"))
		kind = BODY_FORM;
	else if (is(t, (size_t)(p - t), "application/json"))
		kind = BODY_JSON;
	else
		return BODY_UNSUPPORTED;
	while (ows(*p))
		p++;
	while (*p == ';') {
		char value[16];
		size_t vn = 0;
		bool too_long = false;
		const char *name;
		size_t name_len;

		p++;
		while (ows(*p))
			p++;
		if (*p == '\0' || *p == ';')
			continue;   /* empty parameter */
		for (name = p; tchar(*p); p++)
			;
		name_len = (size_t)(p - name);
		if (name_len == 0 || *p != '=')
			return BODY_UNSUPPORTED;
		p++;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\\')
					p++;
				if (*p == '\0')
					return BODY_UNSUPPORTED;   /* unterminated */
				if (vn < sizeof value)
					value[vn++] = *p;
				else
					too_long = true;
			}
			p++;
		} else {
			for (; tchar(*p); p++) {
				if (vn < sizeof value)
					value[vn++] = *p;
				else
					too_long = true;
			}
		}
		while (ows(*p))
			p++;
		if (*p != '\0' && *p != ';')
			return BODY_UNSUPPORTED;
		if (is(name, name_len, "charset") && (too_long || !is(value, vn, "utf-8")))
			return BODY_UNSUPPORTED;
	}
	if (*p != '\0')
		return BODY_UNSUPPORTED;
	return kind;
}
