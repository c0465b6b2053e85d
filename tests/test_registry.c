/* The registries' declarations are true: every operator kind's flags match what its operators do,
 * the names the CLI lists are the descriptors' own, and a strategy is what its descriptor
 * declares -- one defined here, registered nowhere and named by no code, is costed by the plan's
 * cost model and judged by the fallback rule from its declarations alone. */
#include <criterion/criterion.h>

#include "harness/plan/plan.h"
#include "operators/operator.h"
#include "strategies/strategy.h"
#include "tests/conformance.h"
#include "tests/helpers.h"

Test(registry, operator_kind_names_come_from_the_descriptors) {
    cr_assert_gt(db_operator_kind_count, 0);
    for (size_t i = 0; i < db_operator_kind_count; i++) {
        const struct db_operator_kind *k = db_operator_kind_table[i];
        cr_assert_eq(db_operator_kinds[i], k->name, "db_operator_kinds[%zu] is %s's name", i,
                     k->name);
        cr_assert_eq(db_operator_kind_find(k->name), k);
        cr_assert_eq(db_operator_kind_flags(k->name), k->flags);
        cr_assert(db_operator_kind_valid(k->name));
        cr_assert(k->describe && *k->describe && k->create && k->setup_bytes, "%s", k->name);
    }
    cr_assert_null(db_operator_kind_find("sparse"));
    cr_assert_null(db_operator_kind_find(NULL));
    cr_assert_eq(db_operator_kind_flags("sparse"), 0);
}

/* Each kind's flags against its operator on a diagonal workload (tests/conformance.h). */
Test(registry, operator_kind_flags_match_the_operators) {
    for (size_t i = 0; i < db_operator_kind_count; i++)
        cf_check_kind_flags(db_operator_kind_table[i]);
}

/* ---- a strategy that only this test knows ---------------------------------------------------- */

static size_t no_workspace(const struct db_operator *op) {
    (void)op;
    return 0;
}

static int never_run(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx) {
    (void)op, (void)diag, (void)ctx;
    return DB_E_INTERNAL;
}

static const struct db_strategy sparse_probe = {
    .name = "test-sparse-probe",
    .describe = "test only: 5 products for an operator tagged sparse",
    .required_tags = DB_TAG_SPARSE,
    .products = {.fixed = 5},
    .workspace_bytes = no_workspace,
    .run = never_run,
};

static const struct db_strategy band_probe = {
    .name = "test-band-probe",
    .describe = "test only: lower + upper + 1 products for an operator tagged banded",
    .required_tags = DB_TAG_BANDED,
    .products = {.fixed = 1, .per_band = 1},
    .workspace_bytes = no_workspace,
    .run = never_run,
};

Test(registry, an_unregistered_strategy_is_costed_from_its_declaration) {
    cr_assert_null(db_strategy_find(sparse_probe.name), "registered nowhere");
    cr_assert_null(db_strategy_find(band_probe.name), "registered nowhere");
    struct db_run_opts o = {.reps = 5, .min_time_s = 1e-5, .call_cost_s = 1e-6};
    const size_t n = 10000;
    struct db_cell c = {.wl = db_workload_find("stencil"),
                        .op_kind = "jacobian",
                        .jac = DB_JAC_FWD,
                        .strategy = &sparse_probe,
                        .n = n};
    cr_assert_eq(db_plan_cell_cost(&c, &o, 1), cf_cost_model(n, 5, &o, 1));
    cr_assert_eq(db_plan_cell_cost(&c, &o, 2), cf_cost_model(n, 5, &o, 2));
    /* The band the products are given: the workload's, or --band's. */
    c = (struct db_cell){.wl = db_workload_find("banded"),
                         .op_kind = "function",
                         .jac = DB_JAC_NONE,
                         .strategy = &band_probe,
                         .n = n};
    cr_assert_eq(db_plan_cell_cost(&c, &o, 1), cf_cost_model(n, 2 + 3 + 1, &o, 1));
    o.band_set = 1, o.band_lower = 7, o.band_upper = 0;
    cr_assert_eq(db_plan_cell_cost(&c, &o, 1), cf_cost_model(n, 7 + 0 + 1, &o, 1));
    o.band_set = 0;
    /* Without its tag it falls back, and costs what materialise costs; untagged, the same. */
    struct db_cell fallback = {.wl = db_workload_find("stencil"),
                               .op_kind = "jacobian",
                               .jac = DB_JAC_FWD,
                               .strategy = &band_probe,
                               .n = n};
    struct db_cell mat = fallback;
    mat.strategy = &db_strategy_materialise;
    cr_assert_eq(db_plan_cell_cost(&fallback, &o, 2), db_plan_cell_cost(&mat, &o, 2));
    c.strategy = &sparse_probe;
    c.wl = db_workload_find("stencil");
    o.untagged = 1;
    mat.op_kind = c.op_kind;
    cr_assert_eq(db_plan_cell_cost(&c, &o, 1), db_plan_cell_cost(&mat, &o, 1));
}

Test(registry, an_unregistered_strategy_follows_the_fallback_rule) {
    struct db_instance *in = th_instance(db_workload_find("stencil"), 100);
    struct db_operator *op = th_operator("jacobian", DB_JAC_FWD, in, DB_TAG_SPARSE);
    cr_assert_not(db_strategy_needs_fallback(op, sparse_probe.required_tags));
    cr_assert(db_strategy_needs_fallback(op, band_probe.required_tags));
    th_free(op);
    op = th_operator("jacobian", DB_JAC_FWD, in, 0);
    cr_assert(db_strategy_needs_fallback(op, sparse_probe.required_tags), "untagged");
    th_free(op), th_free(in);
    /* A kind that knows its diagonal never falls back. */
    in = th_instance(db_workload_find("sin"), 10);
    op = th_operator("diagonal", DB_JAC_NONE, in, 0);
    cr_assert_not(db_strategy_needs_fallback(op, sparse_probe.required_tags));
    th_free(op), th_free(in);
}

/* The registered strategies keep their declarations consistent. */
Test(registry, strategy_declarations_are_consistent) {
    for (size_t i = 0; i < db_strategy_count; i++) {
        const struct db_strategy *st = db_strategies[i];
        cr_assert_eq(db_strategy_find(st->name), st);
        int materialises = !!(st->flags & DB_STRATEGY_MATERIALISES);
        cr_assert_eq(materialises, st->required_tags == 0, "%s", st->name);
        cr_assert_eq(materialises, db_strategy_products(st, 2, 3) == 0, "%s", st->name);
        if (st->flags & DB_STRATEGY_EXTRACTS_TRIDIAGONAL) cr_assert_not_null(st->extract);
        /* colours of a pattern are recovered by compressed probing: an extracting strategy */
        if (st->flags & DB_STRATEGY_COLOURS_PATTERN) cr_assert_not_null(st->extract);
    }
}

/* Write-path planning plans exactly the sizes whose cells write an n x n matrix: a structured
 * probe with the tags it needs writes none; untagged, it falls back and does. */
Test(plan, matrix_sizes_are_those_that_materialise) {
    char e[512];
    for (int untagged = 0; untagged < 2; untagged++) {
        char *argv[] = {
            "diagbench", "-w",  "tridiag,sin", "-s",      "probe-tridiag",
            "-j",        "fwd", "-n",          "100,300", untagged ? "--untagged" : "-q",
            NULL};
        struct db_cli cli;
        cr_assert_eq(db_cli_parse(10, argv, &cli, e, sizeof e), DB_OK, "%s", e);
        struct db_plan p;
        cr_assert_eq(db_plan_build(&cli, &p, e, sizeof e), DB_OK, "%s", e);
        size_t sizes[16];
        size_t k = db_plan_matrix_sizes(&p, NULL, &cli.run, sizes);
        if (untagged) {
            cr_assert_eq(k, 2);
            cr_assert(sizes[0] == 100 && sizes[1] == 300);
        } else {
            cr_assert_eq(k, 0, "tagged: probe-tridiag probes, nothing to plan");
        }
        db_plan_free(&p);
    }
}
