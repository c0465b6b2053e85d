/* The schema (harness/io/schema.h): its ids and names agree, and harness/io/schema.tsv (what
 * plot.py reads) is what `diagbench --schema` prints. The rows it writes: tests/test_csv.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/io/csv_write.h"
#include "harness/io/schema.h"
#include "tests/helpers.h"

Test(schema, ids_names_and_header_agree) {
    cr_assert_eq(db_csv_column_count(), (size_t)DB_NCOLUMNS);
    size_t at = 0;
    for (int c = 0; c < DB_NCOLUMNS; c++) {
        const struct db_column *col = &db_schema[c];
        cr_assert_eq(db_schema_index(col->name), c, "%s: one name, one id", col->name);
        size_t n = strlen(col->name);
        cr_assert(strncmp(db_csv_header + at, col->name, n) == 0, "header column %d", c);
        at += n;
        cr_assert_eq(db_csv_header[at], c + 1 < DB_NCOLUMNS ? ',' : '\0');
        at++;
        cr_assert(*col->description, "%s has a description", col->name);
        cr_assert_null(strpbrk(col->description, "\t\r\n"), "%s: one line, no tab", col->name);
        cr_assert_eq(col->kind == DB_KIND_TEXT, col->ctype == DB_CT_TEXT, "%s", col->name);
    }
    cr_assert_eq(db_schema_index("no_such_column"), -1);
    cr_assert_eq(db_schema_index("operator"), DB_COL_operator);
    cr_assert_eq(db_schema[DB_COL_n].kind, DB_KIND_INTEGER);
    cr_assert_eq(db_schema[DB_COL_time_median_s].kind, DB_KIND_NUMBER);
    cr_assert_eq(db_schema[DB_COL_primitive_calls].kind, DB_KIND_INTEGER);
    cr_assert_eq(db_schema[DB_COL_write_path].kind, DB_KIND_TEXT);
    cr_assert_str_eq(db_kind_name(DB_KIND_NUMBER), "number");
}

/* plot.py reads harness/io/schema.tsv: regenerate it with `make schema` after changing the
 * columns (this test fails until then). */
Test(schema, committed_tsv_is_what_the_binary_prints) {
    static char out[1 << 16], err[4096];
    const char *a[] = {"--schema", NULL};
    cr_assert_eq(th_run(a, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(err, "");
    char *tsv = th_slurp("harness/io/schema.tsv");
    cr_assert_not_null(tsv, "harness/io/schema.tsv (run from the repository root)");
    cr_assert_str_eq(out, tsv,
                     "harness/io/schema.tsv differs from `diagbench --schema`: run `make schema`");
    cr_assert_eq(th_count_lines(tsv), DB_NCOLUMNS);
    th_free(tsv);
}
