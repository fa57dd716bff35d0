/* test_freemail - unit tests for lead/freemail against the shipped
 * data/freemail.txt and small lists written to a temporary directory.
 * Must never modify the source tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lead/freemail.h"
#include "util/xalloc.h"

/* The shipped list: $LEADROUTE_FREEMAIL under `make check`, else the source
 * tree's copy. */
static int load_shipped_list(void **state)
{
	char err[512] = "";
	struct freemail *fm = freemail_load(NULL, err, sizeof(err));

	if (!fm) {
		print_error("freemail_load(NULL): %s\n", err);
		return -1;
	}
	*state = fm;
	return 0;
}

static int free_list(void **state)
{
	freemail_free(*state);
	*state = NULL;
	return 0;
}

static void test_big_providers_are_personal(void **state)
{
	const struct freemail *fm = *state;

	assert_true(freemail_is_personal(fm, "gmail.com"));
	assert_true(freemail_is_personal(fm, "GMAIL.COM"));
	assert_true(freemail_is_personal(fm, "Gmail.Com"));
	assert_true(freemail_is_personal(fm, "gmail.com."));  /* fully qualified */
	assert_true(freemail_is_personal(fm, "yahoo.com"));
	assert_true(freemail_is_personal(fm, "hotmail.com"));
	assert_true(freemail_is_personal(fm, "outlook.com"));
	assert_true(freemail_is_personal(fm, "web.de"));
}

static void test_companies_are_not_personal(void **state)
{
	const struct freemail *fm = *state;

	assert_false(freemail_is_personal(fm, "acme.example"));
	assert_false(freemail_is_personal(fm, "example.com"));
	/* Exact match only: no subdomains, no suffixes, no prefixes. */
	assert_false(freemail_is_personal(fm, "mail.gmail.com"));
	assert_false(freemail_is_personal(fm, "gmail.co"));
	assert_false(freemail_is_personal(fm, "gmail.com.evil.example"));
	assert_false(freemail_is_personal(fm, "gmail"));
	assert_false(freemail_is_personal(fm, ""));
	assert_false(freemail_is_personal(fm, "."));
	assert_false(freemail_is_personal(fm, NULL));
	assert_false(freemail_is_personal(NULL, "gmail.com"));
}

static void test_overlong_domain_is_not_personal(void **state)
{
	const struct freemail *fm = *state;
	char big[600];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(freemail_is_personal(fm, big));
}

static void test_shipped_list_size(void **state)
{
	const struct freemail *fm = *state;

	assert_true(freemail_count(fm) > 1000);
	assert_int_equal(freemail_count(NULL), 0);
}

/* A temporary list file; path is filled in, dir must be removed after. */
struct temp_list {
	char dir[256];
	char path[300];
};

static void write_temp_list(struct temp_list *t, const char *text)
{
	FILE *f;

	snprintf(t->dir, sizeof(t->dir), "%s/test_freemail.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/freemail.txt", t->dir);
	f = fopen(t->path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void remove_temp_list(const struct temp_list *t)
{
	assert_int_equal(unlink(t->path), 0);
	assert_int_equal(rmdir(t->dir), 0);
}

static void test_load_error_names_missing_path(void **state)
{
	char err[512] = "";

	(void)state;
	assert_null(freemail_load("/nonexistent/dir/freemail.txt", err, sizeof(err)));
	assert_non_null(strstr(err, "'/nonexistent/dir/freemail.txt'"));
	assert_non_null(strstr(err, "No such file or directory"));
	assert_null(freemail_load("/nonexistent/dir/freemail.txt", NULL, 0));
}

static void test_load_error_via_environment(void **state)
{
	char err[512] = "";
	const char *old = getenv("LEADROUTE_FREEMAIL");
	char *saved = old ? xstrdup(old) : NULL;

	(void)state;
	assert_int_equal(setenv("LEADROUTE_FREEMAIL", "/nonexistent/env/list.txt", 1), 0);
	assert_null(freemail_load(NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "'/nonexistent/env/list.txt'"));
	assert_non_null(strstr(err, "LEADROUTE_FREEMAIL"));
	if (saved)
		assert_int_equal(setenv("LEADROUTE_FREEMAIL", saved, 1), 0);
	else
		assert_int_equal(unsetenv("LEADROUTE_FREEMAIL"), 0);
	free(saved);
}

static void test_load_parses_comments_case_and_duplicates(void **state)
{
	struct temp_list t;
	char err[512] = "";
	struct freemail *fm;

	(void)state;
	write_temp_list(&t, "# a header\n"
			    "\n"
			    "  Mail.Example  \n"
			    "zeta.example # trailing comment\n"
			    "mail.example\n"
			    "\talpha.example.\r\n"
			    "last.example");          /* no final newline */
	fm = freemail_load(t.path, err, sizeof(err));
	remove_temp_list(&t);
	assert_non_null(fm);
	assert_int_equal(freemail_count(fm), 4);
	assert_true(freemail_is_personal(fm, "mail.example"));
	assert_true(freemail_is_personal(fm, "MAIL.example"));
	assert_true(freemail_is_personal(fm, "zeta.example"));
	assert_true(freemail_is_personal(fm, "alpha.example"));
	assert_true(freemail_is_personal(fm, "last.example"));
	assert_false(freemail_is_personal(fm, "a.header"));
	assert_false(freemail_is_personal(fm, "beta.example"));
	freemail_free(fm);
}

static void test_load_empty_list(void **state)
{
	struct temp_list t;
	char err[512] = "";
	struct freemail *fm;

	(void)state;
	write_temp_list(&t, "# nothing here\n");
	fm = freemail_load(t.path, err, sizeof(err));
	remove_temp_list(&t);
	assert_non_null(fm);
	assert_int_equal(freemail_count(fm), 0);
	assert_false(freemail_is_personal(fm, "gmail.com"));
	freemail_free(fm);
}

static void test_load_rejects_malformed_line(void **state)
{
	struct temp_list t;
	char err[512] = "";

	(void)state;
	write_temp_list(&t, "gmail.com\nuser@example.com\n");
	assert_null(freemail_load(t.path, err, sizeof(err)));
	assert_non_null(strstr(err, t.path));
	assert_non_null(strstr(err, "line 2"));
	assert_non_null(strstr(err, "user@example.com"));
	remove_temp_list(&t);

	write_temp_list(&t, "two words.example\n");
	assert_null(freemail_load(t.path, err, sizeof(err)));
	assert_non_null(strstr(err, "line 1"));
	remove_temp_list(&t);

	write_temp_list(&t, "a..b\n");
	assert_null(freemail_load(t.path, err, sizeof(err)));
	assert_non_null(strstr(err, "line 1"));
	remove_temp_list(&t);
}

static void test_load_rejects_overlong_line(void **state)
{
	struct temp_list t;
	char err[512] = "";
	char text[2100];

	(void)state;
	memset(text, 'a', sizeof(text) - 2);
	text[sizeof(text) - 2] = '\n';
	text[sizeof(text) - 1] = '\0';
	write_temp_list(&t, text);
	assert_null(freemail_load(t.path, err, sizeof(err)));
	assert_non_null(strstr(err, "line 1"));
	remove_temp_list(&t);
}

int main(void)
{
	const struct CMUnitTest shipped[] = {
		cmocka_unit_test(test_big_providers_are_personal),
		cmocka_unit_test(test_companies_are_not_personal),
		cmocka_unit_test(test_overlong_domain_is_not_personal),
		cmocka_unit_test(test_shipped_list_size),
	};
	const struct CMUnitTest loading[] = {
		cmocka_unit_test(test_load_error_names_missing_path),
		cmocka_unit_test(test_load_error_via_environment),
		cmocka_unit_test(test_load_parses_comments_case_and_duplicates),
		cmocka_unit_test(test_load_empty_list),
		cmocka_unit_test(test_load_rejects_malformed_line),
		cmocka_unit_test(test_load_rejects_overlong_line),
	};
	int failed = cmocka_run_group_tests_name("shipped list", shipped, load_shipped_list,
						 free_list);

	failed += cmocka_run_group_tests_name("loading", loading, NULL, NULL);
	return failed ? 1 : 0;
}
