/* clock - the two clocks leadroute reads, in milliseconds.
 * clock_wall_ms: Unix time, for what is stored and shown.
 * clock_mono_ms: never jumps, for measuring how long something took. */
#ifndef LR_CLOCK_H
#define LR_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t clock_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
