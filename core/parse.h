/* Whole decimal numbers: the one parser behind every count, size, index and bound diagbench reads
 * from a flag or an environment variable (-n, -t, --reps, --lu-max-n, --band, --shard,
 * OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, OMP_PLACES). */
#ifndef DB_PARSE_H
#define DB_PARSE_H

/* Parse a whole decimal number at s: one or more ASCII digits, leading zeros allowed, no sign and
 * no blanks, whose value is at most max.
 *
 * end == NULL (strict): the number must be all of s.
 * end != NULL (prefix): the number is the digits s starts with, and *end is set past them; the
 * caller decides what may follow.
 *
 * Returns DB_OK with *out set, or DB_E_INVALID with *out untouched when s is NULL or does not
 * start with a digit, when the value would exceed max, or (strict) when anything follows the
 * digits. On failure *end (prefix mode) is s when there is no digit, else the digit that took the
 * value past max. Never overflows, whatever the length of the digit run. */
int db_parse_whole(const char *s, const char **end, unsigned long long max,
                   unsigned long long *out);

#endif
