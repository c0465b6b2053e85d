/* Coupled workloads: y = C sin(x), J(x) = C diag(cos x), with a constant sparse coupling C
 * (C[i, i] = 1). A JVP computes d = cos(x) once (libmvec) and then out = C (d .* v) for every
 * tangent of a batch, as vmap of a JVP does (the primal is not batched, only the tangents are);
 * a VJP computes out = d .* (C^T w). Couplings:
 *   band     C[i, i+k] = c_k for -lower <= k <= upper (liar, tridiag, banded)
 *   stencil  2-D 5-point stencil on an m x m grid, n = m^2 (west, east, south, north neighbours)
 *   random   a fixed-seed random pattern: each row has the diagonal plus 0..4 random columns */
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "workloads/coupled.h"
#include "core/rng.h"

/* glibc only declares the SIMD variants under -ffast-math; declare them ourselves so that
 * `#pragma omp simd` loops call libmvec (<= 4 ulp) without fast-math's other effects. */
#pragma omp declare simd notinbranch
double sin(double);
#pragma omp declare simd notinbranch
double cos(double);

enum { CHUNK = 4096 }; /* rows per parallel chunk */

/* A coupling: rows [lo, hi) of out = C (d .* v) (v == NULL: ones), and columns [lo, hi) of
 * out = d .* (C^T w); coef gives C[i, j]; pattern gives C's pattern. */
struct coupling {
    void (*apply)(const struct db_instance *in, const double *d, const double *v, double *out,
                  size_t lo, size_t hi);
    void (*apply_t)(const struct db_instance *in, const double *d, const double *w, double *out,
                    size_t lo, size_t hi);
    double (*coef)(const struct db_instance *in, size_t i, size_t j);
    int (*pattern)(const struct db_instance *in, struct db_sparse *P);
};

static const struct coupling *coupling_of(const struct db_instance *in) {
    return in->wl->data;
}

double db_coupling_coef(const struct db_instance *in, size_t i, size_t j) {
    return coupling_of(in)->coef(in, i, j);
}

/* o[i] += c * d[i] * v[i] for i < m (v == NULL: ones). */
static inline void acc(double *restrict o, double c, const double *restrict d,
                       const double *restrict v, size_t m) {
    if (v) {
#pragma omp simd
        for (size_t i = 0; i < m; i++)
            o[i] += c * d[i] * v[i];
    } else {
#pragma omp simd
        for (size_t i = 0; i < m; i++)
            o[i] += c * d[i];
    }
}

/* o[i] = d[i] * v[i] (v == NULL: d[i]). */
static inline void mul(double *restrict o, const double *restrict d, const double *restrict v,
                       size_t m) {
    if (v) {
#pragma omp simd
        for (size_t i = 0; i < m; i++)
            o[i] = d[i] * v[i];
    } else {
#pragma omp simd
        for (size_t i = 0; i < m; i++)
            o[i] = d[i];
    }
}

/* o[i] += c * w[i]. */
static inline void axpy(double *restrict o, double c, const double *restrict w, size_t m) {
#pragma omp simd
    for (size_t i = 0; i < m; i++)
        o[i] += c * w[i];
}

/* o[i] *= d[i]. */
static inline void scale(double *restrict o, const double *restrict d, size_t m) {
#pragma omp simd
    for (size_t i = 0; i < m; i++)
        o[i] *= d[i];
}

/* ---- band: C[i, i+k] = c_k, k in [-lower, upper] ------------------------------------------ */

/* c_0 = 1; below the diagonal 0.6/|k|, above 0.4/k (asymmetric, so transposes are tested). */
static double band_coef_k(long k) {
    return k == 0 ? 1.0 : k < 0 ? 0.6 / (double)-k : 0.4 / (double)k;
}

static double band_coef(const struct db_instance *in, size_t i, size_t j) {
    long k = (long)j - (long)i;
    if (k < -(long)in->lower || k > (long)in->upper) return 0.0;
    return band_coef_k(k);
}

static void band_apply(const struct db_instance *in, const double *d, const double *v, double *out,
                       size_t lo, size_t hi) {
    size_t n = in->n;
    mul(out + lo, d + lo, v ? v + lo : NULL, hi - lo);
    for (size_t k = 1; k <= in->lower && k < n; k++) { /* out[i] += c_{-k} t[i-k], i >= k */
        size_t a = lo > k ? lo : k;
        if (a < hi) acc(out + a, band_coef_k(-(long)k), d + a - k, v ? v + a - k : NULL, hi - a);
    }
    for (size_t k = 1; k <= in->upper && k < n; k++) { /* out[i] += c_k t[i+k], i < n-k */
        size_t b = hi < n - k ? hi : n - k;
        if (lo < b) acc(out + lo, band_coef_k((long)k), d + lo + k, v ? v + lo + k : NULL, b - lo);
    }
}

static void band_apply_t(const struct db_instance *in, const double *d, const double *w,
                         double *out, size_t lo, size_t hi) {
    size_t n = in->n;
    for (size_t j = lo; j < hi; j++)
        out[j] = w[j];
    for (size_t k = 1; k <= in->lower && k < n; k++) { /* row i = j+k: out[j] += c_{-k} w[j+k] */
        size_t b = hi < n - k ? hi : n - k;
        if (lo < b) axpy(out + lo, band_coef_k(-(long)k), w + lo + k, b - lo);
    }
    for (size_t k = 1; k <= in->upper && k < n; k++) { /* row i = j-k: out[j] += c_k w[j-k] */
        size_t a = lo > k ? lo : k;
        if (a < hi) axpy(out + a, band_coef_k((long)k), w + a - k, hi - a);
    }
    scale(out + lo, d + lo, hi - lo);
}

static int band_pattern(const struct db_instance *in, struct db_sparse *P) {
    return db_sparse_band(in->n, in->lower, in->upper, 0, P);
}

static const struct coupling band = {band_apply, band_apply_t, band_coef, band_pattern};

/* ---- stencil: 5-point on an m x m grid, p = r*m + c ---------------------------------------- */

#define ST_W (-0.25) /* C[p, p-1], c > 0 */
#define ST_E (-0.15) /* C[p, p+1], c < m-1 */
#define ST_S (-0.30) /* C[p, p-m], r > 0 */
#define ST_N (-0.20) /* C[p, p+m], r < m-1 */

struct stencil_state {
    size_t m;
};

static size_t grid_side(const struct db_instance *in) {
    return ((const struct stencil_state *)in->state)->m;
}

static size_t isqrt(size_t n) {
    size_t r = (size_t)sqrt((double)n);
    while (r * r > n)
        r--;
    while ((r + 1) * (r + 1) <= n)
        r++;
    return r;
}

static size_t stencil_fit(size_t n) {
    size_t r = isqrt(n);
    if (r == 0) return 1;
    return n - r * r <= (r + 1) * (r + 1) - n ? r * r : (r + 1) * (r + 1);
}

static int stencil_setup(struct db_instance *in) {
    size_t m = isqrt(in->n);
    if (m * m != in->n) return DB_E_UNSUPPORTED;
    struct stencil_state *s = malloc(sizeof *s);
    if (!s) return DB_E_NOMEM;
    s->m = m;
    in->state = s;
    return DB_OK;
}

static void free_state(struct db_instance *in) {
    free(in->state);
    in->state = NULL;
}

static double stencil_coef(const struct db_instance *in, size_t p, size_t q) {
    size_t m = grid_side(in), r = p / m, c = p % m;
    if (q == p) return 1.0;
    if (c > 0 && q == p - 1) return ST_W;
    if (c + 1 < m && q == p + 1) return ST_E;
    if (r > 0 && q == p - m) return ST_S;
    if (r + 1 < m && q == p + m) return ST_N;
    return 0.0;
}

/* Rows [lo, hi), one grid row segment at a time. */
static void stencil_apply(const struct db_instance *in, const double *d, const double *v,
                          double *out, size_t lo, size_t hi) {
    size_t m = grid_side(in);
#define V(off) (v ? v + (off) : NULL)
    for (size_t a = lo; a < hi;) {
        size_t r = a / m, row0 = r * m, b = row0 + m < hi ? row0 + m : hi;
        mul(out + a, d + a, V(a), b - a);
        size_t w0 = a > row0 ? a : row0 + 1; /* west: c > 0 */
        if (w0 < b) acc(out + w0, ST_W, d + w0 - 1, V(w0 - 1), b - w0);
        size_t e1 = b < row0 + m - 1 ? b : row0 + m - 1; /* east: c < m-1 */
        if (a < e1) acc(out + a, ST_E, d + a + 1, V(a + 1), e1 - a);
        if (r > 0) acc(out + a, ST_S, d + a - m, V(a - m), b - a);
        if (r + 1 < m) acc(out + a, ST_N, d + a + m, V(a + m), b - a);
        a = b;
    }
#undef V
}

/* Columns [lo, hi): out[q] = d[q] * sum_p C[p, q] w[p]. */
static void stencil_apply_t(const struct db_instance *in, const double *d, const double *w,
                            double *out, size_t lo, size_t hi) {
    size_t m = grid_side(in);
    for (size_t a = lo; a < hi;) {
        size_t r = a / m, row0 = r * m, b = row0 + m < hi ? row0 + m : hi;
        for (size_t q = a; q < b; q++)
            out[q] = w[q];
        size_t e1 = b < row0 + m - 1 ? b : row0 + m - 1; /* from row q+1 (west of it): c < m-1 */
        if (a < e1) axpy(out + a, ST_W, w + a + 1, e1 - a);
        size_t w0 = a > row0 ? a : row0 + 1; /* from row q-1 (east of it): c > 0 */
        if (w0 < b) axpy(out + w0, ST_E, w + w0 - 1, b - w0);
        if (r + 1 < m) axpy(out + a, ST_S, w + a + m, b - a); /* from row q+m */
        if (r > 0) axpy(out + a, ST_N, w + a - m, b - a);     /* from row q-m */
        scale(out + a, d + a, b - a);
        a = b;
    }
}

static int stencil_pattern(const struct db_instance *in, struct db_sparse *P) {
    size_t n = in->n, m = grid_side(in);
    DB_CHECK(db_sparse_alloc(P, n, 5 * n, 0));
    size_t e = 0;
    for (size_t p = 0; p < n; p++) {
        size_t r = p / m, c = p % m;
        if (r > 0) P->col_idx[e++] = p - m;
        if (c > 0) P->col_idx[e++] = p - 1;
        P->col_idx[e++] = p;
        if (c + 1 < m) P->col_idx[e++] = p + 1;
        if (r + 1 < m) P->col_idx[e++] = p + m;
        P->row_ptr[p + 1] = e;
    }
    return DB_OK;
}

static const struct coupling stencil = {stencil_apply, stencil_apply_t, stencil_coef,
                                        stencil_pattern};

/* ---- random: fixed-seed pattern, C and C^T stored in CSR ----------------------------------- */

struct random_state {
    struct db_sparse C, CT;
};

static const struct random_state *rstate(const struct db_instance *in) {
    return in->state;
}

static void random_teardown(struct db_instance *in) {
    struct random_state *s = in->state;
    if (s) {
        db_sparse_free(&s->C);
        db_sparse_free(&s->CT);
    }
    free_state(in);
}

/* Row i: the diagonal (coefficient 1) and 0..DB_RANDSPARSE_MAX_OFF distinct random columns with
 * coefficients of random sign and magnitude in [0.1, 0.5); deterministic in (seed, i, n). */
static size_t random_row(size_t n, size_t i, size_t *cols, double *vals) {
    uint64_t s = DB_RANDSPARSE_SEED ^ ((uint64_t)i * 0xd1342543de82ef95ull);
    size_t off = (size_t)(db_rng_next(&s) % (DB_RANDSPARSE_MAX_OFF + 1));
    if (off > n - 1) off = n - 1;
    size_t k = 0;
    cols[k] = i;
    vals[k++] = 1.0;
    while (k < off + 1) {
        size_t j = (size_t)(db_rng_next(&s) % n);
        int dup = 0;
        for (size_t t = 0; t < k; t++)
            dup |= cols[t] == j;
        if (dup) continue;
        double mag = 0.1 + 0.4 * db_rng_uniform(&s);
        cols[k] = j;
        vals[k++] = (db_rng_next(&s) & 1) ? mag : -mag;
    }
    for (size_t a = 1; a < k; a++) /* insertion sort by column */
        for (size_t b = a; b > 0 && cols[b - 1] > cols[b]; b--) {
            size_t tc = cols[b];
            double tv = vals[b];
            cols[b] = cols[b - 1], vals[b] = vals[b - 1];
            cols[b - 1] = tc, vals[b - 1] = tv;
        }
    return k;
}

static int random_setup(struct db_instance *in) {
    size_t n = in->n;
    struct random_state *s = calloc(1, sizeof *s);
    if (!s) return DB_E_NOMEM;
    in->state = s;
    int rc = db_sparse_alloc(&s->C, n, n * (DB_RANDSPARSE_MAX_OFF + 1), 1);
    if (rc == DB_OK) {
        size_t e = 0;
        for (size_t i = 0; i < n; i++) {
            e += random_row(n, i, s->C.col_idx + e, s->C.values + e);
            s->C.row_ptr[i + 1] = e;
        }
        rc = db_sparse_transpose(&s->C, &s->CT);
    }
    if (rc != DB_OK) random_teardown(in);
    return rc;
}

static double random_coef(const struct db_instance *in, size_t i, size_t j) {
    const struct db_sparse *C = &rstate(in)->C;
    size_t e = db_sparse_find(C, i, j);
    return e == DB_SPARSE_NONE ? 0.0 : C->values[e];
}

static void random_apply(const struct db_instance *in, const double *d, const double *v,
                         double *out, size_t lo, size_t hi) {
    const struct db_sparse *C = &rstate(in)->C;
    for (size_t i = lo; i < hi; i++) {
        double s = 0;
        for (size_t e = C->row_ptr[i]; e < C->row_ptr[i + 1]; e++) {
            size_t j = C->col_idx[e];
            s += C->values[e] * d[j] * (v ? v[j] : 1.0);
        }
        out[i] = s;
    }
}

static void random_apply_t(const struct db_instance *in, const double *d, const double *w,
                           double *out, size_t lo, size_t hi) {
    const struct db_sparse *CT = &rstate(in)->CT;
    for (size_t j = lo; j < hi; j++) {
        double s = 0;
        for (size_t e = CT->row_ptr[j]; e < CT->row_ptr[j + 1]; e++)
            s += CT->values[e] * w[CT->col_idx[e]];
        out[j] = d[j] * s;
    }
}

static int random_pattern(const struct db_instance *in, struct db_sparse *P) {
    return db_sparse_copy_pattern(&rstate(in)->C, 0, P);
}

static const struct coupling random_coupling = {random_apply, random_apply_t, random_coef,
                                                random_pattern};

/* ---- kernels shared by every coupling ------------------------------------------------------ */

static size_t nchunks(size_t n) {
    return (n + CHUNK - 1) / CHUNK;
}

/* d = f(x) with f = sin (value) or cos (derivative); returns NULL when out of memory. */
static double *primal(const struct db_instance *in, const double *x, int derivative) {
    size_t n = in->n;
    double *d = malloc(n * sizeof *d);
    if (!d) return NULL;
    size_t nc = nchunks(n);
#pragma omp parallel for schedule(static) if (n >= DB_PAR_MIN && !omp_in_parallel())
    for (size_t c = 0; c < nc; c++) {
        size_t lo = c * CHUNK, hi = lo + CHUNK < n ? lo + CHUNK : n;
        if (derivative) {
#pragma omp simd
            for (size_t i = lo; i < hi; i++)
                d[i] = cos(x[i]);
        } else {
#pragma omp simd
            for (size_t i = lo; i < hi; i++)
                d[i] = sin(x[i]);
        }
    }
    return d;
}

static int cp_eval(const struct db_instance *in, const double *x, double *y) {
    const struct coupling *cp = coupling_of(in);
    size_t n = in->n;
    double *s = primal(in, x, 0);
    if (!s) return DB_E_NOMEM;
    size_t nc = nchunks(n);
#pragma omp parallel for schedule(static) if (n >= DB_PAR_MIN && !omp_in_parallel())
    for (size_t c = 0; c < nc; c++) {
        size_t lo = c * CHUNK, hi = lo + CHUNK < n ? lo + CHUNK : n;
        cp->apply(in, s, NULL, y, lo, hi);
    }
    free(s);
    return DB_OK;
}

/* out[:, j] = J V[:, j] (transpose = 0) or J^T V[:, j] (transpose = 1) for j < k. */
static int cp_apply(const struct db_instance *in, const double *x, const double *V, size_t ldv,
                    size_t k, double *out, size_t ldo, int transpose) {
    const struct coupling *cp = coupling_of(in);
    size_t n = in->n;
    double *d = primal(in, x, 1);
    if (!d) return DB_E_NOMEM;
    size_t nc = nchunks(n);
#pragma omp parallel for schedule(static) if (n * k >= DB_PAR_MIN && !omp_in_parallel())
    for (size_t c = 0; c < nc; c++) {
        size_t lo = c * CHUNK, hi = lo + CHUNK < n ? lo + CHUNK : n;
        for (size_t j = 0; j < k; j++) {
            if (transpose)
                cp->apply_t(in, d, V + j * ldv, out + j * ldo, lo, hi);
            else
                cp->apply(in, d, V + j * ldv, out + j * ldo, lo, hi);
        }
    }
    free(d);
    return DB_OK;
}

static int cp_jvp_batch(const struct db_instance *in, const double *x, const double *V, size_t ldv,
                        size_t k, double *out, size_t ldo) {
    return cp_apply(in, x, V, ldv, k, out, ldo, 0);
}

static int cp_vjp_batch(const struct db_instance *in, const double *x, const double *W, size_t ldw,
                        size_t k, double *out, size_t ldo) {
    return cp_apply(in, x, W, ldw, k, out, ldo, 1);
}

static int cp_jvp(const struct db_instance *in, const double *x, const double *v, double *out) {
    return cp_apply(in, x, v, in->n, 1, out, in->n, 0);
}

static int cp_vjp(const struct db_instance *in, const double *x, const double *w, double *out) {
    return cp_apply(in, x, w, in->n, 1, out, in->n, 1);
}

static int cp_pattern(const struct db_instance *in, struct db_sparse *P) {
    return coupling_of(in)->pattern(in, P);
}

#define CP_OPS(setup_fn, teardown_fn, fit_fn)                                                      \
    {                                                                                              \
        .eval = cp_eval, .jvp = cp_jvp, .vjp = cp_vjp, .jvp_batch = cp_jvp_batch,                  \
        .vjp_batch = cp_vjp_batch, .reference_diagonal = db_reference_coupled_diagonal,            \
        .setup = setup_fn, .teardown = teardown_fn, .fit_size = fit_fn, .pattern = cp_pattern,     \
        .reference_entries = db_reference_coupled_entries,                                         \
    }

const struct db_workload db_workload_liar = {
    .name = "liar",
    .description = "y_i = sin(x_i) + 0.6 sin(x_{i-1}) + 0.4 sin(x_{i+1}): truly tridiagonal but "
                   "tagged diagonal (plain probe returns row sums; probe-checked catches it)",
    .batch = DB_BATCH_VECTORISED,
    .structure = DB_STRUCT_TRIDIAGONAL,
    .claim = DB_CLAIM_DIAGONAL,
    .lower = 1,
    .upper = 1,
    .ops = CP_OPS(NULL, NULL, NULL),
    .data = &band,
};

const struct db_workload db_workload_tridiag = {
    .name = "tridiag",
    .description = "y_i = sin(x_i) + 0.6 sin(x_{i-1}) + 0.4 sin(x_{i+1}), tagged tridiagonal",
    .batch = DB_BATCH_VECTORISED,
    .structure = DB_STRUCT_TRIDIAGONAL,
    .lower = 1,
    .upper = 1,
    .ops = CP_OPS(NULL, NULL, NULL),
    .data = &band,
};

const struct db_workload db_workload_banded = {
    .name = "banded",
    .description = "y_i = sum_{k=-L..U} c_k sin(x_{i+k}), c_0 = 1, c_-k = 0.6/k, c_k = 0.4/k; "
                   "bandwidths --band L,U (default 2,3)",
    .batch = DB_BATCH_VECTORISED,
    .structure = DB_STRUCT_BANDED,
    .lower = 2,
    .upper = 3,
    .band_option = 1,
    .ops = CP_OPS(NULL, NULL, NULL),
    .data = &band,
};

const struct db_workload db_workload_stencil = {
    .name = "stencil",
    .description = "y = C sin(x), C a 2-D 5-point stencil on an m x m grid (n = m^2)",
    .batch = DB_BATCH_VECTORISED,
    .structure = DB_STRUCT_SPARSE,
    .row_nnz_max = 5,
    .size_rule = "n must be a perfect square m*m (an m x m grid)",
    .ops = CP_OPS(stencil_setup, free_state, stencil_fit),
    .data = &stencil,
};

const struct db_workload db_workload_randsparse = {
    .name = "randsparse",
    .description = "y = C sin(x), C a fixed-seed random pattern: diagonal + 0..4 random columns "
                   "per row",
    .batch = DB_BATCH_VECTORISED,
    .structure = DB_STRUCT_SPARSE,
    .row_nnz_max = DB_RANDSPARSE_MAX_OFF + 1,
    .ops = CP_OPS(random_setup, random_teardown, NULL),
    .data = &random_coupling,
};
