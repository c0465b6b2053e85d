/* Tidy CSV output (RFC 4180, one header line, '.' decimal): the row schema of DESIGN.md plus
 * appended columns, and a crash-safe file writer (OUT.partial, flushed per row, renamed to OUT
 * on success). */
#ifndef DB_CSV_WRITE_H
#define DB_CSV_WRITE_H

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
};

/* The header line (without newline). */
extern const char db_csv_header[];

/* Number of columns in the header. */
size_t db_csv_column_count(void);

/* Write one field with RFC 4180 quoting (quotes only when needed). */
void db_csv_field(FILE *f, const char *s);

/* Write one row (with trailing newline). */
int db_csv_write_row(FILE *f, const struct db_row *r);

/* An output file written as path.partial and renamed on success. */
struct db_csv_file {
    FILE *f;
    char *path, *partial;
};

/* Open path.partial for writing and write the header. On failure (DB_E_IO), errbuf names the
 * path and the reason; nothing is left behind. An existing path.partial (the rows of an
 * unfinished run) is never overwritten: DB_E_IO, continue it with --resume or remove it. path
 * "-" writes to stdout (no rename). */
int db_csv_open(struct db_csv_file *out, const char *path, int header, char *errbuf, size_t errlen);
/* One row as a malloc'd line with its newline (NULL when out of memory): what is appended to
 * the file and handed to the summary, written whole. */
char *db_csv_format_row(const struct db_row *r);
/* Append a formatted line (ours or a child process's), flush it and fsync it (regular files). */
int db_csv_append_line(struct db_csv_file *out, const char *line);
/* fsync and rename path.partial to path. */
int db_csv_commit(struct db_csv_file *out, char *errbuf, size_t errlen);
/* Close without renaming: the finished rows stay readable in path.partial. */
void db_csv_abandon(struct db_csv_file *out);

#endif
