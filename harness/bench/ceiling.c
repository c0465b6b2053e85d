#include "harness/bench/ceiling.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "core/status.h"

#define FILL_BYTE 0x3f

double db_fill_value(void) {
    double v;
    memset(&v, FILL_BYTE, sizeof v);
    return v;
}

void db_fill_slice(size_t count, size_t *lo, size_t *hi) {
    size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
    *lo = count * t / nt;
    *hi = count * (t + 1) / nt;
}

void db_fill_memset(double *dst, size_t count) {
#pragma omp parallel
    {
        size_t lo, hi;
        db_fill_slice(count, &lo, &hi);
        memset(dst + lo, FILL_BYTE, (hi - lo) * sizeof(double));
    }
}

void db_fill_nontemporal(double *dst, size_t count) {
    const double v = db_fill_value();
#pragma omp parallel
    {
        size_t lo, hi;
        db_fill_slice(count, &lo, &hi);
        double *d = dst;
        size_t i = lo;
#if defined(__AVX512F__) || defined(__AVX__) || defined(__SSE2__)
#if defined(__AVX512F__)
        enum { W = 8 };
        const __m512d x = _mm512_set1_pd(v);
#define DB_STREAM(ptr) _mm512_stream_pd(ptr, x)
#elif defined(__AVX__)
        enum { W = 4 };
        const __m256d x = _mm256_set1_pd(v);
#define DB_STREAM(ptr) _mm256_stream_pd(ptr, x)
#else
        enum { W = 2 };
        const __m128d x = _mm_set1_pd(v);
#define DB_STREAM(ptr) _mm_stream_pd(ptr, x)
#endif
        for (; i < hi && ((uintptr_t)(d + i) % (W * sizeof(double))); i++)
            d[i] = v;
        for (; i + W <= hi; i += W)
            DB_STREAM(d + i);
#undef DB_STREAM
        _mm_sfence();
#endif
        for (; i < hi; i++)
            d[i] = v;
    }
}

struct fill_arg {
    double *dst;
    size_t count;
};

static int memset_body(void *p) {
    struct fill_arg *a = p;
    db_fill_memset(a->dst, a->count);
    return DB_OK;
}

static int nontemporal_body(void *p) {
    struct fill_arg *a = p;
    db_fill_nontemporal(a->dst, a->count);
    return DB_OK;
}

int db_write_ceiling(double *buf, size_t count, const struct db_bench_config *cfg, double *best_s,
                     const char **kernel) {
    static int (*const bodies[])(void *) = {memset_body, nontemporal_body};
    static const char *const names[] = {"memset", "nt_fill"};
    struct fill_arg a = {buf, count};
    *best_s = INFINITY;
    for (int k = 0; k < 2; k++) {
        struct db_bench_result br;
        int rc = db_gbench_run(names[k], bodies[k], &a, cfg, &br);
        for (int r = 0; rc == DB_OK && r < br.reps; r++)
            if (br.rep_seconds[r] < *best_s) {
                *best_s = br.rep_seconds[r];
                if (kernel) *kernel = names[k];
            }
        db_bench_result_free(&br);
        if (rc != DB_OK) return rc;
    }
    return DB_OK;
}
