/* Shared test helpers: a tiny RFC 4180 line splitter and a process runner. */
#ifndef DB_HELPERS_H
#define DB_HELPERS_H

#include <stddef.h>

/* Split one CSV record (no trailing newline) into at most max fields, unquoting in place into
 * storage owned by the caller (buf, at least strlen(line)+1). Returns the field count or -1 if
 * the quoting is malformed. */
int th_csv_split(const char *line, char *buf, char **fields, int max);

/* Run the diagbench binary ($DIAGBENCH, default build/diagbench) with args (NULL-terminated),
 * capturing stdout and stderr (each up to cap bytes, NUL-terminated). Extra environment
 * entries "NAME=value" may be given in env (NULL-terminated, or NULL). Returns the exit code,
 * or -1 if it did not exit normally. */
int th_run(const char *const *args, const char *const *env, char *out, size_t outcap, char *err,
           size_t errcap);

/* Read a whole file into a malloc'd NUL-terminated string (NULL if unreadable). */
char *th_slurp(const char *path);

/* Index of a column in db_csv_header (fails the current test when there is none). */
int th_csv_column(const char *name);

/* Count '\n' in s. */
int th_count_lines(const char *s);

#endif
