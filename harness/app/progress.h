/* Progress on stderr: one numbering over the whole run (a sweep's children continue their
 * parent's count) and an ETA from the plan's cost model, corrected by the time the run has taken
 * so far against what the model predicted for it. */
#ifndef DB_PROGRESS_H
#define DB_PROGRESS_H

#include <stddef.h>

#include "harness/plan/cli.h"

/* CLOCK_MONOTONIC in nanoseconds (one clock for every process of the machine). */
unsigned long long db_progress_now_ns(void);

/* Seconds left: before any cost is done, the model's own prediction (its nanoseconds taken as
 * nanoseconds); after, the elapsed time scaled by the ratio of the cost left to the cost done. */
double db_progress_eta_s(const struct db_progress_position *p, unsigned long long now_ns);

/* "ETA 1m20s", "ETA 45s", "ETA 2h05m" (whole seconds, rounded up). */
void db_progress_format_eta(double seconds, char *buf, size_t len);

#endif
