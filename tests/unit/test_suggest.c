/* test_suggest - unit tests for util/suggest: the edit distance and the
 * "did you mean" threshold.  Must never depend on files or the locale. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/suggest.h"

static void test_distance_basics(void **state)
{
	(void)state;
	assert_int_equal(suggest_distance("", ""), 0);
	assert_int_equal(suggest_distance("abc", ""), 3);
	assert_int_equal(suggest_distance("", "abcd"), 4);
	assert_int_equal(suggest_distance("same", "same"), 0);
	assert_int_equal(suggest_distance("kitten", "sitting"), 3);
	assert_int_equal(suggest_distance("flaw", "lawn"), 2);
	assert_int_equal(suggest_distance("Germny", "Germany"), 1);
	assert_int_equal(suggest_distance("Germany", "Germny"), 1);
}

static void test_distance_is_case_insensitive(void **state)
{
	(void)state;
	assert_int_equal(suggest_distance("ABC", "abc"), 0);
	assert_int_equal(suggest_distance("America/NEW_york", "america/new_YORK"), 0);
	/* Only ASCII is folded: 'É' (UTF-8 C3 89) is not 'é' (C3 A9). */
	assert_int_equal(suggest_distance("\xc3\x89", "\xc3\xa9"), 1);
}

static void test_distance_counts_adjacent_transposition_once(void **state)
{
	(void)state;
	assert_int_equal(suggest_distance("ab", "ba"), 1);
	assert_int_equal(suggest_distance("America/New_Yrok", "America/New_York"), 1);
	assert_int_equal(suggest_distance("abcdef", "badcfe"), 3);
	/* Optimal string alignment, not full Damerau-Levenshtein: a transposed
	 * pair is not edited again, so "ca" -> "abc" costs 3, not 2. */
	assert_int_equal(suggest_distance("ca", "abc"), 3);
	/* Symmetric on a few shapes. */
	assert_int_equal(suggest_distance("abc", "ca"), 3);
	assert_int_equal(suggest_distance("teh", "the"), 1);
	assert_int_equal(suggest_distance("the", "teh"), 1);
}

static void test_distance_compares_only_first_256_bytes(void **state)
{
	char a[400], b[400];

	(void)state;
	memset(a, 'x', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(b));
	b[300] = 'y';   /* differs only beyond the cap */
	assert_int_equal(suggest_distance(a, b), 0);
	b[10] = 'y';    /* and inside it */
	assert_int_equal(suggest_distance(a, b), 1);
	assert_int_equal(suggest_distance(a, ""), 256);
}

static void test_is_close_threshold(void **state)
{
	(void)state;
	/* max(1, len/3) */
	assert_true(suggest_is_close("Germny", "Germany", 1));
	assert_true(suggest_is_close("Germny", "Germany", 2));
	assert_false(suggest_is_close("Germny", "Germany", 3));
	assert_true(suggest_is_close("abcdefghijkl", "x", 4));
	assert_false(suggest_is_close("abcdefghijkl", "x", 5));
	/* 3..5 bytes: 2 edits only when the first letter agrees. */
	assert_true(suggest_is_close("tset", "test", 2));
	assert_true(suggest_is_close("tset", "Test", 2));
	assert_false(suggest_is_close("tset", "best", 2));
	assert_true(suggest_is_close("tset", "best", 1));
	/* Never the whole word. */
	assert_false(suggest_is_close("a", "b", 1));
	assert_true(suggest_is_close("ab", "ac", 1));
	assert_false(suggest_is_close("ab", "cd", 2));
	assert_false(suggest_is_close("", "x", 0));
}

static void test_best_picks_closest(void **state)
{
	static const char *const zones[] = {
		"Europe/Berlin", "America/New_York", "America/Newark", "Asia/Tokyo",
	};
	static const char *const countries[] = { "France", "Germany", "Greece" };

	(void)state;
	assert_string_equal(suggest_best("America/New_Yrok", zones, 4), "America/New_York");
	assert_string_equal(suggest_best("asia/tokio", zones, 4), "Asia/Tokyo");
	assert_string_equal(suggest_best("Germny", countries, 3), "Germany");
	assert_ptr_equal(suggest_best("Germny", countries, 3), countries[1]);
	assert_string_equal(suggest_best("GERMANY", countries, 3), "Germany");
}

static void test_best_returns_null_when_nothing_is_close(void **state)
{
	static const char *const countries[] = { "France", "Germany", "Greece" };

	(void)state;
	assert_null(suggest_best("Narnia", countries, 3));
	assert_null(suggest_best("", countries, 3));
	assert_null(suggest_best(NULL, countries, 3));
	assert_null(suggest_best("France", countries, 0));
	assert_null(suggest_best("zz", countries, 3));
}

static void test_best_breaks_ties_by_order_and_skips_null(void **state)
{
	static const char *const cands[] = { NULL, "abcx", "abcy", "abc" };

	(void)state;
	/* "abcz" is 1 from both "abcx" and "abcy": the earlier wins. */
	assert_ptr_equal(suggest_best("abcz", cands, 3), cands[1]);
	/* ... unless a later one is strictly closer. */
	assert_ptr_equal(suggest_best("abc", cands, 4), cands[3]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distance_basics),
		cmocka_unit_test(test_distance_is_case_insensitive),
		cmocka_unit_test(test_distance_counts_adjacent_transposition_once),
		cmocka_unit_test(test_distance_compares_only_first_256_bytes),
		cmocka_unit_test(test_is_close_threshold),
		cmocka_unit_test(test_best_picks_closest),
		cmocka_unit_test(test_best_returns_null_when_nothing_is_close),
		cmocka_unit_test(test_best_breaks_ties_by_order_and_skips_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
