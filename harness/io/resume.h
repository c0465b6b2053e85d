/* --resume OUT.partial: continue an interrupted run. The partial file must come from the same
 * matrix, run parameters, OpenMP environment, build and shard (its matrix_id and shard columns
 * say so); its rows are kept as they are, a torn last row (SIGKILL mid-write) is dropped, and
 * only the cells it lacks are run and appended. The resumed rows keep the run_id of the
 * interrupted run, so the finished file reads as one run. */
#ifndef DB_RESUME_H
#define DB_RESUME_H

#include <stddef.h>

#include "harness/io/csv_write.h"
#include "harness/plan/plan.h"

struct db_resume {
    size_t rows;      /* rows found in the partial file */
    int dropped_torn; /* an incomplete last row was removed */
    char run_id[64];  /* run_id of its rows ("" when it has none) */
};

/* Validate partial against the plan, mark done[i] = 1 for every item it holds (done has
 * plan->nitems entries), truncate a torn last row, and open it for appending in out (renamed to
 * the name without .partial on commit). DB_E_INVALID: unreadable, another matrix, parameters or
 * shard, duplicate or foreign cells, malformed CSV; DB_E_IO: cannot be truncated or appended
 * to. err names the file and what differs. */
/* The flags of the run that left partial (for `diagbench --resume FILE.partial` alone): its
 * matrix column, split, then the flags given now (args[1..nargs-1]), then --shard K/N from its
 * shard column unless has_shard. *argv (malloc'd) is freed with db_plan_free_args. */
int db_resume_flags(const char *partial, int nargs, char **args, int has_shard, int *argc,
                    char ***argv, char *err, size_t errlen);

/* calibrated (plan->nconfigs entries, or NULL) gets 1 for every configuration whose calibration
 * rows the file already holds (they are kept; that configuration is not calibrated again). */
int db_resume_open(const char *partial, const struct db_plan *plan, unsigned char *done,
                   unsigned char *calibrated, struct db_csv_file *out, struct db_resume *info,
                   char *err, size_t errlen);

#endif
