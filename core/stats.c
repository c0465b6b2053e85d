#include "core/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/status.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void db_stats_sort(double *v, size_t n) {
    if (n > 1) qsort(v, n, sizeof *v, cmp_double);
}

double db_stats_median_sorted(const double *v, size_t n) {
    if (n == 0) return NAN;
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double db_stats_quantile_sorted(const double *v, size_t n, double q) {
    if (n == 0) return NAN;
    double h = q * (double)(n - 1);
    size_t i = (size_t)floor(h);
    if (i >= n - 1) return v[n - 1];
    return v[i] + (h - (double)i) * (v[i + 1] - v[i]);
}

size_t db_stats_median_ci(const double *sorted, size_t n, double conf, double *lo, double *hi) {
    *lo = *hi = NAN;
    double alpha = 1 - conf, cdf = 0, lgn = lgamma((double)n + 1);
    size_t l = 0;
    /* cdf = P(B <= j - 1), B ~ Binomial(n, 1/2); the pmf through lgamma stays finite for any n */
    for (size_t j = 1; j <= (n + 1) / 2; j++) {
        double i = (double)(j - 1);
        cdf += exp(lgn - lgamma(i + 1) - lgamma((double)n - i + 1) - (double)n * M_LN2);
        if (2 * cdf > alpha) break;
        l = j;
    }
    if (l == 0) return 0;
    *lo = sorted[l - 1];
    *hi = sorted[n - l];
    return l;
}

double db_stats_median_ci_pct(const double *sorted, size_t n, double conf) {
    double lo, hi;
    if (!db_stats_median_ci(sorted, n, conf, &lo, &hi)) return NAN;
    double med = db_stats_median_sorted(sorted, n);
    return 100 * fmax(med - lo, hi - med) / med;
}

size_t db_stats_tukey_outliers(const double *sorted, size_t n) {
    if (n < 4) return 0;
    double q1 = db_stats_quantile_sorted(sorted, n, 0.25);
    double q3 = db_stats_quantile_sorted(sorted, n, 0.75);
    double lo = q1 - 1.5 * (q3 - q1), hi = q3 + 1.5 * (q3 - q1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += sorted[i] < lo || sorted[i] > hi;
    return k;
}

/* ---- Mann-Whitney U ------------------------------------------------------------------------ */

struct labelled {
    double v;
    int from_x;
};

static int cmp_labelled(const void *a, const void *b) {
    return cmp_double(&((const struct labelled *)a)->v, &((const struct labelled *)b)->v);
}

/* The exact test's support: beyond this many samples on the larger side C(m + n, 8) may not fit
 * 128 bits, and the normal approximation is used (scipy would still count exactly). */
#define EXACT_MAX_N 10000

/* 2 P(U <= k) for sample sizes a <= b under H0: the coefficients of the Gaussian binomial
 * [a + b choose a]_q = prod_{i=1..a} (1 - q^(b+i)) / (1 - q^i) count the arrangements with each
 * U, exactly in 128-bit integers (truncated at degree k: lower degrees never see higher ones). */
static double exact_two_sided(size_t a, size_t b, size_t k) {
    __int128 *c = calloc(k + 1, sizeof *c);
    if (!c) return NAN;
    c[0] = 1;
    __int128 total = 1; /* C(b + i, i), exact: each partial product is a binomial coefficient */
    for (size_t i = 1; i <= a; i++) {
        size_t s = b + i;
        for (size_t d = k; d >= s && d <= k; d--)
            c[d] -= c[d - s];
        for (size_t d = i; d <= k; d++)
            c[d] += c[d - i];
        total = total * (__int128)(b + i) / (__int128)i;
    }
    __int128 cdf = 0;
    for (size_t d = 0; d <= k; d++)
        cdf += c[d];
    free(c);
    double p = 2 * ((double)cdf / (double)total);
    return p > 1 ? 1 : p;
}

double db_stats_mwu(const double *x, size_t m, const double *y, size_t n, double *u1) {
    if (u1) *u1 = NAN;
    if (m == 0 || n == 0) return NAN;
    size_t N = m + n;
    struct labelled *z = malloc(N * sizeof *z);
    if (!z) return NAN;
    for (size_t i = 0; i < m; i++)
        z[i] = (struct labelled){x[i], 1};
    for (size_t j = 0; j < n; j++)
        z[m + j] = (struct labelled){y[j], 0};
    qsort(z, N, sizeof *z, cmp_labelled);
    double r1 = 0, tie_term = 0;
    int ties = 0;
    for (size_t i = 0; i < N;) {
        size_t j = i;
        while (j + 1 < N && z[j + 1].v == z[i].v)
            j++;
        double t = (double)(j - i + 1), rank = 0.5 * (double)(i + j) + 1; /* mid-rank, 1-based */
        for (size_t k = i; k <= j; k++)
            if (z[k].from_x) r1 += rank;
        tie_term += t * t * t - t;
        ties |= j > i;
        i = j + 1;
    }
    free(z);
    double md = (double)m, nd = (double)n;
    double U1 = r1 - md * (md + 1) / 2, U2 = md * nd - U1;
    if (u1) *u1 = U1;
    double U = U1 > U2 ? U1 : U2;
    size_t a = m < n ? m : n, b = m < n ? n : m;
    if ((m <= 8 || n <= 8) && !ties && b <= EXACT_MAX_N)
        return exact_two_sided(a, b, (size_t)(md * nd - U + 0.5));
    double Nd = (double)N;
    double s = sqrt(md * nd / 12 * ((Nd + 1) - tie_term / (Nd * (Nd - 1))));
    double zs = (U - md * nd / 2 - 0.5) / s;
    double p = 2 * (0.5 * erfc(zs / M_SQRT2));
    return p > 1 ? 1 : p < 0 ? 0 : p;
}

double db_stats_mwu_min_p(size_t m, size_t n) {
    double c = 1; /* C(m + n, min(m, n)) in floating point: only compared with alpha */
    size_t a = m < n ? m : n;
    for (size_t i = 1; i <= a; i++)
        c = c * (double)(m + n - a + i) / (double)i;
    double p = 2 / c;
    return p > 1 ? 1 : p;
}

/* ---- ratio of medians, multiple comparisons ---------------------------------------------------
 */

/* A sample's values in order, with each original index's rank: a resample of the sample is a
 * multiset of ranks, so its median is found without sorting values (linear per resample). */
struct ranked {
    double *sorted; /* the values, ascending */
    size_t *rank;   /* rank[k]: where v[k] is in sorted */
    size_t *count;  /* scratch: how often each rank was drawn */
};

struct value_index {
    double v;
    size_t i;
};

static int cmp_value_index(const void *a, const void *b) {
    const struct value_index *x = a, *y = b;
    int c = (x->v > y->v) - (x->v < y->v);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

static int rank_sample(const double *v, size_t n, struct ranked *r) {
    struct value_index *t = malloc(n * sizeof *t);
    r->sorted = malloc(n * sizeof *r->sorted);
    r->rank = malloc(n * sizeof *r->rank);
    r->count = malloc(n * sizeof *r->count);
    int ok = t && r->sorted && r->rank && r->count;
    if (ok) {
        for (size_t i = 0; i < n; i++)
            t[i] = (struct value_index){v[i], i};
        qsort(t, n, sizeof *t, cmp_value_index);
        for (size_t j = 0; j < n; j++) {
            r->sorted[j] = t[j].v;
            r->rank[t[j].i] = j;
        }
    }
    free(t);
    return ok ? DB_OK : DB_E_NOMEM;
}

static void free_ranked(struct ranked *r) {
    free(r->sorted);
    free(r->rank);
    free(r->count);
}

/* The median of a resample with replacement of v (n values): the draws are those of a resample
 * of v itself (the same generator calls, the same indices), and the median of the same
 * multiset, so the result is the one sorting the drawn values would give. */
static double resampled_median(const double *v, size_t n, const struct ranked *r, double *buf,
                               uint64_t *state) {
    if (n <= 32) { /* few values: insertion sort of the draws */
        for (size_t i = 0; i < n; i++) {
            size_t k = (size_t)(db_rng_uniform(state) * (double)n);
            double x = v[k < n ? k : n - 1];
            size_t j = i;
            for (; j > 0 && buf[j - 1] > x; j--)
                buf[j] = buf[j - 1];
            buf[j] = x;
        }
        return db_stats_median_sorted(buf, n);
    }
    memset(r->count, 0, n * sizeof *r->count);
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)(db_rng_uniform(state) * (double)n);
        r->count[r->rank[k < n ? k : n - 1]]++;
    }
    size_t lo_pos = (n - 1) / 2, hi_pos = n / 2, seen = 0, j = 0;
    double lo = NAN, hi = NAN;
    for (; j < n; j++) {
        size_t next = seen + r->count[j];
        if (lo_pos >= seen && lo_pos < next) lo = r->sorted[j];
        if (hi_pos >= seen && hi_pos < next) {
            hi = r->sorted[j];
            break;
        }
        seen = next;
    }
    return n % 2 ? hi : 0.5 * (lo + hi);
}

int db_stats_ratio_ci(const double *x, size_t m, const double *y, size_t n, double conf,
                      int resamples, uint64_t seed, double *lo, double *hi) {
    *lo = *hi = NAN;
    if (m == 0 || n == 0 || resamples < 1) return DB_E_INVALID;
    double *buf = malloc((m > n ? m : n) * sizeof *buf);
    double *r = malloc((size_t)resamples * sizeof *r);
    struct ranked rx = {0}, ry = {0};
    int rc = buf && r ? DB_OK : DB_E_NOMEM;
    if (rc == DB_OK && m > 32) rc = rank_sample(x, m, &rx);
    if (rc == DB_OK && n > 32) rc = rank_sample(y, n, &ry);
    if (rc == DB_OK) {
        uint64_t state = seed;
        for (int k = 0; k < resamples; k++) {
            double mx = resampled_median(x, m, &rx, buf, &state);
            r[k] = resampled_median(y, n, &ry, buf, &state) / mx;
        }
        db_stats_sort(r, (size_t)resamples);
        *lo = db_stats_quantile_sorted(r, (size_t)resamples, (1 - conf) / 2);
        *hi = db_stats_quantile_sorted(r, (size_t)resamples, (1 + conf) / 2);
    }
    free_ranked(&rx);
    free_ranked(&ry);
    free(buf);
    free(r);
    return rc;
}

struct indexed {
    double p;
    size_t i;
};

static int cmp_indexed(const void *a, const void *b) {
    return cmp_double(&((const struct indexed *)a)->p, &((const struct indexed *)b)->p);
}

int db_stats_bh_adjust(const double *p, size_t k, double *adj) {
    struct indexed *v = malloc((k ? k : 1) * sizeof *v);
    if (!v) return DB_E_NOMEM;
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        adj[i] = NAN;
        if (isfinite(p[i])) v[m++] = (struct indexed){p[i], i};
    }
    qsort(v, m, sizeof *v, cmp_indexed);
    double run = 1;
    for (size_t j = m; j-- > 0;) {
        double a = v[j].p * (double)m / (double)(j + 1);
        run = a < run ? a : run;
        adj[v[j].i] = run;
    }
    free(v);
    return DB_OK;
}
