#include "blocks.h"

#include <omp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static size_t stream_threshold = 0;
static int stream_threshold_set = 0;

void db_blocks_set_stream_threshold(size_t bytes) {
    stream_threshold = bytes;
    stream_threshold_set = 1;
}

/* Size of the largest cache of cpu0 from sysfs (what lscpu reports); sysconf's figure is taken
 * from CPUID and can be wrong under a hypervisor (seen here: 320 MiB for a 32 MiB L3). */
static size_t last_level_cache_bytes(void) {
    size_t best = 0;
    for (int i = 0; i < 8; i++) {
        char path[96];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        unsigned long v = 0;
        char unit = 0;
        if (fscanf(f, "%lu%c", &v, &unit) >= 1) {
            size_t b = unit == 'K' ? v << 10 : unit == 'M' ? v << 20 : v;
            best = b > best ? b : best;
        }
        fclose(f);
    }
    if (!best) {
        long llc = sysconf(_SC_LEVEL3_CACHE_SIZE);
        best = llc > 0 ? (size_t)llc : (size_t)32 << 20;
    }
    return best;
}

size_t db_blocks_stream_threshold(void) {
    if (!stream_threshold_set) {
        stream_threshold = last_level_cache_bytes() / 2; /* the cache also holds x, V, d */
        stream_threshold_set = 1;
    }
    return stream_threshold;
}

size_t db_block_columns(size_t n) {
    size_t b = 65536 / (n ? n : 1);
    if (b < 16) b = 16;
    if (b > 256) b = 256;
    return b < n ? b : n;
}

size_t db_tangent_cache_bytes(size_t n) {
    return (size_t)omp_get_max_threads() * n * db_block_columns(n) * sizeof(double);
}

int db_tangent_cache_init(struct db_tangent_cache *tc) {
    tc->nthreads = (size_t)omp_get_max_threads();
    tc->blocks = calloc(tc->nthreads, sizeof *tc->blocks);
    return tc->blocks ? DB_OK : DB_E_NOMEM;
}

void db_tangent_cache_free(struct db_tangent_cache *tc) {
    for (size_t t = 0; tc->blocks && t < tc->nthreads; t++)
        free(tc->blocks[t]);
    free(tc->blocks);
    tc->blocks = NULL;
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

/* The calling thread's tangent block, allocated (zeroed, first-touched) on first use. */
static double *tangent_block(struct db_tangent_cache *tc, size_t tid, size_t len, int *owned) {
    *owned = tid < tc->nthreads;
    double *T = *owned ? tc->blocks[tid] : NULL;
    if (!T) {
        T = calloc(len, sizeof *T);
        if (*owned) tc->blocks[tid] = T;
    }
    return T;
}

enum { PAR_MIN_ELEMENTS = 1 << 16 }; /* below this many matrix entries one thread is faster */

int db_blocked_materialise(struct db_instance *in, int reverse, struct db_tangent_cache *tc,
                           double *buf) {
    const size_t n = in->n, B = db_block_columns(n), nb = (n + B - 1) / B;
    in->stream_outputs = n * n * sizeof(double) >= db_blocks_stream_threshold();
    if (nb == 1 || n * n < PAR_MIN_ELEMENTS || omp_get_max_threads() == 1 || omp_in_parallel()) {
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
