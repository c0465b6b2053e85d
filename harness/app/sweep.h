/* Sweeps over -t x --bind x --places: each configuration runs in a child process. */
#ifndef DB_SWEEP_H
#define DB_SWEEP_H

#include "harness/io/csv_write.h"
#include "harness/analysis/summary.h"
#include "harness/plan/plan.h"

/* What a sweep hands its children beyond their cells, and what it learns from them. */
struct db_sweep_report {
    int json_fd;                 /* --json: the fragments the children append to (0: none) */
    unsigned long long start_ns; /* the run's start, for the children's ETA (progress.h) */
    int error_rows; /* out: a child had rows with status error (it exits DB_EXIT_ERROR_ROWS under
                       --fail-on-error) */
};

/* Re-execute argv once per configuration of plan (the cross product -t x --bind x --places),
 * collecting the children's rows into out and sum. sel marks the plan items to run; each child
 * gets its cells as --_cells (configurations with none are skipped), and --_nocal when
 * calibrated[config] (a resumed file holds its calibration rows); and its place in the run's
 * progress as --_position (one numbering over the whole sweep), and rep->json_fd as --_json-fd.
 * Returns 0, 1 when a child failed, or the status of a caught signal (130 / 143). */
int db_sweep(int argc, char **argv, const char *run_id, const struct db_plan *plan,
             const unsigned char *sel, const unsigned char *calibrated, struct db_csv_file *out,
             struct db_summary *sum, struct db_sweep_report *rep);

#endif
