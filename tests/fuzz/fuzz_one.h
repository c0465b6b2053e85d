/* One fuzz input through the parsers that see untrusted text: the command line (argv split at
 * NULs), -n / -t lists, --mem-limit sizes, --shard, --_cells index sets, the matrix column and
 * whole CSV files (for --resume and merge). Each parser's postconditions are checked: a
 * violation abort()s, so libFuzzer and the Criterion replay both report it. */
#ifndef DB_FUZZ_ONE_H
#define DB_FUZZ_ONE_H

#include <stddef.h>

/* The first byte picks the parser (modulo the number of modes), the rest is its input. */
int db_fuzz_one(const unsigned char *data, size_t size);

#endif
