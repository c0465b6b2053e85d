/* The CSV schema: one row (struct db_row) and one list of its columns (DB_COLUMNS), from which
 * everything else is derived: the header line and the writer (csv_write.c), the column ids the
 * readers use (DB_COL_*: resume.c, merge.c, summary.c), `diagbench --schema`, and through it
 * plot.py's column list (harness/io/schema.tsv, `make schema`). A new column is one struct member
 * plus one DB_COLUMNS line; it is appended (columns are never reordered: old CSVs stay readable
 * by plot.py, which needs the first 26). */
#ifndef DB_SCHEMA_H
#define DB_SCHEMA_H

#include <stddef.h>
#include <stdio.h>

/* One benchmark cell. Numeric fields are written only when status is "ok". */
struct db_row {
    const char *run_id, *timestamp, *workload, *operator_kind, *jac, *strategy;
    size_t n;
    int threads;
    const char *proc_bind, *places, *status;
    int reps;
    long long iterations;
    double time_median_s, time_mean_s, time_min_s, time_max_s, time_stddev_s, time_cv;
    double ns_per_element;
    unsigned long long primitive_calls;
    double max_abs_err;
    const char *host, *cpu_model, *compiler, *git_rev;
    double call_cost_s; /* appended: per-call cost of the workload; < 0 = not applicable */
    const char *note;   /* appended: why a row is not ok (or a remark), may be empty */
    /* appended (threads under control): */
    const char *bound_cpus;      /* distinct per-thread hwloc cpusets of the team, ';'-joined */
    const char *binding;         /* verified, unbound, mismatch, oversubscribed or unknown */
    const char *omp_wait_policy; /* active, passive or unset */
    const char *hwloc_version;   /* hwloc release, e.g. 2.9.0 */
    const char *openblas_config; /* openblas_get_config() and its parallel mode */
    const char *cpu_governor;    /* CPU frequency governor(s); empty when unreadable */
    /* Appended for downstream rows (workload solve:<w> / newton:<w>). When solver is NULL (the
     * diagonal rows) the four columns are empty; residual, newton_steps and converged are also
     * empty on non-ok rows and when not applicable (NaN / < 0). */
    const char *solver; /* "diagonal" or "lu" */
    double residual;    /* ||J x - b||_inf / (||J||_inf ||x||_inf) against the exact J */
    int newton_steps;   /* newton rows: steps taken */
    int converged;      /* newton rows: 1 or 0 */
    long long colours;  /* appended: probe vectors applied in one extraction; < 0 = empty */
    long long colours_lower_bound; /* appended: most non-zeros in a row of J (column for
                                      jac=bwd); < 0 = empty */

    /* Appended for --resume, --shard and merge (harness/plan.h). */
    const char *shard;     /* "K/N": the slice of the matrix this run covered ("1/1": all) */
    const char *matrix;    /* the matrix and run parameters as canonical flags */
    const char *matrix_id; /* fingerprint of matrix + OpenMP environment + build */
    /* Appended (issue: portable trust): how materialise wrote the n x n matrix, "stream/64"
     * (non-temporal stores, 64 columns per batched call) or "plain/16"; empty when the cell
     * wrote none, and on rows that are not ok. */
    const char *write_path;
    /* Appended with it: seconds to write the same 8 n^2 bytes at the machine's ceiling (the best
     * of memset and a non-temporal fill, timed on the cell's own buffer just before and after
     * it); empty when write_path is. */
    double write_ceiling_s;
    /* Appended (issue 13: decide, not eyeball): the per-repetition seconds per extraction of
     * every timed repetition, in run order, ';'-separated, each %.9g (the time_* columns are
     * computed from exactly these values); empty on rows that are not ok. */
    const char *samples_s;
    int outliers;         /* samples outside Tukey's fences (1.5 IQR); < 0 = empty */
    double median_ci_pct; /* half-width of the 95% CI of the median, % of it; NaN = empty */
    /* Appended (issue 17): remote workloads' transport and encoding, and the median ping-pong
     * with their worker; empty on other rows. */
    const char *remote_transport, *remote_encoding;
    double round_trip_s;
    /* Appended (issue 22): the worker workload's function, verification, reference, compute time
     * and placement; empty on other rows. */
    const char *worker, *worker_checks, *reference;
    double worker_compute_s;
    const char *worker_cpus;
    int worker_threads;
};

/* On which rows a column has a value; on the others it is empty. */
enum db_when {
    DB_ON_EVERY_ROW,
    DB_ON_OK,       /* status is "ok" */
    DB_ON_OK_SOLVE, /* ok and a downstream row (solver set) */
    DB_ON_OK_WROTE, /* ok and the cell wrote an n x n matrix (write_path non-empty) */
};

/* Which values of a numeric column are written; the others leave it empty. */
enum db_keep {
    DB_KEEP_ALL,
    DB_KEEP_FINITE,   /* not NaN or infinite */
    DB_KEEP_NONNEG,   /* >= 0 (a negative value means "not applicable") */
    DB_KEEP_POSITIVE, /* finite and > 0 */
};

/* The columns, in CSV order: X(name, struct db_row member, enum db_when, enum db_keep,
 * description). The kind (text, integer, number) follows from the member's C type. */
#define DB_COLUMNS(X)                                                                              \
    X(run_id, run_id, EVERY_ROW, ALL,                                                              \
      "one id per invocation (UTC time and pid); resumed and merged rows keep it")                 \
    X(timestamp, timestamp, EVERY_ROW, ALL, "ISO 8601 UTC time the cell finished")                 \
    X(workload, workload, EVERY_ROW, ALL,                                                          \
      "the function (solve:W / newton:W downstream; _calibrate for calibration rows)")             \
    X(operator, operator_kind, EVERY_ROW, ALL,                                                     \
      "how the workload is wrapped: jacobian, function, matrix, diagonal, tridiagonal")            \
    X(jac, jac, EVERY_ROW, ALL, "fwd (JVPs) or bwd (VJPs); none for non-Jacobian operators")       \
    X(strategy, strategy, EVERY_ROW, ALL,                                                          \
      "how the diagonal is extracted (the solve method on downstream rows, the kernel on "         \
      "calibration rows)")                                                                         \
    X(n, n, EVERY_ROW, ALL, "size of the operator (elements touched on calibration rows)")         \
    X(threads, threads, EVERY_ROW, ALL,                                                            \
      "OpenMP team size of the process that ran the cell: omp_get_max_threads(), capped by "       \
      "OMP_THREAD_LIMIT")                                                                          \
    X(proc_bind, proc_bind, EVERY_ROW, ALL, "omp_get_proc_bind() of that process")                 \
    X(places, places, EVERY_ROW, ALL, "OMP_PLACES (unset when not set)")                           \
    X(status, status, EVERY_ROW, ALL,                                                              \
      "ok, unsupported, skipped_memory, skipped_budget or error; numeric fields of other rows "    \
      "are empty")                                                                                 \
    X(reps, reps, OK, ALL, "repetitions timed")                                                    \
    X(iterations, iterations, OK, ALL, "iterations per repetition chosen by Google Benchmark")     \
    X(time_median_s, time_median_s, OK, FINITE,                                                    \
      "median over the repetitions of the wall-clock seconds of one extraction")                   \
    X(time_mean_s, time_mean_s, OK, FINITE, "mean over the repetitions, seconds per extraction")   \
    X(time_min_s, time_min_s, OK, FINITE, "fastest repetition, seconds per extraction")            \
    X(time_max_s, time_max_s, OK, FINITE, "slowest repetition, seconds per extraction")            \
    X(time_stddev_s, time_stddev_s, OK, FINITE,                                                    \
      "sample standard deviation over the repetitions, seconds")                                   \
    X(time_cv, time_cv, OK, FINITE, "time_stddev_s / time_mean_s")                                 \
    X(ns_per_element, ns_per_element, OK, FINITE, "time_median_s / n, in nanoseconds")             \
    X(primitive_calls, primitive_calls, OK, ALL,                                                   \
      "workload primitive calls (eval/JVP/VJP, matrix-vector products) of one extraction")         \
    X(max_abs_err, max_abs_err, OK, FINITE,                                                        \
      "max |diag - reference| over the first (untimed) and the last timed extraction")             \
    X(host, host, EVERY_ROW, ALL, "host name")                                                     \
    X(cpu_model, cpu_model, EVERY_ROW, ALL, "CPU model")                                           \
    X(compiler, compiler, EVERY_ROW, ALL, "compiler and optimisation flags of the build")          \
    X(git_rev, git_rev, EVERY_ROW, ALL,                                                            \
      "git revision of the build (-dirty with uncommitted changes)")                               \
    X(call_cost_s, call_cost_s, EVERY_ROW, NONNEG,                                                 \
      "per-call cost of the workload, seconds (empty when it has none)")                           \
    X(note, note, EVERY_ROW, ALL, "why a row is not ok, or a remark")                              \
    X(bound_cpus, bound_cpus, EVERY_ROW, ALL,                                                      \
      "distinct hwloc cpusets the OpenMP team's threads were bound to, ';'-joined")                \
    X(binding, binding, EVERY_ROW, ALL,                                                            \
      "verified, unbound, mismatch, oversubscribed or unknown (checked with hwloc)")               \
    X(omp_wait_policy, omp_wait_policy, EVERY_ROW, ALL,                                            \
      "OMP_WAIT_POLICY: active, passive or unset")                                                 \
    X(hwloc_version, hwloc_version, EVERY_ROW, ALL, "hwloc release")                               \
    X(openblas_config, openblas_config, EVERY_ROW, ALL,                                            \
      "openblas_get_config() and its parallel mode")                                               \
    X(cpu_governor, cpu_governor, EVERY_ROW, ALL,                                                  \
      "CPU frequency governor(s); empty when unreadable")                                          \
    X(solver, solver, EVERY_ROW, ALL, "downstream rows: diagonal or lu (empty on diagonal rows)")  \
    X(residual, residual, OK_SOLVE, FINITE,                                                        \
      "downstream ok rows: ||Jx - b||_inf / (||J||_inf ||x||_inf) against the exact Jacobian")     \
    X(newton_steps, newton_steps, OK_SOLVE, NONNEG, "newton ok rows: steps taken")                 \
    X(converged, converged, OK_SOLVE, NONNEG, "newton ok rows: 1 or 0")                            \
    X(colours, colours, OK, NONNEG, "probe vectors applied to the operator in one extraction")     \
    X(colours_lower_bound, colours_lower_bound, OK, NONNEG,                                        \
      "most non-zeros in a row (column for bwd) of the true Jacobian: the fewest vectors any "     \
      "direct recovery can use")                                                                   \
    X(shard, shard, EVERY_ROW, ALL,                                                                \
      "K/N: the slice of the matrix this row's run covered (1/1: all)")                            \
    X(matrix, matrix, EVERY_ROW, ALL,                                                              \
      "the matrix and every flag that changes rows, as canonical flags")                           \
    X(matrix_id, matrix_id, EVERY_ROW, ALL,                                                        \
      "16 hex digits: fingerprint of matrix, the OpenMP environment not swept, git_rev and "       \
      "compiler")                                                                                  \
    X(write_path, write_path, OK_WROTE, ALL,                                                       \
      "how the cell wrote its n x n matrix: stream/W or plain/W (W columns per batched call); "    \
      "empty when it wrote none")                                                                  \
    X(write_ceiling_s, write_ceiling_s, OK_WROTE, POSITIVE,                                        \
      "seconds to write the same 8n^2 bytes at the machine's ceiling, timed around the cell; "     \
      "empty where write_path is")                                                                 \
    X(samples_s, samples_s, OK, ALL,                                                               \
      "seconds per extraction of every timed repetition, in run order, ';'-separated, %.9g each "  \
      "(the time_* columns are computed from these values)")                                       \
    X(outliers, outliers, OK, NONNEG,                                                              \
      "samples outside Tukey's fences: below Q1 - 1.5 IQR or above Q3 + 1.5 IQR of samples_s")     \
    X(median_ci_pct, median_ci_pct, OK, FINITE,                                                    \
      "half-width of the distribution-free 95% confidence interval of time_median_s (order "       \
      "statistics of samples_s), in % of it: 100 max(median - lo, hi - median) / median; empty "   \
      "with fewer than 6 samples")                                                                 \
    X(remote_transport, remote_transport, EVERY_ROW, ALL,                                          \
      "remote workloads: unix or tcp, how the harness reached its worker process (else empty)")    \
    X(remote_encoding, remote_encoding, EVERY_ROW, ALL,                                            \
      "remote workloads: binary or json (base64 arrays), the requests' encoding (else empty)")     \
    X(round_trip_s, round_trip_s, EVERY_ROW, POSITIVE,                                             \
      "remote workloads: median seconds of an empty request's round trip to the worker, timed "    \
      "when the cell started it (else empty)")                                                     \
    X(worker, worker, EVERY_ROW, ALL,                                                              \
      "worker workload: the function's name from the worker's hello (else empty)")                 \
    X(worker_checks, worker_checks, EVERY_ROW, ALL,                                                \
      "worker workload: the verification before timing: jvp-fd (JVP against central "              \
      "differences), dot (VJP by the dot-product test) or no vjp, tag T ok / refuted or no tag; "  \
      "failed when a check failed (the reason in note)")                                           \
    X(reference, reference, EVERY_ROW, ALL,                                                        \
      "worker workload: max_abs_err's reference diagonal: worker (its exact one, spot-checked "    \
      "against single JVPs) or materialised (n single JVPs, untimed); empty: the workload's own "  \
      "closed form")                                                                               \
    X(worker_compute_s, worker_compute_s, OK, FINITE,                                              \
      "worker workload: mean seconds per extraction the worker reported computing (its own "       \
      "clock, without transport and framing; compare time_mean_s); empty when it does not report") \
    X(worker_cpus, worker_cpus, EVERY_ROW, ALL,                                                    \
      "worker workload: the CPUs the worker was pinned to (--worker-cpus; else empty)")            \
    X(worker_threads, worker_threads, EVERY_ROW, NONNEG,                                           \
      "worker workload: the threads it computes with (its hello, else --worker-threads; else "     \
      "empty)")

/* Column ids, in CSV order: DB_COL_run_id = 0, ..., DB_NCOLUMNS. A CSV whose header passed
 * db_table_check_diagbench has its fields at these indices. */
#define DB_COLUMN_ID(name, member, when, keep, description) DB_COL_##name,
enum db_column_id { DB_COLUMNS(DB_COLUMN_ID) DB_NCOLUMNS };
#undef DB_COLUMN_ID

enum db_kind { DB_KIND_TEXT, DB_KIND_INTEGER, DB_KIND_NUMBER };

/* The C type of the struct db_row member a column is read from. */
enum db_ctype { DB_CT_TEXT, DB_CT_SIZE, DB_CT_INT, DB_CT_LLONG, DB_CT_ULLONG, DB_CT_DOUBLE };

struct db_column {
    const char *name;
    enum db_kind kind;
    const char *description;
    size_t offset; /* offsetof(struct db_row, member) */
    enum db_ctype ctype;
    enum db_when when;
    enum db_keep keep;
};

/* The table, DB_NCOLUMNS entries, indexed by enum db_column_id. */
extern const struct db_column db_schema[DB_NCOLUMNS];

/* "text", "integer" or "number". */
const char *db_kind_name(enum db_kind kind);

/* The id of the column called name, or -1. */
int db_schema_index(const char *name);

/* Bytes a formatted numeric value needs (with its NUL). */
#define DB_VALUE_MAX 32

/* The value of column c in row r as the CSV holds it, before quoting: a text member itself (""
 * for NULL), a number formatted into buf (DB_VALUE_MAX bytes), or "" where the column is empty
 * (see enum db_when and enum db_keep). */
const char *db_column_value(const struct db_column *c, const struct db_row *r,
                            char buf[DB_VALUE_MAX]);

/* `diagbench --schema`: one line per column, name, kind and description tab-separated. */
int db_schema_print(FILE *f);

#endif
