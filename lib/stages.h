/* stages.h: where ingestion's time goes, for benchmarks (canary import
 * --timings, bench/README.md). The one interface ingest.c and store.c
 * measure through: a read of the monotonic clock at each stage boundary
 * (a vDSO call, tens of nanoseconds, a handful per message) summed per
 * stage. Nothing here changes what a pass does. */
#ifndef CANARY_STAGES_H
#define CANARY_STAGES_H

#include <glib.h>

enum canary_stage {
	CANARY_STAGE_PARSE, /* hashing, looking for a duplicate, parsing, finding the sender */
	CANARY_STAGE_ROUTE, /* routing */
	CANARY_STAGE_SEAL,  /* scrubbing and encrypting */
	CANARY_STAGE_STORE, /* every database write and commit */
	CANARY_STAGE_COUNT
};

/* Microseconds per stage. */
struct canary_stage_times {
	gint64 usec[CANARY_STAGE_COUNT];
};

/* The clock a stage starts from. */
static inline gint64 canary_stage_clock(void)
{
	return g_get_monotonic_time();
}

/* Counts the time since *SINCE to STAGE of TIMES and restarts *SINCE. */
static inline void canary_stage_lap(struct canary_stage_times *times, enum canary_stage stage,
				    gint64 *since)
{
	gint64 now = g_get_monotonic_time();
	times->usec[stage] += now - *since;
	*since = now;
}

/* Adds every stage of PART to SUM. */
static inline void canary_stage_add(struct canary_stage_times *sum,
				    const struct canary_stage_times *part)
{
	for (int s = 0; s < CANARY_STAGE_COUNT; s++)
		sum->usec[s] += part->usec[s];
}

#endif
