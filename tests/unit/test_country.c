/* test_country - unit tests for lead/country against the installed
 * iso-codes iso_3166-1.json (package iso-codes), plus error paths on small
 * files written to a temporary directory.  Must never touch the network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lead/country.h"

static int load_db(void **state)
{
	char err[512] = "";
	struct country_db *db = country_db_load(NULL, err, sizeof(err));

	if (!db) {
		print_error("country_db_load(NULL): %s\n", err);
		return -1;
	}
	*state = db;
	return 0;
}

static int free_db(void **state)
{
	country_db_free(*state);
	*state = NULL;
	return 0;
}

static const struct country_db *db_of(void **state)
{
	return *state;
}

static void assert_finds(const struct country_db *db, const char *s, const char *alpha2)
{
	const struct country *c = country_find(db, s);

	if (!c)
		fail_msg("country_find(\"%s\") is NULL, expected %s", s, alpha2);
	assert_string_equal(c->alpha2, alpha2);
}

static void test_united_states_spellings(void **state)
{
	const struct country_db *db = db_of(state);
	const struct country *us = country_find(db, "US");

	assert_non_null(us);
	assert_string_equal(us->alpha2, "US");
	assert_string_equal(us->alpha3, "USA");
	assert_string_equal(us->name, "United States");
	assert_ptr_equal(country_find(db, "USA"), us);
	assert_ptr_equal(country_find(db, "United States"), us);
	assert_ptr_equal(country_find(db, "united states"), us);
	assert_ptr_equal(country_find(db, "us"), us);
	assert_ptr_equal(country_find(db, "  United \t  States  "), us);
	assert_ptr_equal(country_find(db, "United States of America"), us);
	assert_ptr_equal(country_find(db, "U.S.A."), us);
}

static void test_aliases(void **state)
{
	const struct country_db *db = db_of(state);

	assert_finds(db, "UK", "GB");
	assert_finds(db, "uk", "GB");
	assert_finds(db, "Great Britain", "GB");
	assert_finds(db, "United Kingdom", "GB");
	assert_finds(db, "South Korea", "KR");
	assert_finds(db, "North Korea", "KP");
	assert_finds(db, "Russia", "RU");
	assert_finds(db, "Holland", "NL");
	assert_finds(db, "Czech Republic", "CZ");
	assert_finds(db, "Ivory Coast", "CI");
	assert_finds(db, "Vatican", "VA");
	assert_finds(db, "Turkey", "TR");
}

static void test_codes_names_and_accents(void **state)
{
	const struct country_db *db = db_of(state);

	assert_finds(db, "DE", "DE");
	assert_finds(db, "deu", "DE");
	assert_finds(db, "Germany", "DE");
	assert_finds(db, "Federal Republic of Germany", "DE");
	assert_finds(db, "Bolivia", "BO");   /* common_name */
	assert_finds(db, "C\xc3\xb4te d'Ivoire", "CI");
	assert_finds(db, "Cote d'Ivoire", "CI");
	assert_finds(db, "COTE D'IVOIRE", "CI");
	assert_finds(db, "Aland Islands", "AX");
}

static void test_unknown_spellings(void **state)
{
	const struct country_db *db = db_of(state);
	const struct country *s;

	assert_null(country_find(db, "Narnia"));
	assert_null(country_find(db, ""));
	assert_null(country_find(db, "   "));
	assert_null(country_find(db, NULL));
	assert_null(country_find(db, "XX"));
	assert_null(country_find(db, "Germny"));
	/* Narnia has no real neighbour: no suggestion, or at least a real one. */
	s = country_suggest(db, "Narnia");
	if (s)
		assert_non_null(country_find(db, s->alpha2));
}

static void test_suggestions(void **state)
{
	const struct country_db *db = db_of(state);
	const struct country *s;

	s = country_suggest(db, "Germny");
	assert_non_null(s);
	assert_string_equal(s->alpha2, "DE");
	s = country_suggest(db, "Untied States");
	assert_non_null(s);
	assert_string_equal(s->alpha2, "US");
	s = country_suggest(db, "fracne");
	assert_non_null(s);
	assert_string_equal(s->alpha2, "FR");
	s = country_suggest(db, "USAA");
	assert_non_null(s);
	assert_string_equal(s->alpha2, "US");
	/* No guessing on 1-2 letters: "ZZ" is one letter from ZA, ZM, ZW, ... */
	assert_null(country_suggest(db, "ZZ"));
	assert_null(country_suggest(db, "x"));
	assert_null(country_suggest(db, "Qwertyuiop"));
	assert_null(country_suggest(db, ""));
	assert_null(country_suggest(db, NULL));
}

static void test_count_and_at(void **state)
{
	const struct country_db *db = db_of(state);
	size_t n = country_count(db);
	size_t found_us = 0;

	assert_true(n > 240);
	for (size_t i = 0; i < n; i++) {
		const struct country *c = country_at(db, i);

		assert_non_null(c);
		assert_int_equal(strlen(c->alpha2), 2);
		assert_int_equal(strlen(c->alpha3), 3);
		assert_non_null(c->name);
		/* Every country is found again by each of its codes. */
		assert_ptr_equal(country_find(db, c->alpha2), c);
		assert_ptr_equal(country_find(db, c->alpha3), c);
		found_us += strcmp(c->alpha2, "US") == 0;
	}
	assert_int_equal(found_us, 1);
	assert_null(country_at(db, n));
	assert_int_equal(country_count(NULL), 0);
}

/* Write text to a new file in a fresh temporary directory; returns its path
 * in path (PATH_MAX-ish buffer). */
static void write_temp_file(char *dir, size_t dirlen, char *path, size_t pathlen,
			    const char *text)
{
	FILE *f;

	snprintf(dir, dirlen, "%s/test_country.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, pathlen, "%s/iso_3166-1.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void remove_temp_file(const char *dir, const char *path)
{
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_load_missing_file_names_path_and_package(void **state)
{
	char err[512] = "";

	(void)state;
	assert_null(country_db_load("/nonexistent/iso_3166-1.json", err, sizeof(err)));
	assert_non_null(strstr(err, "'/nonexistent/iso_3166-1.json'"));
	assert_non_null(strstr(err, "No such file or directory"));
	assert_non_null(strstr(err, "iso-codes"));
	/* A NULL or zero-length err buffer is allowed. */
	assert_null(country_db_load("/nonexistent/iso_3166-1.json", NULL, 0));
}

static void test_load_bad_json(void **state)
{
	char dir[512], path[600], err[512] = "";

	(void)state;
	write_temp_file(dir, sizeof(dir), path, sizeof(path), "{\"3166-1\": [ {\"alpha_2\": ");
	assert_null(country_db_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "cannot parse"));
	remove_temp_file(dir, path);
}

static void test_load_wrong_shape(void **state)
{
	char dir[512], path[600], err[512] = "";

	(void)state;
	write_temp_file(dir, sizeof(dir), path, sizeof(path), "{\"639-2\": []}");
	assert_null(country_db_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "3166-1"));
	remove_temp_file(dir, path);

	write_temp_file(dir, sizeof(dir), path, sizeof(path),
			"{\"3166-1\": [{\"alpha_2\": \"AA\", \"alpha_3\": \"AAA\", "
			"\"name\": \"A\"}, {\"alpha_2\": \"b\", \"name\": \"B\"}]}");
	assert_null(country_db_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "entry 2"));
	remove_temp_file(dir, path);
}

static void test_load_small_file(void **state)
{
	char dir[512], path[600], err[512] = "";
	struct country_db *db;

	(void)state;
	write_temp_file(dir, sizeof(dir), path, sizeof(path),
			"{\"3166-1\": [{\"alpha_2\": \"GB\", \"alpha_3\": \"GBR\", "
			"\"name\": \"United Kingdom\"}, {\"alpha_2\": \"FR\", "
			"\"alpha_3\": \"FRA\", \"name\": \"France\", "
			"\"official_name\": \"French Republic\"}]}");
	db = country_db_load(path, err, sizeof(err));
	remove_temp_file(dir, path);
	assert_non_null(db);
	assert_int_equal(country_count(db), 2);
	assert_string_equal(country_find(db, "uk")->alpha2, "GB");
	assert_string_equal(country_find(db, "french republic")->alpha2, "FR");
	/* Aliases for countries the file lacks are ignored, not errors. */
	assert_null(country_find(db, "Russia"));
	country_db_free(db);
}

int main(void)
{
	const struct CMUnitTest with_db[] = {
		cmocka_unit_test(test_united_states_spellings),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_codes_names_and_accents),
		cmocka_unit_test(test_unknown_spellings),
		cmocka_unit_test(test_suggestions),
		cmocka_unit_test(test_count_and_at),
	};
	const struct CMUnitTest loading[] = {
		cmocka_unit_test(test_load_missing_file_names_path_and_package),
		cmocka_unit_test(test_load_bad_json),
		cmocka_unit_test(test_load_wrong_shape),
		cmocka_unit_test(test_load_small_file),
	};
	int failed = cmocka_run_group_tests_name("country lookups", with_db, load_db, free_db);

	failed += cmocka_run_group_tests_name("country loading", loading, NULL, NULL);
	return failed ? 1 : 0;
}
