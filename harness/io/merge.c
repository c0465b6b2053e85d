#include "harness/io/merge.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/plan/cli.h"
#include "harness/io/csv_write.h"
#include "harness/plan/plan.h"
#include "harness/plan/shard.h"
#include "harness/io/csv_read.h"

int db_merge_parse(int argc, char **argv, struct db_merge_args *a, char *err, size_t errlen) {
    memset(a, 0, sizeof *a);
    a->files = argv;
    int only_files = 0;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (!only_files && strcmp(s, "--") == 0) {
            only_files = 1;
        } else if (!only_files && (strcmp(s, "-o") == 0 || strcmp(s, "--out") == 0)) {
            if (i + 1 >= argc) return db_fail(err, errlen, "merge: %s needs a value", s);
            a->out = argv[++i];
            if (!*a->out) return db_fail(err, errlen, "merge: --out needs a file name");
        } else if (!only_files && strncmp(s, "--out=", 6) == 0) {
            a->out = s + 6;
            if (!*a->out) return db_fail(err, errlen, "merge: --out needs a file name");
        } else if (!only_files && (strcmp(s, "-q") == 0 || strcmp(s, "--quiet") == 0)) {
            a->quiet = 1;
        } else if (!only_files && (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0)) {
            a->help = 1;
            return DB_OK;
        } else if (!only_files && s[0] == '-' && s[1]) {
            return db_fail(err, errlen,
                           "merge: unknown argument '%s' (usage: diagbench merge FILE... -o OUT)",
                           s);
        } else {
            argv[a->nfiles++] = argv[i]; /* compact the file names in place */
        }
    }
    if (a->nfiles == 0)
        return db_fail(err, errlen,
                       "merge: no input files (usage: diagbench merge FILE... -o OUT)");
    if (!a->out)
        return db_fail(err, errlen,
                       "merge: -o OUT is required (usage: diagbench merge FILE... -o OUT)");
    for (int i = 0; i < a->nfiles; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(a->files[i], a->files[j]) == 0)
                return db_fail(err, errlen, "merge: '%s' given twice", a->files[i]);
    return DB_OK;
}

struct where {
    int file; /* -1: not seen */
    size_t rec;
};

/* A merge in progress: the inputs, the matrix their rows name, and where each of its rows was
 * found. */
struct merge {
    const struct db_merge_args *a;
    const struct db_table *tab; /* tab[i]: the rows of a->files[i], checked */
    int rf;                     /* the file of the reference row, the first row of all inputs */
    char **ref;                 /* its fields: every row must agree on the matrix */
    unsigned nshards;
    struct db_plan plan; /* the matrix expanded into its cells (built by expand_matrix) */
    struct where *seen;  /* per item of the plan */
    int *cal_file;       /* per configuration: the file whose calibration rows are kept, or -1 */
    unsigned *cal_shard; /* and that file's shard */
};

static void cell_text(char **f, char *buf, size_t len) {
    snprintf(buf, len, "%s/%s/%s/%s/n=%s/threads=%s", f[DB_COL_workload], f[DB_COL_operator],
             f[DB_COL_jac], f[DB_COL_strategy], f[DB_COL_n], f[DB_COL_threads]);
}

/* The first row of all inputs sets the matrix and the shard count. */
static int find_reference(struct merge *m, char *err, size_t errlen) {
    m->rf = -1;
    for (int i = 0; i < m->a->nfiles && m->rf < 0; i++)
        if (m->tab[i].nrec > 1) m->rf = i;
    if (m->rf < 0) return db_fail(err, errlen, "merge: the inputs hold no rows");
    m->ref = m->tab[m->rf].rec[1].field;
    unsigned k;
    char why[256];
    if (db_shard_parse(m->ref[DB_COL_shard], &k, &m->nshards, why, sizeof why) != DB_OK)
        return db_fail(err, errlen, "merge: '%s' line %zu: bad shard column: %s",
                       m->a->files[m->rf], m->tab[m->rf].rec[1].line, why);
    return DB_OK;
}

/* Does row r of file i come from the reference's matrix, build and OpenMP environment, and from
 * a split into as many shards? */
static int check_same_matrix(const struct merge *m, int i, size_t r, char *err, size_t errlen) {
    char **f = m->tab[i].rec[r].field, **ref = m->ref;
    const char *file = m->a->files[i], *ref_file = m->a->files[m->rf];
    size_t line = m->tab[i].rec[r].line;
    if (strcmp(f[DB_COL_matrix_id], ref[DB_COL_matrix_id]) != 0) {
        if (strcmp(f[DB_COL_matrix], ref[DB_COL_matrix]) != 0)
            return db_fail(err, errlen,
                           "merge: '%s' line %zu is from another matrix ('%s') than '%s' ('%s')",
                           file, line, f[DB_COL_matrix], ref_file, ref[DB_COL_matrix]);
        if (strcmp(f[DB_COL_git_rev], ref[DB_COL_git_rev]) != 0)
            return db_fail(err, errlen,
                           "merge: '%s' line %zu is from another build (git_rev %s) than '%s' "
                           "(git_rev %s)",
                           file, line, f[DB_COL_git_rev], ref_file, ref[DB_COL_git_rev]);
        return db_fail(err, errlen,
                       "merge: '%s' line %zu has matrix_id %s, '%s' has %s: same matrix, but "
                       "another OpenMP environment or compiler",
                       file, line, f[DB_COL_matrix_id], ref_file, ref[DB_COL_matrix_id]);
    }
    unsigned k, n;
    char why[256];
    if (db_shard_parse(f[DB_COL_shard], &k, &n, why, sizeof why) != DB_OK)
        return db_fail(err, errlen, "merge: '%s' line %zu: bad shard column: %s", file, line, why);
    if (n != m->nshards)
        return db_fail(err, errlen,
                       "merge: '%s' line %zu is shard %s, '%s' has shards of %u: all inputs must "
                       "come from one --shard K/N split",
                       file, line, f[DB_COL_shard], ref_file, m->nshards);
    return DB_OK;
}

static int check_one_matrix(const struct merge *m, char *err, size_t errlen) {
    for (int i = 0; i < m->a->nfiles; i++)
        for (size_t r = 1; r < m->tab[i].nrec; r++)
            DB_CHECK(check_same_matrix(m, i, r, err, errlen));
    return DB_OK;
}

/* Expand the matrix the rows name into its cells and shards (m->plan). */
static int expand_matrix(struct merge *m, char *err, size_t errlen) {
    const char *matrix = m->ref[DB_COL_matrix];
    int argc;
    char **argv;
    if (db_plan_split_args(matrix, &argc, &argv) != DB_OK)
        return db_fail(err, errlen, "merge: '%s': cannot read the matrix column '%s'",
                       m->a->files[m->rf], matrix);
    struct db_cli cli;
    char why[256];
    int rc = db_cli_parse(argc, argv, &cli, why, sizeof why);
    if (rc == DB_OK) {
        cli.shard_k = 1;
        cli.shard_n = m->nshards;
        rc = db_plan_build(&cli, &m->plan, why, sizeof why);
    }
    db_plan_free_args(argc, argv);
    if (rc != DB_OK)
        return db_fail(err, errlen, "merge: cannot expand the matrix '%s' of '%s': %s", matrix,
                       m->a->files[m->rf], why);
    return DB_OK;
}

/* Nothing found yet: no cell seen, no calibration set chosen. */
static int start_places(struct merge *m, char *err, size_t errlen) {
    size_t nitems = m->plan.nitems ? m->plan.nitems : 1;
    size_t nconfigs = m->plan.nconfigs ? m->plan.nconfigs : 1;
    m->seen = malloc(nitems * sizeof *m->seen);
    m->cal_file = malloc(nconfigs * sizeof *m->cal_file);
    m->cal_shard = malloc(nconfigs * sizeof *m->cal_shard);
    if (!m->seen || !m->cal_file || !m->cal_shard) {
        snprintf(err, errlen, "out of memory");
        return DB_E_NOMEM;
    }
    for (size_t i = 0; i < m->plan.nitems; i++)
        m->seen[i].file = -1;
    for (size_t i = 0; i < m->plan.nconfigs; i++)
        m->cal_file[i] = -1;
    return DB_OK;
}

/* Place row r of file i: a cell must be the plan's, in its shard, and seen once; calibration
 * keeps one set per configuration, from the lowest shard that has one. */
static int place_row(struct merge *m, int i, size_t r, char *err, size_t errlen) {
    char **f = m->tab[i].rec[r].field;
    const char *file = m->a->files[i];
    size_t line = m->tab[i].rec[r].line;
    unsigned k, n;
    char why[256];
    db_shard_parse(f[DB_COL_shard], &k, &n, why, sizeof why); /* checked by check_same_matrix */
    int calibration;
    long at = db_table_row_in_plan(&m->plan, f, &calibration);
    if (calibration) {
        if (at < 0)
            return db_fail(err, errlen,
                           "merge: '%s' line %zu: calibration row (threads=%s, proc_bind=%s, "
                           "places=%s) is not part of the matrix",
                           file, line, f[DB_COL_threads], f[DB_COL_proc_bind], f[DB_COL_places]);
        if (m->cal_file[at] < 0 || k < m->cal_shard[at]) {
            m->cal_file[at] = i;
            m->cal_shard[at] = k;
        }
        return DB_OK;
    }
    char name[300];
    cell_text(f, name, sizeof name);
    if (at < 0)
        return db_fail(err, errlen, "merge: '%s' line %zu: cell %s is not part of the matrix", file,
                       line, name);
    if (m->plan.items[at].shard != k)
        return db_fail(err, errlen,
                       "merge: '%s' line %zu: cell %s belongs to shard %u/%u, the row says %s",
                       file, line, name, m->plan.items[at].shard, m->nshards, f[DB_COL_shard]);
    const struct where *w = &m->seen[at];
    if (w->file >= 0) {
        db_plan_item_name(&m->plan, (size_t)at, name, sizeof name);
        return db_fail(err, errlen, "merge: cell %s appears twice: '%s' line %zu and '%s' line %zu",
                       name, m->a->files[w->file], m->tab[w->file].rec[w->rec].line, file, line);
    }
    m->seen[at] = (struct where){i, r};
    return DB_OK;
}

static int place_rows(struct merge *m, char *err, size_t errlen) {
    for (int i = 0; i < m->a->nfiles; i++)
        for (size_t r = 1; r < m->tab[i].nrec; r++)
            DB_CHECK(place_row(m, i, r, err, errlen));
    return DB_OK;
}

/* Every shard that lacks cells, "1/3, 3/3" (", ..." when they do not fit). */
static void list_lacking_shards(const struct merge *m, char *shards, size_t len) {
    shards[0] = 0;
    unsigned char *lacking = calloc(m->nshards + 1, 1);
    if (!lacking) return;
    for (size_t i = 0; i < m->plan.nitems; i++)
        if (m->seen[i].file < 0) lacking[m->plan.items[i].shard] = 1;
    unsigned last = 0;
    for (unsigned s = 1; s <= m->nshards; s++) {
        if (!lacking[s]) continue;
        size_t u = strlen(shards);
        if (u + 24 >= len) {
            snprintf(shards + u, len - u, ", ...");
            break;
        }
        snprintf(shards + u, len - u, "%s%u/%u", last ? ", " : "", s, m->nshards);
        last = s;
    }
    free(lacking);
}

/* Name the missing cells (the first few) and every shard that lacks some. */
static int report_missing(const struct merge *m, char *err, size_t errlen) {
    char names[600] = "", shards[200];
    size_t missing = 0;
    for (size_t i = 0; i < m->plan.nitems; i++) {
        if (m->seen[i].file >= 0 || missing++ >= 4) continue;
        char nm[256];
        db_plan_item_name(&m->plan, i, nm, sizeof nm);
        size_t u = strlen(names);
        snprintf(names + u, sizeof names - u, "%s%s", missing > 1 ? ", " : "", nm);
    }
    if (!missing) return DB_OK;
    list_lacking_shards(m, shards, sizeof shards);
    return db_fail(err, errlen, "merge: %zu of %zu cells missing (from shard %s): %s%s", missing,
                   m->plan.nitems, shards, names, missing > 4 ? ", ..." : "");
}

/* Is path the same file as one of the inputs? */
static int is_input(const struct db_merge_args *a, const char *path) {
    struct stat p, f;
    if (stat(path, &p) != 0) return 0;
    for (int i = 0; i < a->nfiles; i++)
        if (stat(a->files[i], &f) == 0 && f.st_dev == p.st_dev && f.st_ino == p.st_ino) return 1;
    return 0;
}

/* OUT.partial is the file merge writes through. As an input it holds rows to keep (often an
 * interrupted run's): say so rather than suggest removing it. Otherwise it is another merge's
 * (running or interrupted): never overwritten. */
static int check_output_free(const struct db_merge_args *a, char *err, size_t errlen) {
    const char *out = a->out;
    if (strcmp(out, "-") == 0) return DB_OK;
    char partial[4096];
    snprintf(partial, sizeof partial, "%s.partial", out);
    if (is_input(a, partial))
        return db_fail(err, errlen,
                       "merge: '%s' is one of the inputs and also the file -o '%s' would be "
                       "written through: give another -o",
                       partial, out);
    if (access(partial, F_OK) == 0)
        return db_fail(err, errlen,
                       "merge: '%s' exists (an interrupted merge, or one still running): remove it",
                       partial);
    return DB_OK;
}

/* Append the raw text of record r of t to out, as it was read. */
static int copy_record(struct db_csv_file *out, const struct db_table *t, size_t r) {
    char *line = strndup(t->text + t->rec[r].offset, t->rec[r].length);
    int rc = line ? db_csv_append_line(out, line) : DB_E_NOMEM;
    free(line);
    return rc;
}

/* The rows in the order an unsharded run writes them: per configuration, its calibration rows
 * (from the chosen file), then its cells. */
static int copy_rows(const struct merge *m, struct db_csv_file *out, size_t *written) {
    const struct db_plan *plan = &m->plan;
    int rc = DB_OK;
    for (size_t cfg = 0; rc == DB_OK && cfg < plan->nconfigs; cfg++) {
        const struct db_table *t = m->cal_file[cfg] >= 0 ? &m->tab[m->cal_file[cfg]] : NULL;
        for (size_t r = 1; rc == DB_OK && t && r < t->nrec; r++) {
            char **f = t->rec[r].field;
            int calibration = db_plan_is_calibration(f[DB_COL_workload]);
            if (!calibration || db_table_row_in_plan(plan, f, &calibration) != (long)cfg) continue;
            rc = copy_record(out, t, r);
            ++*written;
        }
        for (size_t u = 0; rc == DB_OK && u < plan->ncells; u++) {
            const struct where *w = &m->seen[cfg * plan->ncells + u];
            rc = copy_record(out, &m->tab[w->file], w->rec);
            ++*written;
        }
    }
    return rc;
}

/* Write the merged rows to -o atomically (OUT.partial, renamed). */
static int write_merged(const struct merge *m, size_t *rows_out, char *err, size_t errlen) {
    const char *path = m->a->out;
    char why[256];
    struct db_csv_file out;
    int rc = db_csv_open(&out, path, 1, why, sizeof why);
    if (rc != DB_OK) { /* an unwritable -o is bad usage, as for a run's --out */
        snprintf(err, errlen, "merge: %s", why);
        return rc == DB_E_NOMEM ? rc : DB_E_INVALID;
    }
    size_t written = 0;
    rc = copy_rows(m, &out, &written);
    if (rc != DB_OK) {
        char how[1400];
        if (rc == DB_E_IO)
            snprintf(err, errlen, "merge: %s; nothing written to '%s'",
                     db_csv_error(&out, how, sizeof how), path);
        else
            snprintf(err, errlen, "merge: writing '%s' failed: out of memory", path);
        if (out.partial) remove(out.partial);
        db_csv_abandon(&out);
        return rc;
    }
    if ((rc = db_csv_commit(&out, why, sizeof why)) != DB_OK) {
        snprintf(err, errlen, "merge: %s", why);
        return rc;
    }
    *rows_out = written;
    return DB_OK;
}

/* Everything after reading the inputs: consistency, plan, coverage, output. */
static int merge_tables(const struct db_merge_args *a, const struct db_table *tab, size_t *rows_out,
                        char *err, size_t errlen) {
    struct merge m = {.a = a, .tab = tab};
    int rc = find_reference(&m, err, errlen);
    if (rc == DB_OK) rc = check_one_matrix(&m, err, errlen);
    if (rc == DB_OK) rc = expand_matrix(&m, err, errlen);
    if (rc != DB_OK) return rc;
    rc = start_places(&m, err, errlen);
    if (rc == DB_OK) rc = place_rows(&m, err, errlen);
    if (rc == DB_OK) rc = report_missing(&m, err, errlen);
    if (rc == DB_OK) rc = check_output_free(a, err, errlen);
    if (rc == DB_OK) rc = write_merged(&m, rows_out, err, errlen);
    free(m.cal_file);
    free(m.cal_shard);
    free(m.seen);
    db_plan_free(&m.plan);
    return rc;
}

int db_merge_run(const struct db_merge_args *a, size_t *rows_out, char *err, size_t errlen) {
    *rows_out = 0;
    struct db_table *tab = calloc((size_t)a->nfiles, sizeof *tab);
    if (!tab) {
        snprintf(err, errlen, "out of memory");
        return DB_E_NOMEM;
    }
    int rc = DB_OK;
    char why[512];
    for (int i = 0; i < a->nfiles && rc == DB_OK; i++) {
        rc = db_table_read(a->files[i], &tab[i], why, sizeof why);
        if (rc != DB_OK) { /* an unreadable input is a bad argument */
            snprintf(err, errlen, "merge: %s", why);
            rc = rc == DB_E_NOMEM ? rc : DB_E_INVALID;
        } else if (tab[i].torn) {
            rc = db_fail(
                err, errlen,
                "merge: '%s' ends in an incomplete row (a shard killed mid-run?): finish it "
                "with --resume first",
                a->files[i]);
        } else if (db_table_check_diagbench(&tab[i], why, sizeof why) != DB_OK) {
            rc = db_fail(err, errlen, "merge: '%s': %s", a->files[i], why);
        }
    }
    if (rc == DB_OK) rc = merge_tables(a, tab, rows_out, err, errlen);
    for (int i = 0; i < a->nfiles; i++)
        db_table_free(&tab[i]);
    free(tab);
    return rc;
}
