/* The one number format for people (tests/number_format.tsv; plot.py follows the same table):
 * ratios "2,212×", counts "1 cell" / "2 cells", durations "2.77 µs", slopes "1.98 ± 0.03 (5
 * sizes)" / "1.00 (2 sizes, no CI)". Each writes into buf (always NUL-terminated, truncated to
 * len) and returns buf. The strings are UTF-8 (×, µ, ±): pad them with db_fmt_width. */
#ifndef DB_FORMAT_H
#define DB_FORMAT_H

#include <stddef.h>

/* A positive number with at least 3 significant digits whatever its size: >= 100 rounded to a
 * whole number with ',' between thousands ("4,700"); below, 3 significant digits ("12.3",
 * "8.00", "0.500", "0.000213"). Not finite or <= 0: "-". */
const char *db_fmt_number3(double x, char *buf, size_t len);

/* db_fmt_number3, then "×" ("2,212×", "0.500×"). Not finite or <= 0: "-". */
const char *db_fmt_ratio(double r, char *buf, size_t len);

/* "<k> <noun>", with "s" appended unless k == 1. */
const char *db_fmt_count(unsigned long long k, const char *noun, char *buf, size_t len);

/* 3 significant digits in s, ms, µs or ns (the unit that keeps the number below 1000; whole
 * seconds from 1000 s). Not finite or negative: "-". */
const char *db_fmt_time(double seconds, char *buf, size_t len);

/* A fitted slope and the number of sizes it was fitted on. halfwidth: of its confidence
 * interval, NaN when not computed. sizes < 2 or slope not finite: "- (<count>)"; sizes == 2:
 * "<slope> (2 sizes, no CI)"; else "<slope> ± <halfwidth> (<count>)" or "<slope> (<count>)". */
const char *db_fmt_slope(double slope, double halfwidth, size_t sizes, char *buf, size_t len);

/* Display width of a UTF-8 string: its code points (every character here is one column). */
size_t db_fmt_width(const char *s);

/* s as one shell word, to paste back into a shell: unchanged when it holds only
 * [A-Za-z0-9_./:=@%+,-], else single-quoted with each ' written '\''. Cut (and so not to be
 * pasted) only when buf is too small. */
const char *db_shell_word(const char *s, char *buf, size_t len);

#endif
