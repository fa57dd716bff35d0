/* test_groupsync - the group-commit protocol (src/store/groupsync.h).
 *
 * A simulated disk in shared memory stands in for the WAL: a "commit"
 * writes (written += 1, its sequence number), then waits; the flush makes
 * durable everything written before the flush began.  With 4 processes
 * committing at once, every wait must return only when its own write is
 * durable, and fewer flushes than commits must happen (they coalesce).
 * Also: a failed flush is reported and vouches for nothing, and a counters
 * file from another boot is reset.  And the real thing: 4 processes
 * committing through store_open(STORE_SYNC_GROUP) lose no row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/groupsync.h"
#include "store/store.h"

#define PROCS 4
#define COMMITS 1500

struct disk {
	uint64_t written;       /* writes handed out */
	uint64_t durable;       /* every write <= durable is on "disk" */
	uint64_t flushes;
	uint64_t violations;    /* a wait returned before its write was durable */
	int fail_next;          /* make the next flush fail */
};

static struct disk *disk;

static int fake_flush(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	uint64_t upto = __atomic_load_n(&disk->written, __ATOMIC_SEQ_CST);
	if (__atomic_exchange_n(&disk->fail_next, 0, __ATOMIC_SEQ_CST)) {
		snprintf(err, errlen, "simulated I/O error");
		return -1;
	}
	struct timespec ts = { 0, 200 * 1000 };    /* a flush takes a while */
	nanosleep(&ts, NULL);
	uint64_t d = __atomic_load_n(&disk->durable, __ATOMIC_SEQ_CST);
	if (upto > d)
		__atomic_store_n(&disk->durable, upto, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&disk->flushes, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static char dir[64];
static char db[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/lr-gsync.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/leads.db", dir);
	disk = mmap(NULL, sizeof *disk, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(disk != MAP_FAILED);
	memset(disk, 0, sizeof *disk);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	munmap(disk, sizeof *disk);
	return 0;
}

static void child_commits(void)
{
	char err[256];
	struct groupsync *g = groupsync_open(db, err, sizeof err);
	if (!g) {
		fprintf(stderr, "child: %s\n", err);
		_exit(2);
	}
	for (int i = 0; i < COMMITS; i++) {
		uint64_t mine = __atomic_add_fetch(&disk->written, 1, __ATOMIC_SEQ_CST);
		if (groupsync_wait(g, fake_flush, NULL, err, sizeof err) != 0) {
			fprintf(stderr, "child: %s\n", err);
			_exit(3);
		}
		if (__atomic_load_n(&disk->durable, __ATOMIC_SEQ_CST) < mine)
			__atomic_add_fetch(&disk->violations, 1, __ATOMIC_SEQ_CST);
	}
	groupsync_close(g);
	_exit(0);
}

/* Run fn in PROCS processes at once; each must exit 0. */
static void run_children(void (*fn)(void))
{
	pid_t pids[PROCS];
	for (int p = 0; p < PROCS; p++) {
		pids[p] = fork();
		assert_true(pids[p] >= 0);
		if (pids[p] == 0)
			fn();
	}
	for (int p = 0; p < PROCS; p++) {
		int st;
		assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
}

static void test_waits_cover_own_write_and_coalesce(void **state)
{
	(void)state;
	run_children(child_commits);
	uint64_t commits = (uint64_t)PROCS * COMMITS;
	printf("# %llu commits, %llu flushes\n", (unsigned long long)commits,
	       (unsigned long long)disk->flushes);
	assert_int_equal(disk->written, commits);
	assert_int_equal(disk->violations, 0);
	assert_true(disk->durable == commits);
	assert_true(disk->flushes < commits);
	assert_true(disk->flushes > 0);
}

static void test_failed_flush_vouches_for_nothing(void **state)
{
	(void)state;
	char err[256];
	struct groupsync *g = groupsync_open(db, err, sizeof err);
	assert_non_null(g);
	__atomic_add_fetch(&disk->written, 1, __ATOMIC_SEQ_CST);
	disk->fail_next = 1;
	assert_int_equal(groupsync_wait(g, fake_flush, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "simulated I/O error"));
	assert_int_equal(disk->flushes, 0);
	/* the next commit must flush again rather than trust the failed one */
	uint64_t mine = __atomic_add_fetch(&disk->written, 1, __ATOMIC_SEQ_CST);
	assert_int_equal(groupsync_wait(g, fake_flush, NULL, err, sizeof err), 0);
	assert_int_equal(disk->flushes, 1);
	assert_true(disk->durable >= mine);
	groupsync_close(g);
}

static void test_other_boot_resets_counters(void **state)
{
	(void)state;
	char err[256], path[160];
	struct groupsync *g = groupsync_open(db, err, sizeof err);
	assert_non_null(g);
	groupsync_close(g);
	/* a file left by another boot claiming everything up to a huge ticket
	 * is synced: the boot id sits after the 16-byte magic, the counters
	 * after the 40-byte boot id */
	snprintf(path, sizeof path, "%s-groupsync", db);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	char boot[40] = "00000000-0000-0000-0000-000000000000";
	uint64_t counters[2] = { 0, UINT64_MAX / 2 };
	assert_int_equal(pwrite(fd, boot, sizeof boot, 16), (ssize_t)sizeof boot);
	assert_int_equal(pwrite(fd, counters, sizeof counters, 56), (ssize_t)sizeof counters);
	close(fd);
	g = groupsync_open(db, err, sizeof err);
	assert_non_null(g);
	__atomic_add_fetch(&disk->written, 1, __ATOMIC_SEQ_CST);
	assert_int_equal(groupsync_wait(g, fake_flush, NULL, err, sizeof err), 0);
	assert_int_equal(disk->flushes, 1);     /* the stale "synced" was not trusted */
	groupsync_close(g);
}

static void child_store_commits(void)
{
	char err[512];
	struct store *s = store_open(db, STORE_SYNC_GROUP, err, sizeof err);
	if (!s) {
		fprintf(stderr, "child: %s\n", err);
		_exit(2);
	}
	for (int i = 0; i < 200; i++) {
		if (store_begin(s) != 0 || store_event(s, NULL, "gsync_test", i, NULL) != 0 ||
		    store_commit(s) != 0) {
			fprintf(stderr, "child: %s\n", store_error(s));
			_exit(3);
		}
	}
	store_close(s);
	_exit(0);
}

static void test_store_group_mode(void **state)
{
	(void)state;
	run_children(child_store_commits);
	char err[512];
	struct store *s = store_open(db, STORE_SYNC_GROUP, err, sizeof err);
	assert_non_null(s);
	assert_int_equal(store_event_count(s, "gsync_test"), PROCS * 200);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_waits_cover_own_write_and_coalesce, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_failed_flush_vouches_for_nothing, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_other_boot_resets_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_group_mode, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
