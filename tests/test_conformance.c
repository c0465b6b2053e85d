/* Conformance suite (SUNDIALS style): every workload x operator x jac x strategy combination
 * that claims to work goes through the same checks -- JVP/VJP against central finite
 * differences, the diagonal against the exact reference, every extracted entry against the
 * dense materialised Jacobian and the exact reference entries, the dense matrix against finite
 * differences, and primitive call and probe-vector (colour) counts against each strategy's
 * promise. The mis-tagged `liar` is handled explicitly: strategies that trust its diagonal tag
 * must give a wrong diagonal, and probe-checked must reject it. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "operators/blocks.h"
#include "strategies/colouring.h"
#include "harness/bench/runner.h"
#include "strategies/compressed.h"
#include "strategies/strategy.h"
#include "tests/helpers.h"

static const size_t sizes[] = {1, 2, 7, 64, 513, 1000};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static double *vec(size_t n) {
    return th_alloc(n * sizeof(double));
}

static void fill_random(double *v, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = ((seed >> 8) & 0xffff) / 32768.0 - 1.0;
    }
}

/* Central differences with h = 2^-16: a power of two, so h v is exact, and near the h that
 * balances truncation h^2/6 m3 against rounding e/h, (3e/m3)^(1/3) ~ 1.6e-5 for the
 * workloads' e ~ 4e-15, m3 ~ 3 (fd_bound). */
#define FD_H 0x1p-16

/* Central difference of the workload's eval: (f(x + h v) - f(x - h v)) / 2h. */
static void fd_jvp(struct db_instance *in, const double *v, double *out) {
    size_t n = in->n;
    const double h = FD_H;
    double *xp = vec(n), *xm = vec(n), *fp = vec(n), *fm = vec(n);
    for (size_t i = 0; i < n; i++)
        xp[i] = in->x[i] + h * v[i], xm[i] = in->x[i] - h * v[i];
    cr_assert_eq(db_instance_eval(in, xp, fp), DB_OK);
    cr_assert_eq(db_instance_eval(in, xm, fm), DB_OK);
    for (size_t i = 0; i < n; i++)
        out[i] = (fp[i] - fm[i]) / (2 * h);
    th_free(xp), th_free(xm), th_free(fp), th_free(fm);
}

/* Every workload is f(x) = C s(x), s = sin or cos elementwise (C = I for the elementwise ones),
 * at a point with |x_i| <= 4 (db_default_point). th_central_difference_bound with:
 * m3 = rowsum|C| vmax^3 (|s^(3)| <= 1); f evaluated within gamma_(2*4 + w) rowsum|C| (libmvec
 * <= 4 ulp on each |s| <= 1, then w = row non-zeros products and sums); f1 = rowsum|C|. */
static double fd_bound(const struct th_coupling *c, double vmax) {
    double f_err = th_gamma(2 * TH_MVEC_ULPS + (double)c->row_nnz) * c->row_sum;
    return th_central_difference_bound(FD_H, c->row_sum * vmax * vmax * vmax, f_err, c->row_sum,
                                       4.0, vmax);
}

/* The kernels' own products: (J v)_i = sum_j C_ij s'(x_j) v_j with s' from libmvec (2*4 u
 * relative), one product with C_ij and one with v_j, w terms summed:
 * |jv_i - (J v)_i| <= gamma_(2*4 + w + 1) rowsum|C| vmax; (J^T w)_j = s'(x_j) sum_i C_ij w_i
 * likewise with the column sums. */
static double jvp_err(const struct th_coupling *c, double vmax) {
    return th_gamma(2 * TH_MVEC_ULPS + (double)c->row_nnz + 1) * c->row_sum * vmax;
}
static double vjp_err(const struct th_coupling *c, double wmax) {
    return th_gamma(2 * TH_MVEC_ULPS + (double)c->col_nnz + 1) * c->col_sum * wmax;
}

static double max_abs(const double *v, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

/* Create an instance at the size nearest n that the workload accepts; a size it rejects must be
 * rejected with DB_E_UNSUPPORTED and a size rule to explain it. */
static struct db_instance *instance_near(const struct db_workload *wl, size_t *n) {
    struct db_instance *in = NULL;
    size_t fit = db_workload_fit_size(wl, *n);
    if (fit != *n) {
        int rc = db_instance_create(wl, *n, 0, &in);
        if (rc == DB_OK) th_own(in, th_destroy_instance);
        cr_assert_eq(rc, DB_E_UNSUPPORTED, "%s n=%zu", wl->name, *n);
        cr_assert_not_null(wl->size_rule, "%s rejects n=%zu without a size rule", wl->name, *n);
        *n = fit;
    }
    return th_instance(wl, *n);
}

Test(workloads, registry_and_names) {
    cr_assert_eq(db_workload_count, 9);
    const char *names[] = {"sin",     "split",  "seqsin",  "nobatch",   "liar",
                           "tridiag", "banded", "stencil", "randsparse"};
    for (size_t i = 0; i < 9; i++) {
        const struct db_workload *w = db_workload_find(names[i]);
        cr_assert_not_null(w, "%s", names[i]);
        cr_assert_str_eq(w->name, names[i]);
        cr_assert_str_eq(db_workloads[i]->name, names[i], "--list order");
        cr_assert_not_null(w->ops.reference_diagonal);
        if (w->structure != DB_STRUCT_DIAGONAL) {
            cr_assert_not_null(w->ops.pattern, "%s", names[i]);
            cr_assert_not_null(w->ops.reference_entries, "%s", names[i]);
        }
    }
    cr_assert_null(db_workload_find("cos"));
    cr_assert_eq(db_workload_find("seqsin")->batch, DB_BATCH_SEQUENTIAL);
    cr_assert_eq(db_workload_find("nobatch")->batch, DB_BATCH_NONE);
    /* liar claims diagonal while being tridiagonal: that is its point */
    const struct db_workload *liar = db_workload_find("liar");
    cr_assert_eq(liar->structure, DB_STRUCT_TRIDIAGONAL);
    cr_assert_eq(db_workload_tag_structure(liar), DB_STRUCT_DIAGONAL);
    cr_assert_eq(db_tags_for_structure(db_workload_tag_structure(liar)), DB_TAG_DIAGONAL);
    cr_assert_eq(db_workload_tag_structure(db_workload_find("tridiag")), DB_STRUCT_TRIDIAGONAL);
    cr_assert_eq(db_tags_for_structure(DB_STRUCT_BANDED), DB_TAG_BANDED);
    cr_assert_eq(db_tags_for_structure(DB_STRUCT_SPARSE), DB_TAG_SPARSE);
}

/* The true pattern holds every non-zero: entries of the dense J outside it are exactly 0, and the
 * reference entries on it match the dense J. */
Test(workloads, pattern_and_reference_entries_match_the_jacobian) {
    for (size_t w = 0; w < db_workload_count; w++) {
        const struct db_workload *wl = db_workloads[w];
        size_t n = 50;
        struct db_instance *in = instance_near(wl, &n);
        struct db_sparse *P = th_sparse(), *A = th_sparse();
        cr_assert_eq(db_instance_pattern(in, P), DB_OK);
        cr_assert_eq(db_sparse_check(P), DB_OK, "%s", wl->name);
        cr_assert_leq(db_sparse_max_row_nnz(P), db_instance_row_nnz_bound(in), "%s", wl->name);
        cr_assert_eq(db_sparse_copy_pattern(P, 1, A), DB_OK);
        cr_assert_eq(db_instance_reference_entries(in, A), DB_OK);
        double *e = th_calloc(n, sizeof *e), *col = vec(n), eta = th_entry_rel();
        for (size_t j = 0; j < n; j++) {
            e[j] = 1;
            cr_assert_eq(db_instance_jvp(in, in->x, e, col), DB_OK);
            e[j] = 0;
            for (size_t i = 0; i < n; i++) {
                size_t k = db_sparse_find(P, i, j);
                double want = k == DB_SPARSE_NONE ? 0.0 : A->values[k];
                /* kernel vs scalar reference (th_entry_rel); exactly 0 off the pattern */
                cr_assert(fabs(col[i] - want) <= eta * fabs(want),
                          "%s n=%zu J[%zu,%zu]=%.17g ref=%.17g", wl->name, n, i, j, col[i], want);
            }
        }
        th_free(e), th_free(col), th_free(P), th_free(A), th_free(in);
    }
}

Test(workloads, jvp_vjp_against_finite_differences) {
    for (size_t w = 0; w < db_workload_count; w++)
        for (size_t s = 0; s < NSIZES; s++) {
            size_t n = sizes[s];
            struct db_instance *in = instance_near(db_workloads[w], &n);
            double *v = vec(n), *wv = vec(n), *jv = vec(n), *fd = vec(n), *jtw = vec(n);
            fill_random(v, n, 7 + (unsigned)n);
            fill_random(wv, n, 99 + (unsigned)n);
            struct th_coupling c = th_coupling_of(in);
            double vmax = max_abs(v, n), wmax = max_abs(wv, n);
            double fdb = fd_bound(&c, vmax), bound = fdb + jvp_err(&c, vmax);
            cr_assert_eq(db_instance_jvp(in, in->x, v, jv), DB_OK);
            fd_jvp(in, v, fd);
            for (size_t i = 0; i < n; i++)
                cr_assert(fabs(jv[i] - fd[i]) <= bound, "%s n=%zu jvp[%zu]=%.17g fd=%.17g (> %g)",
                          db_workloads[w]->name, n, i, jv[i], fd[i], bound);
            /* VJP: <w, J v> = <J^T w, v>, with J v from finite differences: the difference is
             * within sum|w_i| fd_bound + sum|v_j| vjp_err, plus both sums' rounding (gamma_n
             * times the sum of the terms' magnitudes, Higham §3.1). */
            cr_assert_eq(db_instance_vjp(in, in->x, wv, jtw), DB_OK);
            double lhs = 0, rhs = 0, mag = 0;
            for (size_t i = 0; i < n; i++) {
                lhs += wv[i] * fd[i], rhs += jtw[i] * v[i];
                mag += fabs(wv[i] * fd[i]) + fabs(jtw[i] * v[i]);
            }
            double dot_bound = th_norm1(wv, n) * fdb + th_norm1(v, n) * vjp_err(&c, wmax) +
                               th_gamma((double)n) * mag;
            cr_assert(fabs(lhs - rhs) <= dot_bound, "%s n=%zu <w,Jv>=%.17g <J'w,v>=%.17g (> %g)",
                      db_workloads[w]->name, n, lhs, rhs, dot_bound);
            th_free(v), th_free(wv), th_free(jv), th_free(fd), th_free(jtw), th_free(in);
        }
}

Test(workloads, single_calls_are_counted_and_batches_follow_the_rule) {
    for (size_t w = 0; w < db_workload_count; w++) {
        const struct db_workload *wl = db_workloads[w];
        size_t n = 33, k = 5;
        struct db_instance *in = instance_near(wl, &n);
        double *V = th_calloc(n * k, sizeof *V), *O = th_calloc(n * k, sizeof *O);
        for (size_t j = 0; j < k; j++)
            V[j * n + j] = 1.0;
        cr_assert_eq(db_instance_jvp(in, in->x, V, O), DB_OK);
        cr_assert_eq(db_instance_calls(in), 1, "%s", wl->name);
        cr_assert_eq(db_instance_tangents(in), 1, "%s", wl->name);
        db_instance_reset_calls(in);
        cr_assert_eq(db_instance_tangents(in), 0, "reset clears the tangent count too");
        int rc = db_instance_jvp_batch(in, in->x, V, n, k, O, n);
        unsigned long long expected = wl->batch == DB_BATCH_VECTORISED   ? 1
                                      : wl->batch == DB_BATCH_SEQUENTIAL ? k
                                                                         : 0;
        cr_assert_eq(rc, wl->batch == DB_BATCH_NONE ? DB_E_UNSUPPORTED : DB_OK, "%s", wl->name);
        cr_assert_eq(db_instance_calls(in), expected, "%s calls %llu", wl->name,
                     db_instance_calls(in));
        cr_assert_eq(db_instance_tangents(in), wl->batch == DB_BATCH_NONE ? 0 : k,
                     "%s: each tangent of a batch is one probe vector", wl->name);
        db_instance_reset_calls(in);
        rc = db_instance_vjp_batch(in, in->x, V, n, k, O, n);
        cr_assert_eq(rc, wl->batch == DB_BATCH_NONE ? DB_E_UNSUPPORTED : DB_OK);
        cr_assert_eq(db_instance_calls(in), expected);
        th_free(V), th_free(O), th_free(in);
    }
}

Test(workloads, sequential_batches_pay_the_per_call_cost) {
    struct db_instance *in = th_instance_cost(db_workload_find("seqsin"), 4, -1);
    cr_assert_gt(in->call_cost_s, 0, "seqsin has a default per-call cost");
    th_free(in);
    in = th_instance_cost(db_workload_find("seqsin"), 4, 2.5e-6);
    cr_assert_eq(in->call_cost_s, 2.5e-6);
    th_free(in);
    in = th_instance_cost(db_workload_find("sin"), 4, -1);
    cr_assert_eq(in->call_cost_s, 0);
    th_free(in);
}

Test(workloads, bad_arguments) {
    struct db_instance *in = NULL;
    cr_assert_eq(db_instance_create(db_workload_find("sin"), 0, 0, &in), DB_E_INVALID);
    cr_assert_eq(db_instance_create(NULL, 4, 0, &in), DB_E_INVALID);
    in = th_instance(db_workload_find("sin"), 8);
    double V[8] = {0}, O[8];
    cr_assert_eq(db_instance_jvp_batch(in, in->x, V, 4, 1, O, 8), DB_E_INVALID, "ldv < n");
    th_free(in);
}

/* What one extraction promises: primitive calls and probe (tangent) vectors, or unsupported. */
struct promise {
    int unsupported;
    long long calls, colours;
    int fallback; /* materialise (diagonal only, no extracted entries) */
};

static struct promise materialise_promise(const char *kind, const struct db_workload *wl,
                                          size_t n) {
    if (strcmp(kind, "diagonal") == 0 || strcmp(kind, "matrix") == 0)
        return (struct promise){0, 0, 0, 1}; /* writes diag(d) / hands over its stored matrix */
    if (wl->batch == DB_BATCH_NONE) return (struct promise){1, 0, 0, 1};
    if (wl->batch == DB_BATCH_SEQUENTIAL) return (struct promise){0, (long long)n, (long long)n, 1};
    size_t B = db_block_columns(n);
    return (struct promise){0, (long long)((n + B - 1) / B), (long long)n, 1};
}

/* Colours probe-coloured uses: the best greedy colouring of the pattern the tags declare (of its
 * transpose for VJPs); -1 when the tags declare none. */
static long long coloured_count(struct db_operator *op) {
    size_t l, u;
    int band = db_tagged_band(op, &l, &u) == DB_OK;
    if (!band && !(db_operator_tags(op) & DB_TAG_SPARSE)) return -1;
    struct db_sparse *P = th_sparse(), *PT = th_sparse();
    if (band)
        cr_assert_eq(db_sparse_band(op->n, l, u, 0, P), DB_OK);
    else
        cr_assert_eq(db_instance_pattern(op->in, P), DB_OK);
    const struct db_sparse *probed = P;
    if (op->jac == DB_JAC_BWD) {
        cr_assert_eq(db_sparse_transpose(P, PT), DB_OK);
        probed = PT;
    }
    size_t *colour = th_alloc(op->n * sizeof *colour), k;
    cr_assert_eq(db_colour_columns_best(probed, colour, &k, NULL, NULL), DB_OK);
    cr_assert_geq(k, db_sparse_max_row_nnz(probed), "no colouring beats the lower bound");
    th_free(colour), th_free(P), th_free(PT);
    return (long long)k;
}

static struct promise promised(const char *strategy, const char *kind, struct db_operator *op,
                               const struct db_workload *wl, size_t n) {
    unsigned tags = db_operator_tags(op);
    int knows = strcmp(kind, "diagonal") == 0; /* a kind that knows its diagonal answers */
    long long k = -1;
    size_t l, u;
    if (strcmp(strategy, "materialise") == 0) return materialise_promise(kind, wl, n);
    if (knows) return (struct promise){0, 0, 0, 0};
    if (strcmp(strategy, "probe") == 0 && (tags & DB_TAG_DIAGONAL)) k = 1;
    if (strcmp(strategy, "probe-checked") == 0 && (tags & DB_TAG_DIAGONAL)) k = 2;
    if (strcmp(strategy, "probe-tridiag") == 0 && (tags & DB_TAG_TRIDIAGONAL))
        k = (long long)(n < 3 ? n : 3);
    if (strcmp(strategy, "probe-banded") == 0 && db_tagged_band(op, &l, &u) == DB_OK)
        k = (long long)(n < l + u + 1 ? n : l + u + 1);
    if (strcmp(strategy, "probe-coloured") == 0) k = coloured_count(op);
    if (k < 0) return materialise_promise(kind, wl, n); /* untagged: fall back */
    return (struct promise){0, k, k, 0};                /* one single product per colour */
}

/* Strategies that trust a diagonal tag without checking it: wrong on liar (tagged diagonal,
 * truly tridiagonal), which is the documented point of liar. probe-tridiag is right on it
 * (its tridiagonal pattern contains the truth); probe-checked rejects it. */
static int trusts_diagonal_tag(const char *strategy) {
    return strcmp(strategy, "probe") == 0 || strcmp(strategy, "probe-banded") == 0 ||
           strcmp(strategy, "probe-coloured") == 0;
}

/* The dense J of the instance (column-major), from JVPs with unit vectors. */
static double *dense_jacobian(struct db_instance *in) {
    size_t n = in->n;
    double *J = vec(n * n), *e = th_calloc(n, sizeof *e);
    for (size_t j = 0; j < n; j++) {
        e[j] = 1;
        cr_assert_eq(in->wl->ops.jvp(in, in->x, e, J + j * n), DB_OK);
        e[j] = 0;
    }
    th_free(e);
    return J;
}

static void check_combo(const struct db_workload *wl, const char *kind, enum db_jac jac,
                        const struct db_strategy *st, size_t n, int tagged, const double *J) {
    struct db_instance *in = th_instance(wl, n);
    struct db_operator *op = NULL;
    unsigned tags = tagged ? db_tags_for_structure(db_workload_tag_structure(wl)) : 0;
    int rc = db_operator_create(kind, jac, in, tags, &op);
    if (rc == DB_OK) th_own(op, th_destroy_operator);
    if (strcmp(kind, "diagonal") == 0 && wl->structure != DB_STRUCT_DIAGONAL) {
        cr_assert_eq(rc, DB_E_UNSUPPORTED);
        th_free(in);
        return;
    }
    cr_assert_eq(rc, DB_OK, "create %s", kind);
    double *diag = vec(n), *ref = vec(n), eta = th_entry_rel();
    for (size_t i = 0; i < n; i++)
        diag[i] = NAN;
    cr_assert_eq(db_instance_reference_diagonal(in, ref), DB_OK);
    struct db_strategy_ctx *ctx = th_strategy_ctx();
    struct promise p = promised(st->name, kind, op, wl, n);
    int lies = wl->claim == DB_CLAIM_DIAGONAL && (db_operator_tags(op) & DB_TAG_DIAGONAL) &&
               n > 1 && strcmp(kind, "diagonal") != 0;
    const char *what = st->name;
    for (int pass = 0; pass < 4; pass++) { /* run, run again (reused workspace), extract x2 */
        int (*body)(struct db_operator *, double *, struct db_strategy_ctx *) =
            pass < 2 ? st->run : st->extract;
        if (!body) break;
        if (pass == 3 && p.fallback) break; /* a fallback's extract is materialise again */
        db_instance_reset_calls(in);
        ctx->extracted = NULL;
        rc = body(op, diag, ctx);
        /* where, for the messages: the format's own arguments must follow it */
        char where[256];
        snprintf(where, sizeof where, "%s/%s/%s/%s%s n=%zu tagged=%d", wl->name, kind,
                 db_jac_name(jac), what, pass < 2 ? "" : "(extract)", n, tagged);
        if (p.unsupported) {
            cr_assert_eq(rc, DB_E_UNSUPPORTED, "%s", where);
            cr_assert_eq(db_instance_calls(in), 0, "%s", where);
            break;
        }
        if (lies && strcmp(st->name, "probe-checked") == 0) {
            cr_assert_eq(rc, DB_E_TAG_MISMATCH, "%s", where);
            cr_assert_eq(db_instance_calls(in), 2, "%s", where);
            cr_assert_not_null(strstr(ctx->remark, "tagged diagonal"), "%s", ctx->remark);
            continue;
        }
        cr_assert_eq(rc, DB_OK, "%s", where);
        double err = db_max_abs_diff(diag, ref, n), ratio;
        if (lies && trusts_diagonal_tag(st->name)) {
            cr_assert_gt(err, 0.1, "liar: a strategy trusting the tag must be wrong; %s", where);
        } else { /* each entry within th_entry_rel of the scalar reference */
            size_t bad = th_rel_violation(diag, ref, n, eta, &ratio);
            cr_assert_eq(bad, n, "diag[%zu] relative error %g > %g; %s", bad, ratio, eta, where);
        }
        cr_assert_eq((long long)db_instance_calls(in), p.calls, "%llu calls, promised %lld; %s",
                     db_instance_calls(in), p.calls, where);
        cr_assert_eq((long long)db_instance_tangents(in), p.colours,
                     "%llu probe vectors, promised %lld; %s", db_instance_tangents(in), p.colours,
                     where);
        if (pass < 2) continue;
        /* Every extracted entry against the dense J and the exact reference entries. */
        const struct db_sparse *A = ctx->extracted;
        if (p.fallback) {
            cr_assert_null(A, "a fallback extracts the diagonal only; %s", where);
            continue;
        }
        cr_assert_not_null(A, "%s", where);
        cr_assert_eq(A->n, n);
        cr_assert_eq(db_sparse_check(A), DB_OK, "%s", where);
        struct db_sparse *R = th_sparse();
        cr_assert_eq(db_sparse_copy_pattern(A, 1, R), DB_OK);
        cr_assert_eq(db_instance_reference_entries(in, R), DB_OK);
        size_t nnz = db_sparse_nnz(A);
        double *dense = vec(nnz), worst_ref = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t e = A->row_ptr[i]; e < A->row_ptr[i + 1]; e++) {
                double r = fabs(A->values[e] - R->values[e]);
                dense[e] = J[A->col_idx[e] * n + i];
                worst_ref = r > worst_ref || isnan(r) ? r : worst_ref;
            }
        if (lies && trusts_diagonal_tag(st->name)) {
            cr_assert_gt(worst_ref, 0.1, "%s", where);
        } else {
            /* both from the kernels: each within eta of the reference, so within 2 eta of it */
            size_t bad = th_rel_violation(A->values, R->values, nnz, eta, &ratio);
            cr_assert_eq(bad, nnz, "entry %zu vs reference: relative error %g > %g; %s", bad, ratio,
                         eta, where);
            for (size_t e = 0; e < nnz; e++)
                cr_assert(fabs(A->values[e] - dense[e]) <= 2 * eta * fabs(R->values[e]),
                          "entry %zu %.17g vs dense J %.17g; %s", e, A->values[e], dense[e], where);
        }
        th_free(dense), th_free(R);
    }
    th_free(ctx), th_free(diag), th_free(ref), th_free(op), th_free(in);
}

static void check_sizes(const char *kind, enum db_jac jac, int tagged, size_t max_n) {
    for (size_t w = 0; w < db_workload_count; w++)
        for (size_t k = 0; k < NSIZES && sizes[k] <= max_n; k++) {
            size_t n = db_workload_fit_size(db_workloads[w], sizes[k]);
            struct db_instance *in = th_instance(db_workloads[w], n);
            double *J = dense_jacobian(in);
            th_free(in);
            for (size_t s = 0; s < db_strategy_count; s++)
                check_combo(db_workloads[w], kind, jac, db_strategies[s], n, tagged, J);
            th_free(J);
        }
}

static void check_all(const char *kind, enum db_jac jac, int tagged) {
    check_sizes(kind, jac, tagged, (size_t)-1);
}

Test(conformance, jacobian_fwd) {
    check_all("jacobian", DB_JAC_FWD, 1);
}
Test(conformance, jacobian_bwd) {
    check_all("jacobian", DB_JAC_BWD, 1);
}
Test(conformance, function) {
    check_all("function", DB_JAC_NONE, 1);
}
Test(conformance, matrix) {
    check_all("matrix", DB_JAC_NONE, 1);
}
Test(conformance, diagonal) {
    check_all("diagonal", DB_JAC_NONE, 1);
}

/* Untagged operators: probe and every structured probe must fall back to materialise (same
 * calls, same answer), and be unsupported where materialise is -- never a wrong answer. */
Test(conformance, untagged_probe_falls_back_to_materialise) {
    check_sizes("jacobian", DB_JAC_FWD, 0, 513); /* the fallback does not depend on n */
    check_sizes("jacobian", DB_JAC_BWD, 0, 513);
    check_sizes("function", DB_JAC_NONE, 0, 513);
}

Test(conformance, dense_matrix_matches_finite_differences) {
    const char *kinds[] = {"jacobian", "jacobian", "function", "matrix", "diagonal"};
    enum db_jac jacs[] = {DB_JAC_FWD, DB_JAC_BWD, DB_JAC_NONE, DB_JAC_NONE, DB_JAC_NONE};
    for (size_t w = 0; w < db_workload_count; w++) {
        if (db_workloads[w]->batch == DB_BATCH_NONE) continue;
        for (size_t k = 0; k < 5; k++) {
            if (k == 4 && db_workloads[w]->structure != DB_STRUCT_DIAGONAL) continue;
            size_t n = db_workload_fit_size(db_workloads[w], 37);
            struct db_instance *in = th_instance(db_workloads[w], n);
            struct db_operator *op = th_operator(kinds[k], jacs[k], in, DB_TAG_DIAGONAL);
            double *buf = th_calloc(n * n, sizeof *buf), *e = th_calloc(n, sizeof *e);
            double *col = vec(n);
            /* |a - fd| <= |a - J| + |fd - J|: the entry a = C_ij s'(x_j) from the kernels
             * (libmvec, one product: gamma_(2*4 + 1) |C_ij|, |C_ij| <= rowsum|C|), the central
             * difference along e_j within fd_bound(vmax = 1). */
            struct th_coupling c = th_coupling_of(in);
            double bound = fd_bound(&c, 1) + th_gamma(2 * TH_MVEC_ULPS + 1) * c.row_sum;
            struct db_dense M;
            cr_assert_eq(op->ops->materialise(op, buf, &M), DB_OK);
            cr_assert_eq(M.transposed, jacs[k] == DB_JAC_BWD);
            for (size_t j = 0; j < n; j++) {
                e[j] = 1;
                fd_jvp(in, e, col);
                e[j] = 0;
                for (size_t i = 0; i < n; i++) {
                    double a = M.transposed ? M.data[i * M.ld + j] : M.data[j * M.ld + i];
                    cr_assert(fabs(a - col[i]) <= bound, "%s %s A[%zu,%zu]=%.17g fd=%.17g (> %g)",
                              db_workloads[w]->name, kinds[k], i, j, a, col[i], bound);
                }
            }
            th_free(buf), th_free(e), th_free(col), th_free(op), th_free(in);
        }
    }
}

Test(operators, tags_and_optional_ops) {
    struct db_instance *in = th_instance(db_workload_find("sin"), 1);
    struct db_operator *op = th_operator("function", DB_JAC_NONE, in, 0);
    cr_assert(db_operator_tags(op) & DB_TAG_DIAGONAL, "n = 1 is diagonal");
    cr_assert(db_operator_tags(op) & DB_TAG_SYMMETRIC);
    double w = 1, out;
    cr_assert_eq(db_operator_mv_transpose(op, &w, &out), DB_E_UNSUPPORTED,
                 "a function operator has no transpose");
    th_free(op);
    cr_assert_eq(db_operator_create("jacobian", DB_JAC_NONE, in, 0, &op), DB_E_INVALID);
    cr_assert_eq(db_operator_create("function", DB_JAC_FWD, in, 0, &op), DB_E_INVALID);
    cr_assert_eq(db_operator_create("sparse", DB_JAC_NONE, in, 0, &op), DB_E_INVALID);
    th_free(in);
}

/* Results must not depend on the thread count (materialise parallelises over blocks). */
Test(conformance, identical_for_any_thread_count) {
    const char *names[] = {"sin", "split", "seqsin"};
    for (size_t w = 0; w < 3; w++)
        for (size_t s = 0; s < db_strategy_count; s++) {
            size_t n = 3001;
            double *d[2];
            for (int t = 0; t < 2; t++) {
                omp_set_num_threads(t + 1);
                struct db_instance *in = th_instance(db_workload_find(names[w]), n);
                struct db_operator *op = th_operator("jacobian", DB_JAC_BWD, in, 0);
                struct db_strategy_ctx *ctx = th_strategy_ctx();
                d[t] = vec(n);
                cr_assert_eq(db_strategies[s]->run(op, d[t], ctx), DB_OK);
                th_free(ctx), th_free(op), th_free(in);
            }
            cr_assert_eq(memcmp(d[0], d[1], n * sizeof(double)), 0, "%s %s", names[w],
                         db_strategies[s]->name);
            th_free(d[0]), th_free(d[1]);
        }
    omp_set_num_threads(omp_get_num_procs());
}

static void destroy_tangent_cache(void *tc) {
    db_tangent_cache_free(tc);
    free(tc);
}

/* Every candidate write path (plain and streaming stores, each block width planning may pick)
 * gives the same matrix as the default path, bit for bit, and records what it ran. */
Test(conformance, every_write_path_materialises_the_same_matrix) {
    size_t ns[] = {1, 7, 64, 513, 1000};
    for (size_t w = 0; w < 3; w++)
        for (size_t k = 0; k < 5; k++)
            for (int reverse = 0; reverse < 2; reverse++) {
                size_t n = ns[k];
                struct db_instance *in = th_instance(db_workloads[w], n);
                double *a = th_calloc(n * n, sizeof *a), *b = th_calloc(n * n, sizeof *b);
                struct db_tangent_cache *tc = th_own(calloc(1, sizeof *tc), destroy_tangent_cache);
                cr_assert_not_null(tc);
                cr_assert_eq(db_tangent_cache_init(tc), DB_OK);
                cr_assert_eq(db_blocked_materialise(in, reverse, tc, a), DB_OK);
                struct db_write_path cand[32];
                size_t nc = db_write_path_candidates(n, cand, 32);
                cr_assert(nc >= 2);
                for (size_t c = 0; c < nc; c++) {
                    memset(b, 0xff, n * n * sizeof *b);
                    db_write_path_force(&cand[c]);
                    cr_assert_eq(db_blocked_materialise(in, reverse, tc, b), DB_OK);
                    db_write_path_force(NULL);
                    char want[DB_WRITE_PATH_LEN];
                    struct db_write_path ran = cand[c];
                    if (!db_workloads[w]->streams) ran.store = DB_STORE_PLAIN;
                    db_write_path_format(ran, want, sizeof want);
                    if (db_workloads[w]->batch != DB_BATCH_VECTORISED) want[0] = '\0';
                    cr_assert_str_eq(in->write_path, want);
                    cr_assert_eq(in->stream_outputs, cand[c].store == DB_STORE_STREAM);
                    cr_assert_eq(memcmp(a, b, n * n * sizeof *a), 0, "%s n=%zu path %s",
                                 db_workloads[w]->name, n, want);
                }
                double *ref = vec(n), eta = th_entry_rel();
                cr_assert_eq(db_instance_reference_diagonal(in, ref), DB_OK);
                for (size_t i = 0; i < n; i++) /* kernel vs reference; exactly 0 off the diagonal */
                    for (size_t j = 0; j < n; j++)
                        cr_assert(i == j ? fabs(a[j * n + i] - ref[i]) <= eta * fabs(ref[i])
                                         : a[j * n + i] == 0,
                                  "A[%zu,%zu] = %.17g", i, j, a[j * n + i]);
                th_free(ref), th_free(tc), th_free(a), th_free(b), th_free(in);
            }
}
