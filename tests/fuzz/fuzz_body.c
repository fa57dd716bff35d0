/* fuzz_body - a submitted body through intake/body.
 *
 * The input is taken three ways:
 *   1. as an application/x-www-form-urlencoded body and as a JSON body
 *      (body_parse_form, body_parse_json, given exactly size bytes): a
 *      BODY_OK lead must hold at most LEAD_MAX_FIELDS names, each a valid
 *      name of at most BODY_MAX_NAME bytes, none twice (case-insensitively),
 *      each value valid UTF-8 of at most BODY_MAX_VALUE bytes, and for a
 *      form one field per non-empty pair (a repeated name would have been
 *      merged by lead_set); a failure must come with a message of printable
 *      ASCII only;
 *   2. as one form component (body_url_decode into a small buffer): the
 *      length returned fits the buffer and matches the bytes written;
 *   3. as a C string (up to the first NUL): body_kind_of, which must
 *      return one of its three values, and idem_key_parse, whose accepted
 *      key must be 8 to IDEM_KEY_MAX safe characters;
 *   4. a parsed lead's fingerprint (idem_fingerprint) is 64 hex digits and
 *      the same when the fields come in reverse order;
 *   5. as a webhook signature header (intake/hooksig): see
 *      check_hook_signature.
 * Must never trust body.c's own UTF-8 check: the one here is written
 * separately, decoding code points.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "intake/body.h"
#include "intake/hooksig.h"
#include "intake/idem.h"

/* UTF-8 by decoding: the shortest form, no surrogates, at most U+10FFFF. */
static bool valid_utf8(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		uint32_t cp, min;
		int more;

		if (*s < 0x80) {
			s++;
			continue;
		} else if ((*s & 0xe0) == 0xc0) {
			cp = *s & 0x1f;
			more = 1;
			min = 0x80;
		} else if ((*s & 0xf0) == 0xe0) {
			cp = *s & 0x0f;
			more = 2;
			min = 0x800;
		} else if ((*s & 0xf8) == 0xf0) {
			cp = *s & 0x07;
			more = 3;
			min = 0x10000;
		} else {
			return false;
		}
		s++;
		for (int k = 0; k < more; k++, s++) {
			if ((*s & 0xc0) != 0x80)   /* the NUL ends it too */
				return false;
			cp = cp << 6 | (*s & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

static void check_lead(const struct lead *l, const char *what)
{
	FUZZ_CHECK(l->n <= LEAD_MAX_FIELDS, "%s: %zu fields", what, l->n);
	for (size_t i = 0; i < l->n; i++) {
		const char *name = l->kv[i].name, *value = l->kv[i].value;
		size_t n = strlen(name);

		FUZZ_CHECK(n >= 1 && n <= BODY_MAX_NAME, "%s: name of %zu bytes", what, n);
		FUZZ_CHECK(strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                        "0123456789_.-") == n, "%s: bad name \"%s\"", what, name);
		FUZZ_CHECK(valid_utf8(name), "%s: name is not UTF-8", what);
		FUZZ_CHECK(valid_utf8(value), "%s: value of %s is not UTF-8", what, name);
		FUZZ_CHECK(strlen(value) <= BODY_MAX_VALUE, "%s: value of %s: %zu bytes", what,
		           name, strlen(value));
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(strcasecmp(l->kv[k].name, name) != 0, "%s: %s twice", what, name);
	}
}

static void check_err(const char *err, const char *what)
{
	FUZZ_CHECK(err[0] != '\0', "%s: failed without a message", what);
	for (const char *p = err; *p; p++)
		FUZZ_CHECK(*p >= 0x20 && *p < 0x7f, "%s: byte 0x%02x in the message", what,
		           (unsigned char)*p);
}

static void check_fingerprint(const struct lead *l, const char *what)
{
	const char *const skip[] = { "idempotency_key", "form_token", NULL };
	char a[IDEM_FINGERPRINT_LEN + 1], b[IDEM_FINGERPRINT_LEN + 1];
	FUZZ_CHECK(idem_fingerprint(l, skip, a) == 0, "%s: no fingerprint", what);
	FUZZ_CHECK(strlen(a) == IDEM_FINGERPRINT_LEN &&
	           strspn(a, "0123456789abcdef") == IDEM_FINGERPRINT_LEN,
	           "%s: fingerprint \"%s\"", what, a);
	struct lead r;
	lead_init(&r);
	for (size_t i = l->n; i-- > 0;)
		lead_set(&r, l->kv[i].name, l->kv[i].value);
	FUZZ_CHECK(idem_fingerprint(&r, skip, b) == 0 && strcmp(a, b) == 0,
	           "%s: the fingerprint depends on field order", what);
	lead_free(&r);
}

/* Non-empty '&'-separated pairs in a form body. */
static size_t form_pairs(const uint8_t *data, size_t size)
{
	size_t n = 0, run = 0;

	for (size_t i = 0; i < size; i++) {
		if (data[i] == '&') {
			n += run > 0;
			run = 0;
		} else {
			run++;
		}
	}
	return n + (run > 0);
}

static void parse(const uint8_t *data, size_t size, bool json)
{
	const char *what = json ? "body_parse_json" : "body_parse_form";
	struct lead l;
	char err[256];

	lead_init(&l);
	enum body_status st = json ? body_parse_json((const char *)data, size, &l, err, sizeof err)
	                           : body_parse_form((const char *)data, size, &l, err, sizeof err);
	switch (st) {
	case BODY_OK:
		FUZZ_CHECK(err[0] == '\0', "%s: OK with message \"%s\"", what, err);
		check_lead(&l, what);
		if (!json)
			FUZZ_CHECK(l.n == form_pairs(data, size), "%s: %zu pairs gave %zu fields",
			           what, form_pairs(data, size), l.n);
		check_fingerprint(&l, what);
		break;
	case BODY_BAD:
	case BODY_TOO_MANY:
		check_err(err, what);
		break;
	default:
		FUZZ_CHECK(0, "%s: status %d", what, (int)st);
	}
	lead_free(&l);
}

/* A signature header (intake/hooksig): a parse that succeeds points at
 * "v1=" inside it with a timestamp; a verify against a secret nobody
 * signed with fails with a printable reason, and the header re-signed
 * properly passes. */
static void check_hook_signature(const char *sig)
{
	int64_t ts;
	const char *v1, *why = NULL;
	if (hooksig_parse(sig, "1700000000", &ts, &v1) == 0) {
		FUZZ_CHECK(v1 >= sig && v1 < sig + strlen(sig) && strncmp(v1, "v1=", 3) == 0 &&
		           ts >= 0, "hooksig_parse accepted \"%s\" badly", sig);
	}
	int rc = hooksig_verify("fuzz-secret-0123456789", sig, "1700000000", sig, strlen(sig),
	                        1700000000, &why);
	if (rc != 0) {
		FUZZ_CHECK(why && *why, "hooksig_verify failed without a reason");
		for (const char *p = why; *p; p++)
			FUZZ_CHECK(*p >= ' ' && *p < 0x7f, "hooksig_verify's reason is not printable");
	}
	char good[68];
	FUZZ_CHECK(hooksig_sign("fuzz-secret-0123456789", 1700000000, sig, strlen(sig), good) == 0,
	           "hooksig_sign failed");
	FUZZ_CHECK(hooksig_verify("fuzz-secret-0123456789", good, "1700000000", sig, strlen(sig),
	                          1700000100, &why) == 0, "a good signature was refused: %s", why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse(data, size, false);
	parse(data, size, true);

	char out[16];
	memset(out, 'X', sizeof out);
	long n = body_url_decode((const char *)data, size, out, sizeof out);
	FUZZ_CHECK(n >= -1 && n < (long)sizeof out, "body_url_decode returned %ld", n);
	if (n >= 0) {
		FUZZ_CHECK(out[n] == '\0' && strlen(out) == (size_t)n,
		           "body_url_decode returned %ld for %zu bytes", n, strlen(out));
	} else {
		FUZZ_CHECK(out[0] == '\0', "body_url_decode failed but wrote output");
	}

	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	enum body_kind k = body_kind_of(s);
	FUZZ_CHECK(k == BODY_FORM || k == BODY_JSON || k == BODY_UNSUPPORTED,
	           "body_kind_of returned %d", (int)k);
	char key[IDEM_KEY_MAX + 1];
	if (idem_key_parse(s, key)) {
		size_t kl = strlen(key);
		FUZZ_CHECK(kl >= 8 && kl <= IDEM_KEY_MAX &&
		           strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                       "0123456789-_") == kl, "idem_key_parse accepted \"%s\"", key);
	}
	check_hook_signature(s);
	free(s);
	return 0;
}
