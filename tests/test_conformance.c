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
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "../operators/blocks.h"
#include "../operators/colouring.h"
#include "../harness/runner.h"
#include "../operators/compressed.h"
#include "../operators/strategy.h"

static const size_t sizes[] = {1, 2, 7, 64, 513, 1000};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static double *vec(size_t n) {
    double *v = malloc(n * sizeof *v);
    cr_assert_not_null(v);
    return v;
}

static void fill_random(double *v, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = ((seed >> 8) & 0xffff) / 32768.0 - 1.0;
    }
}

/* Central difference of the workload's eval: (f(x + h v) - f(x - h v)) / 2h. */
static void fd_jvp(struct db_instance *in, const double *v, double *out) {
    size_t n = in->n;
    const double h = 1e-6;
    double *xp = vec(n), *xm = vec(n), *fp = vec(n), *fm = vec(n);
    for (size_t i = 0; i < n; i++)
        xp[i] = in->x[i] + h * v[i], xm[i] = in->x[i] - h * v[i];
    cr_assert_eq(db_instance_eval(in, xp, fp), DB_OK);
    cr_assert_eq(db_instance_eval(in, xm, fm), DB_OK);
    for (size_t i = 0; i < n; i++)
        out[i] = (fp[i] - fm[i]) / (2 * h);
    free(xp), free(xm), free(fp), free(fm);
}

/* Create an instance at the size nearest n that the workload accepts; a size it rejects must be
 * rejected with DB_E_UNSUPPORTED and a size rule to explain it. */
static struct db_instance *instance_near(const struct db_workload *wl, size_t *n) {
    struct db_instance *in = NULL;
    size_t fit = db_workload_fit_size(wl, *n);
    if (fit != *n) {
        cr_assert_eq(db_instance_create(wl, *n, 0, &in), DB_E_UNSUPPORTED, "%s n=%zu", wl->name,
                     *n);
        cr_assert_not_null(wl->size_rule, "%s rejects n=%zu without a size rule", wl->name, *n);
        *n = fit;
    }
    cr_assert_eq(db_instance_create(wl, *n, 0, &in), DB_OK, "%s n=%zu", wl->name, *n);
    return in;
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
        struct db_sparse P = {0}, A = {0};
        cr_assert_eq(db_instance_pattern(in, &P), DB_OK);
        cr_assert_eq(db_sparse_check(&P), DB_OK, "%s", wl->name);
        cr_assert_leq(db_sparse_max_row_nnz(&P), db_instance_row_nnz_bound(in), "%s", wl->name);
        cr_assert_eq(db_sparse_copy_pattern(&P, 1, &A), DB_OK);
        cr_assert_eq(db_instance_reference_entries(in, &A), DB_OK);
        double *e = calloc(n, sizeof *e), *col = vec(n);
        for (size_t j = 0; j < n; j++) {
            e[j] = 1;
            cr_assert_eq(db_instance_jvp(in, in->x, e, col), DB_OK);
            e[j] = 0;
            for (size_t i = 0; i < n; i++) {
                size_t k = db_sparse_find(&P, i, j);
                double want = k == DB_SPARSE_NONE ? 0.0 : A.values[k];
                cr_assert(fabs(col[i] - want) <= 1e-14, "%s n=%zu J[%zu,%zu]=%.17g ref=%.17g",
                          wl->name, n, i, j, col[i], want);
            }
        }
        free(e), free(col);
        db_sparse_free(&P), db_sparse_free(&A);
        db_instance_destroy(in);
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
            cr_assert_eq(db_instance_jvp(in, in->x, v, jv), DB_OK);
            fd_jvp(in, v, fd);
            for (size_t i = 0; i < n; i++)
                cr_assert(fabs(jv[i] - fd[i]) <= 1e-7, "%s n=%zu jvp[%zu]=%g fd=%g",
                          db_workloads[w]->name, n, i, jv[i], fd[i]);
            /* VJP: <w, J v> = <J^T w, v>, with J v from finite differences. */
            cr_assert_eq(db_instance_vjp(in, in->x, wv, jtw), DB_OK);
            double lhs = 0, rhs = 0;
            for (size_t i = 0; i < n; i++)
                lhs += wv[i] * fd[i], rhs += jtw[i] * v[i];
            cr_assert(fabs(lhs - rhs) <= 1e-7 * (1 + (double)n), "%s n=%zu <w,Jv>=%g <J'w,v>=%g",
                      db_workloads[w]->name, n, lhs, rhs);
            free(v), free(wv), free(jv), free(fd), free(jtw);
            db_instance_destroy(in);
        }
}

Test(workloads, single_calls_are_counted_and_batches_follow_the_rule) {
    for (size_t w = 0; w < db_workload_count; w++) {
        const struct db_workload *wl = db_workloads[w];
        size_t n = 33, k = 5;
        struct db_instance *in = instance_near(wl, &n);
        double *V = calloc(n * k, sizeof *V), *O = calloc(n * k, sizeof *O);
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
        free(V), free(O);
        db_instance_destroy(in);
    }
}

Test(workloads, sequential_batches_pay_the_per_call_cost) {
    struct db_instance *in;
    cr_assert_eq(db_instance_create(db_workload_find("seqsin"), 4, -1, &in), DB_OK);
    cr_assert_gt(in->call_cost_s, 0, "seqsin has a default per-call cost");
    db_instance_destroy(in);
    cr_assert_eq(db_instance_create(db_workload_find("seqsin"), 4, 2.5e-6, &in), DB_OK);
    cr_assert_eq(in->call_cost_s, 2.5e-6);
    db_instance_destroy(in);
    cr_assert_eq(db_instance_create(db_workload_find("sin"), 4, -1, &in), DB_OK);
    cr_assert_eq(in->call_cost_s, 0);
    db_instance_destroy(in);
}

Test(workloads, bad_arguments) {
    struct db_instance *in = NULL;
    cr_assert_eq(db_instance_create(db_workload_find("sin"), 0, 0, &in), DB_E_INVALID);
    cr_assert_eq(db_instance_create(NULL, 4, 0, &in), DB_E_INVALID);
    cr_assert_eq(db_instance_create(db_workload_find("sin"), 8, 0, &in), DB_OK);
    double V[8] = {0}, O[8];
    cr_assert_eq(db_instance_jvp_batch(in, in->x, V, 4, 1, O, 8), DB_E_INVALID, "ldv < n");
    db_instance_destroy(in);
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
    struct db_sparse P = {0}, PT = {0};
    size_t l, u;
    if (db_tagged_band(op, &l, &u) == DB_OK)
        cr_assert_eq(db_sparse_band(op->n, l, u, 0, &P), DB_OK);
    else if (db_operator_tags(op) & DB_TAG_SPARSE)
        cr_assert_eq(db_instance_pattern(op->in, &P), DB_OK);
    else
        return -1;
    const struct db_sparse *probed = &P;
    if (op->jac == DB_JAC_BWD) {
        cr_assert_eq(db_sparse_transpose(&P, &PT), DB_OK);
        probed = &PT;
    }
    size_t *colour = malloc(op->n * sizeof *colour), k;
    cr_assert_eq(db_colour_columns_best(probed, colour, &k, NULL, NULL), DB_OK);
    cr_assert_geq(k, db_sparse_max_row_nnz(probed), "no colouring beats the lower bound");
    free(colour);
    db_sparse_free(&P), db_sparse_free(&PT);
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
    double *J = vec(n * n), *e = calloc(n, sizeof *e);
    for (size_t j = 0; j < n; j++) {
        e[j] = 1;
        cr_assert_eq(in->wl->ops.jvp(in, in->x, e, J + j * n), DB_OK);
        e[j] = 0;
    }
    free(e);
    return J;
}

static void check_combo(const struct db_workload *wl, const char *kind, enum db_jac jac,
                        const struct db_strategy *st, size_t n, int tagged, const double *J) {
    struct db_instance *in;
    cr_assert_eq(db_instance_create(wl, n, 0, &in), DB_OK);
    struct db_operator *op;
    unsigned tags = tagged ? db_tags_for_structure(db_workload_tag_structure(wl)) : 0;
    int rc = db_operator_create(kind, jac, in, tags, &op);
    if (strcmp(kind, "diagonal") == 0 && wl->structure != DB_STRUCT_DIAGONAL) {
        cr_assert_eq(rc, DB_E_UNSUPPORTED);
        db_instance_destroy(in);
        return;
    }
    cr_assert_eq(rc, DB_OK, "create %s", kind);
    double *diag = vec(n), *ref = vec(n);
    for (size_t i = 0; i < n; i++)
        diag[i] = NAN;
    cr_assert_eq(db_instance_reference_diagonal(in, ref), DB_OK);
    struct db_strategy_ctx ctx = {0};
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
        ctx.extracted = NULL;
        rc = body(op, diag, &ctx);
#define WHERE                                                                                      \
    "%s/%s/%s/%s%s n=%zu tagged=%d", wl->name, kind, db_jac_name(jac), what,                       \
        pass < 2 ? "" : "(extract)", n, tagged
        if (p.unsupported) {
            cr_assert_eq(rc, DB_E_UNSUPPORTED, WHERE);
            cr_assert_eq(db_instance_calls(in), 0, WHERE);
            break;
        }
        if (lies && strcmp(st->name, "probe-checked") == 0) {
            cr_assert_eq(rc, DB_E_TAG_MISMATCH, WHERE);
            cr_assert_eq(db_instance_calls(in), 2, WHERE);
            cr_assert_not_null(strstr(ctx.remark, "tagged diagonal"), "%s", ctx.remark);
            continue;
        }
        cr_assert_eq(rc, DB_OK, WHERE);
        double err = db_max_abs_diff(diag, ref, n);
        if (lies && trusts_diagonal_tag(st->name))
            cr_assert_gt(err, 0.1, "liar: a strategy trusting the tag must be wrong; " WHERE);
        else
            cr_assert_leq(err, 1e-12, "diagonal error %g; " WHERE, err);
        cr_assert_eq((long long)db_instance_calls(in), p.calls, "%llu calls, promised %lld; " WHERE,
                     db_instance_calls(in), p.calls);
        cr_assert_eq((long long)db_instance_tangents(in), p.colours,
                     "%llu probe vectors, promised %lld; " WHERE, db_instance_tangents(in),
                     p.colours);
        if (pass < 2) continue;
        /* Every extracted entry against the dense J and the exact reference entries. */
        const struct db_sparse *A = ctx.extracted;
        if (p.fallback) {
            cr_assert_null(A, "a fallback extracts the diagonal only; " WHERE);
            continue;
        }
        cr_assert_not_null(A, WHERE);
        cr_assert_eq(A->n, n);
        cr_assert_eq(db_sparse_check(A), DB_OK, WHERE);
        struct db_sparse R = {0};
        cr_assert_eq(db_sparse_copy_pattern(A, 1, &R), DB_OK);
        cr_assert_eq(db_instance_reference_entries(in, &R), DB_OK);
        double worst_dense = 0, worst_ref = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t e = A->row_ptr[i]; e < A->row_ptr[i + 1]; e++) {
                double d = fabs(A->values[e] - J[A->col_idx[e] * n + i]);
                double r = fabs(A->values[e] - R.values[e]);
                worst_dense = d > worst_dense || isnan(d) ? d : worst_dense;
                worst_ref = r > worst_ref || isnan(r) ? r : worst_ref;
            }
        if (lies && trusts_diagonal_tag(st->name)) {
            cr_assert_gt(worst_ref, 0.1, WHERE);
        } else {
            cr_assert_leq(worst_dense, 1e-12, "entries vs dense J: %g; " WHERE, worst_dense);
            cr_assert_leq(worst_ref, 1e-12, "entries vs reference: %g; " WHERE, worst_ref);
        }
        db_sparse_free(&R);
#undef WHERE
    }
    db_strategy_ctx_free(&ctx);
    free(diag), free(ref);
    db_operator_destroy(op);
    db_instance_destroy(in);
}

static void check_sizes(const char *kind, enum db_jac jac, int tagged, size_t max_n) {
    for (size_t w = 0; w < db_workload_count; w++)
        for (size_t k = 0; k < NSIZES && sizes[k] <= max_n; k++) {
            size_t n = db_workload_fit_size(db_workloads[w], sizes[k]);
            struct db_instance *in;
            cr_assert_eq(db_instance_create(db_workloads[w], n, 0, &in), DB_OK);
            double *J = dense_jacobian(in);
            db_instance_destroy(in);
            for (size_t s = 0; s < db_strategy_count; s++)
                check_combo(db_workloads[w], kind, jac, db_strategies[s], n, tagged, J);
            free(J);
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
            struct db_instance *in;
            struct db_operator *op;
            cr_assert_eq(db_instance_create(db_workloads[w], n, 0, &in), DB_OK);
            cr_assert_eq(db_operator_create(kinds[k], jacs[k], in, DB_TAG_DIAGONAL, &op), DB_OK);
            double *buf = calloc(n * n, sizeof *buf), *e = calloc(n, sizeof *e), *col = vec(n);
            struct db_dense M;
            cr_assert_eq(op->ops->materialise(op, buf, &M), DB_OK);
            cr_assert_eq(M.transposed, jacs[k] == DB_JAC_BWD);
            for (size_t j = 0; j < n; j++) {
                e[j] = 1;
                fd_jvp(in, e, col);
                e[j] = 0;
                for (size_t i = 0; i < n; i++) {
                    double a = M.transposed ? M.data[i * M.ld + j] : M.data[j * M.ld + i];
                    cr_assert(fabs(a - col[i]) <= 1e-7, "%s %s A[%zu,%zu]=%g fd=%g",
                              db_workloads[w]->name, kinds[k], i, j, a, col[i]);
                }
            }
            free(buf), free(e), free(col);
            db_operator_destroy(op);
            db_instance_destroy(in);
        }
    }
}

Test(operators, tags_and_optional_ops) {
    struct db_instance *in;
    struct db_operator *op;
    cr_assert_eq(db_instance_create(db_workload_find("sin"), 1, 0, &in), DB_OK);
    cr_assert_eq(db_operator_create("function", DB_JAC_NONE, in, 0, &op), DB_OK);
    cr_assert(db_operator_tags(op) & DB_TAG_DIAGONAL, "n = 1 is diagonal");
    cr_assert(db_operator_tags(op) & DB_TAG_SYMMETRIC);
    double w = 1, out;
    cr_assert_eq(db_operator_mv_transpose(op, &w, &out), DB_E_UNSUPPORTED,
                 "a function operator has no transpose");
    db_operator_destroy(op);
    cr_assert_eq(db_operator_create("jacobian", DB_JAC_NONE, in, 0, &op), DB_E_INVALID);
    cr_assert_eq(db_operator_create("function", DB_JAC_FWD, in, 0, &op), DB_E_INVALID);
    cr_assert_eq(db_operator_create("sparse", DB_JAC_NONE, in, 0, &op), DB_E_INVALID);
    db_instance_destroy(in);
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
                struct db_instance *in;
                struct db_operator *op;
                cr_assert_eq(db_instance_create(db_workload_find(names[w]), n, 0, &in), DB_OK);
                cr_assert_eq(db_operator_create("jacobian", DB_JAC_BWD, in, 0, &op), DB_OK);
                struct db_strategy_ctx ctx = {0};
                d[t] = vec(n);
                cr_assert_eq(db_strategies[s]->run(op, d[t], &ctx), DB_OK);
                db_strategy_ctx_free(&ctx);
                db_operator_destroy(op);
                db_instance_destroy(in);
            }
            cr_assert_eq(memcmp(d[0], d[1], n * sizeof(double)), 0, "%s %s", names[w],
                         db_strategies[s]->name);
            free(d[0]), free(d[1]);
        }
    omp_set_num_threads(omp_get_num_procs());
}

/* Every candidate write path (plain and streaming stores, each block width planning may pick)
 * gives the same matrix as the default path, bit for bit, and records what it ran. */
Test(conformance, every_write_path_materialises_the_same_matrix) {
    size_t ns[] = {1, 7, 64, 513, 1000};
    for (size_t w = 0; w < 3; w++)
        for (size_t k = 0; k < 5; k++)
            for (int reverse = 0; reverse < 2; reverse++) {
                size_t n = ns[k];
                struct db_instance *in;
                cr_assert_eq(db_instance_create(db_workloads[w], n, 0, &in), DB_OK);
                double *a = calloc(n * n, sizeof *a), *b = calloc(n * n, sizeof *b);
                struct db_tangent_cache tc;
                cr_assert_eq(db_tangent_cache_init(&tc), DB_OK);
                cr_assert_eq(db_blocked_materialise(in, reverse, &tc, a), DB_OK);
                struct db_write_path cand[32];
                size_t nc = db_write_path_candidates(n, cand, 32);
                cr_assert(nc >= 2);
                for (size_t c = 0; c < nc; c++) {
                    memset(b, 0xff, n * n * sizeof *b);
                    db_write_path_force(&cand[c]);
                    cr_assert_eq(db_blocked_materialise(in, reverse, &tc, b), DB_OK);
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
                double *ref = calloc(n, sizeof *ref);
                cr_assert_eq(db_instance_reference_diagonal(in, ref), DB_OK);
                for (size_t i = 0; i < n; i++)
                    for (size_t j = 0; j < n; j++)
                        cr_assert(i == j ? fabs(a[j * n + i] - ref[i]) <= 1e-12 : a[j * n + i] == 0,
                                  "A[%zu,%zu]", i, j);
                free(ref);
                db_tangent_cache_free(&tc);
                free(a), free(b);
                db_instance_destroy(in);
            }
}
