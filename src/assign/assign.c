/* assign - member choice: owner, availability, weighted rotation, fallback.
 * Must never assign a member who is away, out of hours or over the cap, and
 * never loop on a fallback cycle (check.c refuses them; this bounds anyway). */
#include "assign/assign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/xalloc.h"

/* Local weekday (0 = Monday) and minute of the day in zone tz.  The handler
 * is single-threaded, so switching TZ for one conversion is safe here. */
static int local_time(const char *tz, int64_t now_ms, int *wday, int *minute, int *second)
{
	char *old = getenv("TZ") ? xstrdup(getenv("TZ")) : NULL;
	setenv("TZ", tz, 1);
	tzset();
	time_t t = (time_t)(now_ms / 1000);
	struct tm tm;
	bool ok = localtime_r(&t, &tm) != NULL;
	if (old) {
		setenv("TZ", old, 1);
		free(old);
	} else {
		unsetenv("TZ");
	}
	tzset();
	if (!ok)
		return -1;
	*wday = (tm.tm_wday + 6) % 7;
	*minute = tm.tm_hour * 60 + tm.tm_min;
	*second = tm.tm_sec;
	return 0;
}

int assign_in_hours(const struct hours *h, int64_t now_ms)
{
	int wday, minute, second;
	if (local_time(h->tz, now_ms, &wday, &minute, &second) != 0)
		return -1;
	if (!(h->days & HOURS_DAY(wday)))
		return 0;
	return minute >= h->start_min && minute < h->end_min;
}

/* Start of the cap period containing now (local hour or local day). */
static int64_t period_start(const struct queue *q, int64_t now_ms)
{
	const char *tz = q->has_hours ? q->hours.tz : "UTC";
	int wday, minute, second;
	if (local_time(tz, now_ms, &wday, &minute, &second) != 0)
		minute = second = 0;
	int64_t into = q->cap_per == CAP_HOUR ? (minute % 60) * 60 + second : minute * 60 + second;
	return (now_ms / 1000 - into) * 1000;
}

/* Fill each member's availability; returns how many are available. */
static int availability(const struct queue *q, struct store *s, int64_t now_ms,
                        struct store_member *m, char *err, size_t errlen)
{
	int in_hours = 1;
	if (q->has_hours) {
		in_hours = assign_in_hours(&q->hours, now_ms);
		if (in_hours < 0) {
			snprintf(err, errlen, "queue '%s': cannot use time zone '%s'", q->name, q->hours.tz);
			return -1;
		}
	}
	int n = 0;
	int64_t since = q->cap ? period_start(q, now_ms) : 0;
	for (size_t i = 0; i < q->n_members; i++) {
		m[i] = (struct store_member){ q->members[i].who, q->members[i].weight, false };
		if (!in_hours)
			continue;
		int away = store_member_is_away(s, q->members[i].who, now_ms);
		if (away < 0) {
			snprintf(err, errlen, "%s", store_error(s));
			return -1;
		}
		if (away)
			continue;
		if (q->cap) {
			int64_t got = store_member_count_since(s, q->members[i].who, since);
			if (got < 0) {
				snprintf(err, errlen, "%s", store_error(s));
				return -1;
			}
			if (got >= q->cap)
				continue;
		}
		m[i].eligible = true;
		n++;
	}
	return n;
}

int assign_member(const struct program *p, int queue_id, const char *owner, struct store *s,
                  int64_t now_ms, struct assignment *out, char *err, size_t errlen)
{
	*out = (struct assignment){ .queue_id = queue_id };
	int q = queue_id;
	for (size_t step = 0; q >= 0 && step <= p->n_queues; step++) {
		const struct queue *qq = &p->queues[q];
		if (qq->dist == D_OWNER) {
			if (owner) {
				out->queue_id = q;
				out->member = owner;
				return 0;
			}
		} else if (qq->n_members) {
			struct store_member *m = xcalloc(qq->n_members, sizeof *m);
			int avail = availability(qq, s, now_ms, m, err, errlen);
			int pick = -1;
			if (avail > 0) {
				pick = store_rotation_pick(s, qq->name, m, qq->n_members);
				if (pick < 0)
					snprintf(err, errlen, "%s", store_error(s));
			}
			free(m);
			if (avail < 0 || (avail > 0 && pick < 0))
				return -1;
			if (pick >= 0) {
				out->queue_id = q;
				out->member = qq->members[pick].who;
				out->scheduler = qq->members[pick].scheduler;
				return 0;
			}
		}
		if (qq->fallback_id < 0)
			break;
		q = qq->fallback_id;
		out->fallbacks++;
	}
	/* nobody available anywhere on the chain: the lead waits, unassigned,
	 * in the queue the rules chose */
	out->queue_id = queue_id;
	out->member = NULL;
	return 0;
}
