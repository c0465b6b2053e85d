/* One-line error messages: every parser reports a bad value in one line that names the value and
 * what is allowed, and returns DB_E_INVALID (core/status.h). */
#ifndef DB_FAIL_H
#define DB_FAIL_H

#include <stddef.h>

/* Format a one-line error message into err (db_visible) and return DB_E_INVALID. */
int db_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Make the message in s (a buffer of cap bytes) one visible line: a control character, a byte
 * that is not UTF-8 or an invisible code point (no-break space, zero-width and bidirectional
 * characters, a byte order mark) that it quotes from user input or a file is escaped (\x0a,
 * \u{200B}), and the message ends by naming them: "[shown escaped: \x0a is line feed]". The
 * message is cut, never mid-escape or mid-character, when it no longer fits. */
void db_visible(char *s, size_t cap);

#endif
