/* The recipes of docs/ARCHITECTURE.md, proven: a workload, a strategy and an operator kind, each
 * defined in this file only and registered nowhere, go through the checks the registered ones get
 * (tests/conformance.h) -- the workload with every registered kind, mode and strategy, the
 * strategy over every registered workload, kind and mode, the kind with every registered workload
 * and strategy -- each held to the promise derived from its declarations. The strategy is also
 * costed by the plan's cost model from its declarations. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "harness/plan/plan.h"
#include "operators/blocks.h"
#include "strategies/strategy.h"
#include "tests/conformance.h"
#include "tests/helpers.h"

/* ---- a workload: cube, y = x^3 elementwise -------------------------------------------------- */

static int cube_eval(const struct db_instance *in, const double *x, double *y) {
    for (size_t i = 0; i < in->n; i++)
        y[i] = x[i] * x[i] * x[i];
    return DB_OK;
}

/* out_j = 3 x_j^2 v_j for k tangents (columns of V): one call, the vectorised rule. J is
 * diagonal, so the VJP is the same product. */
static int cube_batch(const struct db_instance *in, const double *x, const double *V, size_t ldv,
                      size_t k, double *out, size_t ldo) {
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < in->n; i++)
            out[j * ldo + i] = 3.0 * x[i] * x[i] * V[j * ldv + i];
    return DB_OK;
}

static int cube_jvp(const struct db_instance *in, const double *x, const double *v, double *out) {
    return cube_batch(in, x, v, in->n, 1, out, in->n);
}

/* The exact reference, in scalar code apart from the kernels: J_ii = 3 x_i^2. */
static int cube_reference_diagonal(const struct db_instance *in, const double *x, double *diag) {
    for (size_t i = 0; i < in->n; i++)
        diag[i] = 3.0 * (x[i] * x[i]);
    return DB_OK;
}

static const struct db_workload cube = {
    .name = "test-cube",
    .description = "test only: y = x^3 elementwise, J = diag(3 x^2), vectorised batches",
    .batch = DB_BATCH_VECTORISED,
    .structure = DB_STRUCT_DIAGONAL,
    .ops =
        {
            .eval = cube_eval,
            .jvp = cube_jvp,
            .vjp = cube_jvp,
            .jvp_batch = cube_batch,
            .vjp_batch = cube_batch,
            .reference_diagonal = cube_reference_diagonal,
        },
};

/* cube's error model at the default point (|x_i| <= 4), for tangents |v_i| <= 1 and the central
 * differences' points |x_i +- h v_i| <= 4 + h:
 * - d^3/dt^3 (x + t v)^3 = 6 v^3: m3 = 6; f' = 3 x^2: f1 = 3 (4 + h)^2;
 * - x x x is two roundings: f_err = gamma_2 (4 + h)^3;
 * - the kernels' 3 x x v is three roundings of |3 x^2 v| <= 48 vmax: jvp = vjp = gamma_3 48;
 *   one entry (v = e_j: the last product exact) two: entry = gamma_2 48;
 * - kernel ((3 x) x) and reference (3 (x x)) each within gamma_2 of 3 x^2, so within
 *   2 gamma_2 / (1 - gamma_2) = gamma_4 of each other, relative to the reference. */
static struct cf_model cube_model(const struct db_instance *in) {
    (void)in;
    double r = 4 + CF_FD_H;
    return (struct cf_model){.m3 = 6,
                             .f_err = th_gamma(2) * r * r * r,
                             .f1 = 3 * r * r,
                             .xmax = 4,
                             .jvp = th_gamma(3) * 48,
                             .vjp = th_gamma(3) * 48,
                             .entry = th_gamma(2) * 48,
                             .entry_rel = th_gamma(4)};
}

/* ---- a strategy: probe-halves --------------------------------------------------------------- */

/* An operator tagged diagonal gives its diagonal from two products, with the indicators h1 of the
 * first half of the indices and h2 of the rest: diag = J h1 + J h2 (exact for a diagonal J, where
 * each entry gets one non-zero term). A kind that knows its diagonal answers; an untagged
 * operator falls back to materialise. Built from the public API only. */
enum { HALVES_REQUIRED = DB_TAG_DIAGONAL };

struct halves_ws {
    double *h, *second;
    size_t n;
};

static void halves_free(void *p) {
    struct halves_ws *w = p;
    free(w->h);
    free(w->second);
    free(w);
}

static int halves_ws(struct db_strategy_ctx *ctx, size_t n, struct halves_ws **out) {
    struct halves_ws *w = ctx->priv;
    if (w && (ctx->priv_free != halves_free || w->n != n)) {
        ctx->priv_free(ctx->priv);
        ctx->priv = w = NULL;
    }
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w) return DB_E_NOMEM;
        w->h = malloc(n * sizeof *w->h);
        w->second = malloc(n * sizeof *w->second);
        w->n = n;
        if (!w->h || !w->second) {
            halves_free(w);
            return DB_E_NOMEM;
        }
        ctx->priv = w;
        ctx->priv_free = halves_free;
    }
    *out = w;
    return DB_OK;
}

static size_t halves_workspace_bytes(const struct db_operator *op) {
    size_t b = 2 * op->n * sizeof(double);
    return db_strategy_needs_fallback(op, HALVES_REQUIRED) ? b + db_materialise_workspace_bytes(op)
                                                           : b;
}

static int halves_run(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx) {
    if (op->ops->diagonal) return op->ops->diagonal(op, diag);
    if (db_strategy_needs_fallback(op, HALVES_REQUIRED)) return db_materialise_run(op, diag, ctx);
    size_t n = op->n, half = (n + 1) / 2;
    struct halves_ws *w;
    DB_CHECK(halves_ws(ctx, n, &w));
    for (size_t i = 0; i < n; i++)
        w->h[i] = i < half ? 1.0 : 0.0;
    DB_CHECK(db_operator_probe(op, w->h, diag));
    for (size_t i = 0; i < n; i++)
        w->h[i] = i < half ? 0.0 : 1.0;
    DB_CHECK(db_operator_probe(op, w->h, w->second));
    for (size_t i = 0; i < n; i++)
        diag[i] += w->second[i];
    return DB_OK;
}

static const struct db_strategy probe_halves = {
    .name = "test-probe-halves",
    .describe = "test only: a diagonal-tagged operator's diagonal from two products, with the "
                "halves of ones; untagged: materialise",
    .required_tags = HALVES_REQUIRED,
    .products = {.fixed = 2},
    .workspace_bytes = halves_workspace_bytes,
    .run = halves_run,
};

/* ---- an operator kind: a lazy v -> J v without a transpose ---------------------------------- */

struct lazy_op {
    struct db_operator base; /* first: a struct db_operator * is a struct lazy_op * */
    struct db_tangent_cache tangents;
};

static int lazy_mv(struct db_operator *op, const double *v, double *out) {
    return db_instance_jvp(op->in, op->in->x, v, out);
}

static int lazy_materialise(struct db_operator *op, double *buf, struct db_dense *M) {
    DB_CHECK(db_blocked_materialise(op->in, 0, &((struct lazy_op *)op)->tangents, buf));
    *M = (struct db_dense){.data = buf, .n = op->n, .ld = op->n};
    return DB_OK;
}

static size_t lazy_materialise_bytes(const struct db_operator *op) {
    return op->n * op->n * sizeof(double);
}

static void lazy_destroy(struct db_operator *op) {
    db_tangent_cache_free(&((struct lazy_op *)op)->tangents);
    free(op);
}

static const struct db_operator_kind lazy_kind;

static const struct db_operator_ops lazy_ops = {
    .kind = lazy_kind.name,
    .mv = lazy_mv,
    .materialise = lazy_materialise,
    .materialise_bytes = lazy_materialise_bytes,
    .destroy = lazy_destroy,
};

static int lazy_create(struct db_instance *in, enum db_jac jac, struct db_operator **out) {
    (void)in, (void)jac;
    struct lazy_op *l = calloc(1, sizeof *l);
    if (!l) return DB_E_NOMEM;
    if (db_tangent_cache_init(&l->tangents) != DB_OK) {
        free(l);
        return DB_E_NOMEM;
    }
    l->base.ops = &lazy_ops;
    *out = &l->base;
    return DB_OK;
}

static const struct db_operator_kind lazy_kind = {
    .name = "test-lazy",
    .describe = "test only: a lazy linear function v -> J v, no transpose",
    .flags = DB_OPERATOR_LAZY | DB_OPERATOR_BLOCKED,
    .create = lazy_create,
    .setup_bytes = db_tangent_cache_bytes,
};

/* ---- the proofs ----------------------------------------------------------------------------- */

/* wl with kind in each of its modes and each of the nst strategies: tagged at every size,
 * untagged up to 513 (the fallback does not depend on n), and the kind's dense matrix. */
static void check_with_kind(const struct db_workload *wl, const struct db_operator_kind *kind,
                            const struct db_strategy *const *st, size_t nst, cf_model_fn model) {
    enum db_jac modes[2];
    for (size_t m = 0, nm = cf_kind_modes(kind, modes); m < nm; m++) {
        cf_check_dense_matrix(wl, kind, modes[m], model);
        cf_check_sizes(wl, kind, modes[m], st, nst, 1, (size_t)-1, model);
        cf_check_sizes(wl, kind, modes[m], st, nst, 0, 513, model);
    }
}

Test(recipes, a_workload_defined_here_is_checked_as_a_registered_one) {
    cr_assert_null(db_workload_find(cube.name), "registered nowhere");
    cf_check_pattern(&cube, cube_model);
    cf_check_derivatives(&cube, cube_model);
    cf_check_batches(&cube);
    for (size_t k = 0; k < db_operator_kind_count; k++)
        check_with_kind(&cube, db_operator_kind_table[k], db_strategies, db_strategy_count,
                        cube_model);
}

Test(recipes, a_strategy_defined_here_is_checked_as_a_registered_one) {
    cr_assert_null(db_strategy_find(probe_halves.name), "registered nowhere");
    const struct db_strategy *st[] = {&probe_halves};
    for (size_t w = 0; w < db_workload_count; w++)
        for (size_t k = 0; k < db_operator_kind_count; k++)
            check_with_kind(db_workloads[w], db_operator_kind_table[k], st, 1, cf_sincos_model);
}

/* The plan costs it from its declarations: two products of n where its tag is there, what
 * materialise costs where it falls back; it writes no matrix unless it falls back. */
Test(recipes, a_strategy_defined_here_is_costed_from_its_declarations) {
    struct db_run_opts o = {.reps = 5, .min_time_s = 1e-5, .call_cost_s = 1e-6};
    const size_t n = 10000;
    struct db_cell c = {.wl = db_workload_find("sin"),
                        .op_kind = "jacobian",
                        .jac = DB_JAC_FWD,
                        .strategy = &probe_halves,
                        .n = n};
    struct db_cell mat = c;
    mat.strategy = &db_strategy_materialise;
    for (unsigned t = 1; t <= 2; t++)
        cr_assert_eq(db_plan_cell_cost(&c, &o, (int)t), cf_cost_model(n, 2, &o, t));
    cr_assert_not(db_plan_cell_writes_matrix(&c, &o), "tagged diagonal: it probes");
    o.untagged = 1;
    cr_assert_eq(db_plan_cell_cost(&c, &o, 2), db_plan_cell_cost(&mat, &o, 2));
    cr_assert(db_plan_cell_writes_matrix(&c, &o), "untagged: it materialises");
    o.untagged = 0;
    c.wl = mat.wl = db_workload_find("tridiag"); /* not diagonal: it falls back */
    cr_assert_eq(db_plan_cell_cost(&c, &o, 1), db_plan_cell_cost(&mat, &o, 1));
    cr_assert(db_plan_cell_writes_matrix(&c, &o));
}

Test(recipes, an_operator_kind_defined_here_is_checked_as_a_registered_one) {
    cr_assert_null(db_operator_kind_find(lazy_kind.name), "registered nowhere");
    cf_check_kind_flags(&lazy_kind);
    for (size_t w = 0; w < db_workload_count; w++)
        check_with_kind(db_workloads[w], &lazy_kind, db_strategies, db_strategy_count,
                        cf_sincos_model);
}

/* The three together: the checks need nothing registered. */
Test(recipes, the_three_together) {
    const struct db_strategy *st[] = {&probe_halves, &db_strategy_materialise};
    check_with_kind(&cube, &lazy_kind, st, 2, cube_model);
}
