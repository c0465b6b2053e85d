#include "harness/io/resume.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fail.h"
#include "harness/env/provenance.h"
#include "harness/io/csv_read.h"

static int fail_io(char *err, size_t errlen, const char *what, const char *path) {
    snprintf(err, errlen, "cannot %s '%s': %s", what, path, strerror(errno));
    return DB_E_IO;
}

/* --resume continues a regular file diagbench wrote: a FIFO or device would block or be read
 * once and then appended to (nothing to continue). */
static int check_regular(const char *partial, char *err, size_t errlen) {
    struct stat st;
    if (stat(partial, &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
        return DB_OK; /* db_table_read names the problem */
    return db_fail(err, errlen,
                   "--resume '%s' is not a regular file: expected the OUT.partial file of an "
                   "interrupted run",
                   partial);
}

/* A cut-off last line is what a kill leaves, and is dropped; one holding a bare CR is a file
 * saved with CR line endings (old Mac, some spreadsheets): its rows must not be dropped. */
static int check_torn_tail(const char *partial, const struct db_table *t, char *err,
                           size_t errlen) {
    if (!t->torn || !memchr(t->text + t->complete_len, '\r', t->len - t->complete_len))
        return DB_OK;
    return db_fail(err, errlen,
                   "--resume '%s' has CR line endings (saved by another program?): not a partial "
                   "file diagbench wrote; convert it to LF line endings first",
                   partial);
}

/* Read partial as a diagbench CSV (an empty file, killed before its header, passes). */
static int read_partial(const char *partial, struct db_table *t, char *err, size_t errlen) {
    char why[512];
    DB_CHECK(check_regular(partial, err, errlen));
    int rc = db_table_read(partial, t, why, sizeof why);
    if (rc != DB_OK) { /* a file that cannot be read is a bad --resume value */
        snprintf(err, errlen, "--resume: %s", why);
        return rc == DB_E_NOMEM ? rc : DB_E_INVALID;
    }
    if (t->nrec > 0 && db_table_check_diagbench(t, why, sizeof why) != DB_OK) {
        snprintf(err, errlen, "--resume '%s': %s", partial, why);
        db_table_free(t);
        return DB_E_INVALID;
    }
    if (check_torn_tail(partial, t, err, errlen) != DB_OK) {
        db_table_free(t);
        return DB_E_INVALID;
    }
    return DB_OK;
}

/* What this run must match: the plan's matrix_id and shard, and this build. */
struct expected {
    const char *partial;
    const struct db_plan *plan;
    char shard[32];
    struct db_provenance prov;
};

/* Is the row f (at line) from this matrix, build, OpenMP environment and shard? If not, err
 * says which differs. */
static int check_same_run(const struct expected *x, char **f, size_t line, char *err,
                          size_t errlen) {
    const struct db_plan *plan = x->plan;
    if (strcmp(f[DB_COL_matrix_id], plan->matrix_id) != 0) {
        if (strcmp(f[DB_COL_matrix], plan->matrix) != 0)
            return db_fail(err, errlen,
                           "--resume '%s' is from another matrix: line %zu has '%s', these flags "
                           "give '%s'",
                           x->partial, line, f[DB_COL_matrix], plan->matrix);
        if (strcmp(f[DB_COL_git_rev], x->prov.git_rev) != 0 ||
            strcmp(f[DB_COL_compiler], x->prov.compiler) != 0)
            return db_fail(err, errlen,
                           "--resume '%s' is from another build: line %zu has git_rev %s, this is "
                           "%s (%s)",
                           x->partial, line, f[DB_COL_git_rev], x->prov.git_rev, x->prov.compiler);
        return db_fail(err, errlen,
                       "--resume '%s' was run with another OpenMP environment (line %zu: "
                       "matrix_id %s, here %s): use the same OMP_NUM_THREADS, "
                       "OPENBLAS_NUM_THREADS, OMP_PROC_BIND and OMP_PLACES",
                       x->partial, line, f[DB_COL_matrix_id], plan->matrix_id);
    }
    if (strcmp(f[DB_COL_shard], x->shard) != 0)
        return db_fail(err, errlen,
                       "--resume '%s' holds shard %s (line %zu), this run is --shard %s",
                       x->partial, f[DB_COL_shard], line, x->shard);
    return DB_OK;
}

/* Mark the cell or calibration configuration row f holds as done; err names a row that is not
 * part of this run, or a cell the file holds twice. */
static int mark_done(const struct expected *x, char **f, size_t line, unsigned char *done,
                     unsigned char *calibrated, char *err, size_t errlen) {
    const struct db_plan *plan = x->plan;
    int calibration;
    long at = db_table_row_in_plan(plan, f, &calibration);
    if (calibration) {
        if (at < 0)
            return db_fail(err, errlen,
                           "--resume '%s' line %zu: calibration row (threads=%s, proc_bind=%s, "
                           "places=%s) is not part of this run",
                           x->partial, line, f[DB_COL_threads], f[DB_COL_proc_bind],
                           f[DB_COL_places]);
        if (calibrated) calibrated[at] = 1;
        return DB_OK;
    }
    if (at < 0 || plan->items[at].shard != plan->shard_k)
        return db_fail(err, errlen,
                       "--resume '%s' line %zu: cell %s/%s/%s/%s/n=%s/threads=%s (proc_bind %s, "
                       "places %s) is not part of this run",
                       x->partial, line, f[DB_COL_workload], f[DB_COL_operator], f[DB_COL_jac],
                       f[DB_COL_strategy], f[DB_COL_n], f[DB_COL_threads], f[DB_COL_proc_bind],
                       f[DB_COL_places]);
    if (done[at]) {
        char name[256];
        db_plan_item_name(plan, (size_t)at, name, sizeof name);
        return db_fail(err, errlen, "--resume '%s' line %zu: cell %s appears twice", x->partial,
                       line, name);
    }
    done[at] = 1;
    return DB_OK;
}

/* Check every row of t against this run and mark what it holds. */
static int mark_rows(const struct db_table *t, const struct expected *x, unsigned char *done,
                     unsigned char *calibrated, struct db_resume *info, char *err, size_t errlen) {
    for (size_t i = 1; i < t->nrec; i++) {
        char **f = t->rec[i].field;
        size_t line = t->rec[i].line;
        int rc = check_same_run(x, f, line, err, errlen);
        if (rc == DB_OK) rc = mark_done(x, f, line, done, calibrated, err, errlen);
        if (rc != DB_OK) return rc;
        if (i == 1) snprintf(info->run_id, sizeof info->run_id, "%s", f[DB_COL_run_id]);
        info->rows++;
    }
    return DB_OK;
}

static int resume_open(const char *partial, const struct db_plan *plan, unsigned char *done,
                       unsigned char *calibrated, struct db_csv_file *out, struct db_resume *info,
                       char *err, size_t errlen) {
    memset(info, 0, sizeof *info);
    memset(done, 0, plan->nitems);
    if (calibrated) memset(calibrated, 0, plan->nconfigs);
    struct db_table t;
    int rc = read_partial(partial, &t, err, errlen);
    if (rc != DB_OK) return rc;
    struct expected x = {.partial = partial, .plan = plan};
    snprintf(x.shard, sizeof x.shard, "%u/%u", plan->shard_k, plan->shard_n);
    db_provenance_collect(&x.prov);
    rc = mark_rows(&t, &x, done, calibrated, info, err, errlen);
    size_t keep = t.complete_len;
    int torn = t.torn, have_header = t.nrec > 0;
    db_table_free(&t);
    if (rc != DB_OK) return rc;
    if (torn) { /* drop the row a kill cut off */
        if (truncate(partial, (off_t)keep) != 0) return fail_io(err, errlen, "truncate", partial);
        info->dropped_torn = 1;
    }
    /* A file killed before its header reached it gets the header first. */
    return db_csv_open_append(out, partial, !have_header, err, errlen);
}

int db_resume_open(const char *partial, const struct db_plan *plan, unsigned char *done,
                   unsigned char *calibrated, struct db_csv_file *out, struct db_resume *info,
                   char *err, size_t errlen) {
    int rc = resume_open(partial, plan, done, calibrated, out, info, err, errlen);
    if (rc != DB_OK) db_visible(err, errlen); /* file names and fields may hold newlines */
    return rc;
}

int db_resume_flags(const char *partial, int nargs, char **args, int has_shard, int *argc,
                    char ***argv, char *err, size_t errlen) {
    struct db_table t;
    char why[512];
    if (check_regular(partial, err, errlen) != DB_OK) return DB_E_INVALID;
    int rc = db_table_read(partial, &t, why, sizeof why);
    if (rc != DB_OK) {
        snprintf(err, errlen, "--resume: %s", why);
        db_visible(err, errlen);
        return rc == DB_E_NOMEM ? rc : DB_E_INVALID;
    }
    if (db_table_check_diagbench(&t, why, sizeof why) != DB_OK || t.nrec < 2) {
        snprintf(err, errlen,
                 "--resume '%s' %s: give the run's flags (e.g. -n SIZES or --matrix NAME) with "
                 "--resume",
                 partial, t.nrec < 2 ? "has no rows to take the flags from" : why);
        db_visible(err, errlen);
        db_table_free(&t);
        return DB_E_INVALID;
    }
    const char *shard = t.rec[1].field[DB_COL_shard];
    int m_argc;
    char **m_argv;
    rc = db_plan_split_args(t.rec[1].field[DB_COL_matrix], &m_argc, &m_argv);
    if (rc != DB_OK) {
        snprintf(err, errlen, "--resume '%s': cannot read its matrix column", partial);
        db_table_free(&t);
        return rc;
    }
    int extra = has_shard || strcmp(shard, "1/1") == 0 ? 0 : 2;
    char **v = calloc((size_t)(m_argc + nargs + extra + 1), sizeof *v);
    if (!v) {
        db_plan_free_args(m_argc, m_argv);
        db_table_free(&t);
        snprintf(err, errlen, "out of memory");
        return DB_E_NOMEM;
    }
    int n = 0;
    for (int i = 0; i < m_argc; i++)
        v[n++] = m_argv[i]; /* moved */
    for (int i = 1; rc == DB_OK && i < nargs; i++)
        if (!(v[n++] = strdup(args[i]))) rc = DB_E_NOMEM;
    if (rc == DB_OK && extra && (!(v[n++] = strdup("--shard")) || !(v[n++] = strdup(shard))))
        rc = DB_E_NOMEM;
    free(m_argv);
    db_table_free(&t);
    if (rc != DB_OK) {
        db_plan_free_args(n, v);
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    *argc = n;
    *argv = v;
    return DB_OK;
}
