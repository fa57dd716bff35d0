/* assign - choose who gets a routed lead.
 *
 * Given the queue the rules chose, pick a member: the account owner for
 * owner queues; otherwise the members who are available now (inside the
 * queue's working hours in its time zone, not marked away, under their cap
 * for the hour or day), by smooth weighted round robin whose state lives in
 * the store, so every handler process shares one rotation.  When nobody in
 * the queue is available the lead follows the queue's fallback chain; when
 * the chain runs out the lead stays in its queue unassigned.  Call inside
 * the lead's store transaction.  Everything returned is borrowed from the
 * program or the owner string passed in.
 */
#ifndef LR_ASSIGN_H
#define LR_ASSIGN_H

#include <stdbool.h>
#include <stdint.h>

#include "rules/ast.h"
#include "store/store.h"

struct assignment {
	int queue_id;            /* the queue that took the lead (after fallbacks) */
	const char *member;      /* who gets it; NULL: unassigned */
	const char *scheduler;   /* the member's scheduler URL, or NULL */
	int fallbacks;           /* how many fallback steps were taken */
};

/* Returns 0 and fills out, or -1 with err filled (a store error). */
int assign_member(const struct program *p, int queue_id, const char *owner, struct store *s,
                  int64_t now_ms, struct assignment *out, char *err, size_t errlen);

/* Whether time now_ms is inside the hours (in their zone).  -1 when the
 * zone cannot be used. */
int assign_in_hours(const struct hours *h, int64_t now_ms);

#endif
