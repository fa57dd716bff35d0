/* route - resolve a matched rule to its queue, owner and outcome.
 * Must never invent an owner: an owner queue without a known owner falls
 * back as the rules say, or is reported as having no queue. */
#include "rules/route.h"

static int otherwise_queue(const struct program *p)
{
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].otherwise && !p->rules[i].act.drop)
			return p->rules[i].act.queue_id;
	return -1;
}

void route_resolve(const struct program *p, uint32_t rule, const struct facts *facts,
                   struct route *out)
{
	*out = (struct route){ .rule = rule, .queue_id = -1, .outcome = OUT_CONFIRM };
	if (rule == UINT32_MAX)
		return;
	const struct rule *r = &p->rules[rule];
	out->drop = r->act.drop;
	out->outcome = r->act.outcome;
	out->page = r->act.outcome == OUT_PAGE ? r->act.page : NULL;
	if (r->act.drop)
		return;
	int q = r->act.queue_id;
	if (q >= 0 && p->queues[q].dist == D_OWNER) {
		const struct fact *owner = &facts->v[F_ACCOUNT_OWNER];
		if (owner->present) {
			out->owner = owner->raw ? owner->raw : owner->text;
		} else {
			out->owner_fallback = true;
			/* the queue's own fallback, then `fallback account_owner`,
			 * then the otherwise queue */
			q = p->queues[q].fallback_id >= 0 ? p->queues[q].fallback_id
			  : p->owner_fallback_id >= 0 ? p->owner_fallback_id : otherwise_queue(p);
			if (q >= 0 && p->queues[q].dist == D_OWNER)
				q = -1;   /* falling back to another owner queue cannot help */
		}
	}
	out->queue_id = q;
}

const char *route_queue_name(const struct program *p, const struct route *r)
{
	if (r->drop)
		return "drop";
	if (r->queue_id < 0)
		return "none";
	return p->queues[r->queue_id].name;
}
