/* test_token - unit tests for intake/token: HMAC against RFC 4231, tokens
 * made and checked (ages, clock skew), and every way a token can be forged
 * or mangled.
 * Must never use a secret outside this file's test constants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "intake/token.h"

static const unsigned char secret[] = "test secret, 32 bytes or so....";
#define SECRET secret, sizeof secret - 1
#define T0 INT64_C(1700000000)
#define MIN_AGE 3
#define MAX_AGE 3600

static void make(char out[TOKEN_MAX], int64_t now)
{
	assert_int_equal(token_make(SECRET, now, out), 0);
}

static enum token_check check_at(const char *tok, int64_t now)
{
	return token_check(SECRET, tok, now, MIN_AGE, MAX_AGE);
}

/* A token for "v1.<issued>.<nonce>" with a correct MAC under SECRET, so a
 * test can build well-signed tokens of any shape. */
static void sign(char out[TOKEN_MAX], const char *body)
{
	char mac[65];
	assert_int_equal(token_hmac_hex(SECRET, body, strlen(body), mac), 0);
	assert_true(strlen(body) + 1 + 64 < TOKEN_MAX);
	snprintf(out, TOKEN_MAX, "%s.%s", body, mac);
}

static void test_hmac_rfc4231(void **state)
{
	char out[65];
	(void)state;

	/* RFC 4231, test case 2 */
	assert_int_equal(token_hmac_hex((const unsigned char *)"Jefe", 4,
	                                "what do ya want for nothing?", 28, out), 0);
	assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* RFC 4231, test case 1 */
	unsigned char key[20];
	memset(key, 0x0b, sizeof key);
	assert_int_equal(token_hmac_hex(key, sizeof key, "Hi There", 8, out), 0);
	assert_string_equal(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

static void test_format(void **state)
{
	char tok[TOKEN_MAX];
	unsigned long long issued = 0;
	char nonce[32] = "", mac[80] = "";
	(void)state;

	make(tok, T0);
	assert_int_equal(strncmp(tok, "v1.1700000000.", 14), 0);
	assert_int_equal(sscanf(tok, "v1.%llu.%31[0-9a-f].%79[0-9a-f]", &issued, nonce, mac), 3);
	assert_true(issued == (unsigned long long)T0);
	assert_int_equal(strlen(nonce), 16);
	assert_int_equal(strlen(mac), 64);
	assert_int_equal(strlen(tok), 3 + 10 + 1 + 16 + 1 + 64);
	/* the MAC covers exactly "v1.<issued>.<nonce>" */
	char body[64], expect[65];
	snprintf(body, sizeof body, "v1.%llu.%s", issued, nonce);
	assert_int_equal(token_hmac_hex(SECRET, body, strlen(body), expect), 0);
	assert_string_equal(mac, expect);
}

static void test_round_trip(void **state)
{
	char tok[TOKEN_MAX];
	(void)state;

	make(tok, T0);
	assert_int_equal(check_at(tok, T0 + 10), TOKEN_OK);
	assert_int_equal(check_at(tok, T0 + MIN_AGE), TOKEN_OK);    /* boundaries */
	assert_int_equal(check_at(tok, T0 + MAX_AGE), TOKEN_OK);
	/* the time 0 works too */
	make(tok, 0);
	assert_int_equal(token_check(SECRET, tok, 5, 0, 10), TOKEN_OK);
}

static void test_too_fast(void **state)
{
	char tok[TOKEN_MAX];
	(void)state;

	make(tok, T0);
	assert_int_equal(check_at(tok, T0), TOKEN_TOO_FAST);
	assert_int_equal(check_at(tok, T0 + MIN_AGE - 1), TOKEN_TOO_FAST);
}

static void test_expired(void **state)
{
	char tok[TOKEN_MAX];
	(void)state;

	make(tok, T0);
	assert_int_equal(check_at(tok, T0 + MAX_AGE + 1), TOKEN_EXPIRED);
	assert_int_equal(check_at(tok, INT64_MAX), TOKEN_EXPIRED);
}

static void test_future(void **state)
{
	char tok[TOKEN_MAX];
	(void)state;

	make(tok, T0);
	/* up to 60 s of skew: counts as 0 s old */
	assert_int_equal(check_at(tok, T0 - 60), TOKEN_TOO_FAST);
	assert_int_equal(token_check(SECRET, tok, T0 - 60, 0, MAX_AGE), TOKEN_OK);
	/* beyond it: bad, whatever the ages allowed */
	assert_int_equal(check_at(tok, T0 - 61), TOKEN_BAD);
	assert_int_equal(token_check(SECRET, tok, T0 - 61, 0, INT64_MAX), TOKEN_BAD);
	assert_int_equal(check_at(tok, 0), TOKEN_BAD);
	assert_int_equal(check_at(tok, -1), TOKEN_BAD);
	assert_int_equal(check_at(tok, INT64_MIN), TOKEN_BAD);
}

static void test_tampered_issued(void **state)
{
	char tok[TOKEN_MAX], forged[TOKEN_MAX];
	(void)state;

	make(tok, T0);
	/* an older time, to pass the minimum age: same length ... */
	memcpy(forged, tok, TOKEN_MAX);
	forged[4] = '6';   /* "v1.1600000000." */
	assert_int_equal(check_at(forged, T0 + 10), TOKEN_BAD);
	assert_int_equal(check_at(forged, T0 - 1000), TOKEN_BAD);
	memcpy(forged, tok, TOKEN_MAX);
	forged[12] = '9';   /* "v1.1700000009.": newer */
	assert_int_equal(check_at(forged, T0 + 20), TOKEN_BAD);
	/* ... or shorter */
	snprintf(forged, sizeof forged, "v1.%s", tok + 4);   /* drops a digit */
	assert_int_equal(check_at(forged, T0 + 10), TOKEN_BAD);
}

static void test_tampered_mac(void **state)
{
	/* "v1.1700000000." then 16 nonce digits, '.', 64 MAC digits */
	enum { NONCE_AT = 14, MAC_AT = 31, LEN = 95 };
	char tok[TOKEN_MAX], forged[TOKEN_MAX];
	(void)state;

	make(tok, T0);
	assert_int_equal(strlen(tok), LEN);
	for (size_t pos = MAC_AT; pos < LEN; pos += 9) {
		memcpy(forged, tok, TOKEN_MAX);
		forged[pos] = forged[pos] == '0' ? '1' : '0';
		assert_int_equal(check_at(forged, T0 + 10), TOKEN_BAD);
	}
	/* the nonce is covered too */
	memcpy(forged, tok, TOKEN_MAX);
	forged[NONCE_AT + 15] = forged[NONCE_AT + 15] == 'a' ? 'b' : 'a';
	assert_int_equal(check_at(forged, T0 + 10), TOKEN_BAD);
	/* the right MAC in upper case is not the form token_make writes */
	memcpy(forged, tok, TOKEN_MAX);
	for (size_t i = MAC_AT; i < LEN; i++)
		if (forged[i] >= 'a' && forged[i] <= 'f')
			forged[i] = (char)(forged[i] - 'a' + 'A');
	if (strcmp(forged, tok) != 0)
		assert_int_equal(check_at(forged, T0 + 10), TOKEN_BAD);
	/* an all-zero MAC */
	memcpy(forged, tok, TOKEN_MAX);
	memset(forged + MAC_AT, '0', 64);
	assert_int_equal(check_at(forged, T0 + 10), TOKEN_BAD);
}

static void test_wrong_secret(void **state)
{
	static const unsigned char other[] = "test secret, 32 bytes or so...!";
	char tok[TOKEN_MAX];
	(void)state;

	make(tok, T0);
	assert_int_equal(token_check(other, sizeof other - 1, tok, T0 + 10, MIN_AGE, MAX_AGE),
	                 TOKEN_BAD);
	/* a prefix of the secret is another secret */
	assert_int_equal(token_check(secret, sizeof secret - 2, tok, T0 + 10, MIN_AGE, MAX_AGE),
	                 TOKEN_BAD);
	assert_int_equal(token_check(secret, 0, tok, T0 + 10, MIN_AGE, MAX_AGE), TOKEN_BAD);
	assert_int_equal(token_check(NULL, 0, tok, T0 + 10, MIN_AGE, MAX_AGE), TOKEN_BAD);

	/* with no secret configured, a token signed under the empty key (which
	 * anyone can make) is still refused */
	static const char body[] = "v1.1700000000.0123456789abcdef";
	char mac[65];
	assert_int_equal(token_hmac_hex(secret, 0, body, sizeof body - 1, mac), 0);
	snprintf(tok, sizeof tok, "%s.%s", body, mac);
	assert_int_equal(token_check(secret, 0, tok, T0 + 10, MIN_AGE, MAX_AGE), TOKEN_BAD);
	assert_int_equal(token_check(NULL, 0, tok, T0 + 10, MIN_AGE, MAX_AGE), TOKEN_BAD);
}

static void test_missing(void **state)
{
	(void)state;
	assert_int_equal(check_at(NULL, T0), TOKEN_MISSING);
	assert_int_equal(check_at("", T0), TOKEN_MISSING);
}

static void test_malformed(void **state)
{
	char tok[TOKEN_MAX], bad[TOKEN_MAX * 2];
	static const char *const junk[] = {
		"v1", "v1.", "v1..", "v1...", "x", "v1.1700000000",
		"v1.1700000000.0123456789abcdef",
		"v1.1700000000.0123456789abcdef.",
		"v2.1700000000.0123456789abcdef."
		"0000000000000000000000000000000000000000000000000000000000000000",
		"v1.1700000000.0123456789abcdeg."
		"0000000000000000000000000000000000000000000000000000000000000000",
		"v1.+1700000000.0123456789abcdef."
		"0000000000000000000000000000000000000000000000000000000000000000",
		"V1.1700000000.0123456789abcdef."
		"0000000000000000000000000000000000000000000000000000000000000000",
	};
	(void)state;

	for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
		assert_int_equal(check_at(junk[i], T0 + 10), TOKEN_BAD);

	make(tok, T0);
	size_t len = strlen(tok);
	/* missing parts, extra parts, cut or grown MAC */
	snprintf(bad, sizeof bad, "%.*s", (int)(len - 65), tok);   /* no MAC */
	assert_int_equal(check_at(bad, T0 + 10), TOKEN_BAD);
	snprintf(bad, sizeof bad, "%.*s", (int)(len - 1), tok);
	assert_int_equal(check_at(bad, T0 + 10), TOKEN_BAD);
	snprintf(bad, sizeof bad, "%s0", tok);
	assert_int_equal(check_at(bad, T0 + 10), TOKEN_BAD);
	snprintf(bad, sizeof bad, "%s.", tok);
	assert_int_equal(check_at(bad, T0 + 10), TOKEN_BAD);
	snprintf(bad, sizeof bad, " %s", tok);
	assert_int_equal(check_at(bad, T0 + 10), TOKEN_BAD);
	snprintf(bad, sizeof bad, "%s\n", tok);
	assert_int_equal(check_at(bad, T0 + 10), TOKEN_BAD);
	/* overlong: TOKEN_MAX and more, never read past the terminator */
	memset(bad, 'a', sizeof bad - 1);
	bad[sizeof bad - 1] = '\0';
	assert_int_equal(check_at(bad, T0 + 10), TOKEN_BAD);
	memset(bad, '9', sizeof bad - 1);
	memcpy(bad, "v1.", 3);
	assert_int_equal(check_at(bad, T0 + 10), TOKEN_BAD);
}

static void test_well_signed_but_not_canonical(void **state)
{
	char tok[TOKEN_MAX];
	(void)state;

	/* sanity: sign() builds what token_check accepts */
	sign(tok, "v1.1700000000.0123456789abcdef");
	assert_int_equal(check_at(tok, T0 + 10), TOKEN_OK);
	/* leading zero, sign, empty time, too large a time: refused even
	 * with a correct MAC */
	sign(tok, "v1.01700000000.0123456789abcdef");
	assert_int_equal(check_at(tok, T0 + 10), TOKEN_BAD);
	sign(tok, "v1.-5.0123456789abcdef");
	assert_int_equal(token_check(SECRET, tok, 100, 0, INT64_MAX), TOKEN_BAD);
	sign(tok, "v1..0123456789abcdef");
	assert_int_equal(check_at(tok, T0 + 10), TOKEN_BAD);
	sign(tok, "v1.99999999999999999999.0123456789abcdef");
	assert_int_equal(check_at(tok, INT64_MAX), TOKEN_BAD);
	sign(tok, "v1.9223372036854775807.0123456789abcdef");   /* INT64_MAX: fits */
	assert_int_equal(check_at(tok, INT64_MAX), TOKEN_TOO_FAST);
	sign(tok, "v1.9223372036854775808.0123456789abcdef");   /* one more */
	assert_int_equal(check_at(tok, INT64_MAX), TOKEN_BAD);
	/* nonce of the wrong length or case */
	sign(tok, "v1.1700000000.0123456789abcde");
	assert_int_equal(check_at(tok, T0 + 10), TOKEN_BAD);
	sign(tok, "v1.1700000000.0123456789abcdef0");
	assert_int_equal(check_at(tok, T0 + 10), TOKEN_BAD);
	sign(tok, "v1.1700000000.0123456789ABCDEF");
	assert_int_equal(check_at(tok, T0 + 10), TOKEN_BAD);
	/* "0" itself is canonical */
	sign(tok, "v1.0.0123456789abcdef");
	assert_int_equal(token_check(SECRET, tok, 10, 0, 100), TOKEN_OK);
}

static void test_tokens_differ(void **state)
{
	char a[TOKEN_MAX], b[TOKEN_MAX];
	(void)state;

	make(a, T0);
	make(b, T0);
	assert_string_not_equal(a, b);
	/* the nonces differ, not only the MACs */
	assert_int_not_equal(memcmp(a + 14, b + 14, 16), 0);
	assert_int_equal(check_at(a, T0 + 10), TOKEN_OK);
	assert_int_equal(check_at(b, T0 + 10), TOKEN_OK);
}

static void test_make_refuses(void **state)
{
	char tok[TOKEN_MAX];
	(void)state;

	assert_int_equal(token_make(secret, 0, T0, tok), -1);
	assert_string_equal(tok, "");
	assert_int_equal(token_make(NULL, 0, T0, tok), -1);
	assert_int_equal(token_make(SECRET, -1, tok), -1);
	assert_string_equal(tok, "");
	/* the largest time still fits in TOKEN_MAX */
	assert_int_equal(token_make(SECRET, INT64_MAX, tok), 0);
	assert_true(strlen(tok) < TOKEN_MAX);
	assert_int_equal(token_check(SECRET, tok, INT64_MAX, 0, 10), TOKEN_OK);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(token_check_name(TOKEN_OK), "ok");
	assert_string_equal(token_check_name(TOKEN_MISSING), "missing");
	assert_string_equal(token_check_name(TOKEN_BAD), "bad");
	assert_string_equal(token_check_name(TOKEN_TOO_FAST), "too-fast");
	assert_string_equal(token_check_name(TOKEN_EXPIRED), "expired");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_too_fast),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_future),
		cmocka_unit_test(test_tampered_issued),
		cmocka_unit_test(test_tampered_mac),
		cmocka_unit_test(test_wrong_secret),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_well_signed_but_not_canonical),
		cmocka_unit_test(test_tokens_differ),
		cmocka_unit_test(test_make_refuses),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
