/* One benchmark cell: workload x operator x jac x strategy x n. Checks correctness (diagonal
 * against the exact reference and, for strategies that extract more entries, every extracted
 * entry against the exact reference Jacobian; primitive calls and probe vectors of one
 * extraction), then times the strategy (its extract when it has one) through Google Benchmark. */
#ifndef DB_RUNNER_H
#define DB_RUNNER_H

#include <stddef.h>

#include "../operators/strategy.h"

struct db_cell {
    const struct db_workload *wl;
    const char *op_kind;
    enum db_jac jac;
    const struct db_strategy *strategy;
    size_t n;
};

struct db_run_opts {
    int reps;                      /* repetitions */
    double min_time_s;             /* minimum time per repetition */
    double call_cost_s;            /* per-call cost for workloads that have one; < 0 = default */
    unsigned long long mem_budget; /* bytes a cell may allocate */
    int untagged;                  /* create operators without structural tags */
    int band_set;                  /* --band given: bandwidths of workloads that take them */
    size_t band_lower, band_upper;
    int on_mismatch_fallback; /* probe-checked falls back to materialise on a failed check */
    int warn;                 /* print a warning on stderr when a check fails and falls back */
};

struct db_time_stats {
    double median, mean, min, max, stddev, cv;
};

struct db_cell_result {
    char status[24]; /* ok, unsupported, skipped_memory, error */
    char note[256];  /* the reason when not ok */
    int reps;
    long long iterations;
    struct db_time_stats t;
    double ns_per_element;
    unsigned long long primitive_calls;
    double max_abs_err;                 /* over the diagonal and every extracted entry */
    double call_cost_s;                 /* < 0 when the workload has no per-call cost */
    long long colours;                  /* probe (tangent) vectors applied in one extraction */
    long long colours_lower_bound;      /* most non-zeros in a row (column for jac=bwd) of the true
                                           J; < 0 unknown */
    char write_path[DB_WRITE_PATH_LEN]; /* how an extraction wrote its n x n matrix ("" if it wrote
                                           none) */
    double write_ceiling_s; /* fastest memset / non-temporal fill of that matrix's bytes on the
                               same threads, timed around the cell (NaN: none) */
};

/* Set a result's status and its note (printf-style). */
void db_cell_result_set(struct db_cell_result *r, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* When need exceeds a non-zero budget, mark r skipped_memory (needs X, budget Y) and return 1. */
int db_cell_over_budget(struct db_cell_result *r, unsigned long long need,
                        unsigned long long budget);

/* Median, mean, min, max, sample standard deviation and cv of k > 0 times. */
void db_time_stats_compute(const double *t, int k, struct db_time_stats *s);

/* Largest |a_i - b_i| (NaN anywhere gives +inf, so a NaN can never pass a check). */
double db_max_abs_diff(const double *a, const double *b, size_t n);

/* Bytes a cell needs (inputs, operator setup, strategy workspace); 0 if it cannot be known. */
unsigned long long db_cell_bytes(const struct db_cell *c);

/* Run the cell. Always fills r (status says what happened); returns DB_OK unless r is NULL. */
int db_cell_run(const struct db_cell *c, const struct db_run_opts *o, struct db_cell_result *r);

#endif
