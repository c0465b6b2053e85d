#include "harness/analysis/sequential.h"

#include <math.h>
#include <stdlib.h>

#include "core/stats.h"
#include "core/status.h"

/* Lan-DeMets, Pocock type: A(t) = alpha ln(1 + (e - 1) t). */
static double spent(const struct db_seq_design *d, double t) {
    return d->alpha * log1p((M_E - 1) * t);
}

double db_seq_level(const struct db_seq_design *d, size_t n) {
    if (n < d->min_runs || n > d->max_runs || d->max_runs == 0) return 0;
    double mx = (double)d->max_runs;
    double before = n == d->min_runs ? 0 : spent(d, (double)(n - 1) / mx);
    return spent(d, (double)n / mx) - before;
}

/* Continued fraction of the regularised incomplete beta function (modified Lentz), valid for
 * x < (a + 1) / (a + b + 2); 300 terms reach double precision for the a, b of a t distribution. */
static double beta_cf(double a, double b, double x) {
    const double tiny = 1e-300;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 300; m++) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
        d = 1 + aa * d;
        d = fabs(d) < tiny ? 1 / tiny : 1 / d;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
        d = 1 + aa * d;
        d = fabs(d) < tiny ? 1 / tiny : 1 / d;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-16) break;
    }
    return h;
}

/* I_x(a, b). */
static double betai(double a, double b, double x) {
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1) / (a + b + 2)) return exp(lbt) * beta_cf(a, b, x) / a;
    return 1 - exp(lbt) * beta_cf(b, a, 1 - x) / b;
}

double db_student_t_sf(double t, double df) {
    if (isnan(t) || !(df > 0)) return NAN;
    if (isinf(t)) return t > 0 ? 0 : 1;
    double tail = 0.5 * betai(0.5 * df, 0.5, df / (df + t * t)); /* P(T > |t|) */
    return t >= 0 ? tail : 1 - tail;
}

double db_student_t_isf(double q, double df) {
    if (!(q > 0 && q < 1) || !(df > 0)) return NAN;
    if (q > 0.5) return -db_student_t_isf(1 - q, df);
    double lo = 0, hi = 1;
    while (db_student_t_sf(hi, df) > q && hi < 1e300)
        hi *= 2;
    for (int i = 0; i < 200 && hi - lo > 1e-14 * hi; i++) { /* bisection: sf is monotone */
        double mid = 0.5 * (lo + hi);
        if (db_student_t_sf(mid, df) > q)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* Yuen's trimmed moments of log(v): g = floor(DB_SEQ_TRIM n) values cut at each end, the mean
 * of the h = n - 2g left, and d = (n - 1) s_w^2 / (h (h - 1)) with s_w^2 the variance (n - 1
 * denominator) of the winsorised sample (the g lowest set to the next, the g highest likewise):
 * the squared standard error of the trimmed mean. buf: n doubles. */
static int log_trimmed(const double *v, size_t n, double *buf, double *mean, double *d, size_t *h) {
    for (size_t i = 0; i < n; i++) {
        if (!(v[i] > 0) || !isfinite(v[i])) return DB_E_INVALID;
        buf[i] = log(v[i]);
    }
    db_stats_sort(buf, n);
    size_t g = (size_t)floor(DB_SEQ_TRIM * (double)n);
    *h = n - 2 * g;
    double s = 0;
    for (size_t i = g; i < n - g; i++)
        s += buf[i];
    *mean = s / (double)*h;
    double w = 0, q = 0;
    for (size_t i = 0; i < n; i++)
        w += buf[i < g ? g : i >= n - g ? n - g - 1 : i];
    w /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double e = buf[i < g ? g : i >= n - g ? n - g - 1 : i] - w;
        q += e * e;
    }
    *d = q / ((double)*h * (double)(*h - 1)); /* (n - 1) s_w^2 / (h (h - 1)) */
    return DB_OK;
}

/* The largest c <= kmax with P(U <= c - 1) <= level under H0, samples of m <= n without ties:
 * the coefficients of the Gaussian binomial [m + n choose m]_q up to degree kmax count the
 * arrangements with each U (as core/stats.c's exact test, in long double: only a critical count
 * depends on them), over C(m + n, m). */
static size_t u_critical(size_t m, size_t n, size_t kmax, double level) {
    long double *c = calloc(kmax + 1, sizeof *c);
    if (!c) return 0;
    c[0] = 1;
    long double total = 1;
    for (size_t i = 1; i <= m; i++) {
        size_t s = n + i;
        for (size_t d = kmax; d >= s && d <= kmax; d--)
            c[d] -= c[d - s];
        for (size_t d = i; d <= kmax; d++)
            c[d] += c[d - i];
        total = total * (long double)(n + i) / (long double)i;
    }
    long double cdf = 0;
    size_t k = 0;
    while (k < kmax && (cdf += c[k]) / total <= (long double)level)
        k++;
    free(c);
    return k;
}

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int db_seq_rank(const double *x, size_t m, const double *y, size_t k, double level, double *p,
                double *ratio, double *lo, double *hi) {
    *p = *ratio = *lo = *hi = NAN;
    if (m < 2 || k < 2 || !(level > 0 && level < 0.5)) return DB_E_INVALID;
    for (size_t i = 0; i < m; i++)
        if (!(x[i] > 0) || !isfinite(x[i])) return DB_E_INVALID;
    for (size_t j = 0; j < k; j++)
        if (!(y[j] > 0) || !isfinite(y[j])) return DB_E_INVALID;
    size_t mk = m * k;
    double *d = malloc(mk * sizeof *d);
    if (!d) return DB_E_NOMEM;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < k; j++)
            d[i * k + j] = log(y[j]) - log(x[i]);
    qsort(d, mk, sizeof *d, cmp_dbl);
    *ratio = exp(mk % 2 ? d[mk / 2] : 0.5 * (d[mk / 2 - 1] + d[mk / 2]));
    *p = db_stats_mwu(x, m, y, k, NULL);
    /* Moses: [d_(c), d_(mk + 1 - c)] with c the largest count such that P(U <= c - 1) <= level */
    size_t c = u_critical(m < k ? m : k, m < k ? k : m, mk / 2, level);
    if (c > 0) {
        *lo = exp(d[c - 1]);
        *hi = exp(d[mk - c]);
    } else {
        *lo = 0;
        *hi = INFINITY;
    }
    free(d);
    return isnan(*p) ? DB_E_NOMEM : DB_OK;
}

int db_seq_welch(const double *x, size_t m, const double *y, size_t k, double level, double *p,
                 double *ratio, double *lo, double *hi) {
    *p = *ratio = *lo = *hi = NAN;
    if (m < 2 || k < 2 || !(level > 0 && level < 0.5)) return DB_E_INVALID;
    double *buf = malloc((m > k ? m : k) * sizeof *buf);
    if (!buf) return DB_E_NOMEM;
    double mx, dx, my, dy;
    size_t hx, hy;
    int rc = log_trimmed(x, m, buf, &mx, &dx, &hx);
    if (rc == DB_OK) rc = log_trimmed(y, k, buf, &my, &dy, &hy);
    free(buf);
    if (rc != DB_OK) return rc;
    double diff = my - mx, se2 = dx + dy;
    *ratio = exp(diff);
    if (!(se2 > 0)) { /* no spread on either side: the data say exactly what they say */
        *p = diff == 0 ? 1 : 0;
        *lo = *hi = *ratio;
        return DB_OK;
    }
    double se = sqrt(se2);
    double df = se2 * se2 / (dx * dx / (double)(hx - 1) + dy * dy / (double)(hy - 1));
    *p = 2 * db_student_t_sf(fabs(diff) / se, df);
    if (*p > 1) *p = 1;
    double tq = db_student_t_isf(level, df);
    *lo = exp(diff - tq * se);
    *hi = exp(diff + tq * se);
    return DB_OK;
}
