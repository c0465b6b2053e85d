/* Elementwise workloads (sin, split, seqsin, nobatch): y_i = f_i(x_i), so J = diag(f'(x)).
 *
 * Kernels work on row chunks that fit in L1: the derivative of a chunk is computed once with the
 * vectorised libm (libmvec) and then applied to every tangent of a batch, as vmap of a JVP does
 * (the primal is not batched, only the tangents are). */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <omp.h>

#include "workloads/reference.h"
#include "workloads/workload.h"

/* glibc only declares the SIMD variants under -ffast-math; declare them ourselves so that
 * `#pragma omp simd` loops call libmvec (<= 4 ulp) without fast-math's other effects. */
#pragma omp declare simd notinbranch
double sin(double);
#pragma omp declare simd notinbranch
double cos(double);

enum { CHUNK = 512 }; /* rows per chunk: 4 KiB of derivatives, stays in L1 */

/* A kernel family: value and derivative over global rows [lo, lo+m) of an n-vector, with x and
 * the output already offset to row lo. */
struct ew_family {
    void (*value)(size_t n, size_t lo, size_t m, const double *x, double *y);
    void (*deriv)(size_t n, size_t lo, size_t m, const double *x, double *d);
    /* out = f'(x) * v in one pass (a single tangent: no derivative buffer) */
    void (*apply1)(size_t n, size_t lo, size_t m, const double *x, const double *v, double *out);
    void (*reference)(size_t n, const double *x, double *d);
    void (*root_distance)(size_t n, const double *x, double *dist);
};

static void sin_value(size_t n, size_t lo, size_t m, const double *x, double *y) {
    (void)n, (void)lo;
#pragma omp simd
    for (size_t i = 0; i < m; i++)
        y[i] = sin(x[i]);
}

static void sin_deriv(size_t n, size_t lo, size_t m, const double *x, double *d) {
    (void)n, (void)lo;
#pragma omp simd
    for (size_t i = 0; i < m; i++)
        d[i] = cos(x[i]);
}

static void sin_apply1(size_t n, size_t lo, size_t m, const double *restrict x,
                       const double *restrict v, double *restrict out) {
    (void)n, (void)lo;
#pragma omp simd
    for (size_t i = 0; i < m; i++)
        out[i] = cos(x[i]) * v[i];
}

/* Rows of [lo, lo+m) below the split point h = n/2. */
static size_t split_head(size_t n, size_t lo, size_t m) {
    size_t h = n / 2;
    return h <= lo ? 0 : (h - lo < m ? h - lo : m);
}

static void split_value(size_t n, size_t lo, size_t m, const double *x, double *y) {
    size_t a = split_head(n, lo, m);
#pragma omp simd
    for (size_t i = 0; i < a; i++)
        y[i] = sin(x[i]);
#pragma omp simd
    for (size_t i = a; i < m; i++)
        y[i] = cos(x[i]);
}

static void split_deriv(size_t n, size_t lo, size_t m, const double *x, double *d) {
    size_t a = split_head(n, lo, m);
#pragma omp simd
    for (size_t i = 0; i < a; i++)
        d[i] = cos(x[i]);
#pragma omp simd
    for (size_t i = a; i < m; i++)
        d[i] = -sin(x[i]);
}

static void split_apply1(size_t n, size_t lo, size_t m, const double *restrict x,
                         const double *restrict v, double *restrict out) {
    size_t a = split_head(n, lo, m);
#pragma omp simd
    for (size_t i = 0; i < a; i++)
        out[i] = cos(x[i]) * v[i];
#pragma omp simd
    for (size_t i = a; i < m; i++)
        out[i] = -sin(x[i]) * v[i];
}

static const struct ew_family sin_family = {sin_value, sin_deriv, sin_apply1,
                                            db_reference_sin_deriv, db_reference_sin_root_distance};
static const struct ew_family split_family = {split_value, split_deriv, split_apply1,
                                              db_reference_split_deriv,
                                              db_reference_split_root_distance};

static const struct ew_family *family(const struct db_instance *in) {
    return in->wl->data;
}

static size_t chunks(size_t n) {
    return (n + CHUNK - 1) / CHUNK;
}

/* Split [0, n) into row chunks; chunks run in parallel only when there is enough work and we
 * are not already inside a parallel region (a team of one still costs a fork/join). Serial and
 * parallel paths use the same chunk boundaries, so each element goes through the same SIMD
 * variant (main loop or remainder) and results are bitwise identical for any thread count. */
static int parallel_worth(size_t work) {
    return work >= DB_PAR_MIN && omp_get_max_threads() > 1 && !omp_in_parallel();
}

static int ew_eval(const struct db_instance *in, const double *x, double *y) {
    const struct ew_family *f = family(in);
    size_t n = in->n;
    size_t nc = chunks(n);
    if (!parallel_worth(n)) {
        for (size_t c = 0; c < nc; c++) {
            size_t lo = c * CHUNK, m = n - lo < CHUNK ? n - lo : CHUNK;
            f->value(n, lo, m, x + lo, y + lo);
        }
        return DB_OK;
    }
#pragma omp parallel for schedule(static)
    for (size_t c = 0; c < nc; c++) {
        size_t lo = c * CHUNK, m = n - lo < CHUNK ? n - lo : CHUNK;
        f->value(n, lo, m, x + lo, y + lo);
    }
    return DB_OK;
}

/* out[:, j] = d * V[:, j] for columns [j0, j1): whole columns, so a block of columns with
 * ldo = n is one sequential write stream. */
static void scale_columns(size_t n, const double *restrict d, const double *V, size_t ldv,
                          size_t j0, size_t j1, double *out, size_t ldo) {
    for (size_t j = j0; j < j1; j++) {
        const double *restrict v = V + j * ldv;
        double *restrict o = out + j * ldo;
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            o[i] = d[i] * v[i];
    }
}

/* The same with non-temporal stores: the output bypasses the caches, so writing a matrix that
 * will not be re-read from cache costs no read-for-ownership traffic. When that pays depends on
 * the machine (one thread, 128 MB: ~1.6x plain stores on an AMD EPYC VM, ~3x on an Intel Xeon
 * VM whose reported 260 MiB L3 made a half-LLC rule pick plain stores), so materialise times
 * both and picks (operators/blocks.h, harness/wisdom.h). scale_columns stays the reference. */
static void stream_columns(size_t n, const double *restrict d, const double *V, size_t ldv,
                           size_t j0, size_t j1, double *out, size_t ldo) {
#if defined(__AVX512F__) || defined(__AVX__)
#if defined(__AVX512F__)
    enum { W = 8 };
#else
    enum { W = 4 };
#endif
    for (size_t j = j0; j < j1; j++) {
        const double *restrict v = V + j * ldv;
        double *restrict o = out + j * ldo;
        size_t i = 0;
        for (; i < n && ((uintptr_t)(o + i) % (W * sizeof(double))); i++)
            o[i] = d[i] * v[i];
        for (; i + W <= n; i += W) {
#if defined(__AVX512F__)
            _mm512_stream_pd(o + i, _mm512_mul_pd(_mm512_loadu_pd(d + i), _mm512_loadu_pd(v + i)));
#else
            _mm256_stream_pd(o + i, _mm256_mul_pd(_mm256_loadu_pd(d + i), _mm256_loadu_pd(v + i)));
#endif
        }
        for (; i < n; i++)
            o[i] = d[i] * v[i];
    }
    _mm_sfence(); /* order the weakly-ordered stores before anyone reads the block */
#else
    scale_columns(n, d, V, ldv, j0, j1, out, ldo);
#endif
}

/* out[:, j] = f'(x) * V[:, j] for j < k; a single call is k = 1 (fused, one pass). For k > 1 the
 * derivative is computed once into a scratch vector and applied column by column. */
static int ew_apply(const struct db_instance *in, const double *x, const double *V, size_t ldv,
                    size_t k, double *out, size_t ldo) {
    const struct ew_family *f = family(in);
    size_t n = in->n, nc = chunks(n);
    int par = parallel_worth(n * k);
    if (k == 1) {
        if (!par) {
            for (size_t c = 0; c < nc; c++) {
                size_t lo = c * CHUNK, m = n - lo < CHUNK ? n - lo : CHUNK;
                f->apply1(n, lo, m, x + lo, V + lo, out + lo);
            }
            return DB_OK;
        }
#pragma omp parallel for schedule(static)
        for (size_t c = 0; c < nc; c++) {
            size_t lo = c * CHUNK, m = n - lo < CHUNK ? n - lo : CHUNK;
            f->apply1(n, lo, m, x + lo, V + lo, out + lo);
        }
        return DB_OK;
    }
    double *d = malloc(n * sizeof *d);
    if (!d) return DB_E_NOMEM;
    void (*scale)(size_t, const double *, const double *, size_t, size_t, size_t, double *,
                  size_t) = in->stream_outputs ? stream_columns : scale_columns;
    if (!par) {
        for (size_t c = 0; c < nc; c++) {
            size_t lo = c * CHUNK, m = n - lo < CHUNK ? n - lo : CHUNK;
            f->deriv(n, lo, m, x + lo, d + lo);
        }
        scale(n, d, V, ldv, 0, k, out, ldo);
        free(d);
        return DB_OK;
    }
#pragma omp parallel
    {
#pragma omp for schedule(static)
        for (size_t c = 0; c < nc; c++) {
            size_t lo = c * CHUNK, m = n - lo < CHUNK ? n - lo : CHUNK;
            f->deriv(n, lo, m, x + lo, d + lo);
        }
#pragma omp for schedule(static)
        for (size_t j = 0; j < k; j++)
            scale(n, d, V, ldv, j, j + 1, out, ldo);
    }
    free(d);
    return DB_OK;
}

static int ew_jvp(const struct db_instance *in, const double *x, const double *v, double *out) {
    return ew_apply(in, x, v, in->n, 1, out, in->n);
}

/* J is diagonal, hence symmetric: the VJP applies the same diagonal. */
static int ew_reference(const struct db_instance *in, const double *x, double *diag) {
    family(in)->reference(in->n, x, diag);
    return DB_OK;
}

/* Roots of the value function (scalar libm, in reference.c). */
static int ew_root_distance(const struct db_instance *in, const double *x, double *dist) {
    family(in)->root_distance(in->n, x, dist);
    return DB_OK;
}

#define EW_OPS                                                                                     \
    {                                                                                              \
        .eval = ew_eval, .jvp = ew_jvp, .vjp = ew_jvp, .jvp_batch = ew_apply,                      \
        .vjp_batch = ew_apply, .reference_diagonal = ew_reference,                                 \
        .root_distance = ew_root_distance,                                                         \
    }

const struct db_workload db_workload_sin = {
    .name = "sin",
    .description = "y = sin(x) elementwise; vectorised batching rule",
    .batch = DB_BATCH_VECTORISED,
    .structure = DB_STRUCT_DIAGONAL,
    .ops = EW_OPS,
    .streams = 1, /* stream_columns */
    .data = &sin_family,
};

const struct db_workload db_workload_split = {
    .name = "split",
    .description = "y = sin(x[:n/2]) ++ cos(x[n/2:]); vectorised batching rule",
    .batch = DB_BATCH_VECTORISED,
    .structure = DB_STRUCT_DIAGONAL,
    .ops = EW_OPS,
    .streams = 1, /* stream_columns */
    .data = &split_family,
};

const struct db_workload db_workload_seqsin = {
    .name = "seqsin",
    .description = "sin with a sequential batching rule: k tangents = k single calls, each "
                   "paying a per-call cost (FFI / host round trip)",
    .batch = DB_BATCH_SEQUENTIAL,
    .structure = DB_STRUCT_DIAGONAL,
    .default_call_cost_s = 10e-6,
    .ops = EW_OPS,
    .data = &sin_family,
};

const struct db_workload db_workload_nobatch = {
    .name = "nobatch",
    .description = "sin with no batching rule: batched calls are unsupported",
    .batch = DB_BATCH_NONE,
    .structure = DB_STRUCT_DIAGONAL,
    .ops = EW_OPS,
    .data = &sin_family,
};
