/* test_idem - idempotency key format and payload fingerprints
 * (src/intake/idem.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "intake/idem.h"

static void test_key_parse(void **state)
{
	(void)state;
	char k[IDEM_KEY_MAX + 1];
	assert_true(idem_key_parse("8e03978e-40d5-43e8-bc93-6894a57f9324", k));
	assert_string_equal(k, "8e03978e-40d5-43e8-bc93-6894a57f9324");
	assert_true(idem_key_parse("\"8e03978e-40d5\"", k));     /* sf-string */
	assert_string_equal(k, "8e03978e-40d5");
	assert_true(idem_key_parse("abcd_EFG", k));
	assert_false(idem_key_parse("short", k));
	assert_false(idem_key_parse("\"short\"", k));
	assert_false(idem_key_parse("\"unterminated-key", k));
	assert_false(idem_key_parse("with space 123", k));
	assert_false(idem_key_parse("abc'OR'1'='1", k));
	assert_false(idem_key_parse("abcdefgh\r\nX-Injected: 1", k));
	assert_string_equal(k, "");
	char longk[IDEM_KEY_MAX + 2];
	memset(longk, 'k', sizeof longk - 1);
	longk[sizeof longk - 1] = '\0';
	assert_false(idem_key_parse(longk, k));
	longk[IDEM_KEY_MAX] = '\0';
	assert_true(idem_key_parse(longk, k));
}

static void fp_of(const char *const *pairs, char out[IDEM_FINGERPRINT_LEN + 1])
{
	struct lead l;
	lead_init(&l);
	for (; pairs[0]; pairs += 2)
		lead_set(&l, pairs[0], pairs[1]);
	const char *const skip[] = { "idempotency_key", "form_token", "hp_website2", NULL };
	assert_int_equal(idem_fingerprint(&l, skip, out), 0);
	lead_free(&l);
}

static void test_fingerprint(void **state)
{
	(void)state;
	char a[65], b[65];
	const char *base[] = { "email", "a@b.example", "country", "US", "form_token", "t1",
	                       "idempotency_key", "k1", NULL };
	fp_of(base, a);
	assert_int_equal(strlen(a), 64);
	/* order, the key, the time token and the honeypot do not count */
	const char *same[] = { "hp_website2", "", "idempotency_key", "k2", "country", "US",
	                       "email", "a@b.example", "form_token", "t2", NULL };
	fp_of(same, b);
	assert_string_equal(a, b);
	/* names compare as lead names do: Email is email */
	const char *upper[] = { "Email", "a@b.example", "Country", "US", NULL };
	fp_of(upper, b);
	assert_string_equal(a, b);
	/* a different value, an extra field, a missing field differ */
	const char *other[] = { "email", "a@b.example", "country", "DE", NULL };
	fp_of(other, b);
	assert_string_not_equal(a, b);
	const char *extra[] = { "email", "a@b.example", "country", "US", "company", "", NULL };
	fp_of(extra, b);
	assert_string_not_equal(a, b);
	const char *fewer[] = { "email", "a@b.example", NULL };
	fp_of(fewer, b);
	assert_string_not_equal(a, b);
	/* the boundary between name and value is part of what is hashed */
	const char *x[] = { "ab", "c", NULL }, *y[] = { "a", "bc", NULL };
	fp_of(x, a);
	fp_of(y, b);
	assert_string_not_equal(a, b);
	/* an empty submission still has a fingerprint */
	const char *none[] = { NULL };
	fp_of(none, a);
	assert_int_equal(strlen(a), 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_parse),
		cmocka_unit_test(test_fingerprint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
