#include "harness/io/resume.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/env/provenance.h"
#include "harness/io/csv_read.h"

static int fail_io(char *err, size_t errlen, const char *what, const char *path) {
    snprintf(err, errlen, "cannot %s '%s': %s", what, path, strerror(errno));
    return DB_E_IO;
}

static int resume_open(const char *partial, const struct db_plan *plan, unsigned char *done,
                       unsigned char *calibrated, struct db_csv_file *out, struct db_resume *info,
                       char *err, size_t errlen) {
    memset(info, 0, sizeof *info);
    memset(done, 0, plan->nitems);
    if (calibrated) memset(calibrated, 0, plan->nconfigs);
    struct db_table t;
    char why[512];
    int rc = db_table_read(partial, &t, why, sizeof why);
    if (rc != DB_OK) { /* a file that cannot be read is a bad --resume value */
        snprintf(err, errlen, "--resume: %s", why);
        return rc == DB_E_NOMEM ? rc : DB_E_INVALID;
    }
    if (t.nrec > 0 && db_table_check_diagbench(&t, why, sizeof why) != DB_OK) {
        snprintf(err, errlen, "--resume '%s': %s", partial, why);
        db_table_free(&t);
        return DB_E_INVALID;
    }
    int c_wl = db_table_column(&t, "workload"), c_op = db_table_column(&t, "operator"),
        c_jac = db_table_column(&t, "jac"), c_st = db_table_column(&t, "strategy"),
        c_n = db_table_column(&t, "n"), c_t = db_table_column(&t, "threads"),
        c_pb = db_table_column(&t, "proc_bind"), c_pl = db_table_column(&t, "places"),
        c_id = db_table_column(&t, "matrix_id"), c_m = db_table_column(&t, "matrix"),
        c_sh = db_table_column(&t, "shard"), c_run = db_table_column(&t, "run_id"),
        c_git = db_table_column(&t, "git_rev"), c_cc = db_table_column(&t, "compiler");
    char shard[32];
    snprintf(shard, sizeof shard, "%u/%u", plan->shard_k, plan->shard_n);
    struct db_provenance prov;
    db_provenance_collect(&prov);
    rc = DB_OK;
    for (size_t i = 1; i < t.nrec && rc == DB_OK; i++) {
        char **f = t.rec[i].field;
        size_t line = t.rec[i].line;
        if (strcmp(f[c_id], plan->matrix_id) != 0) {
            if (strcmp(f[c_m], plan->matrix) != 0)
                snprintf(err, errlen,
                         "--resume '%s' is from another matrix: line %zu has '%s', these flags "
                         "give '%s'",
                         partial, line, f[c_m], plan->matrix);
            else if (strcmp(f[c_git], prov.git_rev) != 0 || strcmp(f[c_cc], prov.compiler) != 0)
                snprintf(err, errlen,
                         "--resume '%s' is from another build: line %zu has git_rev %s, this is "
                         "%s (%s)",
                         partial, line, f[c_git], prov.git_rev, prov.compiler);
            else
                snprintf(err, errlen,
                         "--resume '%s' was run with another OpenMP environment (line %zu: "
                         "matrix_id %s, here %s): use the same OMP_NUM_THREADS, "
                         "OPENBLAS_NUM_THREADS, OMP_PROC_BIND and OMP_PLACES",
                         partial, line, f[c_id], plan->matrix_id);
            rc = DB_E_INVALID;
            break;
        }
        if (strcmp(f[c_sh], shard) != 0) {
            snprintf(err, errlen, "--resume '%s' holds shard %s (line %zu), this run is --shard %s",
                     partial, f[c_sh], line, shard);
            rc = DB_E_INVALID;
            break;
        }
        if (db_plan_is_calibration(f[c_wl])) {
            long cfg = db_plan_config_find(plan, f[c_t], f[c_pb], f[c_pl]);
            if (cfg < 0 || !plan->calibrate) {
                snprintf(err, errlen,
                         "--resume '%s' line %zu: calibration row (threads=%s, proc_bind=%s, "
                         "places=%s) is not part of this run",
                         partial, line, f[c_t], f[c_pb], f[c_pl]);
                rc = DB_E_INVALID;
                break;
            }
            if (calibrated) calibrated[cfg] = 1;
            if (i == 1) snprintf(info->run_id, sizeof info->run_id, "%s", f[c_run]);
            info->rows++;
            continue;
        }
        long item = db_plan_find(plan, f[c_wl], f[c_op], f[c_jac], f[c_st], f[c_n], f[c_t], f[c_pb],
                                 f[c_pl]);
        if (item < 0 || plan->items[item].shard != plan->shard_k) {
            snprintf(err, errlen,
                     "--resume '%s' line %zu: cell %s/%s/%s/%s/n=%s/threads=%s (proc_bind %s, "
                     "places %s) is not part of this run",
                     partial, line, f[c_wl], f[c_op], f[c_jac], f[c_st], f[c_n], f[c_t], f[c_pb],
                     f[c_pl]);
            rc = DB_E_INVALID;
            break;
        }
        if (done[item]) {
            char name[256];
            db_plan_item_name(plan, (size_t)item, name, sizeof name);
            snprintf(err, errlen, "--resume '%s' line %zu: cell %s appears twice", partial, line,
                     name);
            rc = DB_E_INVALID;
            break;
        }
        done[item] = 1;
        if (i == 1) snprintf(info->run_id, sizeof info->run_id, "%s", f[c_run]);
        info->rows++;
    }
    size_t keep = t.complete_len;
    int torn = t.torn, have_header = t.nrec > 0;
    db_table_free(&t);
    if (rc != DB_OK) return rc;

    if (torn) {
        if (truncate(partial, (off_t)keep) != 0) return fail_io(err, errlen, "truncate", partial);
        info->dropped_torn = 1;
    }
    memset(out, 0, sizeof *out);
    size_t len = strlen(partial) - strlen(".partial");
    out->partial = strdup(partial);
    out->path = strndup(partial, len);
    if (!out->partial || !out->path) {
        free(out->partial);
        free(out->path);
        memset(out, 0, sizeof *out);
        snprintf(err, errlen, "out of memory");
        return DB_E_NOMEM;
    }
    out->f = fopen(partial, "a");
    if (!out->f) {
        rc = fail_io(err, errlen, "append to", partial);
        db_csv_abandon(out);
        return rc;
    }
    setvbuf(out->f, NULL, _IOFBF, 1 << 16);
    if (!have_header) { /* killed before the header reached the file */
        fprintf(out->f, "%s\n", db_csv_header);
        if (fflush(out->f) != 0) {
            rc = fail_io(err, errlen, "write", partial);
            db_csv_abandon(out);
            return rc;
        }
    }
    return DB_OK;
}

int db_resume_open(const char *partial, const struct db_plan *plan, unsigned char *done,
                   unsigned char *calibrated, struct db_csv_file *out, struct db_resume *info,
                   char *err, size_t errlen) {
    int rc = resume_open(partial, plan, done, calibrated, out, info, err, errlen);
    if (rc != DB_OK) db_one_line(err); /* file names and fields may hold newlines */
    return rc;
}

int db_resume_flags(const char *partial, int nargs, char **args, int has_shard, int *argc,
                    char ***argv, char *err, size_t errlen) {
    struct db_table t;
    char why[512];
    int rc = db_table_read(partial, &t, why, sizeof why);
    if (rc != DB_OK) {
        snprintf(err, errlen, "--resume: %s", why);
        db_one_line(err);
        return rc == DB_E_NOMEM ? rc : DB_E_INVALID;
    }
    if (db_table_check_diagbench(&t, why, sizeof why) != DB_OK || t.nrec < 2) {
        snprintf(err, errlen,
                 "--resume '%s' %s: give the run's flags (e.g. -n SIZES or --matrix NAME) with "
                 "--resume",
                 partial, t.nrec < 2 ? "has no rows to take the flags from" : why);
        db_one_line(err);
        db_table_free(&t);
        return DB_E_INVALID;
    }
    const char *shard = t.rec[1].field[db_table_column(&t, "shard")];
    int m_argc;
    char **m_argv;
    rc = db_plan_split_args(t.rec[1].field[db_table_column(&t, "matrix")], &m_argc, &m_argv);
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
