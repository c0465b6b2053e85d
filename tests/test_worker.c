/* The external worker workload (docs/PROTOCOL.md, "Version 2: external workers"). So far: the
 * --worker command line split into argv without a shell. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "workloads/worker_argv.h"

static void expect_split(const char *s, int n, const char *const *want) {
    char **argv;
    int got = db_worker_split_argv(s, &argv);
    cr_assert_eq(got, n, "split of [%s] gave %d words, want %d", s, got, n);
    for (int i = 0; i < n; i++)
        cr_expect_str_eq(argv[i], want[i], "word %d of [%s]", i, s);
    cr_expect_null(argv[n]);
    free(argv);
}

Test(worker, split_words_quotes_and_escapes) {
    expect_split("prog", 1, (const char *const[]){"prog"});
    expect_split("  a\tb  c ", 3, (const char *const[]){"a", "b", "c"});
    expect_split("py 'a b' \"c d\"", 3, (const char *const[]){"py", "a b", "c d"});
    expect_split("x 'it\"s' \"say \\\"hi\\\" \\n\"", 3,
                 (const char *const[]){"x", "it\"s", "say \"hi\" \\n"});
    expect_split("a\\ b c'd'\"e\"", 2, (const char *const[]){"a b", "cde"});
    expect_split("'' \"\"", 2, (const char *const[]){"", ""});
    expect_split("$HOME *.py >out", 3, (const char *const[]){"$HOME", "*.py", ">out"});
}

Test(worker, split_refuses_unterminated_and_empty) {
    char **argv = (char **)1;
    cr_expect_eq(db_worker_split_argv("prog 'open", &argv), -1);
    cr_expect_null(argv);
    cr_expect_eq(db_worker_split_argv("prog \"open", &argv), -1);
    cr_expect_eq(db_worker_split_argv("prog \\", &argv), -1);
    cr_expect_eq(db_worker_split_argv("   ", &argv), -2);
    cr_expect_null(argv);
}
