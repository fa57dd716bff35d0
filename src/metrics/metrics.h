/* metrics - request counts and latency histograms shared by every process
 * of one deployment, for GET /metrics (doc/metrics.md lists every metric).
 *
 * Behind a FastCGI server several handler processes answer requests, and a
 * scrape reaches any one of them; the outbox worker (`leadroute outbox
 * run|drain`) delivers to the CRM from yet another process.  So the
 * numbers do not live in a process: they live in a small file next to the
 * database (DB path + "-metrics"), mapped MAP_SHARED by every process, and
 * each observation is a few atomic adds (__atomic builtins) into it.  No
 * lock and no SQLite write on the request path; the durable counts stay in
 * the events table (leadroute_events_total).
 *
 * The file carries a magic, a layout version and the kernel's boot id.  A
 * file from another boot is zeroed (no process of that boot is alive, and
 * counters start again as after any restart, which Prometheus handles); a
 * file of another layout (an older or newer leadroute) is replaced by a
 * fresh one under a lock, so processes of the old layout keep their own
 * mapping and never write into the new one.  It gets the database's
 * permissions and, when we are root, its owner, as the -groupsync file
 * does.  Linux only (/proc boot id).
 *
 * Must never hold a secret: every label value comes from a fixed table in
 * metrics.c (a CRM name that is not one of ours is counted as "other").
 *
 * Ownership: metrics_open returns a struct the caller closes with
 * metrics_close.  Every recording function takes NULL for m and then
 * records nothing, so code paths can be run without metrics (unit tests).
 * Durations are nanoseconds from metrics_clock_ns (monotonic).
 */
#ifndef LR_METRICS_H
#define LR_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* The endpoints of handler.h (OTHER: a path none of them answers). */
enum metrics_endpoint {
	METRICS_EP_LEAD, METRICS_EP_EVENT, METRICS_EP_FORM, METRICS_EP_HEALTHZ,
	METRICS_EP_METRICS, METRICS_EP_OTHER, METRICS_N_ENDPOINTS
};

/* How the outbox settled a CRM call (outbox.h): written, to retry,
 * dead-lettered. */
enum metrics_crm_result { METRICS_CRM_DONE, METRICS_CRM_RETRY, METRICS_CRM_DEAD,
	METRICS_N_CRM_RESULTS };

struct metrics;

/* Open (creating, resetting or replacing as above) the metrics file of the
 * database at db_path.  Returns NULL with err filled when it cannot. */
struct metrics *metrics_open(const char *db_path, char *err, size_t errlen);
/* The same with the boot id given instead of read from the kernel (tests). */
struct metrics *metrics_open_boot(const char *db_path, const char *boot_id, char *err,
                                  size_t errlen);
void metrics_close(struct metrics *m);

/* A monotonic clock in nanoseconds, for measuring durations. */
uint64_t metrics_clock_ns(void);

/* One request answered with HTTP status (out of 100..599 counts as 500),
 * taking ns. */
void metrics_request(struct metrics *m, enum metrics_endpoint ep, int status, uint64_t ns);
/* A POST /lead answered as taken (200 or 303), ns after it arrived. */
void metrics_submit_to_answer(struct metrics *m, uint64_t ns);
/* A lead written to the CRM by the outbox, ns after the buyer's submit. */
void metrics_submit_to_crm_confirmed(struct metrics *m, uint64_t ns);
/* One CRM call of the outbox to crm ("hubspot", ...), settled as result. */
void metrics_crm_call(struct metrics *m, const char *crm, enum metrics_crm_result result,
                      uint64_t ns);

/* Append the shared metrics in Prometheus' text format (version 0.0.4):
 * leadroute_build_info, leadroute_requests_total and the four histograms,
 * each with its HELP and TYPE lines.  Series with labels appear once they
 * have an observation; the two histograms without labels always appear.
 * m must not be NULL. */
void metrics_render(const struct metrics *m, struct buf *out);

#endif
