/* metrics - the shared counters file and its Prometheus rendering (see
 * metrics.h).
 *
 * Must never take a lock or call into SQLite when recording, never
 * write a label value that is not one of this file's constants, and never
 * let two layouts share one mapping.
 */
#include "config.h"   /* _GNU_SOURCE: F_OFD_SETLK, mkostemp */

#include "metrics/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/bootid.h"
#include "util/xalloc.h"

#define MX_MAGIC "leadroute-metric"     /* 16 bytes, no NUL */
#define MX_LAYOUT 1u                    /* bump on any change of struct mx_shared */
#define MX_SUFFIX "-metrics"

#define MX_CODES 500                    /* HTTP status 100..599 */
#define MX_CLASSES 5                    /* 1xx..5xx */
#define MX_MAX_BUCKETS 16

/* ---- the families: names, help, buckets, label values ---- */

static const char *const endpoint_names[METRICS_N_ENDPOINTS] = {
	"lead", "event", "form", "healthz", "metrics", "other"
};
static const char *const class_names[MX_CLASSES] = { "1xx", "2xx", "3xx", "4xx", "5xx" };
static const char *const crm_names[] = { "local", "hubspot", "salesforce", "webhook", "other" };
#define MX_CRMS (sizeof crm_names / sizeof crm_names[0])
static const char *const result_names[METRICS_N_CRM_RESULTS] = { "done", "retry", "dead" };

/* Upper bounds of the buckets (inclusive, as Prometheus' le), in
 * nanoseconds and as the le label shows them. */
struct bounds {
	size_t n;
	uint64_t ns[MX_MAX_BUCKETS];
	const char *le[MX_MAX_BUCKETS];
};

#define MS 1000000ull
#define S 1000000000ull

/* an answer: a millisecond to ten seconds */
static const struct bounds answer_bounds = { 13,
	{ 1 * MS, 2500000, 5 * MS, 10 * MS, 25 * MS, 50 * MS, 100 * MS, 250 * MS, 500 * MS,
	  1 * S, 2500 * MS, 5 * S, 10 * S },
	{ "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5",
	  "5", "10" } };
/* the way into the CRM: at once, or after retries and outages (hours) */
static const struct bounds confirmed_bounds = { 14,
	{ 100 * MS, 250 * MS, 500 * MS, 1 * S, 2500 * MS, 5 * S, 10 * S, 30 * S, 60 * S, 300 * S,
	  900 * S, 3600 * S, 21600 * S, 86400 * S },
	{ "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "300", "900", "3600", "21600",
	  "86400" } };
/* one CRM call: up to its timeout (10 s by default) */
static const struct bounds crm_bounds = { 11,
	{ 10 * MS, 25 * MS, 50 * MS, 100 * MS, 250 * MS, 500 * MS, 1 * S, 2500 * MS, 5 * S, 10 * S,
	  30 * S },
	{ "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30" } };

/* ---- the shared file ----
 *
 * One header, then plain uint64 counters updated with atomic adds.  A
 * histogram keeps each bucket's own count (not cumulative) and the +Inf
 * overflow: the rendering sums them, so _count always equals the +Inf
 * bucket even while other processes add. */
struct mx_hist {
	uint64_t bucket[MX_MAX_BUCKETS + 1];    /* [n]: above the last bound */
	uint64_t sum_ns;
};

struct mx_header {
	char magic[16];
	uint32_t layout;
	uint32_t size;                          /* sizeof (struct mx_shared) */
	char boot[40];
};

struct mx_shared {
	struct mx_header h;
	uint64_t requests[METRICS_N_ENDPOINTS][MX_CODES];
	struct mx_hist duration[METRICS_N_ENDPOINTS][MX_CLASSES];
	struct mx_hist answer;
	struct mx_hist confirmed;
	struct mx_hist crm_call[MX_CRMS][METRICS_N_CRM_RESULTS];
};

#define MX_MAP_SIZE ((sizeof (struct mx_shared) + 4095) / 4096 * 4096)

struct metrics {
	int fd;
	struct mx_shared *sh;       /* MX_MAP_SIZE bytes mapped from fd */
};

uint64_t metrics_clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * S + (uint64_t)ts.tv_nsec;
}

/* ---- opening ---- */

static int read_boot_id(char out[40], char *err, size_t errlen)
{
	char why[160];
	if (boot_id_read(out, why, sizeof why) == 0)
		return 0;
	snprintf(err, errlen, "the metrics file needs the kernel's boot id: %s", why);
	return -1;
}

struct metrics *metrics_open(const char *db_path, char *err, size_t errlen)
{
	char boot[40];
	if (read_boot_id(boot, err, errlen) != 0)
		return NULL;
	return metrics_open_boot(db_path, boot, err, errlen);
}

/* An open-file-description lock on byte 0: held while a process checks,
 * sets up or replaces the file, so two openers never both do it. */
static int lock_file(int fd, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	while (fcntl(fd, type == F_UNLCK ? F_OFD_SETLK : F_OFD_SETLKW, &fl) != 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* The database's mode and owner, which the file takes (as SQLite's -wal
 * and -shm do): an operator's command run as root must not lock the web
 * server's user out. */
struct db_owner {
	bool known;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

static int take_owner(int fd, const struct db_owner *o)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -1;
	if (o->known && geteuid() == 0 && (st.st_uid != o->uid || st.st_gid != o->gid) &&
	    fchown(fd, o->uid, o->gid) != 0)
		return -1;
	return 0;
}

static struct mx_shared *map_file(int fd)
{
	void *p = mmap(NULL, MX_MAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Zero the counters and stamp the header (the caller holds the lock). */
static void init_shared(struct mx_shared *sh, const char boot[40])
{
	memset((char *)sh + sizeof sh->h, 0, MX_MAP_SIZE - sizeof sh->h);
	sh->h.layout = MX_LAYOUT;
	sh->h.size = (uint32_t)sizeof *sh;
	memcpy(sh->h.boot, boot, sizeof sh->h.boot);
	memcpy(sh->h.magic, MX_MAGIC, sizeof sh->h.magic);
}

/* A new file of our layout at tmp, renamed over path.  Returns its fd and
 * mapping, or -1 with err filled. */
static int replace_file(const char *path, const struct db_owner *o, const char boot[40],
                        struct mx_shared **out, char *err, size_t errlen)
{
	size_t plen = strlen(path);
	char *tmp = xmalloc(plen + sizeof ".XXXXXX");
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".XXXXXX", sizeof ".XXXXXX");
	int fd = mkostemp(tmp, O_CLOEXEC);
	struct mx_shared *sh = NULL;
	if (fd < 0 || fchmod(fd, o->known ? o->mode : 0600) != 0 || take_owner(fd, o) != 0 ||
	    ftruncate(fd, (off_t)MX_MAP_SIZE) != 0 || !(sh = map_file(fd))) {
		snprintf(err, errlen, "cannot make a new metrics file '%s': %s", tmp, strerror(errno));
		goto fail;
	}
	init_shared(sh, boot);
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot put the new metrics file in place of '%s': %s", path,
		         strerror(errno));
		goto fail;
	}
	free(tmp);
	*out = sh;
	return fd;
fail:
	if (sh)
		munmap(sh, MX_MAP_SIZE);
	if (fd >= 0) {
		unlink(tmp);
		close(fd);
	}
	free(tmp);
	return -1;
}

/* Under the lock, make fd (the file now at path) usable: set up when new,
 * reset when from another boot, replaced when of another layout.  Returns
 * the fd to keep (fd itself, or the replacement's) with *out mapped, or -1
 * with err filled. */
static int settle_file(int fd, const char *path, const struct db_owner *o, const char boot[40],
                       struct mx_shared **out, char *err, size_t errlen)
{
	struct stat st;
	struct mx_header h;
	memset(&h, 0, sizeof h);
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "cannot read the metrics file '%s': %s", path, strerror(errno));
		return -1;
	}
	bool fresh = st.st_size == 0;
	bool ours = st.st_size == (off_t)MX_MAP_SIZE && pread(fd, &h, sizeof h, 0) == sizeof h &&
	            memcmp(h.magic, MX_MAGIC, sizeof h.magic) == 0 && h.layout == MX_LAYOUT &&
	            h.size == sizeof(struct mx_shared);
	if (!fresh && !ours)
		return replace_file(path, o, boot, out, err, errlen);
	/* a new file: the database's mode exactly, whatever the umask */
	if (fresh && ((o->known && (st.st_mode & 0777) != o->mode && fchmod(fd, o->mode) != 0) ||
	              ftruncate(fd, (off_t)MX_MAP_SIZE) != 0)) {
		snprintf(err, errlen, "cannot set up the new metrics file '%s': %s", path,
		         strerror(errno));
		return -1;
	}
	struct mx_shared *sh = map_file(fd);
	if (!sh) {
		snprintf(err, errlen, "cannot map the metrics file '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fresh || memcmp(sh->h.boot, boot, sizeof sh->h.boot) != 0)
		init_shared(sh, boot);  /* new, or the machine rebooted: nobody else maps it */
	*out = sh;
	return fd;
}

struct metrics *metrics_open_boot(const char *db_path, const char *boot_id, char *err,
                                  size_t errlen)
{
	char boot[40] = {0};
	snprintf(boot, sizeof boot, "%s", boot_id);
	size_t plen = strlen(db_path);
	char *path = xmalloc(plen + sizeof MX_SUFFIX);
	memcpy(path, db_path, plen);
	memcpy(path + plen, MX_SUFFIX, sizeof MX_SUFFIX);
	struct db_owner o = {0};
	struct stat dbst;
	if (stat(db_path, &dbst) == 0)
		o = (struct db_owner){ true, dbst.st_mode & 0666, dbst.st_uid, dbst.st_gid };

	/* whoever replaced the file while we waited for its lock left a new
	 * one at path: open that instead (a few rounds at most) */
	bool failed = false;
	for (int round = 0; round < 16 && !failed; round++) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, o.known ? o.mode : 0600);
		if (fd < 0) {
			snprintf(err, errlen, "cannot open the metrics file '%s': %s", path,
			         strerror(errno));
			failed = true;
			continue;
		}
		struct stat st, now;
		if (take_owner(fd, &o) != 0 || lock_file(fd, F_WRLCK) != 0 || fstat(fd, &st) != 0) {
			snprintf(err, errlen, "cannot set up the metrics file '%s': %s", path,
			         strerror(errno));
			close(fd);
			failed = true;
			continue;
		}
		if (stat(path, &now) != 0 || now.st_ino != st.st_ino || now.st_dev != st.st_dev) {
			close(fd);          /* replaced meanwhile; closing drops the lock */
			continue;
		}
		struct mx_shared *sh = NULL;
		int keep = settle_file(fd, path, &o, boot, &sh, err, errlen);
		(void)lock_file(fd, F_UNLCK);
		if (keep != fd)
			close(fd);
		if (keep < 0) {
			failed = true;
			continue;
		}
		struct metrics *m = xcalloc(1, sizeof *m);
		m->fd = keep;
		m->sh = sh;
		free(path);
		return m;
	}
	if (!failed)
		snprintf(err, errlen, "the metrics file '%s' kept being replaced; try again", path);
	free(path);
	return NULL;
}

void metrics_close(struct metrics *m)
{
	if (!m)
		return;
	munmap(m->sh, MX_MAP_SIZE);
	close(m->fd);
	free(m);
}

/* ---- recording ---- */

static void observe(struct mx_hist *h, const struct bounds *b, uint64_t ns)
{
	size_t i = 0;
	while (i < b->n && ns > b->ns[i])
		i++;
	__atomic_add_fetch(&h->bucket[i], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->sum_ns, ns, __ATOMIC_RELAXED);
}

void metrics_request(struct metrics *m, enum metrics_endpoint ep, int status, uint64_t ns)
{
	if (!m)
		return;
	if ((unsigned)ep >= METRICS_N_ENDPOINTS)
		ep = METRICS_EP_OTHER;
	if (status < 100 || status > 599)
		status = 500;
	__atomic_add_fetch(&m->sh->requests[ep][status - 100], 1, __ATOMIC_RELAXED);
	observe(&m->sh->duration[ep][status / 100 - 1], &answer_bounds, ns);
}

void metrics_submit_to_answer(struct metrics *m, uint64_t ns)
{
	if (m)
		observe(&m->sh->answer, &answer_bounds, ns);
}

void metrics_submit_to_crm_confirmed(struct metrics *m, uint64_t ns)
{
	if (m)
		observe(&m->sh->confirmed, &confirmed_bounds, ns);
}

void metrics_crm_call(struct metrics *m, const char *crm, enum metrics_crm_result result,
                      uint64_t ns)
{
	if (!m || (unsigned)result >= METRICS_N_CRM_RESULTS)
		return;
	size_t c = MX_CRMS - 1;     /* "other" */
	for (size_t i = 0; crm && i + 1 < MX_CRMS; i++)
		if (strcmp(crm, crm_names[i]) == 0)
			c = i;
	observe(&m->sh->crm_call[c][result], &crm_bounds, ns);
}

/* ---- rendering ---- */

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* One histogram series; labels is "" or `name="v",...` without braces.
 * Skipped when empty unless always. */
static void render_hist(struct buf *out, const char *name, const char *labels,
                        const struct mx_hist *h, const struct bounds *b, bool always)
{
	uint64_t counts[MX_MAX_BUCKETS + 1], total = 0;
	for (size_t i = 0; i <= b->n; i++)
		total += counts[i] = load(&h->bucket[i]);
	if (!total && !always)
		return;
	uint64_t sum = load(&h->sum_ns), cum = 0;
	const char *sep = labels[0] ? "," : "";
	for (size_t i = 0; i <= b->n; i++) {
		cum += counts[i];
		buf_printf(out, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels, sep,
		           i < b->n ? b->le[i] : "+Inf", (unsigned long long)cum);
	}
	const char *open = labels[0] ? "{" : "", *close = labels[0] ? "}" : "";
	buf_printf(out, "%s_sum%s%s%s %llu.%09llu\n", name, open, labels, close,
	           (unsigned long long)(sum / S), (unsigned long long)(sum % S));
	buf_printf(out, "%s_count%s%s%s %llu\n", name, open, labels, close,
	           (unsigned long long)total);
}

static void family(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_render(const struct metrics *m, struct buf *out)
{
	const struct mx_shared *sh = m->sh;
	char labels[128];

	family(out, "leadroute_build_info", "gauge", "The leadroute version serving (always 1).");
	buf_printf(out, "leadroute_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);

	family(out, "leadroute_requests_total", "counter",
	       "Requests answered by the handler, by endpoint and HTTP status code.");
	for (int e = 0; e < METRICS_N_ENDPOINTS; e++)
		for (int c = 0; c < MX_CODES; c++) {
			uint64_t n = load(&sh->requests[e][c]);
			if (n)
				buf_printf(out, "leadroute_requests_total{endpoint=\"%s\",code=\"%d\"} %llu\n",
				           endpoint_names[e], c + 100, (unsigned long long)n);
		}

	const char *dur = "leadroute_request_duration_seconds";
	family(out, dur, "histogram", "Time from a request reaching the handler to its answer "
	       "being ready, by endpoint and status class.");
	for (int e = 0; e < METRICS_N_ENDPOINTS; e++)
		for (int c = 0; c < MX_CLASSES; c++) {
			snprintf(labels, sizeof labels, "endpoint=\"%s\",status_class=\"%s\"",
			         endpoint_names[e], class_names[c]);
			render_hist(out, dur, labels, &sh->duration[e][c], &answer_bounds, false);
		}

	const char *ans = "leadroute_submit_to_answer_seconds";
	family(out, ans, "histogram", "Time from a lead's POST /lead reaching the handler to the "
	       "answer that took it (200 or 303), body reading included.");
	render_hist(out, ans, "", &sh->answer, &answer_bounds, true);

	const char *conf = "leadroute_submit_to_crm_confirmed_seconds";
	family(out, conf, "histogram", "Time from a lead's submit to the outbox's confirmed write "
	       "to the CRM, retries included.");
	render_hist(out, conf, "", &sh->confirmed, &confirmed_bounds, true);

	const char *call = "leadroute_crm_call_duration_seconds";
	family(out, call, "histogram", "Duration of one CRM call of the outbox, by CRM and by how "
	       "the row was settled (done, retry, dead).");
	for (size_t c = 0; c < MX_CRMS; c++)
		for (int r = 0; r < METRICS_N_CRM_RESULTS; r++) {
			snprintf(labels, sizeof labels, "crm=\"%s\",result=\"%s\"", crm_names[c],
			         result_names[r]);
			render_hist(out, call, labels, &sh->crm_call[c][r], &crm_bounds, false);
		}
}
