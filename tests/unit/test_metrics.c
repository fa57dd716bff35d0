/* test_metrics - the shared counters file (src/metrics/metrics.h).
 *
 * Bucket arithmetic (le is inclusive; past the last bound is +Inf only),
 * label mapping (unknown status and CRM), exact sums of the atomic adds of
 * several forked processes, a file from another boot reset and one of
 * another layout replaced (without the old mapping's writes reaching the
 * new file), and the exact text of a known state.
 */
#include "config.h"   /* PACKAGE_VERSION */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics/metrics.h"
#include "util/buf.h"

#define BOOT_A "11111111-1111-1111-1111-111111111111"
#define BOOT_B "22222222-2222-2222-2222-222222222222"
#define MS 1000000ull
#define S 1000000000ull

static char dir[64];
static char db[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/lr-metrics.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/leads.db", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static struct metrics *open_boot(const char *boot)
{
	char err[512] = "";
	struct metrics *m = metrics_open_boot(db, boot, err, sizeof err);
	if (!m)
		fail_msg("metrics_open_boot: %s", err);
	return m;
}

/* The rendered text (caller frees). */
static char *render(const struct metrics *m)
{
	struct buf b = {0};
	metrics_render(m, &b);
	return buf_take(&b);
}

/* The value of the sample line "SERIES VALUE" in text; fails when absent. */
static const char *sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return p + n + 1;
	fail_msg("no sample %s in:\n%s", series, text);
	return NULL;
}

static unsigned long long count_of(const char *text, const char *series)
{
	return strtoull(sample(text, series), NULL, 10);
}

#define LEAD2 "leadroute_request_duration_seconds_bucket{endpoint=\"lead\",status_class=\"2xx\","

static void test_bucket_arithmetic(void **state)
{
	(void)state;
	struct metrics *m = open_boot(BOOT_A);
	/* on a bound: in that bucket; one ns past it: the next */
	metrics_request(m, METRICS_EP_LEAD, 200, 0);
	metrics_request(m, METRICS_EP_LEAD, 200, 1 * MS);
	metrics_request(m, METRICS_EP_LEAD, 200, 1 * MS + 1);
	metrics_request(m, METRICS_EP_LEAD, 200, 2500000);
	metrics_request(m, METRICS_EP_LEAD, 200, 10 * S);
	metrics_request(m, METRICS_EP_LEAD, 200, 10 * S + 1);
	char *t = render(m);
	assert_int_equal(count_of(t, LEAD2 "le=\"0.001\"}"), 2);
	assert_int_equal(count_of(t, LEAD2 "le=\"0.0025\"}"), 4);
	assert_int_equal(count_of(t, LEAD2 "le=\"0.005\"}"), 4);
	assert_int_equal(count_of(t, LEAD2 "le=\"5\"}"), 4);
	assert_int_equal(count_of(t, LEAD2 "le=\"10\"}"), 5);
	assert_int_equal(count_of(t, LEAD2 "le=\"+Inf\"}"), 6);
	assert_int_equal(count_of(t, "leadroute_request_duration_seconds_count{endpoint=\"lead\","
	                             "status_class=\"2xx\"}"), 6);
	/* 0 + 1 ms + (1 ms + 1 ns) + 2.5 ms + 10 s + (10 s + 1 ns) */
	assert_memory_equal(sample(t, "leadroute_request_duration_seconds_sum{endpoint=\"lead\","
	                           "status_class=\"2xx\"}"), "20.004500002\n", 13);
	assert_int_equal(count_of(t, "leadroute_requests_total{endpoint=\"lead\",code=\"200\"}"), 6);
	free(t);
	metrics_close(m);
}

static void test_labels_from_tables_only(void **state)
{
	(void)state;
	struct metrics *m = open_boot(BOOT_A);
	metrics_request(m, METRICS_EP_FORM, 42, 5);         /* not HTTP: counted as 500 */
	metrics_request(m, (enum metrics_endpoint)99, 204, 5);
	metrics_crm_call(m, "pat-na1-secret-token", METRICS_CRM_RETRY, 20 * MS);
	metrics_crm_call(m, "hubspot", METRICS_CRM_DONE, 20 * MS);
	metrics_crm_call(NULL, "hubspot", METRICS_CRM_DONE, 20 * MS);   /* no metrics: nothing */
	metrics_request(NULL, METRICS_EP_LEAD, 200, 1);
	char *t = render(m);
	assert_int_equal(count_of(t, "leadroute_requests_total{endpoint=\"form\",code=\"500\"}"), 1);
	assert_int_equal(count_of(t, "leadroute_requests_total{endpoint=\"other\",code=\"204\"}"), 1);
	assert_int_equal(count_of(t, "leadroute_crm_call_duration_seconds_count{crm=\"other\","
	                             "result=\"retry\"}"), 1);
	assert_int_equal(count_of(t, "leadroute_crm_call_duration_seconds_count{crm=\"hubspot\","
	                             "result=\"done\"}"), 1);
	assert_null(strstr(t, "secret"));
	assert_null(strstr(t, "endpoint=\"lead\""));
	free(t);
	metrics_close(m);
}

#define PROCS 4
#define ADDS 20000

static void child_adds(int k)
{
	char err[512];
	struct metrics *m = metrics_open_boot(db, BOOT_A, err, sizeof err);
	if (!m) {
		fprintf(stderr, "child: %s\n", err);
		_exit(2);
	}
	for (int i = 0; i < ADDS; i++) {
		metrics_request(m, METRICS_EP_EVENT, 204, (uint64_t)(i % 7) * MS);
		metrics_submit_to_answer(m, (uint64_t)k);
		metrics_crm_call(m, "webhook", METRICS_CRM_DEAD, 1);
	}
	metrics_close(m);
	_exit(0);
}

static void test_concurrent_adds_sum_exactly(void **state)
{
	(void)state;
	pid_t pids[PROCS];
	for (int k = 0; k < PROCS; k++) {
		pids[k] = fork();
		assert_true(pids[k] >= 0);
		if (pids[k] == 0)
			child_adds(k + 1);
	}
	for (int k = 0; k < PROCS; k++) {
		int st;
		assert_int_equal(waitpid(pids[k], &st, 0), pids[k]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	struct metrics *m = open_boot(BOOT_A);
	char *t = render(m);
	assert_int_equal(count_of(t, "leadroute_requests_total{endpoint=\"event\",code=\"204\"}"),
	                 PROCS * ADDS);
	assert_int_equal(count_of(t, "leadroute_request_duration_seconds_count{endpoint=\"event\","
	                             "status_class=\"2xx\"}"), PROCS * ADDS);
	/* the values 0..6 ms cycle: per child the sum is known exactly */
	unsigned long long per = 0;
	for (int i = 0; i < ADDS; i++)
		per += (unsigned long long)(i % 7) * MS;
	char want[64];
	snprintf(want, sizeof want, "%llu.%09llu\n", PROCS * per / S, PROCS * per % S);
	const char *got = sample(t, "leadroute_request_duration_seconds_sum{endpoint=\"event\","
	                         "status_class=\"2xx\"}");
	assert_memory_equal(got, want, strlen(want));
	assert_int_equal(count_of(t, "leadroute_submit_to_answer_seconds_count"), PROCS * ADDS);
	/* children k = 1..4 each added k ns ADDS times */
	snprintf(want, sizeof want, "0.%09d\n", (1 + 2 + 3 + 4) * ADDS);
	assert_memory_equal(sample(t, "leadroute_submit_to_answer_seconds_sum"), want, strlen(want));
	assert_int_equal(count_of(t, "leadroute_crm_call_duration_seconds_bucket{crm=\"webhook\","
	                             "result=\"dead\",le=\"0.01\"}"), PROCS * ADDS);
	free(t);
	metrics_close(m);
}

static void test_other_boot_resets(void **state)
{
	(void)state;
	struct metrics *m = open_boot(BOOT_A);
	metrics_request(m, METRICS_EP_HEALTHZ, 200, 1);
	metrics_close(m);
	m = open_boot(BOOT_A);          /* same boot: kept */
	char *t = render(m);
	assert_int_equal(count_of(t, "leadroute_requests_total{endpoint=\"healthz\",code=\"200\"}"), 1);
	free(t);
	metrics_close(m);
	m = open_boot(BOOT_B);          /* the machine rebooted: from zero */
	t = render(m);
	assert_null(strstr(t, "endpoint=\"healthz\""));
	assert_int_equal(count_of(t, "leadroute_submit_to_answer_seconds_count"), 0);
	free(t);
	metrics_close(m);
}

static void test_other_layout_replaced(void **state)
{
	(void)state;
	char path[160];
	snprintf(path, sizeof path, "%s-metrics", db);
	/* an old process of another layout has the file mapped and keeps
	 * writing into it: simulated by a file with another header */
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	char junk[8192];
	memset(junk, 0x5a, sizeof junk);
	memcpy(junk, "leadroute-metric", 16);   /* our magic, another layout number */
	assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
	struct stat before, after;
	assert_int_equal(fstat(fd, &before), 0);
	struct metrics *m = open_boot(BOOT_A);
	assert_int_equal(stat(path, &after), 0);
	assert_true(after.st_ino != before.st_ino);      /* a new file took its place */
	assert_int_equal(after.st_mode & 0777, 0600);
	memset(junk, 0x7f, sizeof junk);                /* the old process writes on */
	assert_int_equal(pwrite(fd, junk, sizeof junk, 0), (ssize_t)sizeof junk);
	close(fd);
	char *t = render(m);
	assert_null(strstr(t, "leadroute_requests_total{"));
	assert_int_equal(count_of(t, "leadroute_submit_to_answer_seconds_count"), 0);
	free(t);
	metrics_close(m);
	/* and the new file stays in use: a second open keeps its inode */
	m = open_boot(BOOT_A);
	struct stat again;
	assert_int_equal(stat(path, &again), 0);
	assert_true(again.st_ino == after.st_ino);
	metrics_close(m);
}

static void test_file_takes_database_mode(void **state)
{
	(void)state;
	int fd = open(db, O_RDWR | O_CREAT, 0660);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0660), 0);
	close(fd);
	mode_t old = umask(077);        /* the group's bits survive a strict umask */
	struct metrics *m = open_boot(BOOT_A);
	umask(old);
	char path[160];
	snprintf(path, sizeof path, "%s-metrics", db);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	metrics_close(m);
	char err[256] = "";
	assert_null(metrics_open_boot("/nonexistent-dir/leads.db", BOOT_A, err, sizeof err));
	assert_non_null(strstr(err, "/nonexistent-dir/leads.db-metrics"));
}

/* The whole text of a known state, byte for byte. */
static void test_render_known_state(void **state)
{
	(void)state;
	struct metrics *m = open_boot(BOOT_A);
	metrics_request(m, METRICS_EP_LEAD, 303, 3 * MS);
	metrics_request(m, METRICS_EP_METRICS, 200, 1500000000ull);
	metrics_submit_to_answer(m, 3 * MS);
	metrics_submit_to_crm_confirmed(m, 400 * MS);
	metrics_crm_call(m, "salesforce", METRICS_CRM_DONE, 120 * MS);
	char *t = render(m);
	const char *want =
	"# HELP leadroute_build_info The leadroute version serving (always 1).\n"
	"# TYPE leadroute_build_info gauge\n"
	"leadroute_build_info{version=\"" PACKAGE_VERSION "\"} 1\n"
	"# HELP leadroute_requests_total Requests answered by the handler, by endpoint and HTTP "
	"status code.\n"
	"# TYPE leadroute_requests_total counter\n"
	"leadroute_requests_total{endpoint=\"lead\",code=\"303\"} 1\n"
	"leadroute_requests_total{endpoint=\"metrics\",code=\"200\"} 1\n"
	"# HELP leadroute_request_duration_seconds Time from a request reaching the handler to its "
	"answer being ready, by endpoint and status class.\n"
	"# TYPE leadroute_request_duration_seconds histogram\n"
#define B(le, n) "leadroute_request_duration_seconds_bucket{endpoint=\"lead\"," \
	"status_class=\"3xx\",le=\"" le "\"} " #n "\n"
	B("0.001", 0) B("0.0025", 0) B("0.005", 1) B("0.01", 1) B("0.025", 1) B("0.05", 1)
	B("0.1", 1) B("0.25", 1) B("0.5", 1) B("1", 1) B("2.5", 1) B("5", 1) B("10", 1) B("+Inf", 1)
#undef B
	"leadroute_request_duration_seconds_sum{endpoint=\"lead\",status_class=\"3xx\"} 0.003000000\n"
	"leadroute_request_duration_seconds_count{endpoint=\"lead\",status_class=\"3xx\"} 1\n"
#define B(le, n) "leadroute_request_duration_seconds_bucket{endpoint=\"metrics\"," \
	"status_class=\"2xx\",le=\"" le "\"} " #n "\n"
	B("0.001", 0) B("0.0025", 0) B("0.005", 0) B("0.01", 0) B("0.025", 0) B("0.05", 0)
	B("0.1", 0) B("0.25", 0) B("0.5", 0) B("1", 0) B("2.5", 1) B("5", 1) B("10", 1) B("+Inf", 1)
#undef B
	"leadroute_request_duration_seconds_sum{endpoint=\"metrics\",status_class=\"2xx\"} "
	"1.500000000\n"
	"leadroute_request_duration_seconds_count{endpoint=\"metrics\",status_class=\"2xx\"} 1\n"
	"# HELP leadroute_submit_to_answer_seconds Time from a lead's POST /lead reaching the "
	"handler to the answer that took it (200 or 303), body reading included.\n"
	"# TYPE leadroute_submit_to_answer_seconds histogram\n"
#define B(le, n) "leadroute_submit_to_answer_seconds_bucket{le=\"" le "\"} " #n "\n"
	B("0.001", 0) B("0.0025", 0) B("0.005", 1) B("0.01", 1) B("0.025", 1) B("0.05", 1)
	B("0.1", 1) B("0.25", 1) B("0.5", 1) B("1", 1) B("2.5", 1) B("5", 1) B("10", 1) B("+Inf", 1)
#undef B
	"leadroute_submit_to_answer_seconds_sum 0.003000000\n"
	"leadroute_submit_to_answer_seconds_count 1\n"
	"# HELP leadroute_submit_to_crm_confirmed_seconds Time from a lead's submit to the "
	"outbox's confirmed write to the CRM, retries included.\n"
	"# TYPE leadroute_submit_to_crm_confirmed_seconds histogram\n"
#define B(le, n) "leadroute_submit_to_crm_confirmed_seconds_bucket{le=\"" le "\"} " #n "\n"
	B("0.1", 0) B("0.25", 0) B("0.5", 1) B("1", 1) B("2.5", 1) B("5", 1) B("10", 1) B("30", 1)
	B("60", 1) B("300", 1) B("900", 1) B("3600", 1) B("21600", 1) B("86400", 1) B("+Inf", 1)
#undef B
	"leadroute_submit_to_crm_confirmed_seconds_sum 0.400000000\n"
	"leadroute_submit_to_crm_confirmed_seconds_count 1\n"
	"# HELP leadroute_crm_call_duration_seconds Duration of one CRM call of the outbox, by CRM "
	"and by how the row was settled (done, retry, dead).\n"
	"# TYPE leadroute_crm_call_duration_seconds histogram\n"
#define B(le, n) "leadroute_crm_call_duration_seconds_bucket{crm=\"salesforce\",result=\"done\"," \
	"le=\"" le "\"} " #n "\n"
	B("0.01", 0) B("0.025", 0) B("0.05", 0) B("0.1", 0) B("0.25", 1) B("0.5", 1) B("1", 1)
	B("2.5", 1) B("5", 1) B("10", 1) B("30", 1) B("+Inf", 1)
#undef B
	"leadroute_crm_call_duration_seconds_sum{crm=\"salesforce\",result=\"done\"} 0.120000000\n"
	"leadroute_crm_call_duration_seconds_count{crm=\"salesforce\",result=\"done\"} 1\n";
	assert_string_equal(t, want);
	free(t);
	metrics_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bucket_arithmetic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_labels_from_tables_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_adds_sum_exactly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_boot_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_layout_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_takes_database_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_known_state, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
