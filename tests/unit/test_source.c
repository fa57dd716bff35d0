/* test_source - unit tests for src/rules/source.c: reading files and stdin,
 * the size limit, error texts and the line map (LF, CRLF, no final newline,
 * empty input, NUL bytes).
 * Must never leave files behind in the temporary directory or touch files
 * outside it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules/source.h"
#include "util/buf.h"
#include "util/xalloc.h"

/* A fresh temporary directory per test, removed with what is in it. */
struct tmpdir {
	char path[64];
};

static int setup_dir(void **state)
{
	struct tmpdir *t = xcalloc(1, sizeof *t);
	const char *base = getenv("TMPDIR");

	snprintf(t->path, sizeof t->path, "%s/test_source.XXXXXX",
	         base && strlen(base) < 32 ? base : "/tmp");
	if (!mkdtemp(t->path)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int teardown_dir(void **state)
{
	struct tmpdir *t = *state;
	struct buf p = {0};
	int rc = 0;
	DIR *dir = opendir(t->path);

	if (!dir)
		rc = -1;
	for (struct dirent *e; dir && (e = readdir(dir)); ) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		buf_reset(&p);
		buf_printf(&p, "%s/%s", t->path, e->d_name);
		if (unlink(buf_str(&p)) != 0)
			rc = -1;
	}
	if (dir)
		closedir(dir);
	if (rmdir(t->path) != 0)
		rc = -1;
	buf_free(&p);
	free(t);
	return rc;
}

/* path/name into b; returns the path. */
static const char *in_dir(struct buf *b, void **state, const char *name)
{
	struct tmpdir *t = *state;

	buf_reset(b);
	buf_printf(b, "%s/%s", t->path, name);
	return buf_str(b);
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Line n of s must be exactly want. */
static void check_line(const struct source *s, int n, const char *want,
                       size_t want_len)
{
	size_t len = 12345;
	const char *p = source_line(s, n, &len);
	assert_non_null(p);
	assert_int_equal(len, want_len);
	assert_memory_equal(p, want, want_len);
}

#define CHECK_LINE(s, n, lit) check_line((s), (n), (lit), sizeof(lit) - 1)

static void check_no_line(const struct source *s, int n)
{
	size_t len = 12345;
	assert_null(source_line(s, n, &len));
	assert_int_equal(len, 0);
}

static void test_line_map(void **state)
{
	(void)state;
	static const char text[] = "a\nbc\n\nd e\n";
	struct source *s = source_from_mem("m.routes", text, sizeof text - 1);

	assert_string_equal(s->name, "m.routes");
	assert_int_equal(s->len, sizeof text - 1);
	assert_memory_equal(s->text, text, sizeof text);
	assert_int_equal(s->n_lines, 4);
	assert_int_equal(s->line_start[0], 0);
	assert_int_equal(s->line_start[1], 2);
	assert_int_equal(s->line_start[2], 5);
	assert_int_equal(s->line_start[3], 6);
	CHECK_LINE(s, 1, "a");
	CHECK_LINE(s, 2, "bc");
	CHECK_LINE(s, 3, "");
	CHECK_LINE(s, 4, "d e");
	check_no_line(s, 0);
	check_no_line(s, -1);
	check_no_line(s, 5);
	/* len may be NULL. */
	assert_ptr_equal(source_line(s, 2, NULL), s->text + 2);
	source_free(s);
}

static void test_crlf(void **state)
{
	(void)state;
	static const char text[] = "x\r\ny z\r\n\r\nlone\rcr\nend\r";
	struct source *s = source_from_mem("crlf.routes", text, sizeof text - 1);

	/* The bytes are kept as they are. */
	assert_int_equal(s->len, sizeof text - 1);
	assert_memory_equal(s->text, text, sizeof text - 1);
	assert_int_equal(s->n_lines, 5);
	CHECK_LINE(s, 1, "x");
	CHECK_LINE(s, 2, "y z");
	CHECK_LINE(s, 3, "");
	/* A '\r' not before '\n' is part of the line. */
	CHECK_LINE(s, 4, "lone\rcr");
	CHECK_LINE(s, 5, "end\r");
	source_free(s);

	s = source_from_mem("one.routes", "\r\n", 2);
	assert_int_equal(s->n_lines, 1);
	CHECK_LINE(s, 1, "");
	source_free(s);
}

static void test_last_line_without_newline(void **state)
{
	(void)state;
	struct source *s = source_from_mem("t.routes", "first\nlast", 10);

	assert_int_equal(s->n_lines, 2);
	CHECK_LINE(s, 1, "first");
	CHECK_LINE(s, 2, "last");
	check_no_line(s, 3);
	source_free(s);

	s = source_from_mem("t.routes", "x", 1);
	assert_int_equal(s->n_lines, 1);
	CHECK_LINE(s, 1, "x");
	source_free(s);
}

static void test_nul_bytes(void **state)
{
	(void)state;
	static const char text[] = "a\0b\nc\0";
	struct source *s = source_from_mem("nul.routes", text, sizeof text - 1);

	assert_int_equal(s->len, 6);
	assert_int_equal(s->text[6], '\0');
	assert_int_equal(s->n_lines, 2);
	check_line(s, 1, "a\0b", 3);
	check_line(s, 2, "c\0", 2);
	source_free(s);
}

static void test_empty(void **state)
{
	struct buf p = {0};
	char err[256] = "untouched";

	struct source *s = source_from_mem("e.routes", NULL, 0);
	assert_int_equal(s->len, 0);
	assert_string_equal(s->text, "");
	assert_int_equal(s->n_lines, 0);
	check_no_line(s, 1);
	source_free(s);

	in_dir(&p, state, "empty.routes");
	write_file(buf_str(&p), "", 0);
	s = source_read(buf_str(&p), err, sizeof err);
	assert_non_null(s);
	assert_string_equal(s->name, buf_str(&p));
	assert_int_equal(s->len, 0);
	assert_non_null(s->text);
	assert_string_equal(s->text, "");
	assert_int_equal(s->n_lines, 0);
	check_no_line(s, 1);
	source_free(s);
	buf_free(&p);
}

static void test_read_file(void **state)
{
	struct buf p = {0};
	char err[256] = "";
	static const char text[] = "when a = 1 -> q\r\notherwise -> r";

	in_dir(&p, state, "r.routes");
	write_file(buf_str(&p), text, sizeof text - 1);
	struct source *s = source_read(buf_str(&p), err, sizeof err);
	assert_non_null(s);
	assert_string_equal(err, "");
	assert_string_equal(s->name, buf_str(&p));
	assert_int_equal(s->len, sizeof text - 1);
	assert_memory_equal(s->text, text, sizeof text);
	assert_int_equal(s->n_lines, 2);
	CHECK_LINE(s, 1, "when a = 1 -> q");
	CHECK_LINE(s, 2, "otherwise -> r");
	source_free(s);
	buf_free(&p);
}

static void test_missing_file(void **state)
{
	struct buf p = {0}, want = {0};
	char err[512] = "";

	in_dir(&p, state, "x.routes");
	assert_null(source_read(buf_str(&p), err, sizeof err));
	buf_printf(&want, "cannot read '%s': No such file or directory",
	           buf_str(&p));
	assert_string_equal(err, buf_str(&want));

	/* A short buffer gets a terminated prefix; NULL/0 is allowed. */
	char small[8];
	memset(small, 'z', sizeof small);
	assert_null(source_read(buf_str(&p), small, sizeof small));
	assert_string_equal(small, "cannot ");
	assert_null(source_read(buf_str(&p), NULL, 0));

	buf_free(&p);
	buf_free(&want);
}

static void test_directory(void **state)
{
	struct tmpdir *t = *state;
	struct buf want = {0};
	char err[512] = "";

	assert_null(source_read(t->path, err, sizeof err));
	buf_printf(&want, "cannot read '%s': Is a directory", t->path);
	assert_string_equal(err, buf_str(&want));
	buf_free(&want);
}

/* A sparse file: exactly at the limit it is read, one byte over it is not. */
static void test_size_limit(void **state)
{
	struct buf p = {0}, want = {0};
	char err[512] = "";

	in_dir(&p, state, "big.routes");
	int fd = open(buf_str(&p), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)SOURCE_MAX_BYTES + 1), 0);
	assert_null(source_read(buf_str(&p), err, sizeof err));
	buf_printf(&want, "cannot read '%s': larger than the limit of "
	           "16777216 bytes (16 MiB)", buf_str(&p));
	assert_string_equal(err, buf_str(&want));

	assert_int_equal(ftruncate(fd, (off_t)SOURCE_MAX_BYTES), 0);
	assert_int_equal(pwrite(fd, "\n", 1, 0), 1);
	assert_int_equal(close(fd), 0);
	struct source *s = source_read(buf_str(&p), err, sizeof err);
	assert_non_null(s);
	assert_int_equal(s->len, SOURCE_MAX_BYTES);
	assert_int_equal(s->n_lines, 2);
	CHECK_LINE(s, 1, "");
	size_t len;
	assert_non_null(source_line(s, 2, &len));
	assert_int_equal(len, SOURCE_MAX_BYTES - 1);
	source_free(s);

	buf_free(&p);
	buf_free(&want);
}

/* Writes n bytes (text repeated) into a pipe, then closes it; stops early
 * when the reader goes away (SIGPIPE is ignored meanwhile). */
struct feeder {
	pthread_t thread;
	int fd;
	const char *text;
	size_t n;
	int saved_stdin;
	void (*old_sigpipe)(int);
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	size_t tl = strlen(f->text), done = 0;

	while (done < f->n) {
		size_t k = f->n - done < tl ? f->n - done : tl;
		ssize_t w = write(f->fd, f->text, k);
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	close(f->fd);
	return NULL;
}

/* Make a pipe the standard input, with a thread feeding it. */
static void stdin_from_feeder(struct feeder *f, const char *text, size_t n)
{
	int fds[2];

	f->old_sigpipe = signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(fds), 0);
	f->fd = fds[1];
	f->text = text;
	f->n = n;
	f->saved_stdin = dup(STDIN_FILENO);
	assert_true(f->saved_stdin >= 0);
	assert_int_equal(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
	close(fds[0]);
	assert_int_equal(pthread_create(&f->thread, NULL, feed, f), 0);
}

/* Put the old stdin back (closing the pipe's last read end) and wait for
 * the feeder. */
static void restore_stdin(struct feeder *f)
{
	assert_int_equal(dup2(f->saved_stdin, STDIN_FILENO), STDIN_FILENO);
	close(f->saved_stdin);
	assert_int_equal(pthread_join(f->thread, NULL), 0);
	signal(SIGPIPE, f->old_sigpipe);
}

static void test_stdin(void **state)
{
	(void)state;
	char err[256] = "";
	struct feeder f;

	stdin_from_feeder(&f, "a\r\nb", 4);
	struct source *s = source_read("-", err, sizeof err);
	restore_stdin(&f);
	assert_non_null(s);
	assert_string_equal(s->name, "-");
	assert_int_equal(s->len, 4);
	assert_int_equal(s->n_lines, 2);
	CHECK_LINE(s, 1, "a");
	CHECK_LINE(s, 2, "b");
	source_free(s);
}

/* A pipe has no size to check first: the limit holds while reading. */
static void test_stdin_size_limit(void **state)
{
	(void)state;
	char err[256] = "";
	struct feeder f;

	stdin_from_feeder(&f, "0123456789abcde\n",
	                  (size_t)SOURCE_MAX_BYTES + 4096);
	struct source *s = source_read("-", err, sizeof err);
	restore_stdin(&f);
	assert_null(s);
	assert_string_equal(err, "cannot read standard input: larger than "
	                    "the limit of 16777216 bytes (16 MiB)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_map),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_last_line_without_newline),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test_setup_teardown(test_empty, setup_dir,
		                                teardown_dir),
		cmocka_unit_test_setup_teardown(test_read_file, setup_dir,
		                                teardown_dir),
		cmocka_unit_test_setup_teardown(test_missing_file, setup_dir,
		                                teardown_dir),
		cmocka_unit_test_setup_teardown(test_directory, setup_dir,
		                                teardown_dir),
		cmocka_unit_test_setup_teardown(test_size_limit, setup_dir,
		                                teardown_dir),
		cmocka_unit_test(test_stdin),
		cmocka_unit_test(test_stdin_size_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
