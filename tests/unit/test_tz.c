/* test_tz - unit tests for lead/tz against the installed tzdata and against
 * a small fake zoneinfo directory built in a temporary directory.  Must never
 * modify anything outside its own temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lead/tz.h"
#include "util/xalloc.h"

#ifndef ZONEINFO_DIR
#define ZONEINFO_DIR "/usr/share/zoneinfo"
#endif

static void test_valid_names(void **state)
{
	(void)state;
	assert_true(tz_valid(NULL, "America/New_York"));
	assert_true(tz_valid(NULL, "Europe/Berlin"));
	assert_true(tz_valid(NULL, "UTC"));
	assert_true(tz_valid(NULL, "Etc/UTC"));
	assert_true(tz_valid(NULL, "Etc/GMT+5"));
	assert_true(tz_valid(NULL, "America/Argentina/Buenos_Aires"));
	assert_true(tz_valid(ZONEINFO_DIR, "Asia/Tokyo"));
}

static void test_invalid_names(void **state)
{
	(void)state;
	assert_false(tz_valid(NULL, "America/New_Yrok"));
	assert_false(tz_valid(NULL, "america/new_york"));  /* names are case-sensitive */
	assert_false(tz_valid(NULL, "../etc/passwd"));
	assert_false(tz_valid(NULL, "America/../../../etc/passwd"));
	assert_false(tz_valid(NULL, "/etc/localtime"));
	assert_false(tz_valid(NULL, "/usr/share/zoneinfo/UTC"));
	assert_false(tz_valid(NULL, "localtime"));
	assert_false(tz_valid(NULL, ""));
	assert_false(tz_valid(NULL, NULL));
	assert_false(tz_valid(NULL, "America//New_York"));
	assert_false(tz_valid(NULL, "America/./New_York"));
	assert_false(tz_valid(NULL, "America/New_York/"));
	assert_false(tz_valid(NULL, "America/New York"));
	assert_false(tz_valid(NULL, "America"));           /* a directory */
	assert_false(tz_valid(NULL, "zone1970.tab"));      /* not a TZif file */
	assert_false(tz_valid(NULL, "tzdata.zi"));
	assert_false(tz_valid("/nonexistent/zoneinfo", "UTC"));
}

static void test_suggestions(void **state)
{
	char *s;

	(void)state;
	s = tz_suggest(NULL, "America/New_Yrok");
	assert_non_null(s);
	assert_string_equal(s, "America/New_York");
	free(s);

	s = tz_suggest(NULL, "america/new_york");
	assert_non_null(s);
	assert_string_equal(s, "America/New_York");
	free(s);

	s = tz_suggest(NULL, "Europe/Berln");
	assert_non_null(s);
	assert_string_equal(s, "Europe/Berlin");
	free(s);

	/* A bare city, with a space for the underscore. */
	s = tz_suggest(NULL, "New York");
	assert_non_null(s);
	assert_string_equal(s, "America/New_York");
	free(s);

	s = tz_suggest(NULL, "Lodnon");
	assert_non_null(s);
	assert_string_equal(s, "Europe/London");
	free(s);

	assert_null(tz_suggest(NULL, "Narnia/Cair_Paravel"));
	assert_null(tz_suggest(NULL, ""));
	assert_null(tz_suggest(NULL, "   "));
	assert_null(tz_suggest(NULL, NULL));
	assert_null(tz_suggest("/nonexistent/zoneinfo", "America/New_Yrok"));
}

/* A fake zoneinfo: Good/Zone (TZif), Bad/Zone (not TZif), Link -> Good/Zone,
 * Escape -> an outside TZif file, and a zone list of the given kind. */
struct fake_zoneinfo {
	char root[256];     /* temporary directory holding both */
	char dir[300];      /* the zoneinfo directory */
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void path_join(char *out, size_t outlen, const char *a, const char *b)
{
	int n = snprintf(out, outlen, "%s/%s", a, b);

	assert_true(n > 0 && (size_t)n < outlen);
}

static int make_fake_zoneinfo(void **state)
{
	struct fake_zoneinfo *fz = xcalloc(1, sizeof(*fz));
	char p[400];

	snprintf(fz->root, sizeof(fz->root), "%s/test_tz.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(fz->root))
		return -1;
	path_join(fz->dir, sizeof(fz->dir), fz->root, "zoneinfo");
	assert_int_equal(mkdir(fz->dir, 0700), 0);
	path_join(p, sizeof(p), fz->root, "outside");
	write_file(p, "TZif2 outside the directory");
	path_join(p, sizeof(p), fz->dir, "Good");
	assert_int_equal(mkdir(p, 0700), 0);
	path_join(p, sizeof(p), fz->dir, "Good/Zone");
	write_file(p, "TZif2 fake zone");
	path_join(p, sizeof(p), fz->dir, "Bad");
	assert_int_equal(mkdir(p, 0700), 0);
	path_join(p, sizeof(p), fz->dir, "Bad/Zone");
	write_file(p, "not a zone");
	path_join(p, sizeof(p), fz->dir, "Link");
	assert_int_equal(symlink("Good/Zone", p), 0);
	path_join(p, sizeof(p), fz->dir, "Escape");
	assert_int_equal(symlink("../outside", p), 0);
	path_join(p, sizeof(p), fz->dir, "Empty");
	write_file(p, "TZi");
	*state = fz;
	return 0;
}

static int remove_fake_zoneinfo(void **state)
{
	struct fake_zoneinfo *fz = *state;
	static const char *const files[] = {
		"zoneinfo/Good/Zone", "zoneinfo/Bad/Zone", "zoneinfo/Link", "zoneinfo/Escape",
		"zoneinfo/Empty", "zoneinfo/tzdata.zi", "zoneinfo/zone1970.tab", "outside",
	};
	static const char *const dirs[] = { "zoneinfo/Good", "zoneinfo/Bad", "zoneinfo", "" };
	char p[400];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		path_join(p, sizeof(p), fz->root, files[i]);
		unlink(p);
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		path_join(p, sizeof(p), fz->root, dirs[i]);
		if (rmdir(p) != 0)
			return -1;
	}
	free(fz);
	return 0;
}

static void test_fake_dir_validity(void **state)
{
	struct fake_zoneinfo *fz = *state;

	assert_true(tz_valid(fz->dir, "Good/Zone"));
	assert_true(tz_valid(fz->dir, "Link"));          /* symlink inside */
	assert_false(tz_valid(fz->dir, "Escape"));       /* symlink leading out */
	assert_false(tz_valid(fz->dir, "Bad/Zone"));     /* no TZif magic */
	assert_false(tz_valid(fz->dir, "Empty"));        /* too short */
	assert_false(tz_valid(fz->dir, "Good"));         /* directory */
	assert_false(tz_valid(fz->dir, "Good/../Good/Zone"));
	assert_false(tz_valid(fz->dir, "../outside"));
	assert_false(tz_valid(fz->dir, "Missing"));
}

static void test_fake_dir_suggest_from_tzdata_zi(void **state)
{
	struct fake_zoneinfo *fz = *state;
	char p[400], *s;

	path_join(p, sizeof(p), fz->dir, "tzdata.zi");
	write_file(p, "# version fake\n"
		      "R X 1 2 - Mar lastSu 2 1 D\n"
		      "Z Bad/Zone 1 - X\n"        /* listed but not valid: never offered */
		      "Z Good/Zone 1 X C%sT\n"
		      "L Good/Zone Link\n");
	s = tz_suggest(fz->dir, "Good/Zoen");
	assert_non_null(s);
	assert_string_equal(s, "Good/Zone");
	free(s);
	s = tz_suggest(fz->dir, "Lnik");
	assert_non_null(s);
	assert_string_equal(s, "Link");
	free(s);
	assert_null(tz_suggest(fz->dir, "Bad/Zoen"));
	assert_int_equal(unlink(p), 0);
}

static void test_fake_dir_suggest_from_zone1970_tab(void **state)
{
	struct fake_zoneinfo *fz = *state;
	char p[400], *s;

	path_join(p, sizeof(p), fz->dir, "zone1970.tab");
	write_file(p, "# comment\n"
		      "XX\t+0000+00000\tGood/Zone\tthe only one\n");
	s = tz_suggest(fz->dir, "good/zone");
	assert_non_null(s);
	assert_string_equal(s, "Good/Zone");
	free(s);
	assert_null(tz_suggest(fz->dir, "Link"));  /* links are only in tzdata.zi */
	assert_int_equal(unlink(p), 0);
	/* Neither list: no suggestion, no crash. */
	assert_null(tz_suggest(fz->dir, "good/zone"));
}

int main(void)
{
	const struct CMUnitTest system_tests[] = {
		cmocka_unit_test(test_valid_names),
		cmocka_unit_test(test_invalid_names),
		cmocka_unit_test(test_suggestions),
	};
	const struct CMUnitTest fake_tests[] = {
		cmocka_unit_test(test_fake_dir_validity),
		cmocka_unit_test(test_fake_dir_suggest_from_tzdata_zi),
		cmocka_unit_test(test_fake_dir_suggest_from_zone1970_tab),
	};
	int failed = cmocka_run_group_tests_name("system zoneinfo", system_tests, NULL, NULL);

	failed += cmocka_run_group_tests_name("fake zoneinfo", fake_tests, make_fake_zoneinfo,
					      remove_fake_zoneinfo);
	return failed ? 1 : 0;
}
