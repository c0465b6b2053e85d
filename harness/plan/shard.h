/* Sharding for clusters: --shard K/N runs a deterministic 1/N slice of a matrix, balanced by
 * expected cost (greedy longest-processing-time over integer model costs), not by count. The
 * assignment depends only on the cell list and N, so every shard (and merge) computes the same
 * slices on any machine. */
#ifndef DB_SHARD_H
#define DB_SHARD_H

#include <stddef.h>

#define DB_MAX_SHARDS 10000

/* Parse "K/N" (whole numbers, 1 <= K <= N <= DB_MAX_SHARDS). On DB_E_INVALID err names the value
 * and what is allowed. */
int db_shard_parse(const char *s, unsigned *k, unsigned *n, char *err, size_t errlen);

/* Assign count items with the given costs to shards 1..nshards (written to shard[]): items in
 * decreasing cost (ties: lower index first), each to the least-loaded shard (ties: lowest). The
 * loads then differ by at most the largest cost. */
int db_shard_assign(const unsigned long long *cost, size_t count, unsigned nshards,
                    unsigned *shard);

/* a + b and a * b, saturating at ULLONG_MAX (model costs never wrap). */
unsigned long long db_cost_add(unsigned long long a, unsigned long long b);
unsigned long long db_cost_mul(unsigned long long a, unsigned long long b);

#endif
