/* clock.h: the shell's one clock; the core only ever gets the time passed in. */
#ifndef MINIRTC_CLOCK_H
#define MINIRTC_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds on the monotonic clock: the core's 'now'. */
static inline uint64_t
clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif
