/* The one number format (core/format.h) against every row of tests/number_format.tsv, the table
 * plot.py's test reads too; then the cases the table leaves open. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/format.h"
#include "tests/helpers.h"

/* One row: kind, input, expected; fails the test when the formatter disagrees. */
static void check_row(const char *kind, char *input, const char *want, size_t line) {
    char got[128];
    if (strcmp(kind, "ratio") == 0) {
        db_fmt_ratio(strtod(input, NULL), got, sizeof got);
    } else if (strcmp(kind, "number") == 0) {
        db_fmt_number3(strtod(input, NULL), got, sizeof got);
    } else if (strcmp(kind, "time") == 0) {
        db_fmt_time(strtod(input, NULL), got, sizeof got);
    } else if (strcmp(kind, "count") == 0) {
        char *comma = strchr(input, ',');
        cr_assert_not_null(comma, "line %zu: count input is k,noun", line);
        *comma = 0;
        db_fmt_count(strtoull(input, NULL, 10), comma + 1, got, sizeof got);
    } else if (strcmp(kind, "slope") == 0) {
        char *end;
        double slope = strtod(input, &end);
        cr_assert_eq(*end, ',', "line %zu: slope input is slope,halfwidth,sizes", line);
        double half = strtod(end + 1, &end);
        cr_assert_eq(*end, ',', "line %zu: slope input is slope,halfwidth,sizes", line);
        db_fmt_slope(slope, half, (size_t)strtoull(end + 1, NULL, 10), got, sizeof got);
    } else {
        cr_assert_fail("line %zu: unknown kind '%s' (a formatter is missing)", line, kind);
    }
    cr_assert_str_eq(got, want, "tests/number_format.tsv line %zu: %s %s", line, kind, input);
}

static void close_file(void *f) {
    fclose(f);
}

Test(format, every_row_of_the_shared_table) {
    FILE *f = fopen("tests/number_format.tsv", "r");
    cr_assert_not_null(f, "tests/number_format.tsv (run from the repository root)");
    th_own(f, close_file);
    char buf[512];
    size_t line = 0, rows = 0, kinds[5] = {0};
    const char *kind_names[5] = {"ratio", "count", "time", "slope", "number"};
    while (fgets(buf, sizeof buf, f)) {
        line++;
        buf[strcspn(buf, "\n")] = 0;
        if (buf[0] == '#' || buf[0] == 0) continue;
        char *kind = buf, *input = strchr(buf, '\t');
        cr_assert_not_null(input, "line %zu: three tab-separated fields", line);
        *input++ = 0;
        char *want = strchr(input, '\t');
        cr_assert_not_null(want, "line %zu: three tab-separated fields", line);
        *want++ = 0;
        check_row(kind, input, want, line);
        for (int k = 0; k < 5; k++)
            kinds[k] += strcmp(kind, kind_names[k]) == 0;
        rows++;
    }
    for (int k = 0; k < 5; k++)
        cr_assert(kinds[k] > 0, "no %s row in the table", kind_names[k]);
    cr_assert_geq(rows, 20, "the table has %zu rows", rows);
}

/* What the table leaves open, decided here the way its rules read. */
Test(format, edges) {
    char b[128];
    /* a duration that rounds to 1000 of a unit is shown in the next one */
    cr_assert_str_eq(db_fmt_time(999.9e-9, b, sizeof b), "1 \xc2\xb5s");
    cr_assert_str_eq(db_fmt_time(0.9996, b, sizeof b), "1 s");
    cr_assert_str_eq(db_fmt_time(0, b, sizeof b), "0 ns");
    cr_assert_str_eq(db_fmt_time(4321.4, b, sizeof b), "4321 s");
    cr_assert_str_eq(db_fmt_time(-1, b, sizeof b), "-");
    cr_assert_str_eq(db_fmt_ratio(0, b, sizeof b), "-");
    cr_assert_str_eq(db_fmt_ratio(-3, b, sizeof b), "-");
    cr_assert_str_eq(db_fmt_ratio(1e21, b, sizeof b), "1,000,000,000,000,000,000,000\xc3\x97");
    cr_assert_str_eq(db_fmt_ratio(99.94, b, sizeof b), "99.9\xc3\x97");
    /* three significant digits however small: a speedup's inverse never prints as 0.00 */
    cr_assert_str_eq(db_fmt_ratio(2.13e-9, b, sizeof b), "0.00000000213\xc3\x97");
    cr_assert_str_eq(db_fmt_number3(9.996, b, sizeof b), "10.00");
    cr_assert_str_eq(db_fmt_slope(2.0, 0.1, 3, b, sizeof b), "2.00 \xc2\xb1 0.10 (3 sizes)");
    cr_assert_str_eq(db_fmt_slope(2.0, 0.1, 2, b, sizeof b), "2.00 (2 sizes, no CI)");
    cr_assert_str_eq(db_fmt_slope(NAN, NAN, 0, b, sizeof b), "- (0 sizes)");
    cr_assert_str_eq(db_fmt_count(11, "cell", b, sizeof b), "11 cells");
    /* truncation keeps a NUL-terminated prefix */
    cr_assert_str_eq(db_fmt_ratio(1234567, b, 6), "1,234");
    cr_assert_eq(db_fmt_width("2,212\xc3\x97"), 6);
    cr_assert_eq(db_fmt_width("1.98 \xc2\xb1 0.03 (5 sizes)"), 21);
}
