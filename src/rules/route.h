/* route - what a matched rule means for one lead: queue, owner, outcome.
 *
 * The tree says which rule matched; route_resolve turns that into the
 * queue the lead goes to (following `fallback account_owner` when the rule
 * sends to the account owner and the lead's domain has none), the owner
 * when the account's owner is known, and the outcome page.  Member choice
 * (rotation, hours, caps) is not here: that is the assignment module's job.
 * Allocates nothing; every pointer is borrowed from the program or facts.
 */
#ifndef LR_ROUTE_H
#define LR_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "rules/ast.h"
#include "rules/facts.h"

struct route {
	uint32_t rule;          /* matched rule, or UINT32_MAX */
	bool drop;
	int queue_id;           /* resolved queue; -1 for drop or no queue */
	bool owner_fallback;    /* account owner unknown: queue is the fallback */
	const char *owner;      /* account owner (normalized) for owner queues */
	enum outcome_kind outcome;
	const char *page;       /* OUT_PAGE */
};

void route_resolve(const struct program *p, uint32_t rule, const struct facts *facts,
                   struct route *out);
/* "drop", a queue name, or "none" when nothing matched. */
const char *route_queue_name(const struct program *p, const struct route *r);

#endif
