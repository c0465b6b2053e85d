/* The bad input table (tests/bad_inputs.tsv, also docs/reliability.md's "Bad input" section): every
 * case exits with its code and one stderr line holding its message, prints nothing on stdout
 * and leaves no output file (plot.py cases included). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/io/csv_write.h"
#include "harness/io/csv_read.h"
#include "core/status.h"
#include "tests/helpers.h"

#define F "build/bad_inputs"

static char out[1 << 16], err[1 << 16];

static void run_ok(const char *const *args) {
    int rc = th_run(args, NULL, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "fixture run failed (%d): %s", rc, err);
}

static void copy_file(const char *from, const char *to) {
    char *text = th_slurp(from);
    cr_assert_not_null(text, "%s", from);
    th_write_file(to, text);
    th_free(text);
}

/* Rewrite a diagbench CSV with one field of every data row replaced. */
static void replace_field(const char *from, const char *to, const char *column, const char *v) {
    struct db_table *t = th_table();
    char e[512];
    cr_assert_eq(db_table_read(from, t, e, sizeof e), DB_OK, "%s", e);
    int c = db_table_column(t, column);
    FILE *f = fopen(to, "w");
    for (size_t r = 0; r < t->nrec; r++) {
        for (size_t i = 0; i < t->rec[r].nfields; i++) {
            if (i) fputc(',', f);
            db_csv_field(f, r > 0 && (int)i == c ? v : t->rec[r].field[i]);
        }
        fputc('\n', f);
    }
    fclose(f);
    th_free(t);
}

static void remove_fixtures(void) {
    const char *names[] = {"ok.csv",
                           "ok.csv.partial",
                           "s1.csv",
                           "other.csv",
                           "dup.csv",
                           "torn.csv",
                           "foreign.csv",
                           "foreign.csv.partial",
                           "badquote.csv.partial",
                           "empty.csv",
                           "busy.csv.partial",
                           "header.csv.partial",
                           "nocol.csv",
                           "nonnum.csv",
                           "no_ok.csv",
                           "out.csv",
                           "out.csv.partial"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[256];
        snprintf(p, sizeof p, F "/%s", names[i]);
        remove(p);
    }
    rmdir(F "/dir");
    remove(F "/dangling");
    remove(F "/fifo.csv.partial");
    remove(F "/cr.csv.partial");
}

static void make_fixtures(void) {
    mkdir("build", 0755);
    mkdir(F, 0755);
    remove_fixtures();
    mkdir(F "/dir", 0755);
    const char *ok[] = {"-w",     "sin", "-s",         "probe", "-j", "fwd",   "-n",        "10,20",
                        "--reps", "1",   "--min-time", "1e-4",  "-q", "--out", F "/ok.csv", NULL};
    run_ok(ok);
    const char *s1[] = {"-w", "sin",     "-s",     "probe", "-j",         "fwd",
                        "-n", "10,20",   "--reps", "1",     "--min-time", "1e-4",
                        "-q", "--shard", "1/2",    "--out", F "/s1.csv",  NULL};
    run_ok(s1);
    const char *other[] = {"-w", "sin",   "-s",           "probe", "-j",         "fwd",
                           "-n", "30",    "--reps",       "1",     "--min-time", "1e-4",
                           "-q", "--out", F "/other.csv", NULL};
    run_ok(other);
    const char *no_ok[] = {"-w", "nobatch", "-s",           "materialise", "-j",         "fwd",
                           "-n", "10",      "--reps",       "1",           "--min-time", "1e-4",
                           "-q", "--out",   F "/no_ok.csv", NULL};
    run_ok(no_ok);
    copy_file(F "/ok.csv", F "/ok.csv.partial");
    copy_file(F "/ok.csv", F "/dup.csv");
    char *text = th_slurp(F "/ok.csv");
    text[strlen(text) - 20] = 0;
    th_write_file(F "/torn.csv", text);
    char *nl = strchr(text, '\n');
    const char *name = strstr(text, "time_median_s");
    cr_assert(name && name < nl);
    memmove((char *)name + strlen("time_median"), name + strlen("time_median_s"),
            strlen(name + strlen("time_median_s")) + 1); /* rename the column */
    th_write_file(F "/nocol.csv", text);
    th_free(text);
    /* another run's id, so that compare reads its rows instead of refusing a copy of ok.csv */
    replace_field(F "/ok.csv", F "/nonnum.tmp", "time_median_s", "fast");
    replace_field(F "/nonnum.tmp", F "/nonnum.csv", "run_id", "another-run");
    th_write_file(F "/foreign.csv", "a,b,c\n1,2,3\n");
    th_write_file(F "/foreign.csv.partial", "a,b,c\n1,2,3\n");
    char bad[4096];
    snprintf(bad, sizeof bad, "%s\nx\"y\n", db_csv_header);
    th_write_file(F "/badquote.csv.partial", bad);
    th_write_file(F "/empty.csv", "");
    snprintf(bad, sizeof bad, "%s\n", db_csv_header);
    th_write_file(F "/header.csv.partial", bad);
    th_write_file(F "/busy.csv.partial", "rows of an unfinished run\n");
    cr_assert_eq(symlink("missing.csv", F "/dangling"), 0, "symlink: %s", strerror(errno));
    cr_assert_eq(mkfifo(F "/fifo.csv.partial", 0644), 0, "mkfifo: %s", strerror(errno));
    char *cr = th_slurp(F "/ok.csv");
    for (char *c = cr; *c; c++)
        if (*c == '\n') *c = '\r'; /* saved with old Mac line endings */
    th_write_file(F "/cr.csv.partial", cr);
    th_free(cr);
}

/* Replace every "$F" in s by the fixture directory. */
static void expand(const char *s, char *dst, size_t len) {
    size_t k = 0;
    for (; *s && k + 1 < len; s++) {
        if (s[0] == '$' && s[1] == 'F') {
            k += (size_t)snprintf(dst + k, len - k, "%s", F);
            s++;
        } else {
            dst[k++] = *s;
        }
    }
    dst[k < len ? k : len - 1] = 0;
}

/* Split at spaces: '' is an empty argument, \s a space, \n a newline. */
static int split_args(char *s, char **argv, int max) {
    int n = 0;
    if (strcmp(s, "-") == 0) return 0;
    for (char *save = NULL, *tok = strtok_r(s, " ", &save); tok && n < max;
         tok = strtok_r(NULL, " ", &save)) {
        if (strcmp(tok, "''") == 0) tok[0] = 0;
        char *o = tok;
        for (char *p = tok; *p; p++) {
            if (p[0] == '\\' && (p[1] == 's' || p[1] == 'n')) {
                *o++ = p[1] == 's' ? ' ' : '\n';
                p++;
            } else {
                *o++ = *p;
            }
        }
        *o = 0;
        argv[n++] = tok;
    }
    return n;
}

Test(bad_inputs, table) {
    make_fixtures();
    FILE *tsv = fopen("tests/bad_inputs.tsv", "r");
    cr_assert_not_null(tsv, "tests/bad_inputs.tsv (run from the repository root)");
    int have_plot = access("plot.py", R_OK) == 0, cases = 0;
    const char *diagbench = getenv("DIAGBENCH");
    char line[8192];
    while (fgets(line, sizeof line, tsv)) {
        line[strcspn(line, "\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        char *col[5], *save = NULL;
        int nc = 0;
        for (char *c = strtok_r(line, "\t", &save); c && nc < 5; c = strtok_r(NULL, "\t", &save))
            col[nc++] = c;
        cr_assert_eq(nc, 5, "malformed line in bad_inputs.tsv: %s", line);
        int is_plot = strcmp(col[0], "plot.py") == 0;
        cr_assert(!is_plot || have_plot,
                  "plot.py is part of the tree: run from the repository root");
        char args_text[4096], want[4096], env_text[256];
        expand(col[1], args_text, sizeof args_text);
        expand(col[4], want, sizeof want);
        snprintf(env_text, sizeof env_text, "%s", col[2]);
        const char *argv[130];
        int argc = 0;
        if (is_plot) argv[argc++] = "plot.py";
        argc += split_args(args_text, (char **)argv + argc, 120);
        argv[argc] = NULL;
        const char *env[] = {env_text, NULL};
        if (is_plot)
            setenv("DIAGBENCH", "/usr/bin/python3", 1);
        else if (diagbench)
            setenv("DIAGBENCH", diagbench, 1);
        else
            unsetenv("DIAGBENCH");
        int rc = th_run(argv, strcmp(env_text, "-") ? env : NULL, out, sizeof out, err, sizeof err);
        cr_expect_eq(rc, atoi(col[3]), "'%s %s': exit %d, expected %s (stderr: %s)", col[0],
                     args_text, rc, col[3], err);
        /* libgomp reads OMP_* before main and may print its own complaint first: then ours must
         * be the last line and the only diagbench: one (as in tests/test_threads.c). */
        const char *ours = err;
        if (strncmp(env_text, "OMP_", 4) == 0) {
            int n = 0;
            for (const char *p = err; (p = strstr(p, "diagbench: ")) != NULL; p++)
                if (p == err || p[-1] == '\n') {
                    n++;
                    ours = p;
                }
            cr_expect_eq(n, 1, "'%s %s': one diagbench: line expected, got: %s", col[0], args_text,
                         err);
            cr_expect_eq(th_count_lines(ours), 1, "'%s %s': ours is not the last line: %s", col[0],
                         args_text, err);
        } else {
            cr_expect_eq(th_count_lines(err), 1, "'%s %s': one stderr line expected, got: %s",
                         col[0], args_text, err);
        }
        cr_expect(strncmp(ours, is_plot ? "plot.py: error:" : "diagbench: ", 11) == 0,
                  "'%s %s': %s", col[0], args_text, err);
        cr_expect_not_null(strstr(err, want), "'%s %s':\n  expected: %s\n  got:      %s", col[0],
                           args_text, want, err);
        cr_expect_eq(out[0], 0, "'%s %s': nothing on stdout, got: %s", col[0], args_text, out);
        cr_expect(access(F "/out.csv", F_OK) != 0 && access(F "/out.csv.partial", F_OK) != 0,
                  "'%s %s' left an output file", col[0], args_text);
        cases++;
    }
    fclose(tsv);
    cr_log_info("bad inputs: %d cases checked", cases);
    cr_assert_geq(cases, 60);
    remove_fixtures();
    rmdir(F);
}
