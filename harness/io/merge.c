#include "harness/io/merge.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

enum { C_WL, C_OP, C_JAC, C_ST, C_N, C_T, C_ID, C_M, C_SH, C_GIT, C_PB, C_PL, C_NCOLS };
static const char *const col_names[C_NCOLS] = {"workload", "operator", "jac",       "strategy",
                                               "n",        "threads",  "matrix_id", "matrix",
                                               "shard",    "git_rev",  "proc_bind", "places"};

static void cell_text(char **f, const int *col, char *buf, size_t len) {
    snprintf(buf, len, "%s/%s/%s/%s/n=%s/threads=%s", f[col[C_WL]], f[col[C_OP]], f[col[C_JAC]],
             f[col[C_ST]], f[col[C_N]], f[col[C_T]]);
}

/* Everything after reading the inputs: consistency, plan, coverage, output. */
static int merge_tables(const struct db_merge_args *a, struct db_table *tab, size_t *rows_out,
                        char *err, size_t errlen) {
    int col[C_NCOLS];
    for (int c = 0; c < C_NCOLS; c++)
        col[c] = db_table_column(&tab[0], col_names[c]);

    /* The first row sets the matrix; every other row must agree. */
    int rf = -1;
    for (int i = 0; i < a->nfiles && rf < 0; i++)
        if (tab[i].nrec > 1) rf = i;
    if (rf < 0) return db_fail(err, errlen, "merge: the inputs hold no rows");
    char **ref = tab[rf].rec[1].field;
    unsigned k, nshards;
    char why[256];
    if (db_shard_parse(ref[col[C_SH]], &k, &nshards, why, sizeof why) != DB_OK)
        return db_fail(err, errlen, "merge: '%s' line %zu: bad shard column: %s", a->files[rf],
                       tab[rf].rec[1].line, why);
    for (int i = 0; i < a->nfiles; i++)
        for (size_t r = 1; r < tab[i].nrec; r++) {
            char **f = tab[i].rec[r].field;
            size_t line = tab[i].rec[r].line;
            if (strcmp(f[col[C_ID]], ref[col[C_ID]]) != 0) {
                if (strcmp(f[col[C_M]], ref[col[C_M]]) != 0)
                    return db_fail(err, errlen,
                                   "merge: '%s' line %zu is from another matrix ('%s') than '%s' "
                                   "('%s')",
                                   a->files[i], line, f[col[C_M]], a->files[rf], ref[col[C_M]]);
                if (strcmp(f[col[C_GIT]], ref[col[C_GIT]]) != 0)
                    return db_fail(err, errlen,
                                   "merge: '%s' line %zu is from another build (git_rev %s) than "
                                   "'%s' (git_rev %s)",
                                   a->files[i], line, f[col[C_GIT]], a->files[rf], ref[col[C_GIT]]);
                return db_fail(err, errlen,
                               "merge: '%s' line %zu has matrix_id %s, '%s' has %s: same matrix, "
                               "but another OpenMP environment or compiler",
                               a->files[i], line, f[col[C_ID]], a->files[rf], ref[col[C_ID]]);
            }
            unsigned kk, nn;
            if (db_shard_parse(f[col[C_SH]], &kk, &nn, why, sizeof why) != DB_OK)
                return db_fail(err, errlen, "merge: '%s' line %zu: bad shard column: %s",
                               a->files[i], line, why);
            if (nn != nshards)
                return db_fail(
                    err, errlen,
                    "merge: '%s' line %zu is shard %s, '%s' has shards of %u: all inputs "
                    "must come from one --shard K/N split",
                    a->files[i], line, f[col[C_SH]], a->files[rf], nshards);
        }

    /* Expand the matrix the rows name into its cells and shards. */
    int targc;
    char **targv;
    if (db_plan_split_args(ref[col[C_M]], &targc, &targv) != DB_OK)
        return db_fail(err, errlen, "merge: '%s': cannot read the matrix column '%s'", a->files[rf],
                       ref[col[C_M]]);
    struct db_cli cli;
    struct db_plan plan;
    int rc = db_cli_parse(targc, targv, &cli, why, sizeof why);
    if (rc == DB_OK) {
        cli.shard_k = 1;
        cli.shard_n = nshards;
        rc = db_plan_build(&cli, &plan, why, sizeof why);
    }
    db_plan_free_args(targc, targv);
    if (rc != DB_OK)
        return db_fail(err, errlen, "merge: cannot expand the matrix '%s' of '%s': %s",
                       ref[col[C_M]], a->files[rf], why);

    struct where *seen = malloc((plan.nitems ? plan.nitems : 1) * sizeof *seen);
    if (!seen) {
        db_plan_free(&plan);
        snprintf(err, errlen, "out of memory");
        return DB_E_NOMEM;
    }
    for (size_t i = 0; i < plan.nitems; i++)
        seen[i].file = -1;
    /* Calibration: one set per configuration, from the lowest shard that has one. */
    int *cal_file = malloc((plan.nconfigs ? plan.nconfigs : 1) * sizeof *cal_file);
    unsigned *cal_shard = malloc((plan.nconfigs ? plan.nconfigs : 1) * sizeof *cal_shard);
    if (!cal_file || !cal_shard) {
        free(cal_file);
        free(cal_shard);
        free(seen);
        db_plan_free(&plan);
        snprintf(err, errlen, "out of memory");
        return DB_E_NOMEM;
    }
    for (size_t i = 0; i < plan.nconfigs; i++)
        cal_file[i] = -1;
    rc = DB_OK;
    for (int i = 0; i < a->nfiles && rc == DB_OK; i++)
        for (size_t r = 1; r < tab[i].nrec && rc == DB_OK; r++) {
            char **f = tab[i].rec[r].field;
            size_t line = tab[i].rec[r].line;
            char name[300];
            cell_text(f, col, name, sizeof name);
            unsigned kk, nn;
            db_shard_parse(f[col[C_SH]], &kk, &nn, why, sizeof why);
            if (db_plan_is_calibration(f[col[C_WL]])) {
                long cfg = db_plan_config_find(&plan, f[col[C_T]], f[col[C_PB]], f[col[C_PL]]);
                if (cfg < 0 || !plan.calibrate)
                    rc = db_fail(err, errlen,
                                 "merge: '%s' line %zu: calibration row (threads=%s, proc_bind=%s, "
                                 "places=%s) is not part of the matrix",
                                 a->files[i], line, f[col[C_T]], f[col[C_PB]], f[col[C_PL]]);
                else if (cal_file[cfg] < 0 || kk < cal_shard[cfg]) {
                    cal_file[cfg] = i;
                    cal_shard[cfg] = kk;
                }
                continue;
            }
            long item = db_plan_find(&plan, f[col[C_WL]], f[col[C_OP]], f[col[C_JAC]], f[col[C_ST]],
                                     f[col[C_N]], f[col[C_T]], f[col[C_PB]], f[col[C_PL]]);
            if (item < 0)
                rc = db_fail(err, errlen, "merge: '%s' line %zu: cell %s is not part of the matrix",
                             a->files[i], line, name);
            else if (plan.items[item].shard != kk)
                rc =
                    db_fail(err, errlen,
                            "merge: '%s' line %zu: cell %s belongs to shard %u/%u, the row says %s",
                            a->files[i], line, name, plan.items[item].shard, nshards, f[col[C_SH]]);
            else if (seen[item].file >= 0) {
                db_plan_item_name(&plan, (size_t)item, name, sizeof name);
                rc = db_fail(err, errlen,
                             "merge: cell %s appears twice: '%s' line %zu and '%s' line %zu", name,
                             a->files[seen[item].file],
                             tab[seen[item].file].rec[seen[item].rec].line, a->files[i], line);
            } else
                seen[item] = (struct where){i, r};
        }

    size_t missing = 0, first = 0;
    for (size_t i = 0; rc == DB_OK && i < plan.nitems; i++)
        if (seen[i].file < 0 && missing++ == 0) first = i;
    if (rc == DB_OK && missing) {
        /* Name the missing cells (the first few) and every shard that lacks some. */
        char names[600] = "", shards[200] = "";
        size_t shown = 0;
        unsigned last_shard = 0;
        unsigned char *lacking = calloc(nshards + 1, 1);
        for (size_t i = first; i < plan.nitems; i++) {
            if (seen[i].file >= 0) continue;
            if (lacking) lacking[plan.items[i].shard] = 1;
            if (shown < 4) {
                char nm[256];
                db_plan_item_name(&plan, i, nm, sizeof nm);
                size_t u = strlen(names);
                snprintf(names + u, sizeof names - u, "%s%s", shown ? ", " : "", nm);
                shown++;
            }
        }
        for (unsigned s = 1; lacking && s <= nshards; s++) {
            if (!lacking[s]) continue;
            size_t u = strlen(shards);
            if (u + 24 >= sizeof shards) {
                snprintf(shards + u, sizeof shards - u, ", ...");
                break;
            }
            snprintf(shards + u, sizeof shards - u, "%s%u/%u", last_shard ? ", " : "", s, nshards);
            last_shard = s;
        }
        free(lacking);
        rc = db_fail(err, errlen, "merge: %zu of %zu cells missing (from shard %s): %s%s", missing,
                     plan.nitems, shards, names, missing > shown ? ", ..." : "");
    }

    if (rc == DB_OK && strcmp(a->out, "-") != 0) {
        char partial[4096];
        snprintf(partial, sizeof partial, "%s.partial", a->out);
        if (access(partial, F_OK) == 0)
            rc = db_fail(err, errlen,
                         "merge: '%s' exists (an interrupted merge, or one still running): remove "
                         "it",
                         partial);
    }
    if (rc == DB_OK) {
        struct db_csv_file out;
        rc = db_csv_open(&out, a->out, 1, why, sizeof why);
        if (rc != DB_OK) { /* an unwritable -o is bad usage, as for a run's --out */
            snprintf(err, errlen, "merge: %s", why);
            rc = rc == DB_E_NOMEM ? rc : DB_E_INVALID;
        }
        size_t written = 0;
        for (size_t cfg = 0; rc == DB_OK && cfg < plan.nconfigs; cfg++) {
            /* A configuration's calibration rows come before its cells. */
            if (cal_file[cfg] >= 0) {
                const struct db_table *t = &tab[cal_file[cfg]];
                for (size_t r = 1; rc == DB_OK && r < t->nrec; r++) {
                    char **f = t->rec[r].field;
                    if (!db_plan_is_calibration(f[col[C_WL]]) ||
                        db_plan_config_find(&plan, f[col[C_T]], f[col[C_PB]], f[col[C_PL]]) !=
                            (long)cfg)
                        continue;
                    char *line = strndup(t->text + t->rec[r].offset, t->rec[r].length);
                    rc = line ? db_csv_append_line(&out, line) : DB_E_NOMEM;
                    free(line);
                    written++;
                }
            }
            for (size_t u = 0; rc == DB_OK && u < plan.ncells; u++) {
                size_t i = cfg * plan.ncells + u;
                const struct db_table *t = &tab[seen[i].file];
                const struct db_record *r = &t->rec[seen[i].rec];
                char *line = strndup(t->text + r->offset, r->length);
                rc = line ? db_csv_append_line(&out, line) : DB_E_NOMEM;
                free(line);
                written++;
            }
        }
        if (rc != DB_OK && out.f) {
            snprintf(err, errlen, "merge: writing '%s' failed", a->out);
            if (out.partial) remove(out.partial);
            db_csv_abandon(&out);
        }
        if (rc == DB_OK && (rc = db_csv_commit(&out, why, sizeof why)) != DB_OK)
            snprintf(err, errlen, "merge: %s", why);
        if (rc == DB_OK) *rows_out = written;
    }
    free(cal_file);
    free(cal_shard);
    free(seen);
    db_plan_free(&plan);
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
