/* The conformance checks, shared by the conformance suite and the recipes (conformance.h). */
#include "tests/conformance.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "operators/blocks.h"
#include "strategies/colouring.h"
#include "harness/bench/runner.h"
#include "strategies/compressed.h"
#include "tests/helpers.h"

const size_t cf_sizes[] = {1, 2, 7, 64, 513, 1000};
const size_t cf_nsizes = sizeof cf_sizes / sizeof cf_sizes[0];

static double *vec(size_t n) {
    return th_alloc(n * sizeof(double));
}

static void fill_random(double *v, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = ((seed >> 8) & 0xffff) / 32768.0 - 1.0;
    }
}

static double max_abs(const double *v, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

/* ---- error models ---------------------------------------------------------------------------- */

/* Every registered workload is f(x) = C s(x), s = sin or cos elementwise (C = I for the
 * elementwise ones), at a point with |x_i| <= 4 (db_default_point):
 * - m3 = rowsum|C| (|s^(3)| <= 1), f1 = rowsum|C| (|s'| <= 1);
 * - f evaluated within gamma_(2*4 + w) rowsum|C| (libmvec <= 4 ulp on each |s| <= 1, then
 *   w = row non-zeros products and sums);
 * - the kernels' products (J v)_i = sum_j C_ij s'(x_j) v_j with s' from libmvec (2*4 u relative),
 *   one product with C_ij and one with v_j, w terms summed: gamma_(2*4 + w + 1) rowsum|C| vmax;
 *   (J^T w)_j = s'(x_j) sum_i C_ij w_i likewise with the column sums;
 * - one entry C_ij s'(x_j) (libmvec, one product): gamma_(2*4 + 1) |C_ij| <= ... rowsum|C|;
 * - kernels against the scalar reference: th_entry_rel.
 * h = 2^-16 is near the h that balances truncation h^2/6 m3 against rounding e/h,
 * (3e/m3)^(1/3) ~ 1.6e-5 for these workloads' e ~ 4e-15, m3 ~ 3. */
struct cf_model cf_sincos_model(const struct db_instance *in) {
    struct th_coupling c = th_coupling_of(in);
    return (struct cf_model){
        .m3 = c.row_sum,
        .f_err = th_gamma(2 * TH_MVEC_ULPS + (double)c.row_nnz) * c.row_sum,
        .f1 = c.row_sum,
        .xmax = 4.0,
        .jvp = th_gamma(2 * TH_MVEC_ULPS + (double)c.row_nnz + 1) * c.row_sum,
        .vjp = th_gamma(2 * TH_MVEC_ULPS + (double)c.col_nnz + 1) * c.col_sum,
        .entry = th_gamma(2 * TH_MVEC_ULPS + 1) * c.row_sum,
        .entry_rel = th_entry_rel(),
    };
}

/* th_central_difference_bound with the model's m3 vmax^3, f_err, f1 and xmax. */
static double fd_bound(const struct cf_model *m, double vmax) {
    cr_assert_leq(vmax, 1.0, "the error models hold for |v_i| <= 1");
    return th_central_difference_bound(CF_FD_H, m->m3 * vmax * vmax * vmax, m->f_err, m->f1,
                                       m->xmax, vmax);
}

/* Central difference of the workload's eval: (f(x + h v) - f(x - h v)) / 2h. */
static void fd_jvp(struct db_instance *in, const double *v, double *out) {
    size_t n = in->n;
    const double h = CF_FD_H;
    double *xp = vec(n), *xm = vec(n), *fp = vec(n), *fm = vec(n);
    for (size_t i = 0; i < n; i++)
        xp[i] = in->x[i] + h * v[i], xm[i] = in->x[i] - h * v[i];
    cr_assert_eq(db_instance_eval(in, xp, fp), DB_OK);
    cr_assert_eq(db_instance_eval(in, xm, fm), DB_OK);
    for (size_t i = 0; i < n; i++)
        out[i] = (fp[i] - fm[i]) / (2 * h);
    th_free(xp), th_free(xm), th_free(fp), th_free(fm);
}

/* ---- promises, from the declarations -------------------------------------------------------- */

/* What materialising costs, from the kind's flags: a blocked kind follows the workload's batching
 * rule (a vectorised call per block of db_block_columns, or one call per column); a kind that
 * stores its matrix or knows its diagonal hands over its storage or writes diag(d), no product. */
struct cf_promise cf_materialise_promise(const struct db_operator *op) {
    unsigned kf = db_operator_flags(op);
    size_t n = op->n;
    if (!(kf & DB_OPERATOR_BLOCKED)) {
        cr_assert(kf & (DB_OPERATOR_STORES_DENSE | DB_OPERATOR_KNOWS_DIAGONAL),
                  "kind %s declares no way to materialise", op->ops->kind);
        return (struct cf_promise){.fallback = 1};
    }
    switch (op->in->wl->batch) {
    case DB_BATCH_NONE:
        return (struct cf_promise){.unsupported = 1, .fallback = 1};
    case DB_BATCH_SEQUENTIAL:
        return (struct cf_promise){.calls = (long long)n, .colours = (long long)n, .fallback = 1};
    case DB_BATCH_VECTORISED:
        break;
    }
    size_t B = db_block_columns(n);
    return (struct cf_promise){
        .calls = (long long)((n + B - 1) / B), .colours = (long long)n, .fallback = 1};
}

/* The operator as a strategy sees it: only the tags it requires. Its narrowest one declares the
 * band the strategy probes (db_tagged_band: diagonal 0,0; tridiagonal 1,1; banded the
 * instance's), or, tagged sparse alone, the workload's pattern. */
static struct db_operator required_view(const struct db_operator *op, unsigned required) {
    struct db_operator v = *op;
    v.tags = db_operator_tags(op) & required;
    return v;
}

/* The pattern the view's tags declare, into Q. */
static void declared_pattern(const struct db_operator *view, struct db_sparse *Q) {
    size_t l, u;
    if (db_tagged_band(view, &l, &u) == DB_OK) {
        cr_assert_eq(db_sparse_band(view->n, l, u, 0, Q), DB_OK);
        return;
    }
    cr_assert(db_operator_tags(view) & DB_TAG_SPARSE, "no tag declares a pattern");
    cr_assert_eq(db_instance_pattern(view->in, Q), DB_OK);
}

/* The structure the narrowest of the view's tags claims, as db_structure_name names it. */
static const char *claimed_structure(const struct db_operator *view) {
    static const struct {
        unsigned tag;
        enum db_structure s;
    } narrowest_first[] = {{DB_TAG_DIAGONAL, DB_STRUCT_DIAGONAL},
                           {DB_TAG_TRIDIAGONAL, DB_STRUCT_TRIDIAGONAL},
                           {DB_TAG_BANDED, DB_STRUCT_BANDED},
                           {DB_TAG_SPARSE, DB_STRUCT_SPARSE}};
    for (size_t i = 0; i < sizeof narrowest_first / sizeof narrowest_first[0]; i++)
        if (db_operator_tags(view) & narrowest_first[i].tag)
            return db_structure_name(narrowest_first[i].s);
    return "?";
}

/* True when every entry of the true pattern P lies in Q. */
static int contains(const struct db_sparse *Q, const struct db_sparse *P) {
    for (size_t i = 0; i < P->n; i++)
        for (size_t e = P->row_ptr[i]; e < P->row_ptr[i + 1]; e++)
            if (db_sparse_find(Q, i, P->col_idx[e]) == DB_SPARSE_NONE) return 0;
    return 1;
}

/* Colours of the best greedy colouring of Q (of its transpose for VJPs: rows of J). */
static long long best_colouring(const struct db_operator *op, const struct db_sparse *Q) {
    struct db_sparse *QT = th_sparse();
    const struct db_sparse *probed = Q;
    if (op->jac == DB_JAC_BWD) {
        cr_assert_eq(db_sparse_transpose(Q, QT), DB_OK);
        probed = QT;
    }
    size_t *colour = th_alloc(op->n * sizeof *colour), k;
    cr_assert_eq(db_colour_columns_best(probed, colour, &k, NULL, NULL), DB_OK);
    cr_assert_geq(k, db_sparse_max_row_nnz(probed), "no colouring beats the lower bound");
    th_free(colour), th_free(QT);
    return (long long)k;
}

struct cf_promise cf_promised(const struct db_strategy *st, const struct db_operator *op) {
    unsigned kf = db_operator_flags(op);
    if (st->flags & DB_STRATEGY_MATERIALISES) return cf_materialise_promise(op);
    if (kf & DB_OPERATOR_KNOWS_DIAGONAL) return (struct cf_promise){0}; /* it answers, no product */
    if (db_strategy_needs_fallback(op, st->required_tags)) return cf_materialise_promise(op);
    if (op->jac == DB_JAC_BWD && !(kf & DB_OPERATOR_TRANSPOSE))
        return (struct cf_promise){.unsupported = 1}; /* a VJP needs the transpose */
    struct db_operator view = required_view(op, st->required_tags);
    struct db_sparse *Q = th_sparse(), *P = th_sparse();
    declared_pattern(&view, Q);
    long long k;
    if (st->flags & DB_STRATEGY_COLOURS_PATTERN) {
        k = best_colouring(op, Q);
    } else {
        size_t l, u; /* tagged sparse alone: the instance's band, as the cost model takes it */
        if (db_tagged_band(&view, &l, &u) != DB_OK) l = op->in->lower, u = op->in->upper;
        k = (long long)db_strategy_products(st, l, u);
    }
    if (st->extract && k > (long long)op->n) k = (long long)op->n; /* a colour per product */
    struct cf_promise p = {.calls = k, .colours = k};
    cr_assert_eq(db_instance_pattern(op->in, P), DB_OK);
    if (!contains(Q, P)) { /* the tags lie: they miss entries of the true pattern */
        if (st->fallback_bytes)
            p.rejects = 1, p.claimed = claimed_structure(&view);
        else
            p.wrong = 1;
    }
    th_free(Q), th_free(P);
    return p;
}

/* Whether a kind can hold the workload: one that knows its diagonal without storing the matrix or
 * materialising through the workload holds the diagonal alone (DB_E_UNSUPPORTED otherwise). */
int cf_kind_represents(unsigned kind_flags, const struct db_workload *wl) {
    int diagonal_alone = (kind_flags & DB_OPERATOR_KNOWS_DIAGONAL) &&
                         !(kind_flags & (DB_OPERATOR_STORES_DENSE | DB_OPERATOR_BLOCKED));
    return !diagonal_alone || wl->structure == DB_STRUCT_DIAGONAL;
}

/* The dense J of the instance (column-major), from JVPs with unit vectors. */
double *cf_dense_jacobian(struct db_instance *in) {
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

void cf_check_combo(const struct db_workload *wl, const struct db_operator_kind *kind,
                    enum db_jac jac, const struct db_strategy *st, size_t n, int tagged,
                    const double *J, cf_model_fn model) {
    struct db_instance *in = th_instance(wl, n);
    struct db_operator *op = NULL;
    unsigned tags = tagged ? db_tags_for_structure(db_workload_tag_structure(wl)) : 0;
    int rc = db_operator_create_kind(kind, jac, in, tags, &op);
    if (rc == DB_OK) th_own(op, th_destroy_operator);
    if (!cf_kind_represents(kind->flags, wl)) {
        cr_assert_eq(rc, DB_E_UNSUPPORTED, "%s cannot hold %s", kind->name, wl->name);
        th_free(in);
        return;
    }
    cr_assert_eq(rc, DB_OK, "create %s", kind->name);
    double *diag = vec(n), *ref = vec(n), eta = model(in).entry_rel;
    for (size_t i = 0; i < n; i++)
        diag[i] = NAN;
    cr_assert_eq(db_instance_reference_diagonal(in, ref), DB_OK);
    struct db_strategy_ctx *ctx = th_strategy_ctx();
    struct cf_promise p = cf_promised(st, op);
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
        snprintf(where, sizeof where, "%s/%s/%s/%s%s n=%zu tagged=%d", wl->name, kind->name,
                 db_jac_name(jac), what, pass < 2 ? "" : "(extract)", n, tagged);
        if (p.unsupported) {
            cr_assert_eq(rc, DB_E_UNSUPPORTED, "%s", where);
            cr_assert_eq(db_instance_calls(in), 0, "%s", where);
            break;
        }
        if (p.rejects) {
            char claim[64];
            snprintf(claim, sizeof claim, "tagged %s", p.claimed);
            cr_assert_eq(rc, DB_E_TAG_MISMATCH, "%s", where);
            cr_assert_eq((long long)db_instance_calls(in), p.calls, "%s", where);
            cr_assert_not_null(strstr(ctx->remark, claim), "%s; %s", ctx->remark, where);
            continue;
        }
        cr_assert_eq(rc, DB_OK, "%s", where);
        double err = db_max_abs_diff(diag, ref, n), ratio;
        if (p.wrong) {
            cr_assert_gt(err, 0.1, "a strategy trusting a lying tag must be wrong; %s", where);
        } else { /* each entry within the model's entry_rel of the scalar reference */
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
        if (p.wrong) {
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

/* The modes a kind takes: fwd and bwd with DB_OPERATOR_JAC, none otherwise. */
size_t cf_kind_modes(const struct db_operator_kind *k, enum db_jac modes[2]) {
    if (!(k->flags & DB_OPERATOR_JAC)) {
        modes[0] = DB_JAC_NONE;
        return 1;
    }
    modes[0] = DB_JAC_FWD, modes[1] = DB_JAC_BWD;
    return 2;
}

/* ---- the checks ------------------------------------------------------------------------------ */

struct db_instance *cf_instance_near(const struct db_workload *wl, size_t *n) {
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

/* The true pattern holds every non-zero: entries of the dense J outside it are exactly 0, and the
 * reference entries on it match the dense J. */
void cf_check_pattern(const struct db_workload *wl, cf_model_fn model) {
    size_t n = 50;
    struct db_instance *in = cf_instance_near(wl, &n);
    struct db_sparse *P = th_sparse(), *A = th_sparse();
    cr_assert_eq(db_instance_pattern(in, P), DB_OK);
    cr_assert_eq(db_sparse_check(P), DB_OK, "%s", wl->name);
    cr_assert_leq(db_sparse_max_row_nnz(P), db_instance_row_nnz_bound(in), "%s", wl->name);
    cr_assert_eq(db_sparse_copy_pattern(P, 1, A), DB_OK);
    cr_assert_eq(db_instance_reference_entries(in, A), DB_OK);
    double *e = th_calloc(n, sizeof *e), *col = vec(n), eta = model(in).entry_rel;
    for (size_t j = 0; j < n; j++) {
        e[j] = 1;
        cr_assert_eq(db_instance_jvp(in, in->x, e, col), DB_OK);
        e[j] = 0;
        for (size_t i = 0; i < n; i++) {
            size_t k = db_sparse_find(P, i, j);
            double want = k == DB_SPARSE_NONE ? 0.0 : A->values[k];
            /* kernel vs scalar reference (the model's entry_rel); exactly 0 off the pattern */
            cr_assert(fabs(col[i] - want) <= eta * fabs(want),
                      "%s n=%zu J[%zu,%zu]=%.17g ref=%.17g", wl->name, n, i, j, col[i], want);
        }
    }
    th_free(e), th_free(col), th_free(P), th_free(A), th_free(in);
}

void cf_check_derivatives(const struct db_workload *wl, cf_model_fn model) {
    for (size_t s = 0; s < cf_nsizes; s++) {
        size_t n = cf_sizes[s];
        struct db_instance *in = cf_instance_near(wl, &n);
        double *v = vec(n), *wv = vec(n), *jv = vec(n), *fd = vec(n), *jtw = vec(n);
        fill_random(v, n, 7 + (unsigned)n);
        fill_random(wv, n, 99 + (unsigned)n);
        struct cf_model m = model(in);
        double vmax = max_abs(v, n), wmax = max_abs(wv, n);
        /* |jv - fd| <= |jv - J v| + |J v - fd|: the model's jvp and central difference bounds */
        double fdb = fd_bound(&m, vmax), bound = fdb + m.jvp * vmax;
        cr_assert_eq(db_instance_jvp(in, in->x, v, jv), DB_OK);
        fd_jvp(in, v, fd);
        for (size_t i = 0; i < n; i++)
            cr_assert(fabs(jv[i] - fd[i]) <= bound, "%s n=%zu jvp[%zu]=%.17g fd=%.17g (> %g)",
                      wl->name, n, i, jv[i], fd[i], bound);
        /* VJP: <w, J v> = <J^T w, v>, with J v from finite differences: the difference is
         * within sum|w_i| fd_bound + sum|v_j| vjp wmax, plus both sums' rounding (gamma_n
         * times the sum of the terms' magnitudes, Higham §3.1). */
        cr_assert_eq(db_instance_vjp(in, in->x, wv, jtw), DB_OK);
        double lhs = 0, rhs = 0, mag = 0;
        for (size_t i = 0; i < n; i++) {
            lhs += wv[i] * fd[i], rhs += jtw[i] * v[i];
            mag += fabs(wv[i] * fd[i]) + fabs(jtw[i] * v[i]);
        }
        double dot_bound =
            th_norm1(wv, n) * fdb + th_norm1(v, n) * m.vjp * wmax + th_gamma((double)n) * mag;
        cr_assert(fabs(lhs - rhs) <= dot_bound, "%s n=%zu <w,Jv>=%.17g <J'w,v>=%.17g (> %g)",
                  wl->name, n, lhs, rhs, dot_bound);
        th_free(v), th_free(wv), th_free(jv), th_free(fd), th_free(jtw), th_free(in);
    }
}

void cf_check_batches(const struct db_workload *wl) {
    size_t n = 33, k = 5;
    struct db_instance *in = cf_instance_near(wl, &n);
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
    cr_assert_eq(db_instance_calls(in), expected, "%s calls %llu", wl->name, db_instance_calls(in));
    cr_assert_eq(db_instance_tangents(in), wl->batch == DB_BATCH_NONE ? 0 : k,
                 "%s: each tangent of a batch is one probe vector", wl->name);
    db_instance_reset_calls(in);
    rc = db_instance_vjp_batch(in, in->x, V, n, k, O, n);
    cr_assert_eq(rc, wl->batch == DB_BATCH_NONE ? DB_E_UNSUPPORTED : DB_OK);
    cr_assert_eq(db_instance_calls(in), expected);
    th_free(V), th_free(O), th_free(in);
}

void cf_check_dense_matrix(const struct db_workload *wl, const struct db_operator_kind *kind,
                           enum db_jac jac, cf_model_fn model) {
    if (!cf_kind_represents(kind->flags, wl)) return; /* cf_check_combo checks the refusal */
    size_t n = db_workload_fit_size(wl, 37);
    struct db_instance *in = th_instance(wl, n);
    struct db_operator *op = NULL;
    cr_assert_eq(db_operator_create_kind(kind, jac, in, 0, &op), DB_OK, "%s %s", wl->name,
                 kind->name);
    th_own(op, th_destroy_operator);
    double *buf = th_calloc(n * n, sizeof *buf), *e = th_calloc(n, sizeof *e), *col = vec(n);
    /* |a - fd| <= |a - J| + |fd - J|: the entry a from the kernels within the model's entry, the
     * central difference along e_j within fd_bound(vmax = 1). */
    struct cf_model m = model(in);
    double bound = fd_bound(&m, 1) + m.entry;
    struct db_dense M;
    int rc = op->ops->materialise(op, buf, &M);
    if (cf_materialise_promise(op).unsupported) {
        cr_assert_eq(rc, DB_E_UNSUPPORTED, "%s %s", wl->name, kind->name);
    } else {
        cr_assert_eq(rc, DB_OK, "%s %s", wl->name, kind->name);
        cr_assert_eq(M.transposed, jac == DB_JAC_BWD);
        for (size_t j = 0; j < n; j++) {
            e[j] = 1;
            fd_jvp(in, e, col);
            e[j] = 0;
            for (size_t i = 0; i < n; i++) {
                double a = M.transposed ? M.data[i * M.ld + j] : M.data[j * M.ld + i];
                cr_assert(fabs(a - col[i]) <= bound, "%s %s/%s A[%zu,%zu]=%.17g fd=%.17g (> %g)",
                          wl->name, kind->name, db_jac_name(jac), i, j, a, col[i], bound);
            }
        }
    }
    th_free(buf), th_free(e), th_free(col), th_free(op), th_free(in);
}

void cf_check_sizes(const struct db_workload *wl, const struct db_operator_kind *kind,
                    enum db_jac jac, const struct db_strategy *const *st, size_t nst, int tagged,
                    size_t max_n, cf_model_fn model) {
    for (size_t k = 0; k < cf_nsizes && cf_sizes[k] <= max_n; k++) {
        size_t n = db_workload_fit_size(wl, cf_sizes[k]);
        struct db_instance *in = th_instance(wl, n);
        double *J = cf_dense_jacobian(in);
        th_free(in);
        for (size_t s = 0; s < nst; s++)
            cf_check_combo(wl, kind, jac, st[s], n, tagged, J, model);
        th_free(J);
    }
}

/* Each flag against its operator on a diagonal workload. */
void cf_check_kind_flags(const struct db_operator_kind *k) {
    const size_t n = 8;
    struct db_instance *in = th_instance(db_workload_find("sin"), n);
    double *ones = vec(n), *a = vec(n), *b = vec(n), *M = th_calloc(n * n, sizeof *M);
    for (size_t i = 0; i < n; i++)
        ones[i] = 1.0;
    enum db_jac jac = k->flags & DB_OPERATOR_JAC ? DB_JAC_FWD : DB_JAC_NONE;
    struct db_operator *op;
    cr_assert_eq(db_operator_create_kind(k, jac, in, 0, &op), DB_OK, "%s", k->name);
    th_own(op, th_destroy_operator);
    cr_assert_eq(op->kind, k);
    cr_assert_eq(db_operator_flags(op), k->flags);
    cr_assert_eq(op->ops->kind, k->name, "%s: ops name the descriptor's name", k->name);
    cr_assert_eq(!!(k->flags & DB_OPERATOR_KNOWS_DIAGONAL), op->ops->diagonal != NULL, "%s",
                 k->name);
    cr_assert_eq(!!(k->flags & DB_OPERATOR_TRANSPOSE), op->ops->mv_transpose != NULL, "%s",
                 k->name);
    cr_assert_eq(!!(k->flags & DB_OPERATOR_STORES_DENSE), op->ops->materialise_bytes(op) == 0,
                 "%s: a stored matrix materialises as a view", k->name);
    /* A lazy operator follows its instance's point; the others were built at setup. */
    cr_assert_eq(db_operator_mv(op, ones, a), DB_OK);
    double x0 = in->x[0];
    in->x[0] += 1.0;
    cr_assert_eq(db_operator_mv(op, ones, b), DB_OK);
    in->x[0] = x0;
    cr_assert_eq(!!(k->flags & DB_OPERATOR_LAZY), a[0] != b[0], "%s", k->name);
    /* The blocked kernel records the write path it took. */
    struct db_dense dense;
    in->write_path[0] = '\0';
    cr_assert_eq(op->ops->materialise(op, M, &dense), DB_OK);
    cr_assert_eq(!!(k->flags & DB_OPERATOR_BLOCKED), in->write_path[0] != '\0', "%s", k->name);
    th_free(op);
    /* Only a kind with a differentiation mode takes one. */
    int rc = db_operator_create_kind(k, DB_JAC_BWD, in, 0, &op);
    if (rc == DB_OK) th_own(op, th_destroy_operator);
    cr_assert_eq(!(k->flags & DB_OPERATOR_JAC), rc == DB_E_INVALID, "%s", k->name);
    if (rc == DB_OK) th_free(op);
    th_free(ones), th_free(a), th_free(b), th_free(M), th_free(in);
}

unsigned long long cf_cost_model(unsigned long long n, unsigned long long products,
                                 const struct db_run_opts *o, unsigned threads) {
    unsigned long long call_ns = (unsigned long long)(o->call_cost_s * 1e9 + 0.5);
    unsigned long long min_ns = (unsigned long long)(o->min_time_s * 1.5e9 + 0.5);
    unsigned long long one = 2 * products * n / threads + products * call_ns;
    unsigned long long setup = 1000000 + 2 * n + 100 * n + 150 * products * n;
    return setup + one + (unsigned long long)o->reps * (one > min_ns ? one : min_ns);
}
