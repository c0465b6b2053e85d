/* Every input libFuzzer ever found a crash with stays a test: the files of tests/fuzz/regressions
 * (and the seed corpus) replay through the fuzz body, whose postconditions abort on a
 * violation; each crash also has a direct test of the behaviour that was wrong. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/env/omp_env.h"
#include "harness/plan/cli.h"
#include "harness/plan/shard.h"
#include "harness/io/csv_read.h"
#include "core/fail.h"
#include "core/status.h"
#include "tests/fuzz/fuzz_one.h"
#include "tests/helpers.h"

/* Replay every file of dir; returns how many. */
static int replay(const char *dir) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s (run the tests from the repository root)", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s", path);
        unsigned char buf[8192];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        db_fuzz_one(buf, len); /* aborts (a crashed test) on a broken postcondition */
        n++;
    }
    closedir(d);
    return n;
}

Test(fuzz, regressions_and_corpus_replay) {
    cr_assert_geq(replay("tests/fuzz/regressions"), 4);
    cr_assert_geq(replay("tests/fuzz/corpus"), 10);
}

/* Found by libFuzzer: a bad value with a newline gave a two-line error. */
Test(fuzz, error_messages_stay_on_one_line) {
    char err[1024];
    struct db_cli cli;
    char *argv[] = {"diagbench", "--ben\nchmark", NULL};
    cr_assert_eq(db_cli_parse(2, argv, &cli, err, sizeof err), DB_E_INVALID);
    cr_assert_null(strchr(err, '\n'), "%s", err);
    cr_assert_not_null(strstr(err, "'--ben\\x0achmark'"), "%s", err);
    cr_assert_not_null(strstr(err, "[shown escaped: \\x0a is line feed]"), "%s", err);
    unsigned k, n;
    cr_assert_eq(db_shard_parse("3*=+3\n", &k, &n, err, sizeof err), DB_E_INVALID);
    cr_assert_null(strchr(err, '\n'), "%s", err);
    struct db_table *t = th_table();
    const char foreign[] = "\"a\nb\",x\n";
    cr_assert_eq(db_table_parse(foreign, sizeof foreign - 1, t, err, sizeof err), DB_OK);
    cr_assert_eq(db_table_check_diagbench(t, err, sizeof err), DB_E_INVALID);
    cr_assert_null(strchr(err, '\n'), "%s", err);
    th_free(t);
    /* And through the binary: exit 2, one line. */
    const char *args[] = {"-n", "10", "--shard", "1/\n2", NULL};
    char out[4096], e2[4096];
    cr_assert_eq(th_run(args, NULL, out, sizeof out, e2, sizeof e2), 2);
    cr_assert_eq(th_count_lines(e2), 1, "%s", e2);
}

/* Issue 24, item 14: a message that quotes text from a file or the command line shows its
 * invisible characters escaped and names them; visible text, ASCII or not, is left as it is. */
Test(messages, invisible_characters_are_escaped_and_named) {
    char m[256];
    snprintf(m, sizeof m, "bad '%s'",
             "a\tb\x1b[2J\xe2\x80\x8b\xc2\xa0\xe2\x80\xae\xef\xbb\xbf\xff");
    db_visible(m, sizeof m);
    cr_assert_str_eq(m, "bad 'a\\x09b\\x1b[2J\\u{200B}\\u{00A0}\\u{202E}\\u{FEFF}\\xff' [shown "
                        "escaped: \\x09 is tab, \\x1b is escape, \\u{200B} is zero-width space, "
                        "\\u{00A0} is no-break space, and others]");
    /* Visible UTF-8 (x, em dash, e acute) and printable ASCII: unchanged, nothing appended. */
    snprintf(m, sizeof m, "4,700\xc3\x97 \xe2\x80\x94 caf\xc3\xa9 ~\\x0a");
    char same[256];
    memcpy(same, m, sizeof m);
    db_visible(m, sizeof m);
    cr_assert_str_eq(m, same);
    /* Overlong, surrogate and truncated sequences are bytes that are not UTF-8. */
    snprintf(m, sizeof m, "'\xc0\xaf' '\xed\xa0\x80' '\xe2\x80'");
    db_visible(m, sizeof m);
    cr_assert_str_eq(m, "'\\xc0\\xaf' '\\xed\\xa0\\x80' '\\xe2\\x80' [shown escaped: \\xc0 is not "
                        "UTF-8, \\xaf is not UTF-8, \\xed is not UTF-8, \\xa0 is not UTF-8, and "
                        "others]");
    /* Escaping twice changes nothing: escapes are visible. */
    snprintf(m, sizeof m, "x\ny");
    db_visible(m, sizeof m);
    memcpy(same, m, sizeof m);
    db_visible(m, sizeof m);
    cr_assert_str_eq(m, same);
    /* A small buffer cuts the message, never inside an escape, and stays terminated. */
    for (size_t cap = 1; cap < 40; cap++) {
        char small[40];
        snprintf(small, cap, "%s", "ab\n\n\n\n\n\n\n\n\ncd");
        db_visible(small, cap);
        cr_assert_lt(strlen(small), cap);
        cr_assert_null(strchr(small, '\n'), "%s", small);
        const char *bs = strrchr(small, '\\');
        if (bs && !strchr(small, '[')) cr_assert_geq(strlen(bs), 4, "cap %zu: %s", cap, small);
    }
    /* Through the binary: a file name with an escape sequence that would clear the terminal. */
    const char *args[] = {"compare", "no-such\x1b[2J.csv", "other.csv", NULL};
    char out[4096], err[4096];
    cr_assert_eq(th_run(args, NULL, out, sizeof out, err, sizeof err), 2);
    cr_assert_null(strchr(err, '\x1b'), "%s", err);
    cr_assert_not_null(strstr(err, "'no-such\\x1b[2J.csv'"), "%s", err);
    cr_assert_not_null(strstr(err, "[shown escaped: \\x1b is escape]"), "%s", err);
}

/* Found by libFuzzer (after the merge with the OMP_* validation): OMP_NUM_THREADS holding a
 * newline gave a multi-line error; every OpenMP environment parser now keeps it on one line. */
Test(fuzz, omp_errors_stay_on_one_line) {
    char err[1024], buf[64];
    int v;
    struct db_places p;
    cr_assert_eq(db_omp_num_threads_parse("\n\a\n", &v, err, sizeof err), DB_E_INVALID);
    cr_assert_null(strpbrk(err, "\n\a"), "%s", err);
    cr_assert_not_null(strstr(err, "OMP_NUM_THREADS '\\x0a\\x07\\x0a'"), "%s", err);
    cr_assert_not_null(strstr(err, "[shown escaped: \\x0a is line feed, \\x07 is bell]"), "%s",
                       err);
    cr_assert_eq(db_omp_proc_bind_parse("clo\nse", buf, sizeof buf, err, sizeof err), DB_E_INVALID);
    cr_assert_null(strchr(err, '\n'), "%s", err);
    cr_assert_eq(db_omp_wait_policy_parse("act\nive", buf, sizeof buf, err, sizeof err),
                 DB_E_INVALID);
    cr_assert_null(strchr(err, '\n'), "%s", err);
    cr_assert_eq(db_openblas_num_threads_parse("x\n", &v, err, sizeof err), DB_E_INVALID);
    cr_assert_null(strchr(err, '\n'), "%s", err);
    cr_assert_eq(db_omp_places_parse("bo\ngus", &p, err, sizeof err), DB_E_INVALID);
    cr_assert_null(strchr(err, '\n'), "%s", err);
}

/* Found by libFuzzer: a digit larger than the maximum wrapped the overflow check, so "5" was
 * accepted for a range of 1..1 (no flag has such a range today; the parser is shared). */
Test(fuzz, whole_numbers_respect_small_maxima) {
    int v[DB_MAX_LIST];
    size_t n;
    char err[256];
    cr_assert_eq(db_parse_ints("1", "-x", 0, 0, v, &n, err, sizeof err), DB_E_INVALID);
    cr_assert_eq(db_parse_ints("5", "-x", 1, 1, v, &n, err, sizeof err), DB_E_INVALID);
    cr_assert_eq(db_parse_ints("9", "-x", 1, 8, v, &n, err, sizeof err), DB_E_INVALID);
    cr_assert_eq(db_parse_ints("8", "-x", 1, 8, v, &n, err, sizeof err), DB_OK);
    cr_assert_eq(v[0], 8);
    cr_assert_eq(db_parse_ints("0", "-x", 0, 0, v, &n, err, sizeof err), DB_OK);
}
