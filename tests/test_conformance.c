/* Conformance suite (SUNDIALS style): every registered workload x operator kind x mode x
 * strategy goes through the checks of tests/conformance.h -- JVP/VJP against central finite
 * differences, the diagonal against the exact reference, every extracted entry against the
 * dense materialised Jacobian and the exact reference entries, the dense matrix against finite
 * differences, and primitive call and probe-vector (colour) counts against each strategy's
 * promise. The suite iterates the registries and every promise is derived from their
 * declarations (cf_promised), never from a name: a workload, strategy or operator kind added to
 * a registry is checked with no edit here. Where an operator's tags miss entries of the true
 * pattern (the mis-tagged `liar`), a strategy that answers from them must give a wrong diagonal,
 * and one that checks its tag must reject it. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "operators/blocks.h"
#include "strategies/strategy.h"
#include "tests/conformance.h"
#include "tests/helpers.h"

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
    for (size_t w = 0; w < db_workload_count; w++)
        cf_check_pattern(db_workloads[w], cf_sincos_model);
}

Test(workloads, jvp_vjp_against_finite_differences) {
    for (size_t w = 0; w < db_workload_count; w++)
        cf_check_derivatives(db_workloads[w], cf_sincos_model);
}

Test(workloads, single_calls_are_counted_and_batches_follow_the_rule) {
    for (size_t w = 0; w < db_workload_count; w++)
        cf_check_batches(db_workloads[w]);
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

/* Every registered workload with every registered strategy through the kind in mode jac. */
static void check_registered(const struct db_operator_kind *kind, enum db_jac jac, int tagged,
                             size_t max_n) {
    for (size_t w = 0; w < db_workload_count; w++)
        cf_check_sizes(db_workloads[w], kind, jac, db_strategies, db_strategy_count, tagged, max_n,
                       cf_sincos_model);
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
        count += cf_kind_modes(db_operator_kind_table[k], modes);
    struct kind_mode *p = cr_malloc(count * sizeof *p);
    cr_assert_not_null(p);
    count = 0;
    for (size_t k = 0; k < db_operator_kind_count; k++)
        for (size_t m = 0, nm = cf_kind_modes(db_operator_kind_table[k], modes); m < nm; m++)
            p[count++] = (struct kind_mode){k, modes[m]};
    return cr_make_param_array(struct kind_mode, p, count, free_kind_modes);
}

ParameterizedTestParameters(conformance, every_kind) {
    return every_kind_mode();
}
ParameterizedTest(struct kind_mode *p, conformance, every_kind) {
    check_registered(db_operator_kind_table[p->kind], p->jac, 1, (size_t)-1);
}

/* Untagged operators: probe and every structured probe must fall back to materialise (same
 * calls, same answer), and be unsupported where materialise is -- never a wrong answer. */
ParameterizedTestParameters(conformance, untagged_probe_falls_back_to_materialise) {
    return every_kind_mode();
}
ParameterizedTest(struct kind_mode *p, conformance, untagged_probe_falls_back_to_materialise) {
    check_registered(db_operator_kind_table[p->kind], p->jac, 0, 513); /* n does not matter */
}

Test(conformance, dense_matrix_matches_finite_differences) {
    for (size_t w = 0; w < db_workload_count; w++)
        for (size_t k = 0; k < db_operator_kind_count; k++) {
            enum db_jac modes[2];
            for (size_t m = 0, nm = cf_kind_modes(db_operator_kind_table[k], modes); m < nm; m++)
                cf_check_dense_matrix(db_workloads[w], db_operator_kind_table[k], modes[m],
                                      cf_sincos_model);
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
                d[t] = th_alloc(n * sizeof *d[t]);
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
                double *ref = th_alloc(n * sizeof *ref), eta = th_entry_rel();
                cr_assert_eq(db_instance_reference_diagonal(in, ref), DB_OK);
                for (size_t i = 0; i < n; i++) /* kernel vs reference; exactly 0 off the diagonal */
                    for (size_t j = 0; j < n; j++)
                        cr_assert(i == j ? fabs(a[j * n + i] - ref[i]) <= eta * fabs(ref[i])
                                         : a[j * n + i] == 0,
                                  "A[%zu,%zu] = %.17g", i, j, a[j * n + i]);
                th_free(ref), th_free(tc), th_free(a), th_free(b), th_free(in);
            }
}
