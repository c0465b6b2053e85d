/* The repetition loop of diagonal, solve and newton cells: Google Benchmark's repetitions, and
 * with --precision more rounds of them until the median is known well enough (or a time cap). */
#ifndef DB_REPEAT_H
#define DB_REPEAT_H

#include "harness/bench/cell.h"
#include "harness/bench/gbench.h"

/* Time body(arg) as db_gbench_run does with o->reps repetitions and o->min_time_s. With
 * o->precision_pct > 0, run further rounds of o->reps repetitions while the distribution-free
 * 95% CI of the median (core/stats.h db_stats_median_ci; undefined below 6 samples) is wider
 * than precision_pct % of the median on either side, until DB_SAMPLES_MAX samples or until
 * o->max_time_per_cell_s seconds (wall clock, checked between rounds, so a cell may overrun
 * it by one round) have been spent timing. br holds every round's repetitions in run order
 * (free with db_bench_result_free). *missed is 1 when --precision was given and not reached.
 * Returns db_gbench_run's status (br->message says why). */
int db_bench_repeat(const char *name, db_bench_body body, void *arg, const struct db_run_opts *o,
                    struct db_bench_result *br, int *missed);

#endif
