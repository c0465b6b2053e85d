/* The benchmark cell, one abstraction for every kind of measurement (a kind table runs them:
 * harness/bench/kinds.h): what to measure, the options it runs with, and its result -- status,
 * times, counts and checks -- which becomes one CSV row. */
#ifndef DB_CELL_H
#define DB_CELL_H

#include <stddef.h>

#include "core/limits.h"
#include "solvers/solve.h"
#include "strategies/strategy.h"

/* What a cell measures; each kind has its run function (harness/bench/kinds.h) and its row. */
enum db_cell_kind {
    DB_CELL_DIAGONAL,    /* extract diag(J) with a strategy (runner.c) */
    DB_CELL_SOLVE,       /* solve:W, one linear solve J x = b with a solve method (downstream.c) */
    DB_CELL_NEWTON,      /* newton:W, a whole Newton multi-root find (downstream.c) */
    DB_CELL_CALIBRATION, /* one of the machine's limits (calibrate.c) */
    DB_CELL_KINDS
};

/* A downstream strategy: how the solve gets at J. */
struct db_solve_method {
    const struct db_strategy *diag; /* diagonal: the diagonal strategy; tridiagonal: the band
                                       strategy (probe-tridiag or materialise); lu: NULL */
    enum db_solver solver;
};

/* One benchmark cell: kind x workload x operator x jac x strategy (or solve method, or
 * calibration kernel) x n. Fields a kind does not use are zero. */
struct db_cell {
    enum db_cell_kind kind;
    const struct db_workload *wl; /* NULL for calibration */
    const char *op_kind;          /* operator kind name (calibration: none) */
    enum db_jac jac;
    const struct db_strategy *strategy; /* diagonal cells */
    struct db_solve_method method;      /* solve and newton cells */
    const char *kernel;                 /* calibration cells: the kernel */
    size_t n;                           /* size (calibration: elements or iterations) */
    size_t lu_max_n; /* solve/newton: lu cells with n above this are skipped_budget (0: none) */
    const char *budget_matrix; /* preset whose time budget set lu_max_n; NULL: --lu-max-n */
};

struct db_run_opts {
    int reps;              /* repetitions */
    double min_time_s;     /* minimum time per repetition */
    double call_cost_s;    /* per-call cost for workloads that have one; < 0 = default */
    double plant_work_s;   /* TEST ONLY --plant-work-ns: busy work in every primitive call (0) */
    double plant_work_pct; /* TEST ONLY --plant-work-pct: busy work per extraction, % of it (0) */
    unsigned long long mem_budget; /* bytes a cell may allocate */
    int untagged;                  /* create operators without structural tags */
    int band_set;                  /* --band given: bandwidths of workloads that take them */
    size_t band_lower, band_upper;
    int on_mismatch_fallback; /* probe-checked falls back to materialise on a failed check */
    int warn;                 /* print a warning on stderr when a check fails and falls back */
    /* --precision PCT: repeat a cell until the 95% CI half-width of its median is at most this %
     * of the median (0: exactly reps repetitions), or until max_time_per_cell_s of timing. */
    double precision_pct;
    double max_time_per_cell_s;
    /* remote workloads (workloads/remote.h): transport, encoding, per-call timeout (0: default) */
    int remote_transport, remote_encoding, remote_timeout_ms;
    /* the worker workload (workloads/worker.h): --worker, --worker-cpus (NULL: none),
     * --worker-threads (0: not set) */
    const char *worker_cmd, *worker_cpus;
    int worker_threads;
};

/* The most samples a row keeps (--reps is at most 1000 too; --precision stops here). */
#define DB_SAMPLES_MAX 1000
/* A sample as %.9g is at most 15 characters ("1.23456789e-05"), plus its ';'. */
#define DB_SAMPLES_LEN (DB_SAMPLES_MAX * 16)
/* --max-time-per-cell's default, seconds of timing per cell under --precision. */
#define DB_DEFAULT_MAX_TIME_PER_CELL 10.0
/* A cell whose coefficient of variation exceeds this gets a warning on the terminal. */
#define DB_CV_WARN 0.10

struct db_time_stats {
    double median, mean, min, max, stddev, cv;
};

struct db_cell_result {
    char status[24]; /* ok, unsupported, skipped_memory, error */
    char note[512];  /* the reason when not ok */
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
    char write_path[DB_WRITE_PATH_LEN]; /* how an extraction wrote its n x n matrix ("" if none) */
    double write_ceiling_s; /* fastest memset / non-temporal fill of that matrix's bytes on the
                               same threads, timed around the cell (NaN: none) */
    /* solve and newton cells (NaN / -1 when not applicable, and on rows that are not ok) */
    double residual;  /* relative residual of the solve(s) */
    int newton_steps; /* newton: steps taken */
    int converged;    /* newton: 1 or 0 */
    /* The repetitions as recorded (db_cell_result_times): samples_s, Tukey outliers, the median's
     * 95% CI half-width in % (NaN below 6 samples), and whether --precision was reached. */
    char samples[DB_SAMPLES_LEN];
    int outliers;
    double median_ci_pct;
    int precision_missed; /* --precision given and the cap came first */
    /* The timed repetitions (reps of them, when timed): wall-clock and CPU seconds per
     * iteration, as Google Benchmark reported them (--json writes them). */
    double rep_s[DB_MAX_REPS], rep_cpu_s[DB_MAX_REPS];
    /* remote workloads: how the worker was reached and its measured ping-pong ("" / NaN: not a
     * remote workload, or the worker never answered) */
    char remote_transport[8], remote_encoding[8];
    double round_trip_s;
    /* the worker workload (workloads/worker.h; "" / NaN / -1: another workload) */
    char worker[64], worker_checks[96], reference[16], worker_cpus[64];
    double worker_compute_s;
    int worker_threads;
};

/* An empty result: no numbers yet (NaN / -1 where empty means not applicable). */
void db_cell_result_init(struct db_cell_result *r);

/* Set a result's status and its note (printf-style). */
void db_cell_result_set(struct db_cell_result *r, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* When need exceeds a non-zero budget, mark r skipped_memory (needs X, budget Y) and return 1. */
int db_cell_over_budget(struct db_cell_result *r, unsigned long long need,
                        unsigned long long budget);

/* Keep Google Benchmark's per-repetition times of a timed cell in r (rep_s, rep_cpu_s; at
 * most DB_MAX_REPS). */
struct db_bench_result;
void db_cell_result_keep_reps(struct db_cell_result *r, const struct db_bench_result *br);
/* The workload parameters the options ask for (bandwidths, remote transport and encoding). */
struct db_workload_params db_run_params(const struct db_run_opts *o);

/* Record a remote or worker instance's transport, encoding and round trip, and a worker's name,
 * checks, reference and placement, in r (nothing for another
 * workload). */
void db_cell_result_remote(struct db_cell_result *r, const struct db_instance *in);

/* Median, mean, min, max, sample standard deviation and cv of k > 0 times. */
void db_time_stats_compute(const double *t, int k, struct db_time_stats *s);

/* Record k > 0 repetition times (seconds per extraction) in r: each rounded to %.9g as samples_s
 * holds it, then reps, the time statistics, outliers and median_ci_pct computed from those
 * rounded values, so the CSV's columns agree exactly with its samples. At most DB_SAMPLES_MAX are
 * kept (the last ones are dropped). */
void db_cell_result_times(struct db_cell_result *r, const double *t, int k);

/* Largest |a_i - b_i| (NaN anywhere gives +inf, so a NaN can never pass a check). */
double db_max_abs_diff(const double *a, const double *b, size_t n);

/* Names a cell's row carries: the workload column ("sin", "solve:sin", "_calibrate"), the
 * strategy column ("probe", "probe+diagonal", the calibration kernel) and the operator column. */
const char *db_cell_workload_name(const struct db_cell *c, char *buf, size_t len);
const char *db_cell_strategy_name(const struct db_cell *c, char *buf, size_t len);
const char *db_cell_operator_name(const struct db_cell *c);

/* "diagonal", "solve", "newton", "calibration"; and a solve method's name ("probe+diagonal"). */
const char *db_cell_kind_name(enum db_cell_kind k);
const char *db_solve_method_name(const struct db_solve_method *m, char *buf, size_t len);

#endif
