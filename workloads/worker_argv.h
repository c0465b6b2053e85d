/* Splitting the --worker command line into argv without a shell (docs/PROTOCOL.md, "Version 2:
 * external workers", Start): words separated by blanks, single quotes literal, double quotes
 * with backslash escaping only \ " $ ` and newline, a backslash outside quotes escaping the next
 * character. No variables, globs or redirections: those characters are literal. */
#ifndef DB_WORKER_ARGV_H
#define DB_WORKER_ARGV_H

/* Split s into a NULL-terminated argv. On success returns the word count (>= 1) and sets *argv
 * to one allocation (free(*argv) frees the words too). Returns -1 on an unterminated quote or a
 * trailing backslash, -2 on no word at all, -3 on out of memory; *argv is then NULL. */
int db_worker_split_argv(const char *s, char ***argv);

#endif
