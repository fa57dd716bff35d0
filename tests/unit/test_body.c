/* test_body - unit tests for intake/body: form and JSON bodies into a raw
 * lead, their limits and refusals, and content types.
 * Must never pass a body as a C string where its length matters: bodies
 * are copied into buffers of exactly their size, so ASan sees any read
 * past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "intake/body.h"
#include "util/buf.h"
#include "util/xalloc.h"

struct fx {
	struct lead l;
	char err[256];
};

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);
	lead_init(&f->l);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	lead_free(&f->l);
	free(f);
	return 0;
}

/* Every message: empty on success, else non-empty printable ASCII. */
static void check_err(const struct fx *f, enum body_status st)
{
	if (st == BODY_OK) {
		assert_string_equal(f->err, "");
		return;
	}
	assert_true(f->err[0] != '\0');
	for (const char *p = f->err; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
}

/* Parse len bytes of s (copied into a buffer of exactly len bytes, not
 * NUL-terminated) into a fresh lead. */
static enum body_status parse_n(struct fx *f, bool json, const char *s, size_t len)
{
	char *copy = xmalloc(len);
	memcpy(copy, s, len);
	lead_free(&f->l);
	memset(f->err, 'X', sizeof f->err);
	f->err[sizeof f->err - 1] = '\0';
	enum body_status st = json ? body_parse_json(copy, len, &f->l, f->err, sizeof f->err)
	                           : body_parse_form(copy, len, &f->l, f->err, sizeof f->err);
	free(copy);
	check_err(f, st);
	return st;
}

static enum body_status form(struct fx *f, const char *s)
{
	return parse_n(f, false, s, strlen(s));
}

static enum body_status json(struct fx *f, const char *s)
{
	return parse_n(f, true, s, strlen(s));
}

/* A run of n copies of unit into a buf. */
static void repeat(struct buf *b, const char *unit, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_adds(b, unit);
}

/* ---- forms --------------------------------------------------------------- */

static void test_form_basic(void **state)
{
	struct fx *f = *state;

	assert_int_equal(form(f, "name=Ana&email=ana%40acme.example&company=Acme"), BODY_OK);
	assert_int_equal(f->l.n, 3);
	assert_string_equal(lead_get(&f->l, "name"), "Ana");
	assert_string_equal(lead_get(&f->l, "email"), "ana@acme.example");
	assert_string_equal(lead_get(&f->l, "company"), "Acme");
	/* names as stored by lead_set: lower case */
	assert_int_equal(form(f, "Email=x"), BODY_OK);
	assert_string_equal(f->l.kv[0].name, "email");
}

static void test_form_plus_and_space(void **state)
{
	struct fx *f = *state;

	assert_int_equal(form(f, "a=hello+world&b=x%20y&c=+&d=%20%20"), BODY_OK);
	assert_string_equal(lead_get(&f->l, "a"), "hello world");
	assert_string_equal(lead_get(&f->l, "b"), "x y");
	assert_string_equal(lead_get(&f->l, "c"), " ");
	assert_string_equal(lead_get(&f->l, "d"), "  ");
}

static void test_form_literal_plus(void **state)
{
	struct fx *f = *state;

	assert_int_equal(form(f, "phone=%2B44+20+7946+0000&sum=1%2b1"), BODY_OK);
	assert_string_equal(lead_get(&f->l, "phone"), "+44 20 7946 0000");
	assert_string_equal(lead_get(&f->l, "sum"), "1+1");
}

static void test_form_utf8(void **state)
{
	struct fx *f = *state;

	assert_int_equal(form(f, "a=caf%C3%A9&b=%F0%9F%98%80&c=caf\xc3\xa9&d=%E2%82%AC"), BODY_OK);
	assert_string_equal(lead_get(&f->l, "a"), "caf\xc3\xa9");
	assert_string_equal(lead_get(&f->l, "b"), "\xf0\x9f\x98\x80");
	assert_string_equal(lead_get(&f->l, "c"), "caf\xc3\xa9");
	assert_string_equal(lead_get(&f->l, "d"), "\xe2\x82\xac");
	/* the last code point */
	assert_int_equal(form(f, "a=%F4%8F%BF%BF"), BODY_OK);
	assert_string_equal(lead_get(&f->l, "a"), "\xf4\x8f\xbf\xbf");
}

static void test_form_empty_pairs_skipped(void **state)
{
	struct fx *f = *state;

	assert_int_equal(form(f, "a=1&&b=2&"), BODY_OK);
	assert_int_equal(f->l.n, 2);
	assert_string_equal(lead_get(&f->l, "a"), "1");
	assert_string_equal(lead_get(&f->l, "b"), "2");
	assert_int_equal(form(f, "&&&a=1"), BODY_OK);
	assert_int_equal(f->l.n, 1);
	assert_int_equal(form(f, ""), BODY_OK);
	assert_int_equal(f->l.n, 0);
	assert_int_equal(form(f, "&&&"), BODY_OK);
	assert_int_equal(f->l.n, 0);
}

static void test_form_no_equals_and_extra_equals(void **state)
{
	struct fx *f = *state;

	assert_int_equal(form(f, "subscribe&b=&c=x=y==z"), BODY_OK);
	assert_int_equal(f->l.n, 3);
	assert_string_equal(lead_get(&f->l, "subscribe"), "");
	assert_string_equal(lead_get(&f->l, "b"), "");
	assert_string_equal(lead_get(&f->l, "c"), "x=y==z");
}

static void test_form_bad_escape_G(void **state)
{
	struct fx *f = *state;

	assert_int_equal(form(f, "name=Ana&city=%G1"), BODY_BAD);
	assert_non_null(strstr(f->err, "'city'"));
	assert_non_null(strstr(f->err, "escape"));
	assert_int_equal(form(f, "a=%1G"), BODY_BAD);
	assert_int_equal(form(f, "a=%%41"), BODY_BAD);
}

static void test_form_bad_escape_short(void **state)
{
	struct fx *f = *state;

	assert_int_equal(form(f, "a=%4"), BODY_BAD);
	assert_int_equal(form(f, "a=%4&b=1"), BODY_BAD);
	assert_int_equal(form(f, "a=x%"), BODY_BAD);
	assert_int_equal(form(f, "a=%"), BODY_BAD);
	assert_int_equal(form(f, "a=%&b=1"), BODY_BAD);
}

static void test_form_bad_escape_in_name(void **state)
{
	struct fx *f = *state;

	assert_int_equal(form(f, "na%ZZme=1"), BODY_BAD);
	assert_non_null(strstr(f->err, "escape"));
	assert_int_equal(form(f, "name%=1"), BODY_BAD);
}

static void test_form_nul(void **state)
{
	struct fx *f = *state;

	assert_int_equal(form(f, "a=x%00y"), BODY_BAD);
	assert_non_null(strstr(f->err, "NUL"));
	assert_non_null(strstr(f->err, "'a'"));
	assert_int_equal(form(f, "a%00b=1"), BODY_BAD);
	assert_int_equal(form(f, "%00"), BODY_BAD);
	/* a raw NUL byte inside the given length */
	assert_int_equal(parse_n(f, false, "a=x\0y&b=1", 9), BODY_BAD);
	assert_non_null(strstr(f->err, "NUL"));
}

static void test_form_invalid_utf8(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
		"a=%C3%28",        /* bad continuation */
		"a=%FF",
		"a=%FE",
		"a=%80",           /* lone continuation */
		"a=%E2%82",        /* truncated */
		"a=x%C3",          /* truncated at the end */
		"a=%F0%9F%98",     /* truncated 4-byte */
		"a=%ED%A0%80",     /* surrogate U+D800 */
		"a=%F4%90%80%80",  /* above U+10FFFF */
		"a=%F5%80%80%80",
		"a=caf\xe9",       /* raw Latin-1 */
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(form(f, bad[i]), BODY_BAD);
		assert_non_null(strstr(f->err, "UTF-8"));
	}
}

static void test_form_overlong_utf8(void **state)
{
	struct fx *f = *state;

	assert_int_equal(form(f, "path=%C0%AF"), BODY_BAD);        /* '/' in 2 bytes */
	assert_int_equal(form(f, "path=%C1%BF"), BODY_BAD);
	assert_int_equal(form(f, "path=%E0%80%AF"), BODY_BAD);     /* '/' in 3 bytes */
	assert_int_equal(form(f, "path=%F0%80%80%AF"), BODY_BAD);  /* '/' in 4 bytes */
	assert_int_equal(form(f, "nul=%C0%80"), BODY_BAD);         /* modified UTF-8 NUL */
	assert_non_null(strstr(f->err, "UTF-8"));
}

static void test_form_empty_name(void **state)
{
	struct fx *f = *state;

	assert_int_equal(form(f, "=x"), BODY_BAD);
	assert_non_null(strstr(f->err, "empty field name"));
	assert_int_equal(form(f, "a=1&="), BODY_BAD);
	assert_int_equal(form(f, "a=1&=2"), BODY_BAD);
}

static void test_form_bad_name_chars(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
		"first+name=x", "first%20name=x", "a%2Fb=x", "caf%C3%A9=x", "a;b=x",
		"%3Cscript%3E=x", "a%0Ab=x", "a:b=x", "a[]=x", "a%2B=x",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(form(f, bad[i]), BODY_BAD);
		assert_non_null(strstr(f->err, "bad field name"));
	}
	assert_int_equal(form(f, "utm_source=x&account.owner=y&first-name=z&A1=w"), BODY_OK);
	assert_int_equal(f->l.n, 4);
}

static void test_form_name_length(void **state)
{
	struct fx *f = *state;
	struct buf b = {0};

	repeat(&b, "n", 64);
	buf_adds(&b, "=v");
	assert_int_equal(form(f, buf_str(&b)), BODY_OK);
	assert_int_equal(strlen(f->l.kv[0].name), 64);

	buf_reset(&b);
	repeat(&b, "n", 65);
	buf_adds(&b, "=v");
	assert_int_equal(form(f, buf_str(&b)), BODY_BAD);
	assert_non_null(strstr(f->err, "longer than 64"));
	/* the message quotes at most 40 bytes of the name */
	assert_null(strstr(f->err, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"));   /* 41 */
	assert_non_null(strstr(f->err, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn..."));

	/* the limit is on the decoded name: 64 escapes are 64 bytes */
	buf_reset(&b);
	repeat(&b, "%61", 64);
	buf_adds(&b, "=v");
	assert_int_equal(form(f, buf_str(&b)), BODY_OK);
	buf_free(&b);
}

static void test_form_value_length(void **state)
{
	struct fx *f = *state;
	struct buf b = {0};

	buf_adds(&b, "message=");
	repeat(&b, "v", 8192);
	assert_int_equal(form(f, buf_str(&b)), BODY_OK);
	assert_int_equal(strlen(lead_get(&f->l, "message")), 8192);

	buf_addc(&b, 'v');
	assert_int_equal(form(f, buf_str(&b)), BODY_BAD);
	assert_non_null(strstr(f->err, "'message'"));
	assert_non_null(strstr(f->err, "longer than 8192"));

	/* 8192 decoded bytes from 24576 encoded ones */
	buf_reset(&b);
	buf_adds(&b, "m=");
	repeat(&b, "%41", 8192);
	assert_int_equal(form(f, buf_str(&b)), BODY_OK);
	assert_int_equal(strlen(lead_get(&f->l, "m")), 8192);
	buf_adds(&b, "%41");
	assert_int_equal(form(f, buf_str(&b)), BODY_BAD);
	buf_free(&b);
}

static void test_form_field_count(void **state)
{
	struct fx *f = *state;
	struct buf b = {0};

	for (int i = 0; i < 64; i++)
		buf_printf(&b, "%sf%d=%d", i ? "&" : "", i, i);
	assert_int_equal(form(f, buf_str(&b)), BODY_OK);
	assert_int_equal(f->l.n, 64);
	assert_string_equal(lead_get(&f->l, "f63"), "63");

	buf_adds(&b, "&f64=64");
	assert_int_equal(form(f, buf_str(&b)), BODY_TOO_MANY);
	assert_non_null(strstr(f->err, "64"));
	assert_int_equal(f->l.n, 0);   /* refused before anything was stored */

	/* empty pairs do not count ... */
	buf_reset(&b);
	for (int i = 0; i < 64; i++)
		buf_printf(&b, "f%d=&&", i);
	assert_int_equal(form(f, buf_str(&b)), BODY_OK);
	/* ... names without '=' do */
	buf_adds(&b, "x");
	assert_int_equal(form(f, buf_str(&b)), BODY_TOO_MANY);
	buf_free(&b);
}

static void test_form_too_many_wins_over_bad(void **state)
{
	struct fx *f = *state;
	struct buf b = {0};

	buf_adds(&b, "a=%ZZ");
	for (int i = 0; i < 100; i++)
		buf_adds(&b, "&a");
	assert_int_equal(form(f, buf_str(&b)), BODY_TOO_MANY);
	assert_int_equal(f->l.n, 0);
	buf_free(&b);
}

static void test_form_repeated(void **state)
{
	struct fx *f = *state;

	assert_int_equal(form(f, "a=1&b=2&a=3"), BODY_BAD);
	assert_string_equal(f->err, "field 'a' given twice");
	/* even with the same value, or no value */
	assert_int_equal(form(f, "a=1&a=1"), BODY_BAD);
	assert_int_equal(form(f, "a&a"), BODY_BAD);
	/* spelled differently, same after decoding */
	assert_int_equal(form(f, "a=1&%61=2"), BODY_BAD);
	/* lead_set folds case: Email would replace email */
	assert_int_equal(form(f, "email=a%40x.example&Email=b%40y.example"), BODY_BAD);
	assert_non_null(strstr(f->err, "given twice"));
}

static void test_form_crlf_survives(void **state)
{
	struct fx *f = *state;

	assert_int_equal(form(f, "message=line1%0D%0Aline2%0A%09x&raw=a\r\nb"), BODY_OK);
	assert_string_equal(lead_get(&f->l, "message"), "line1\r\nline2\n\tx");
	assert_string_equal(lead_get(&f->l, "raw"), "a\r\nb");
}

static void test_form_length_is_respected(void **state)
{
	struct fx *f = *state;

	/* only the first 3 bytes are the body */
	assert_int_equal(parse_n(f, false, "a=1&b=2", 3), BODY_OK);
	assert_int_equal(f->l.n, 1);
	assert_string_equal(lead_get(&f->l, "a"), "1");
	/* an escape cut by the length is bad, not read past */
	assert_int_equal(parse_n(f, false, "a=%41", 4), BODY_BAD);
	assert_int_equal(parse_n(f, false, "", 0), BODY_OK);
	assert_int_equal(body_parse_form(NULL, 0, &f->l, f->err, sizeof f->err), BODY_OK);
}

static void test_form_message_is_safe(void **state)
{
	struct fx *f = *state;

	/* control bytes and quotes in a bad name are not echoed */
	assert_int_equal(form(f, "%1B%5B31m'%0D%0A=1"), BODY_BAD);
	assert_null(strchr(f->err, '\x1b'));
	assert_null(strchr(f->err, '\r'));
	assert_non_null(strstr(f->err, "'?[31m??" "?'"));
	/* no error buffer at all */
	lead_free(&f->l);
	assert_int_equal(body_parse_form("a=%ZZ", 5, &f->l, NULL, 0), BODY_BAD);
	/* a tiny one is still terminated */
	char tiny[8];
	assert_int_equal(body_parse_form("a=%ZZ", 5, &f->l, tiny, sizeof tiny), BODY_BAD);
	assert_int_equal(strlen(tiny), sizeof tiny - 1);
}

static void test_url_decode(void **state)
{
	char out[8];
	(void)state;

	assert_int_equal(body_url_decode("a+b%20c", 7, out, sizeof out), 5);
	assert_string_equal(out, "a b c");
	assert_int_equal(body_url_decode("", 0, out, sizeof out), 0);
	assert_string_equal(out, "");
	assert_int_equal(body_url_decode("%e2%82%AC", 9, out, sizeof out), 3);
	assert_string_equal(out, "\xe2\x82\xac");
	/* exactly outlen - 1 bytes fit, one more does not */
	assert_int_equal(body_url_decode("1234567", 7, out, sizeof out), 7);
	assert_int_equal(body_url_decode("12345678", 8, out, sizeof out), -1);
	assert_string_equal(out, "");
	assert_int_equal(body_url_decode("%41", 3, out, 1), -1);
	assert_int_equal(body_url_decode("x", 1, out, 0), -1);
	assert_int_equal(body_url_decode("%00", 3, out, sizeof out), -1);
	assert_int_equal(body_url_decode("a\0b", 3, out, sizeof out), -1);
	assert_int_equal(body_url_decode("%zz", 3, out, sizeof out), -1);
	assert_int_equal(body_url_decode("%4", 2, out, sizeof out), -1);
	/* the length bounds the read: "%41" cut to "%4" */
	assert_int_equal(body_url_decode("%41", 2, out, sizeof out), -1);
	/* bytes are not checked for UTF-8 here */
	assert_int_equal(body_url_decode("%FF", 3, out, sizeof out), 1);
	assert_int_equal((unsigned char)out[0], 0xff);
}

/* ---- JSON ---------------------------------------------------------------- */

static void test_json_object_ok(void **state)
{
	struct fx *f = *state;

	assert_int_equal(json(f, "{\"name\":\"Ana\",\"email\":\"ana@acme.example\","
	                         "\"Company\":\"Acme \\\"Ltd\\\"\"}"), BODY_OK);
	assert_int_equal(f->l.n, 3);
	assert_string_equal(lead_get(&f->l, "name"), "Ana");
	assert_string_equal(lead_get(&f->l, "email"), "ana@acme.example");
	assert_string_equal(lead_get(&f->l, "company"), "Acme \"Ltd\"");
	assert_int_equal(json(f, " \t\r\n{ \"a\" : \"1\" }\r\n "), BODY_OK);
	assert_string_equal(lead_get(&f->l, "a"), "1");
	assert_int_equal(json(f, "{}"), BODY_OK);
	assert_int_equal(f->l.n, 0);
}

static void test_json_not_an_object(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
		"[{\"a\":1}]", "[]", "\"a\"", "1", "true", "null", "", "   ", "\n",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(json(f, bad[i]), BODY_BAD);
	assert_int_equal(json(f, "[1,2]"), BODY_BAD);
	assert_non_null(strstr(f->err, "JSON object"));
}

static void test_json_nested_object(void **state)
{
	struct fx *f = *state;

	assert_int_equal(json(f, "{\"name\":\"Ana\",\"account\":{\"owner\":\"x\"}}"), BODY_BAD);
	assert_non_null(strstr(f->err, "'account'"));
	assert_int_equal(json(f, "{\"a\":{}}"), BODY_BAD);
	assert_non_null(strstr(f->err, "'a'"));
}

static void test_json_array_value(void **state)
{
	struct fx *f = *state;

	assert_int_equal(json(f, "{\"name\":\"Ana\",\"tags\":[\"a\",\"b\"]}"), BODY_BAD);
	assert_non_null(strstr(f->err, "'tags'"));
	assert_int_equal(json(f, "{\"tags\":[]}"), BODY_BAD);
	assert_non_null(strstr(f->err, "'tags'"));
}

static void test_json_deep_nesting(void **state)
{
	struct fx *f = *state;
	struct buf b = {0};

	buf_adds(&b, "{\"a\":");
	repeat(&b, "[", 100000);
	assert_int_equal(json(f, buf_str(&b)), BODY_BAD);
	assert_non_null(strstr(f->err, "'a'"));
	buf_reset(&b);
	repeat(&b, "{\"a\":", 50000);
	repeat(&b, "}", 50000);
	assert_int_equal(json(f, buf_str(&b)), BODY_BAD);
	buf_reset(&b);
	repeat(&b, "[", 100000);
	assert_int_equal(json(f, buf_str(&b)), BODY_BAD);
	buf_free(&b);
}

static void test_json_nul(void **state)
{
	struct fx *f = *state;

	assert_int_equal(json(f, "{\"a\":\"x\\u0000y\"}"), BODY_BAD);
	assert_non_null(strstr(f->err, "'a'"));
	assert_non_null(strstr(f->err, "NUL"));
	/* json-c would cut the key at the NUL, silently */
	assert_int_equal(json(f, "{\"a\\u0000b\":1}"), BODY_BAD);
	assert_non_null(strstr(f->err, "NUL"));
	assert_int_equal(json(f, "{\"a\\u0000x\":1,\"a\\u0000y\":2}"), BODY_BAD);
	/* raw NUL bytes, in a string and after the object */
	assert_int_equal(parse_n(f, true, "{\"a\":\"x\0y\"}", 11), BODY_BAD);
	assert_int_equal(parse_n(f, true, "{\"a\":1}\0", 8), BODY_BAD);
	assert_int_equal(parse_n(f, true, "{\"a\":\"\\\0\"}", 10), BODY_BAD);
	/* an escaped backslash before "u0000" is not a NUL */
	assert_int_equal(json(f, "{\"a\":\"\\\\u0000\"}"), BODY_OK);
	assert_string_equal(lead_get(&f->l, "a"), "\\u0000");
}

static void test_json_trailing_garbage(void **state)
{
	struct fx *f = *state;

	assert_int_equal(json(f, "{\"a\":1} x"), BODY_BAD);
	assert_int_equal(json(f, "{\"a\":1}{\"b\":2}"), BODY_BAD);
	assert_int_equal(json(f, "{\"a\":1},"), BODY_BAD);
	assert_int_equal(json(f, "{\"a\":1}}"), BODY_BAD);
	assert_int_equal(json(f, "{\"a\":1}\n\n"), BODY_OK);
}

static void test_json_malformed(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
		"{\"a\":1",            /* cut short */
		"{\"a\":\"x",
		"{\"a\"",
		"{",
		"{\"a\":1,}",          /* trailing comma */
		"{\"a\":1 /* c */}",   /* comment */
		"{a:1}",               /* bare key */
		"{'a':1}",             /* single quotes, which json-c takes */
		"{\"a\":'x'}",
		"{\"a\":01}",
		"{\"a\" 1}",
		"{\"a\":tru}",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(json(f, bad[i]), BODY_BAD);
		assert_int_equal(f->l.n, 0);
	}
	/* json-c takes single quotes even when strict; the scan does not */
	assert_int_equal(json(f, "{'a':1}"), BODY_BAD);
	assert_non_null(strstr(f->err, "single-quoted"));
}

static void test_json_duplicate_keys(void **state)
{
	struct fx *f = *state;

	assert_int_equal(json(f, "{\"a\":1,\"b\":2,\"a\":3}"), BODY_BAD);
	assert_string_equal(f->err, "field 'a' given twice");
	assert_int_equal(json(f, "{\"a\":null,\"a\":null}"), BODY_BAD);
	/* the same key escaped differently */
	assert_int_equal(json(f, "{\"a\":1,\"\\u0061\":2}"), BODY_BAD);
	assert_non_null(strstr(f->err, "twice"));
	/* lead_set folds case */
	assert_int_equal(json(f, "{\"email\":\"a\",\"EMAIL\":\"b\"}"), BODY_BAD);
	assert_non_null(strstr(f->err, "twice"));
	/* a key-like string as a value is not a key */
	assert_int_equal(json(f, "{\"a\":\"a\",\"b\":\"a:\"}"), BODY_OK);
	assert_int_equal(f->l.n, 2);
}

static void test_json_numbers(void **state)
{
	struct fx *f = *state;

	assert_int_equal(json(f, "{\"i\":42,\"n\":-7,\"z\":0,\"d\":1.5,\"e\":1e3,\"p\":0.1,"
	                         "\"big\":9007199254740993,\"neg\":-9223372036854775807,"
	                         "\"x\":1.0,\"s\":-2.5e-3}"), BODY_OK);
	assert_string_equal(lead_get(&f->l, "i"), "42");
	assert_string_equal(lead_get(&f->l, "n"), "-7");
	assert_string_equal(lead_get(&f->l, "z"), "0");
	assert_string_equal(lead_get(&f->l, "d"), "1.5");
	assert_string_equal(lead_get(&f->l, "e"), "1000");
	assert_string_equal(lead_get(&f->l, "p"), "0.1");
	assert_string_equal(lead_get(&f->l, "big"), "9007199254740993");
	assert_string_equal(lead_get(&f->l, "neg"), "-9223372036854775807");
	assert_string_equal(lead_get(&f->l, "x"), "1");
	assert_string_equal(lead_get(&f->l, "s"), "-0.0025");
}

static void test_json_numbers_out_of_range(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
		"{\"n\":1e999}", "{\"n\":-1e999}", "{\"n\":NaN}", "{\"n\":Infinity}",
		"{\"n\":-Infinity}", "{\"n\":99999999999999999999}",
		"{\"n\":-99999999999999999999}", "{\"n\":18446744073709551615}",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(json(f, bad[i]), BODY_BAD);
		assert_non_null(strstr(f->err, "'n'"));
	}
}

static void test_json_booleans_and_null(void **state)
{
	struct fx *f = *state;

	assert_int_equal(json(f, "{\"t\":true,\"f\":false,\"gone\":null,\"name\":\"Ana\"}"),
	                 BODY_OK);
	assert_int_equal(f->l.n, 3);
	assert_string_equal(lead_get(&f->l, "t"), "true");
	assert_string_equal(lead_get(&f->l, "f"), "false");
	assert_null(lead_get(&f->l, "gone"));
	assert_string_equal(lead_get(&f->l, "name"), "Ana");
	/* null does not excuse a bad name */
	assert_int_equal(json(f, "{\"a b\":null}"), BODY_BAD);
	/* JSON spells them in lower case only */
	assert_int_equal(json(f, "{\"t\":True}"), BODY_BAD);
}

static void test_json_utf8(void **state)
{
	struct fx *f = *state;

	assert_int_equal(json(f, "{\"a\":\"caf\xc3\xa9\",\"b\":\"\\u00e9\",\"c\":\"\\ud83d\\ude00\","
	                         "\"d\":\"\xf0\x9f\x98\x80\"}"), BODY_OK);
	assert_string_equal(lead_get(&f->l, "a"), "caf\xc3\xa9");
	assert_string_equal(lead_get(&f->l, "b"), "\xc3\xa9");
	assert_string_equal(lead_get(&f->l, "c"), "\xf0\x9f\x98\x80");
	assert_string_equal(lead_get(&f->l, "d"), "\xf0\x9f\x98\x80");

	static const char *const bad[] = {
		"{\"a\":\"\xff\"}", "{\"a\":\"\xc3\x28\"}", "{\"a\":\"\xc0\xaf\"}",
		"{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"caf\xe9\"}", "{\"a\":\"\xe2\x82\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(json(f, bad[i]), BODY_BAD);
		assert_non_null(strstr(f->err, "UTF-8"));
		assert_non_null(strstr(f->err, "'a'"));
	}
	/* a non-ASCII key is a bad name, and is not echoed raw */
	assert_int_equal(json(f, "{\"caf\xc3\xa9\":1}"), BODY_BAD);
	assert_non_null(strstr(f->err, "'caf?" "?'"));
}

static void test_json_key_rules(void **state)
{
	struct fx *f = *state;
	struct buf b = {0};

	assert_int_equal(json(f, "{\"\":1}"), BODY_BAD);
	assert_non_null(strstr(f->err, "empty field name"));
	assert_int_equal(json(f, "{\"a b\":1}"), BODY_BAD);
	assert_int_equal(json(f, "{\"a\\nb\":1}"), BODY_BAD);
	assert_null(strchr(f->err, '\n'));
	assert_int_equal(json(f, "{\"account.owner\":\"x\",\"utm_source\":\"y\"}"), BODY_OK);

	buf_adds(&b, "{\"");
	repeat(&b, "k", 64);
	buf_adds(&b, "\":1}");
	assert_int_equal(json(f, buf_str(&b)), BODY_OK);
	buf_reset(&b);
	buf_adds(&b, "{\"");
	repeat(&b, "k", 65);
	buf_adds(&b, "\":1}");
	assert_int_equal(json(f, buf_str(&b)), BODY_BAD);
	assert_non_null(strstr(f->err, "longer than 64"));
	buf_free(&b);
}

static void test_json_value_length(void **state)
{
	struct fx *f = *state;
	struct buf b = {0};

	buf_adds(&b, "{\"m\":\"");
	repeat(&b, "v", 8192);
	buf_adds(&b, "\"}");
	assert_int_equal(json(f, buf_str(&b)), BODY_OK);
	assert_int_equal(strlen(lead_get(&f->l, "m")), 8192);
	buf_reset(&b);
	buf_adds(&b, "{\"m\":\"");
	repeat(&b, "v", 8193);
	buf_adds(&b, "\"}");
	assert_int_equal(json(f, buf_str(&b)), BODY_BAD);
	assert_non_null(strstr(f->err, "longer than 8192"));
	/* 8192 bytes from 49152 escaped ones are fine; a byte more is not */
	buf_reset(&b);
	buf_adds(&b, "{\"m\":\"");
	repeat(&b, "\\u0041", 8192);
	buf_adds(&b, "\"}");
	assert_int_equal(json(f, buf_str(&b)), BODY_OK);
	assert_int_equal(strlen(lead_get(&f->l, "m")), 8192);
	assert_int_equal(lead_get(&f->l, "m")[8191], 'A');
	buf_reset(&b);
	buf_adds(&b, "{\"m\":\"");
	repeat(&b, "\\u0041", 8192);
	buf_adds(&b, "A\"}");
	assert_int_equal(json(f, buf_str(&b)), BODY_BAD);
	assert_non_null(strstr(f->err, "'m'"));
	assert_non_null(strstr(f->err, "longer than 8192"));
	/* a megabyte string is refused by the scan, naming its field */
	buf_reset(&b);
	buf_adds(&b, "{\"name\":\"Ana\",\"m\":\"");
	repeat(&b, "x", 1 << 20);
	buf_adds(&b, "\"}");
	assert_int_equal(json(f, buf_str(&b)), BODY_BAD);
	assert_string_equal(f->err, "field 'm': value longer than 8192 bytes");
	/* escaped names: 64 escapes are 64 bytes, 65 are too many */
	buf_reset(&b);
	buf_adds(&b, "{\"");
	repeat(&b, "\\u006b", 64);
	buf_adds(&b, "\":1}");
	assert_int_equal(json(f, buf_str(&b)), BODY_OK);
	buf_reset(&b);
	buf_adds(&b, "{\"");
	repeat(&b, "\\u006b", 65);
	buf_adds(&b, "\":1}");
	assert_int_equal(json(f, buf_str(&b)), BODY_BAD);
	assert_non_null(strstr(f->err, "longer than 64"));
	buf_free(&b);
}

static void test_json_field_count(void **state)
{
	struct fx *f = *state;
	struct buf b = {0};

	buf_adds(&b, "{");
	for (int i = 0; i < 64; i++)
		buf_printf(&b, "%s\"f%d\":%d", i ? "," : "", i, i);
	buf_adds(&b, "}");
	assert_int_equal(json(f, buf_str(&b)), BODY_OK);
	assert_int_equal(f->l.n, 64);

	buf_reset(&b);
	buf_adds(&b, "{");
	for (int i = 0; i < 65; i++)
		buf_printf(&b, "%s\"f%d\":null", i ? "," : "", i);
	buf_adds(&b, "}");
	assert_int_equal(json(f, buf_str(&b)), BODY_TOO_MANY);
	assert_int_equal(f->l.n, 0);
	buf_free(&b);
}

static void test_json_crlf_survives(void **state)
{
	struct fx *f = *state;

	assert_int_equal(json(f, "{\"message\":\"line1\\r\\nline2\\t.\"}"), BODY_OK);
	assert_string_equal(lead_get(&f->l, "message"), "line1\r\nline2\t.");
}

static void test_json_length_is_respected(void **state)
{
	struct fx *f = *state;

	assert_int_equal(parse_n(f, true, "{\"a\":1}{\"b\":2}", 7), BODY_OK);
	assert_int_equal(f->l.n, 1);
	assert_int_equal(parse_n(f, true, "{\"a\":1}", 6), BODY_BAD);
	assert_int_equal(body_parse_json(NULL, 0, &f->l, f->err, sizeof f->err), BODY_BAD);
}

/* ---- content types -------------------------------------------------------- */

static void test_kind_plain(void **state)
{
	(void)state;
	assert_int_equal(body_kind_of("application/x-www-form-urlencoded"), BODY_FORM);
	assert_int_equal(body_kind_of("application/json"), BODY_JSON);
	assert_int_equal(body_kind_of("  application/json  "), BODY_JSON);
}

static void test_kind_charset(void **state)
{
	(void)state;
	assert_int_equal(body_kind_of("application/json; charset=utf-8"), BODY_JSON);
	assert_int_equal(body_kind_of("application/json;charset=UTF-8"), BODY_JSON);
	assert_int_equal(body_kind_of("application/json; charset=\"utf-8\""), BODY_JSON);
	assert_int_equal(body_kind_of("application/json ; Charset=Utf-8 ;"), BODY_JSON);
	assert_int_equal(body_kind_of("application/x-www-form-urlencoded; charset=UTF-8"),
	                 BODY_FORM);
	/* other parameters are ignored */
	assert_int_equal(body_kind_of("application/json; foo=bar; charset=utf-8"), BODY_JSON);
}

static void test_kind_upper_case(void **state)
{
	(void)state;
	assert_int_equal(body_kind_of("APPLICATION/JSON"), BODY_JSON);
	assert_int_equal(body_kind_of("Application/X-WWW-Form-Urlencoded"), BODY_FORM);
}

static void test_kind_other_charset(void **state)
{
	(void)state;
	assert_int_equal(body_kind_of("application/json; charset=latin1"), BODY_UNSUPPORTED);
	assert_int_equal(body_kind_of("application/x-www-form-urlencoded; charset=iso-8859-1"),
	                 BODY_UNSUPPORTED);
	assert_int_equal(body_kind_of("application/json; charset=\"latin1\""), BODY_UNSUPPORTED);
	assert_int_equal(body_kind_of("application/json; charset=utf-16"), BODY_UNSUPPORTED);
	assert_int_equal(body_kind_of("application/json; charset=utf-8; charset=latin1"),
	                 BODY_UNSUPPORTED);
	assert_int_equal(body_kind_of("application/json; charset=\"utf-8"), BODY_UNSUPPORTED);
	assert_int_equal(body_kind_of("application/json; charset="), BODY_UNSUPPORTED);
	assert_int_equal(body_kind_of("application/json; charset"), BODY_UNSUPPORTED);
	assert_int_equal(body_kind_of("application/json; charset=utf-8x"), BODY_UNSUPPORTED);
	assert_int_equal(body_kind_of("application/json; charset=utf-8-and-a-lot-more"),
	                 BODY_UNSUPPORTED);
}

static void test_kind_missing_or_other(void **state)
{
	(void)state;
	assert_int_equal(body_kind_of(NULL), BODY_UNSUPPORTED);
	assert_int_equal(body_kind_of(""), BODY_UNSUPPORTED);
	assert_int_equal(body_kind_of("   "), BODY_UNSUPPORTED);
	assert_int_equal(body_kind_of("; charset=utf-8"), BODY_UNSUPPORTED);
	assert_int_equal(body_kind_of("text/plain"), BODY_UNSUPPORTED);
	assert_int_equal(body_kind_of("multipart/form-data; boundary=x"), BODY_UNSUPPORTED);
	assert_int_equal(body_kind_of("application/jsonx"), BODY_UNSUPPORTED);
	assert_int_equal(body_kind_of("application/json-seq"), BODY_UNSUPPORTED);
	assert_int_equal(body_kind_of("application/json garbage"), BODY_UNSUPPORTED);
	assert_int_equal(body_kind_of("application/json\r\nX-Evil: 1"), BODY_UNSUPPORTED);
	assert_int_equal(body_kind_of("application"), BODY_UNSUPPORTED);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_form_basic),
		T(test_form_plus_and_space),
		T(test_form_literal_plus),
		T(test_form_utf8),
		T(test_form_empty_pairs_skipped),
		T(test_form_no_equals_and_extra_equals),
		T(test_form_bad_escape_G),
		T(test_form_bad_escape_short),
		T(test_form_bad_escape_in_name),
		T(test_form_nul),
		T(test_form_invalid_utf8),
		T(test_form_overlong_utf8),
		T(test_form_empty_name),
		T(test_form_bad_name_chars),
		T(test_form_name_length),
		T(test_form_value_length),
		T(test_form_field_count),
		T(test_form_too_many_wins_over_bad),
		T(test_form_repeated),
		T(test_form_crlf_survives),
		T(test_form_length_is_respected),
		T(test_form_message_is_safe),
		cmocka_unit_test(test_url_decode),
		T(test_json_object_ok),
		T(test_json_not_an_object),
		T(test_json_nested_object),
		T(test_json_array_value),
		T(test_json_deep_nesting),
		T(test_json_nul),
		T(test_json_trailing_garbage),
		T(test_json_malformed),
		T(test_json_duplicate_keys),
		T(test_json_numbers),
		T(test_json_numbers_out_of_range),
		T(test_json_booleans_and_null),
		T(test_json_utf8),
		T(test_json_key_rules),
		T(test_json_value_length),
		T(test_json_field_count),
		T(test_json_crlf_survives),
		T(test_json_length_is_respected),
		cmocka_unit_test(test_kind_plain),
		cmocka_unit_test(test_kind_charset),
		cmocka_unit_test(test_kind_upper_case),
		cmocka_unit_test(test_kind_other_charset),
		cmocka_unit_test(test_kind_missing_or_other),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
