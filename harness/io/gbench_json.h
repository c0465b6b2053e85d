/* Google Benchmark's JSON format (--json FILE, --benchmark_out=FILE): every cell of a run, across
 * a whole -t / --bind / --places sweep, as Google Benchmark 1.7.1's JSON reporter would write it,
 * so that its compare.py and github-action-benchmark's googlecpp reader take the file as it is.
 *
 * The cells' entries are appended, cell by cell, to a fragments file (one JSON object per line)
 * that a sweep's children inherit as a file descriptor; when the run completes, the parent writes
 * FILE (context + benchmarks) through a temporary file in FILE's directory, renamed over FILE. */
#ifndef DB_GBENCH_JSON_H
#define DB_GBENCH_JSON_H

#include <stddef.h>

#include "harness/bench/cell.h"
#include "harness/env/provenance.h"
#include "harness/plan/plan.h"

/* One cell's entries. */
struct db_json_cell {
    const char *name;    /* see db_json_cell_name */
    size_t family_index; /* the plan item: distinct within the run, the same in every run of it */
    int threads;         /* the OpenMP team's real size */
    const struct db_cell_result *r;
    int aggregates_only; /* --benchmark_report_aggregates_only: no per-repetition entries */
};

/* "sin/jacobian/fwd/probe/n:4000/threads:2/bind:close/places:cores" (Google Benchmark's
 * name/arg:value style): the cell and the configuration it ran in, so that the cells of a sweep
 * keep distinct names. */
void db_json_cell_name(char *buf, size_t len, const char *workload, const char *op, const char *jac,
                       const char *strategy, size_t n, int threads, const char *bind,
                       const char *places);

/* Append the cell's entries to fd, in one write: one "iteration" entry per repetition
 * (repetition_index, real_time and cpu_time in ns per iteration) and, with two repetitions or
 * more, the "aggregate" entries mean, median, stddev and cv (as Google Benchmark computes them);
 * a cell whose status is not ok is one entry with error_occurred and error_message ("status:
 * note") and no times. DB_OK, DB_E_NOMEM or DB_E_IO. */
int db_json_append_cell(int fd, const struct db_json_cell *c);

/* The output file and its fragments. */
struct db_json_out {
    char *path;
    int fd; /* the fragments file (unlinked), inherited by a sweep's children; -1 when closed */
};

/* Check that path can be written (it does not exist, or is a regular file; its directory is
 * writable) and open the fragments file. DB_E_INVALID with one line in err for a path that is not
 * a regular file (a directory, a device, a pipe) or cannot be written. */
int db_json_open(struct db_json_out *j, const char *path, char *err, size_t errlen);

/* The run's provenance for the context block (Google Benchmark's own members come from it). */
struct db_json_context {
    const struct db_provenance *prov;
    const struct db_plan *plan;
    const char *run_id;
};

/* Write path: the context and every entry appended so far, through a temporary file renamed
 * over path. DB_OK, or DB_E_IO / DB_E_NOMEM with err set. Closes j. */
int db_json_commit(struct db_json_out *j, const struct db_json_context *ctx, char *err,
                   size_t errlen);

/* Close without writing path. */
void db_json_close(struct db_json_out *j);

#endif
