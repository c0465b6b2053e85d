#include "harness/plan/shard.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/fail.h"
#include "core/parse.h"
#include "core/status.h"

unsigned long long db_cost_add(unsigned long long a, unsigned long long b) {
    return a > ULLONG_MAX - b ? ULLONG_MAX : a + b;
}

unsigned long long db_cost_mul(unsigned long long a, unsigned long long b) {
    if (a == 0 || b == 0) return 0;
    return a > ULLONG_MAX / b ? ULLONG_MAX : a * b;
}

/* K or N: a whole number from 1 to DB_MAX_SHARDS at s; *end past its digits. */
static int whole(const char *s, const char **end, unsigned *v) {
    unsigned long long x;
    if (db_parse_whole(s, end, DB_MAX_SHARDS, &x) != DB_OK || x < 1) return DB_E_INVALID;
    *v = (unsigned)x;
    return DB_OK;
}

int db_shard_parse(const char *s, unsigned *k, unsigned *n, char *err, size_t errlen) {
    const char *p;
    unsigned a, b;
    if (!s || whole(s, &p, &a) != DB_OK || *p != '/' || whole(p + 1, &p, &b) != DB_OK || *p ||
        a > b) {
        snprintf(err, errlen,
                 "invalid --shard '%s': expected K/N with whole numbers 1 <= K <= N <= %d",
                 s ? s : "", DB_MAX_SHARDS);
        db_visible(err, errlen);
        return DB_E_INVALID;
    }
    *k = a;
    *n = b;
    return DB_OK;
}

struct by_cost {
    unsigned long long cost;
    size_t index;
};

static int cmp_by_cost(const void *x, const void *y) {
    const struct by_cost *a = x, *b = y;
    if (a->cost != b->cost) return a->cost > b->cost ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

int db_shard_assign(const unsigned long long *cost, size_t count, unsigned nshards,
                    unsigned *shard) {
    if (nshards < 1 || (count && (!cost || !shard))) return DB_E_INVALID;
    struct by_cost *order = malloc((count ? count : 1) * sizeof *order);
    unsigned long long *load = calloc(nshards, sizeof *load);
    if (!order || !load) {
        free(order);
        free(load);
        return DB_E_NOMEM;
    }
    for (size_t i = 0; i < count; i++)
        order[i] = (struct by_cost){cost[i], i};
    qsort(order, count, sizeof *order, cmp_by_cost);
    for (size_t i = 0; i < count; i++) {
        unsigned best = 0;
        for (unsigned s = 1; s < nshards; s++)
            if (load[s] < load[best]) best = s;
        load[best] = db_cost_add(load[best], order[i].cost);
        shard[order[i].index] = best + 1;
    }
    free(order);
    free(load);
    return DB_OK;
}
