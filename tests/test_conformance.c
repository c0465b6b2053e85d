/* Conformance suite (SUNDIALS style): every workload x operator x jac x strategy combination
 * that claims to work goes through the same checks -- JVP/VJP against central finite
 * differences, the diagonal against the exact reference, every extracted entry against the
 * dense materialised Jacobian and the exact reference entries, the dense matrix against finite
 * differences, and primitive call and probe-vector (colour) counts against each strategy's
 * promise. Every promise is derived from the registries' declarations (promised), never from a
 * name: a workload, strategy or operator kind added to a registry is checked with no edit here.
 * Where an operator's tags miss entries of the true pattern (the mis-tagged `liar`), a strategy
 * that answers from them must give a wrong diagonal, and one that checks its tag must reject it. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
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

/* Every registered workload declares what the checks need; the seed's nine come first, in
 * --list order (a workload added to the registry goes after them). */
Test(workloads, registry_and_names) {
    const char *names[] = {"sin",     "split",  "seqsin",  "nobatch",   "liar",
                           "tridiag", "banded", "stencil", "randsparse"};
    size_t named = sizeof names / sizeof names[0];
    cr_assert_geq(db_workload_count, named);
    for (size_t i = 0; i < named; i++) {
        const struct db_workload *w = db_workload_find(names[i]);
        cr_assert_not_null(w, "%s", names[i]);
        cr_assert_str_eq(w->name, names[i]);
        cr_assert_str_eq(db_workloads[i]->name, names[i], "--list order");
    }
    for (size_t i = 0; i < db_workload_count; i++) {
        const struct db_workload *w = db_workloads[i];
        cr_assert_eq(db_workload_find(w->name), w, "%s: one workload per name", w->name);
        cr_assert_not_null(w->ops.reference_diagonal, "%s", w->name);
        if (w->structure != DB_STRUCT_DIAGONAL) {
            cr_assert_not_null(w->ops.pattern, "%s", w->name);
            cr_assert_not_null(w->ops.reference_entries, "%s", w->name);
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

/* What one extraction promises, derived from the declarations alone -- the strategy's flags,
 * required_tags, products, extract and fallback_bytes, the operator kind's flags -- so that a
 * strategy or kind added to a registry is checked with no edit here. */
struct promise {
    int unsupported;
    long long calls, colours; /* primitive calls and probe (tangent) vectors */
    int fallback;             /* materialise (diagonal only, no extracted entries) */
    int wrong;           /* answers from tags whose pattern misses true entries: must be wrong */
    int rejects;         /* checks its tag, finds it wrong: DB_E_TAG_MISMATCH after `calls` */
    const char *claimed; /* the structure a rejected tag claims (named in the remark) */
};

/* What materialising costs, from the kind's flags: a blocked kind follows the workload's batching
 * rule (a vectorised call per block of db_block_columns, or one call per column); a kind that
 * stores its matrix or knows its diagonal hands over its storage or writes diag(d), no product. */
static struct promise materialise_promise(const struct db_operator *op) {
    unsigned kf = db_operator_flags(op);
    size_t n = op->n;
    if (!(kf & DB_OPERATOR_BLOCKED)) {
        cr_assert(kf & (DB_OPERATOR_STORES_DENSE | DB_OPERATOR_KNOWS_DIAGONAL),
                  "kind %s declares no way to materialise", op->ops->kind);
        return (struct promise){.fallback = 1};
    }
    switch (op->in->wl->batch) {
    case DB_BATCH_NONE:
        return (struct promise){.unsupported = 1, .fallback = 1};
    case DB_BATCH_SEQUENTIAL:
        return (struct promise){.calls = (long long)n, .colours = (long long)n, .fallback = 1};
    case DB_BATCH_VECTORISED:
        break;
    }
    size_t B = db_block_columns(n);
    return (struct promise){
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

static struct promise promised(const struct db_strategy *st, const struct db_operator *op) {
    unsigned kf = db_operator_flags(op);
    if (st->flags & DB_STRATEGY_MATERIALISES) return materialise_promise(op);
    if (kf & DB_OPERATOR_KNOWS_DIAGONAL) return (struct promise){0}; /* it answers, no product */
    if (db_strategy_needs_fallback(op, st->required_tags)) return materialise_promise(op);
    if (op->jac == DB_JAC_BWD && !(kf & DB_OPERATOR_TRANSPOSE))
        return (struct promise){.unsupported = 1}; /* a VJP needs the transpose */
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
    struct promise p = {.calls = k, .colours = k};
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
static int kind_represents(unsigned kind_flags, const struct db_workload *wl) {
    int diagonal_alone = (kind_flags & DB_OPERATOR_KNOWS_DIAGONAL) &&
                         !(kind_flags & (DB_OPERATOR_STORES_DENSE | DB_OPERATOR_BLOCKED));
    return !diagonal_alone || wl->structure == DB_STRUCT_DIAGONAL;
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

static void check_combo(const struct db_workload *wl, const struct db_operator_kind *kind,
                        enum db_jac jac, const struct db_strategy *st, size_t n, int tagged,
                        const double *J) {
    struct db_instance *in = th_instance(wl, n);
    struct db_operator *op = NULL;
    unsigned tags = tagged ? db_tags_for_structure(db_workload_tag_structure(wl)) : 0;
    int rc = db_operator_create_kind(kind, jac, in, tags, &op);
    if (rc == DB_OK) th_own(op, th_destroy_operator);
    if (!kind_represents(kind->flags, wl)) {
        cr_assert_eq(rc, DB_E_UNSUPPORTED, "%s cannot hold %s", kind->name, wl->name);
        th_free(in);
        return;
    }
    cr_assert_eq(rc, DB_OK, "create %s", kind->name);
    double *diag = vec(n), *ref = vec(n), eta = th_entry_rel();
    for (size_t i = 0; i < n; i++)
        diag[i] = NAN;
    cr_assert_eq(db_instance_reference_diagonal(in, ref), DB_OK);
    struct db_strategy_ctx *ctx = th_strategy_ctx();
    struct promise p = promised(st, op);
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

/* Every size up to max_n of the workload, with the kind in mode jac and each strategy. */
static void check_sizes(const struct db_workload *wl, const struct db_operator_kind *kind,
                        enum db_jac jac, int tagged, size_t max_n) {
    for (size_t k = 0; k < NSIZES && sizes[k] <= max_n; k++) {
        size_t n = db_workload_fit_size(wl, sizes[k]);
        struct db_instance *in = th_instance(wl, n);
        double *J = dense_jacobian(in);
        th_free(in);
        for (size_t s = 0; s < db_strategy_count; s++)
            check_combo(wl, kind, jac, db_strategies[s], n, tagged, J);
        th_free(J);
    }
}

/* The modes a kind takes: fwd and bwd with DB_OPERATOR_JAC, none otherwise. */
static size_t kind_modes(const struct db_operator_kind *k, enum db_jac modes[2]) {
    if (!(k->flags & DB_OPERATOR_JAC)) {
        modes[0] = DB_JAC_NONE;
        return 1;
    }
    modes[0] = DB_JAC_FWD, modes[1] = DB_JAC_BWD;
    return 2;
}

/* One test per registered kind and mode (a kind added to the registry gets its own). */
struct kind_mode {
    size_t kind;
    enum db_jac jac;
};

static void free_kind_modes(struct criterion_test_params *p) {
    cr_free(p->params);
}

static struct criterion_test_params every_kind_mode(void) {
    size_t count = 0;
    enum db_jac modes[2];
    for (size_t k = 0; k < db_operator_kind_count; k++)
        count += kind_modes(db_operator_kind_table[k], modes);
    struct kind_mode *p = cr_malloc(count * sizeof *p);
    cr_assert_not_null(p);
    count = 0;
    for (size_t k = 0; k < db_operator_kind_count; k++)
        for (size_t m = 0, nm = kind_modes(db_operator_kind_table[k], modes); m < nm; m++)
            p[count++] = (struct kind_mode){k, modes[m]};
    return cr_make_param_array(struct kind_mode, p, count, free_kind_modes);
}

ParameterizedTestParameters(conformance, every_kind) {
    return every_kind_mode();
}
ParameterizedTest(struct kind_mode *p, conformance, every_kind) {
    for (size_t w = 0; w < db_workload_count; w++)
        check_sizes(db_workloads[w], db_operator_kind_table[p->kind], p->jac, 1, (size_t)-1);
}

/* Untagged operators: probe and every structured probe must fall back to materialise (same
 * calls, same answer), and be unsupported where materialise is -- never a wrong answer. */
ParameterizedTestParameters(conformance, untagged_probe_falls_back_to_materialise) {
    return every_kind_mode();
}
ParameterizedTest(struct kind_mode *p, conformance, untagged_probe_falls_back_to_materialise) {
    for (size_t w = 0; w < db_workload_count; w++) /* the fallback does not depend on n */
        check_sizes(db_workloads[w], db_operator_kind_table[p->kind], p->jac, 0, 513);
}

Test(conformance, dense_matrix_matches_finite_differences) {
    for (size_t w = 0; w < db_workload_count; w++)
        for (size_t k = 0; k < db_operator_kind_count; k++) {
            const struct db_workload *wl = db_workloads[w];
            const struct db_operator_kind *kind = db_operator_kind_table[k];
            enum db_jac modes[2];
            for (size_t m = 0, nm = kind_modes(kind, modes); m < nm; m++) {
                if (!kind_represents(kind->flags, wl)) continue; /* check_combo checks it */
                size_t n = db_workload_fit_size(wl, 37);
                struct db_instance *in = th_instance(wl, n);
                struct db_operator *op = NULL;
                cr_assert_eq(db_operator_create_kind(kind, modes[m], in, 0, &op), DB_OK);
                th_own(op, th_destroy_operator);
                double *buf = th_calloc(n * n, sizeof *buf), *e = th_calloc(n, sizeof *e);
                double *col = vec(n);
                /* |a - fd| <= |a - J| + |fd - J|: the entry a = C_ij s'(x_j) from the kernels
                 * (libmvec, one product: gamma_(2*4 + 1) |C_ij|, |C_ij| <= rowsum|C|), the
                 * central difference along e_j within fd_bound(vmax = 1). */
                struct th_coupling c = th_coupling_of(in);
                double bound = fd_bound(&c, 1) + th_gamma(2 * TH_MVEC_ULPS + 1) * c.row_sum;
                struct db_dense M;
                int rc = op->ops->materialise(op, buf, &M);
                if (materialise_promise(op).unsupported) {
                    cr_assert_eq(rc, DB_E_UNSUPPORTED, "%s %s", wl->name, kind->name);
                    th_free(buf), th_free(e), th_free(col), th_free(op), th_free(in);
                    continue;
                }
                cr_assert_eq(rc, DB_OK, "%s %s", wl->name, kind->name);
                cr_assert_eq(M.transposed, modes[m] == DB_JAC_BWD);
                for (size_t j = 0; j < n; j++) {
                    e[j] = 1;
                    fd_jvp(in, e, col);
                    e[j] = 0;
                    for (size_t i = 0; i < n; i++) {
                        double a = M.transposed ? M.data[i * M.ld + j] : M.data[j * M.ld + i];
                        cr_assert(fabs(a - col[i]) <= bound,
                                  "%s %s/%s A[%zu,%zu]=%.17g fd=%.17g (> %g)", wl->name, kind->name,
                                  db_jac_name(modes[m]), i, j, a, col[i], bound);
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
