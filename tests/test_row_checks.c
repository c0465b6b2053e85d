/* merge and --resume check every row against the matrix (db_table_row_in_plan and the checks
 * around it): each message not pinned elsewhere, from real runs with one field edited at its
 * schema id. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "harness/io/csv_read.h"
#include "harness/io/csv_write.h"
#include "tests/helpers.h"

static char out[1 << 16], err[1 << 16];

struct edit {
    size_t row; /* 1: the first data row */
    enum db_column_id col;
    const char *value;
};

/* Copy the header and the first nrows data rows of src to dst, with the edits applied. */
static void rewrite(const char *src, const char *dst, size_t nrows, const struct edit *e,
                    size_t nedits) {
    struct db_table t;
    char why[256];
    cr_assert_eq(db_table_read(src, &t, why, sizeof why), DB_OK, "%s", why);
    cr_assert_geq(t.nrec, nrows + 1, "%s has %zu rows", src, t.nrec - 1);
    FILE *f = fopen(dst, "w");
    cr_assert_not_null(f);
    for (size_t r = 0; r <= nrows; r++) {
        for (size_t c = 0; c < t.rec[r].nfields; c++) {
            const char *v = t.rec[r].field[c];
            for (size_t k = 0; k < nedits; k++)
                if (e[k].row == r && (size_t)e[k].col == c) v = e[k].value;
            if (c) fputc(',', f);
            db_csv_field(f, v);
        }
        fputc('\n', f);
    }
    fclose(f);
    db_table_free(&t);
}

static void run_ok(const char *const *args) {
    int rc = th_run(args, NULL, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
}

static void expect_error(const char *const *args, const char *needle) {
    int rc = th_run(args, NULL, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 2, "exit %d (stderr: %s)", rc, err);
    cr_assert_eq(th_count_lines(err), 1, "one line: %s", err);
    cr_assert_not_null(strstr(err, needle), "'%s' not in: %s", needle, err);
}

#define FLAGS                                                                                      \
    "-w", "sin", "-s", "probe", "-j", "fwd", "-n", "8,16,32", "--reps", "1", "--min-time", "1e-4", \
        "-q"

static void remove_out(const char *path) {
    char partial[256];
    snprintf(partial, sizeof partial, "%s.partial", path);
    remove(path);
    remove(partial);
}

Test(row_checks, merge_names_the_row_that_does_not_fit) {
    const char *s1[] = {FLAGS, "--shard", "1/2", "--out", "rc_1.csv", NULL};
    const char *s2[] = {FLAGS, "--shard", "2/2", "--out", "rc_2.csv", NULL};
    remove_out("rc_1.csv");
    remove_out("rc_2.csv");
    remove_out("rc_out.csv");
    run_ok(s1);
    run_ok(s2);
    const char *merge[] = {"merge", "rc_1.csv", "rc_x.csv", "-o", "rc_out.csv", NULL};
    struct {
        struct edit e[2];
        size_t nedits, nrows;
        const char *needle;
    } cases[] = {
        {{{1, DB_COL_shard, "1/2"}}, 1, 1, "belongs to shard 2/2, the row says 1/2"},
        {{{1, DB_COL_shard, "2/x"}}, 1, 1, "'rc_x.csv' line 2: bad shard column: invalid --shard"},
        {{{1, DB_COL_git_rev, "elsewhere"}, {1, DB_COL_matrix_id, "0000000000000000"}},
         2,
         1,
         "is from another build (git_rev elsewhere) than 'rc_1.csv'"},
        {{{1, DB_COL_matrix_id, "0000000000000000"}},
         1,
         1,
         "same matrix, but another OpenMP environment or compiler"},
        {{{1, DB_COL_n, "12"}}, 1, 1, "cell sin/jacobian/fwd/probe/n=12/threads="},
        {{{1, DB_COL_workload, "_calibrate"}}, 1, 1, "calibration row (threads="},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rewrite("rc_2.csv", "rc_x.csv", cases[i].nrows, cases[i].e, cases[i].nedits);
        expect_error(merge, cases[i].needle);
        cr_assert(access("rc_out.csv", F_OK) != 0, "nothing written");
    }
    /* No rows at all; a matrix column that does not expand. */
    rewrite("rc_1.csv", "rc_h1.csv", 0, NULL, 0);
    rewrite("rc_2.csv", "rc_h2.csv", 0, NULL, 0);
    const char *empty[] = {"merge", "rc_h1.csv", "rc_h2.csv", "-o", "rc_out.csv", NULL};
    expect_error(empty, "merge: the inputs hold no rows");
    struct edit bad_matrix = {1, DB_COL_matrix, "-n 0"};
    rewrite("rc_2.csv", "rc_x.csv", 1, &bad_matrix, 1);
    const char *only_x[] = {"merge", "rc_x.csv", "-o", "rc_out.csv", NULL};
    expect_error(only_x, "merge: cannot expand the matrix '-n 0' of 'rc_x.csv'");
    remove_out("rc_1.csv");
    remove_out("rc_2.csv");
    remove("rc_x.csv");
    remove("rc_h1.csv");
    remove("rc_h2.csv");
}

Test(row_checks, resume_names_the_row_that_does_not_fit) {
    const char *whole[] = {FLAGS, "--out", "rc_whole.csv", NULL};
    remove_out("rc_whole.csv");
    remove_out("rc_part.csv");
    run_ok(whole);
    const char *resume[] = {FLAGS, "--resume", "rc_part.csv.partial", NULL};
    struct {
        struct edit e[2];
        size_t nedits;
        const char *needle;
    } cases[] = {
        {{{2, DB_COL_n, "12"}}, 1, "line 3: cell sin/jacobian/fwd/probe/n=12/threads="},
        {{{2, DB_COL_workload, "_calibrate"}}, 1, "line 3: calibration row (threads="},
        {{{2, DB_COL_git_rev, "elsewhere"}, {2, DB_COL_matrix_id, "0000000000000000"}},
         2,
         "is from another build: line 3 has git_rev elsewhere"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rewrite("rc_whole.csv", "rc_part.csv.partial", 2, cases[i].e, cases[i].nedits);
        expect_error(resume, cases[i].needle);
        cr_assert(access("rc_part.csv", F_OK) != 0, "nothing finished");
    }
    remove_out("rc_whole.csv");
    remove_out("rc_part.csv");
}
