#include "operators/blocks.h"

#include <omp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"

/* The plans: (n, threads) -> path, set before any cell runs (single-threaded). */
struct plan_entry {
    size_t n;
    int threads;
    struct db_write_path wp;
};
static struct plan_entry *plans;
static size_t nplans, plans_cap;
static struct db_write_path forced;
static int is_forced;

struct db_write_path db_write_path_default(size_t n) {
    size_t b = 65536 / (n ? n : 1);
    if (b < 16) b = 16;
    if (b > 256) b = 256;
    return (struct db_write_path){DB_STORE_PLAIN, b < n ? b : (n ? n : 1)};
}

static struct plan_entry *find_plan(size_t n, int threads) {
    for (size_t i = 0; i < nplans; i++)
        if (plans[i].n == n && plans[i].threads == threads) return &plans[i];
    return NULL;
}

struct db_write_path db_write_path_for(size_t n, int *planned) {
    const struct plan_entry *p = is_forced ? NULL : find_plan(n, omp_get_max_threads());
    if (planned) *planned = is_forced || p;
    if (is_forced) {
        struct db_write_path wp = forced;
        if (wp.block_cols > n) wp.block_cols = n ? n : 1;
        return wp;
    }
    return p ? p->wp : db_write_path_default(n);
}

int db_write_path_plan(size_t n, int threads, struct db_write_path wp) {
    if (wp.block_cols == 0) return DB_E_INVALID;
    struct plan_entry *p = find_plan(n, threads);
    if (!p) {
        if (nplans == plans_cap) {
            size_t cap = plans_cap ? 2 * plans_cap : 16;
            struct plan_entry *q = realloc(plans, cap * sizeof *q);
            if (!q) return DB_E_NOMEM;
            plans = q;
            plans_cap = cap;
        }
        p = &plans[nplans++];
    }
    *p = (struct plan_entry){n, threads, wp};
    return DB_OK;
}

void db_write_path_forget(void) {
    free(plans);
    plans = NULL;
    nplans = plans_cap = 0;
    is_forced = 0;
}

void db_write_path_force(const struct db_write_path *wp) {
    is_forced = wp != NULL;
    if (wp) forced = *wp;
}

char *db_write_path_format(struct db_write_path wp, char *buf, size_t len) {
    /* Block widths stay far below what would not fit the callers' 24 bytes (parse caps them at
     * 8 digits); an encoding error leaves "". Using the result keeps gcc's truncation warning,
     * which the sanitizer build's value ranges set off, to real cases. */
    int w = snprintf(buf, len, "%s/%zu", wp.store == DB_STORE_STREAM ? "stream" : "plain",
                     wp.block_cols);
    if (w < 0 && len) buf[0] = '\0';
    return buf;
}

int db_write_path_parse(const char *s, struct db_write_path *wp) {
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash) return DB_E_INVALID;
    size_t len = (size_t)(slash - s);
    enum db_store store;
    if (len == 5 && !strncmp(s, "plain", 5))
        store = DB_STORE_PLAIN;
    else if (len == 6 && !strncmp(s, "stream", 6))
        store = DB_STORE_STREAM;
    else
        return DB_E_INVALID;
    /* as db_write_path_format writes it: no leading zero; far wider than any candidate is not
     * a path either */
    unsigned long long b;
    if (slash[1] == '0' || db_parse_whole(slash + 1, NULL, 1000000, &b) != DB_OK)
        return DB_E_INVALID;
    *wp = (struct db_write_path){store, (size_t)b};
    return DB_OK;
}

size_t db_write_path_candidates(size_t n, struct db_write_path *out, size_t max) {
    size_t k = 0;
    for (int s = DB_STORE_PLAIN; s <= DB_STORE_STREAM; s++) {
        if (n < 16) {
            if (k < max) out[k++] = (struct db_write_path){(enum db_store)s, n ? n : 1};
            continue;
        }
        for (size_t b = 16; b <= DB_WRITE_PATH_MAX_COLS && b <= n; b *= 2)
            if (k < max) out[k++] = (struct db_write_path){(enum db_store)s, b};
    }
    return k;
}

size_t db_block_columns(size_t n) {
    return db_write_path_for(n, NULL).block_cols;
}

size_t db_tangent_cache_bytes(size_t n) {
    return (size_t)omp_get_max_threads() * n * db_block_columns(n) * sizeof(double);
}

int db_tangent_cache_init(struct db_tangent_cache *tc) {
    tc->nthreads = (size_t)omp_get_max_threads();
    tc->blocks = calloc(tc->nthreads, sizeof *tc->blocks);
    tc->lens = calloc(tc->nthreads, sizeof *tc->lens);
    if (tc->blocks && tc->lens) return DB_OK;
    db_tangent_cache_free(tc);
    return DB_E_NOMEM;
}

void db_tangent_cache_free(struct db_tangent_cache *tc) {
    for (size_t t = 0; tc->blocks && t < tc->nthreads; t++)
        free(tc->blocks[t]);
    free(tc->blocks);
    free(tc->lens);
    tc->blocks = NULL;
    tc->lens = NULL;
    tc->nthreads = 0;
}

/* Push identity block b (columns [b*B, b*B+k)) through the batching rule into buf. */
static int one_block(struct db_instance *in, int reverse, double *T, size_t b, size_t B,
                     double *buf) {
    const size_t n = in->n, j0 = b * B, k = n - j0 < B ? n - j0 : B;
    for (size_t j = 0; j < k; j++)
        T[j * n + j0 + j] = 1.0;
    int rc = reverse ? db_instance_vjp_batch(in, in->x, T, n, k, buf + j0 * n, n)
                     : db_instance_jvp_batch(in, in->x, T, n, k, buf + j0 * n, n);
    for (size_t j = 0; j < k; j++)
        T[j * n + j0 + j] = 0.0;
    return rc;
}

/* The calling thread's tangent block of len doubles, allocated (zeroed, first-touched) on first
 * use or when a wider path needs more. *owned: the cache keeps it (else the caller frees it). */
static double *tangent_block(struct db_tangent_cache *tc, size_t tid, size_t len, int *owned) {
    *owned = tid < tc->nthreads;
    if (!*owned) return calloc(len, sizeof(double));
    if (tc->blocks[tid] && tc->lens[tid] >= len) return tc->blocks[tid];
    free(tc->blocks[tid]);
    tc->blocks[tid] = calloc(len, sizeof(double));
    tc->lens[tid] = tc->blocks[tid] ? len : 0;
    return tc->blocks[tid];
}

/* Matrix entries (n^2) below which the blocked materialise stays on one thread (n < 256): its
 * own threshold on the whole matrix, not DB_PAR_MIN (elements of one kernel call). Chosen, not
 * measured, when materialise stopped forking small matrices (a0a4330: a team of one still paid
 * ~0.4 us per fork/join). */
enum { BLOCKED_PAR_MIN_ENTRIES = 1 << 16 };

int db_blocked_materialise_path(struct db_instance *in, int reverse, struct db_write_path wp,
                                struct db_tangent_cache *tc, double *buf) {
    const size_t n = in->n, B = wp.block_cols < n ? wp.block_cols : n, nb = (n + B - 1) / B;
    in->stream_outputs = wp.store == DB_STORE_STREAM;
    /* Record what ran: a workload whose kernels ignore the hint stores plainly. Only a
     * vectorised batching rule writes the matrix from batched kernels; a sequential rule makes
     * single calls whose cost is not the write (nothing to record, as planning plans nothing). */
    wp.store = in->stream_outputs && in->wl->streams ? DB_STORE_STREAM : DB_STORE_PLAIN;
    wp.block_cols = B;
    if (in->wl->batch == DB_BATCH_VECTORISED)
        db_write_path_format(wp, in->write_path, sizeof in->write_path);
    else
        in->write_path[0] = '\0';
    if (nb == 1 || n * n < BLOCKED_PAR_MIN_ENTRIES || omp_get_max_threads() == 1 ||
        omp_in_parallel()) {
        int owned;
        double *T = tangent_block(tc, 0, n * B, &owned);
        if (!T) return DB_E_NOMEM;
        int rc = DB_OK;
        for (size_t b = 0; b < nb && rc == DB_OK; b++)
            rc = one_block(in, reverse, T, b, B, buf);
        if (!owned) free(T);
        return rc;
    }
    atomic_int err = DB_OK;
#pragma omp parallel
    {
        int owned;
        double *T = tangent_block(tc, (size_t)omp_get_thread_num(), n * B, &owned);
        if (!T) atomic_store(&err, DB_E_NOMEM);
#pragma omp for schedule(static)
        for (size_t b = 0; b < nb; b++) {
            if (atomic_load_explicit(&err, memory_order_relaxed) != DB_OK) continue;
            int rc = one_block(in, reverse, T, b, B, buf);
            if (rc != DB_OK) {
                int expected = DB_OK;
                atomic_compare_exchange_strong(&err, &expected, rc);
            }
        }
        if (!owned) free(T);
    }
    return atomic_load(&err);
}

int db_blocked_materialise(struct db_instance *in, int reverse, struct db_tangent_cache *tc,
                           double *buf) {
    return db_blocked_materialise_path(in, reverse, db_write_path_for(in->n, NULL), tc, buf);
}
