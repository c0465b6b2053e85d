/* End-of-run summary: per series (workload, operator, jac, strategy, threads), the log-log slope
 * of median time against n and the speedup over materialise at the largest common n. Fed with
 * the CSV rows of the run, so rows from child processes count the same as our own. */
#ifndef DB_SUMMARY_H
#define DB_SUMMARY_H

#include <stddef.h>
#include <stdio.h>

struct db_summary;

/* fit_from: only sizes n >= fit_from enter the slope (all sizes if fewer than two qualify). */
struct db_summary *db_summary_create(size_t fit_from);
void db_summary_destroy(struct db_summary *s);

/* Add one CSV data row (as written by csv.c, with or without the trailing newline). Rows that
 * are not ok are counted but not fitted. Returns DB_E_INVALID for a malformed row. */
int db_summary_add_csv(struct db_summary *s, const char *line);

/* Least-squares slope of log(t) against log(n); NaN with fewer than two distinct n. */
double db_fit_slope(const double *n, const double *t, size_t k);

/* Print the table (plain text, aligned). */
void db_summary_print(const struct db_summary *s, FILE *f);

#endif
