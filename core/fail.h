/* One-line error messages: every parser reports a bad value in one line that names the value and
 * what is allowed, and returns DB_E_INVALID (core/status.h). */
#ifndef DB_FAIL_H
#define DB_FAIL_H

#include <stddef.h>

/* Format a one-line error message into err (db_one_line) and return DB_E_INVALID. */
int db_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Replace control characters (a newline in a bad value, say) with '?', so that a message that
 * quotes user input stays on one line. */
void db_one_line(char *s);

#endif
