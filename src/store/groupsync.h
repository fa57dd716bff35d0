/* groupsync - one fsync of the WAL makes many handler processes' commits
 * durable (group commit), for the store only.
 *
 * Under synchronous=FULL every commit fsyncs the WAL while holding
 * SQLite's write lock, so commits from all processes queue behind one
 * disk flush each.  In group mode the store commits with
 * synchronous=NORMAL (frames reach the OS, not yet the disk) and then calls
 * groupsync_wait before acknowledging: it returns once an fsync of the WAL
 * that started after this commit's frames were written has finished.  The
 * fsync runs outside the write lock, and one fsync covers every commit
 * written before it started, whichever process wrote it.
 *
 * Writers also queue on a lock of that file before SQLite's write lock
 * (groupsync_writer_lock), so that while one process flushes, the others
 * keep committing instead of sleeping in SQLite's busy handler.
 *
 * How: a small shared file next to the database (DB-groupsync, mapped
 * MAP_SHARED) holds two counters.  After COMMIT a process takes a ticket T
 * (committed += 1); its frames were written before T existed.  The leader
 * (whoever holds the file's flock) reads C = committed, fsyncs the WAL, and
 * publishes synced = C; a process returns as soon as synced >= T.  The file
 * also holds the kernel's boot id: after a reboot (the only way the page
 * cache, and so the counters, can be lost) the counters start again from
 * zero, so a stale "synced" never vouches for a new commit.
 *
 * Must never report a commit durable before an fsync that began after its
 * frames were written has returned success.  Linux only (/proc boot id);
 * elsewhere groupsync_open fails and says to use LEADROUTE_SYNC=full.
 */
#ifndef LR_GROUPSYNC_H
#define LR_GROUPSYNC_H

#include <stddef.h>

struct groupsync;

/* Open (creating) the counters file for the database at db_path.  Returns
 * NULL and fills err when it cannot. */
struct groupsync *groupsync_open(const char *db_path, char *err, size_t errlen);
void groupsync_close(struct groupsync *g);

/* The WAL flush: called by the leader with the lock held.  Returns 0 when
 * the WAL is on disk, -1 with err filled. */
typedef int (*groupsync_flush_fn)(void *ctx, char *err, size_t errlen);

/* After a commit: return 0 once the commit is durable (flushing the WAL
 * with flush(ctx) when no other process's flush covers it), or -1 with err
 * filled when the flush failed or the lock could not be taken. */
int groupsync_wait(struct groupsync *g, groupsync_flush_fn flush, void *ctx, char *err,
                   size_t errlen);

/* The writers' queue.  SQLite's busy handler makes a writer that finds the
 * write lock taken sleep for a millisecond or more, which serializes
 * commits far more than the work does; the store takes this lock, which
 * the kernel hands to the next waiter at once, before BEGIN IMMEDIATE and
 * releases it after COMMIT or ROLLBACK, before groupsync_wait.  Returns 0,
 * or -1 with err filled. */
int groupsync_writer_lock(struct groupsync *g, char *err, size_t errlen);
void groupsync_writer_unlock(struct groupsync *g);

#endif
