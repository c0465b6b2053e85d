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

/* What the plan's cost model misses, learnt as cells finish: each cell's wall time (from the
 * previous cell's end) is fitted as a x cost + b, a the machine's rate per model nanosecond and
 * b the fixed cost of a cell (minimum time x repetitions, warm-up, a worker's start, the write
 * ceilings timed around it), by least squares with a, b >= 0. Sums only: O(1) per cell. */
struct db_eta_model {
    double n, sc, sd, scc, scd; /* cells, sum cost, sum duration, sum cost^2, sum cost x dur */
};

/* Record one finished cell: its model cost (ns) and its wall time (s). */
void db_eta_model_add(struct db_eta_model *m, double cost_ns, double seconds);

/* Seconds left for cells_left cells of model cost cost_left_ns. With fewer than
 * DB_ETA_MIN_CELLS cells recorded, falls back to db_progress_eta_s (elapsed x cost left / cost
 * done). */
enum { DB_ETA_MIN_CELLS = 3 };
double db_eta_model_left_s(const struct db_eta_model *m, const struct db_progress_position *p,
                           unsigned long long now_ns);

/* Noisy cells (cv above DB_CV_WARN): the first DB_NOISE_SHOWN get a warning under their
 * progress line; the rest are counted and summarised once at the end, so that on a shared
 * machine the warnings do not bury the progress. */
enum { DB_NOISE_SHOWN = 2 };
struct db_noise_tally {
    unsigned cells, noisy; /* cells seen, cells above the threshold */
};

/* Count a cell with coefficient of variation cv against threshold; 1 when its warning is to be
 * printed in full, 0 when it is only counted (or not noisy). */
int db_noise_count(struct db_noise_tally *t, double cv, double threshold);

/* The end-of-run line for the noisy cells not warned about one by one ("" when none). */
void db_noise_summary(const struct db_noise_tally *t, double threshold, char *buf, size_t len);

#endif
