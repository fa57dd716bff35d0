/* groupsync - coalesce the WAL fsyncs of concurrent handler processes.
 *
 * See groupsync.h for the protocol.  Must never publish synced = C unless
 * the flush that began after reading C succeeded, and never take a ticket
 * before the commit's frames are written (the caller calls groupsync_wait
 * only after COMMIT returned).
 */
#include "config.h"   /* _GNU_SOURCE: F_OFD_SETLK */

#include "store/groupsync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/bootid.h"
#include "util/xalloc.h"

#define GS_MAGIC "leadroute-gsync1"
#define GS_SIZE 4096

struct gs_shared {
	char magic[16];
	char boot[40];
	uint64_t committed;     /* tickets handed out */
	uint64_t synced;        /* every ticket <= synced is on disk */
};

struct groupsync {
	int fd;
	struct gs_shared *sh;
};

static int read_boot_id(char out[40], char *err, size_t errlen)
{
	char why[160];
	if (boot_id_read(out, why, sizeof why) == 0)
		return 0;
	snprintf(err, errlen, "group commit needs the kernel's boot id: %s; set "
	         "LEADROUTE_SYNC=full instead", why);
	return -1;
}

/* Open-file-description locks on single bytes of the counters file: byte
 * 0 is the flush leader's, byte 1 the writers' queue.  Unlike POSIX
 * record locks they belong to this descriptor, not to the process, so no
 * other close() in the process can drop them. */
enum { LOCK_FLUSH = 0, LOCK_WRITER = 1 };

static int byte_lock(int fd, int which, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = which, .l_len = 1 };
	while (fcntl(fd, type == F_UNLCK ? F_OFD_SETLK : F_OFD_SETLKW, &fl) != 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

struct groupsync *groupsync_open(const char *db_path, char *err, size_t errlen)
{
	char boot[40];
	if (read_boot_id(boot, err, errlen) != 0)
		return NULL;
	size_t plen = strlen(db_path);
	char *path = xmalloc(plen + sizeof "-groupsync");
	memcpy(path, db_path, plen);
	memcpy(path + plen, "-groupsync", sizeof "-groupsync");

	/* the file gets the database's permissions and, when we are root, its
	 * owner, as SQLite does for -wal and -shm: an operator's command run as
	 * root must not lock the web server's user out */
	struct stat dbst;
	mode_t mode = 0600;
	bool have_db = stat(db_path, &dbst) == 0;
	if (have_db)
		mode = dbst.st_mode & 0666;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open the group-commit file '%s': %s", path,
		         strerror(errno));
		free(path);
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 ||
	    (have_db && geteuid() == 0 && (st.st_uid != dbst.st_uid || st.st_gid != dbst.st_gid) &&
	     fchown(fd, dbst.st_uid, dbst.st_gid) != 0) ||
	    (st.st_size < GS_SIZE && ftruncate(fd, GS_SIZE) != 0)) {
		snprintf(err, errlen, "cannot set up the group-commit file '%s': %s", path,
		         strerror(errno));
		close(fd);
		free(path);
		return NULL;
	}
	void *m = mmap(NULL, GS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "cannot map the group-commit file '%s': %s", path,
		         strerror(errno));
		close(fd);
		free(path);
		return NULL;
	}
	struct groupsync *g = xcalloc(1, sizeof *g);
	g->fd = fd;
	g->sh = m;
	if (byte_lock(fd, LOCK_FLUSH, F_WRLCK) != 0) {
		snprintf(err, errlen, "cannot lock the group-commit file '%s': %s", path,
		         strerror(errno));
		groupsync_close(g);
		free(path);
		return NULL;
	}
	if (memcmp(g->sh->magic, GS_MAGIC, sizeof g->sh->magic) != 0 ||
	    memcmp(g->sh->boot, boot, sizeof boot) != 0) {
		/* a new file, or the machine rebooted: no process of the old boot
		 * is alive, and the counters may be anything */
		__atomic_store_n(&g->sh->committed, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&g->sh->synced, 0, __ATOMIC_SEQ_CST);
		memcpy(g->sh->boot, boot, sizeof boot);
		memcpy(g->sh->magic, GS_MAGIC, sizeof g->sh->magic);
	}
	(void)byte_lock(fd, LOCK_FLUSH, F_UNLCK);
	free(path);
	return g;
}

void groupsync_close(struct groupsync *g)
{
	if (!g)
		return;
	munmap(g->sh, GS_SIZE);
	close(g->fd);
	free(g);
}

int groupsync_wait(struct groupsync *g, groupsync_flush_fn flush, void *ctx, char *err,
                   size_t errlen)
{
	uint64_t ticket = __atomic_add_fetch(&g->sh->committed, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&g->sh->synced, __ATOMIC_SEQ_CST) >= ticket)
		return 0;
	if (byte_lock(g->fd, LOCK_FLUSH, F_WRLCK) != 0) {
		snprintf(err, errlen, "cannot lock the group-commit file: %s", strerror(errno));
		return -1;
	}
	int rc = 0;
	if (__atomic_load_n(&g->sh->synced, __ATOMIC_SEQ_CST) < ticket) {
		/* every ticket up to upto belongs to a commit already written */
		uint64_t upto = __atomic_load_n(&g->sh->committed, __ATOMIC_SEQ_CST);
		rc = flush(ctx, err, errlen);
		if (rc == 0)
			__atomic_store_n(&g->sh->synced, upto, __ATOMIC_SEQ_CST);
	}
	(void)byte_lock(g->fd, LOCK_FLUSH, F_UNLCK);
	return rc;
}

int groupsync_writer_lock(struct groupsync *g, char *err, size_t errlen)
{
	if (byte_lock(g->fd, LOCK_WRITER, F_WRLCK) != 0) {
		snprintf(err, errlen, "cannot queue for the write lock: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void groupsync_writer_unlock(struct groupsync *g)
{
	(void)byte_lock(g->fd, LOCK_WRITER, F_UNLCK);
}
