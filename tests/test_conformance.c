/* Conformance suite (SUNDIALS style): every workload x operator x jac x strategy combination
 * that claims to work goes through the same checks -- JVP/VJP against central finite
 * differences, the diagonal against the exact reference, the dense matrix against finite
 * differences, and primitive call counts against each strategy's promise. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "../operators/blocks.h"
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

Test(workloads, registry_and_names) {
    cr_assert_eq(db_workload_count, 4);
    const char *names[] = {"sin", "split", "seqsin", "nobatch"};
    for (size_t i = 0; i < 4; i++) {
        const struct db_workload *w = db_workload_find(names[i]);
        cr_assert_not_null(w, "%s", names[i]);
        cr_assert_str_eq(w->name, names[i]);
        cr_assert_not_null(w->ops.reference_diagonal);
    }
    cr_assert_null(db_workload_find("cos"));
    cr_assert_eq(db_workload_find("seqsin")->batch, DB_BATCH_SEQUENTIAL);
    cr_assert_eq(db_workload_find("nobatch")->batch, DB_BATCH_NONE);
}

Test(workloads, jvp_vjp_against_finite_differences) {
    for (size_t w = 0; w < db_workload_count; w++)
        for (size_t s = 0; s < NSIZES; s++) {
            size_t n = sizes[s];
            struct db_instance *in;
            cr_assert_eq(db_instance_create(db_workloads[w], n, 0, &in), DB_OK);
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
        struct db_instance *in;
        cr_assert_eq(db_instance_create(wl, n, 0, &in), DB_OK);
        double *V = calloc(n * k, sizeof *V), *O = calloc(n * k, sizeof *O);
        for (size_t j = 0; j < k; j++)
            V[j * n + j] = 1.0;
        cr_assert_eq(db_instance_jvp(in, in->x, V, O), DB_OK);
        cr_assert_eq(db_instance_calls(in), 1, "%s", wl->name);
        db_instance_reset_calls(in);
        int rc = db_instance_jvp_batch(in, in->x, V, n, k, O, n);
        unsigned long long expected = wl->batch == DB_BATCH_VECTORISED   ? 1
                                      : wl->batch == DB_BATCH_SEQUENTIAL ? k
                                                                         : 0;
        cr_assert_eq(rc, wl->batch == DB_BATCH_NONE ? DB_E_UNSUPPORTED : DB_OK, "%s", wl->name);
        cr_assert_eq(db_instance_calls(in), expected, "%s calls %llu", wl->name,
                     db_instance_calls(in));
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

/* Expected primitive calls of one extraction, per the strategies' promises. */
static long long promised_calls(const char *strategy, const char *kind, int tagged,
                                const struct db_workload *wl, size_t n) {
    int probe = strcmp(strategy, "probe") == 0;
    if (strcmp(kind, "diagonal") == 0) return 0; /* knows its diagonal / writes diag(d) */
    if (strcmp(kind, "matrix") == 0) return probe && tagged ? 1 : 0;
    if (probe && tagged) return 1;
    /* materialise (or probe falling back to it) */
    if (wl->batch == DB_BATCH_NONE) return -1; /* unsupported */
    if (wl->batch == DB_BATCH_SEQUENTIAL) return (long long)n;
    size_t B = db_block_columns(n);
    return (long long)((n + B - 1) / B);
}

static void check_combo(const struct db_workload *wl, const char *kind, enum db_jac jac,
                        const struct db_strategy *st, size_t n, int tagged) {
    struct db_instance *in;
    cr_assert_eq(db_instance_create(wl, n, 0, &in), DB_OK);
    struct db_operator *op;
    unsigned tags = tagged ? db_tags_for_structure(wl->structure) : 0;
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
    long long promised = promised_calls(st->name, kind, tagged || n == 1, wl, n);
    for (int rep = 0; rep < 2; rep++) { /* a second call reuses the workspace */
        db_instance_reset_calls(in);
        rc = st->run(op, diag, &ctx);
        if (promised < 0) {
            cr_assert_eq(rc, DB_E_UNSUPPORTED, "%s/%s/%s/%s n=%zu tagged=%d", wl->name, kind,
                         db_jac_name(jac), st->name, n, tagged);
            cr_assert_eq(db_instance_calls(in), 0);
            break;
        }
        cr_assert_eq(rc, DB_OK, "%s/%s/%s/%s n=%zu tagged=%d", wl->name, kind, db_jac_name(jac),
                     st->name, n, tagged);
        for (size_t i = 0; i < n; i++)
            cr_assert(fabs(diag[i] - ref[i]) <= 1e-12,
                      "%s/%s/%s/%s n=%zu: diag[%zu]=%.17g ref=%.17g", wl->name, kind,
                      db_jac_name(jac), st->name, n, i, diag[i], ref[i]);
        cr_assert_eq((long long)db_instance_calls(in), promised,
                     "%s/%s/%s/%s n=%zu tagged=%d: %llu calls, promised %lld", wl->name, kind,
                     db_jac_name(jac), st->name, n, tagged, db_instance_calls(in), promised);
    }
    db_strategy_ctx_free(&ctx);
    free(diag), free(ref);
    db_operator_destroy(op);
    db_instance_destroy(in);
}

static void check_all(const char *kind, enum db_jac jac, int tagged) {
    for (size_t w = 0; w < db_workload_count; w++)
        for (size_t s = 0; s < db_strategy_count; s++)
            for (size_t k = 0; k < NSIZES; k++)
                check_combo(db_workloads[w], kind, jac, db_strategies[s], sizes[k], tagged);
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

/* Untagged operators: probe must fall back to materialise (same calls, same answer), and be
 * unsupported where materialise is -- never a wrong answer. */
Test(conformance, untagged_probe_falls_back_to_materialise) {
    check_all("jacobian", DB_JAC_FWD, 0);
    check_all("jacobian", DB_JAC_BWD, 0);
    check_all("function", DB_JAC_NONE, 0);
}

Test(conformance, dense_matrix_matches_finite_differences) {
    const char *kinds[] = {"jacobian", "jacobian", "function", "matrix", "diagonal"};
    enum db_jac jacs[] = {DB_JAC_FWD, DB_JAC_BWD, DB_JAC_NONE, DB_JAC_NONE, DB_JAC_NONE};
    for (size_t w = 0; w < db_workload_count; w++) {
        if (db_workloads[w]->batch == DB_BATCH_NONE) continue;
        for (size_t k = 0; k < 5; k++) {
            size_t n = 37;
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

/* The streaming-store kernel and the plain reference kernel give identical matrices. */
Test(conformance, streaming_and_plain_materialise_agree) {
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
                db_blocks_set_stream_threshold(0);
                cr_assert_eq(db_blocked_materialise(in, reverse, &tc, a), DB_OK);
                cr_assert(in->stream_outputs);
                db_blocks_set_stream_threshold(SIZE_MAX);
                cr_assert_eq(db_blocked_materialise(in, reverse, &tc, b), DB_OK);
                cr_assert(!in->stream_outputs);
                cr_assert_eq(memcmp(a, b, n * n * sizeof *a), 0, "%s n=%zu", db_workloads[w]->name,
                             n);
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
