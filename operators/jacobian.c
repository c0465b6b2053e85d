/* Lazy operators over a workload: the Jacobian (fwd: JVP columns, bwd: VJP rows) and the
 * linear function v -> J v (lineax's FunctionLinearOperator: no transpose). Both materialise
 * through the workload's batching rule, blocked and threaded (blocks.c). */
#include <stdlib.h>

#include "operators/blocks.h"
#include "operators/operator.h"

struct lazy_op {
    struct db_operator base; /* first: a struct db_operator * is a struct lazy_op * */
    struct db_tangent_cache tangents;
};

static int lazy_mv(struct db_operator *op, const double *v, double *out) {
    return db_instance_jvp(op->in, op->in->x, v, out);
}

static int lazy_mv_transpose(struct db_operator *op, const double *w, double *out) {
    return db_instance_vjp(op->in, op->in->x, w, out);
}

static int lazy_materialise(struct db_operator *op, double *buf, struct db_dense *M) {
    struct lazy_op *l = (struct lazy_op *)op;
    int reverse = op->jac == DB_JAC_BWD;
    DB_CHECK(db_blocked_materialise(op->in, reverse, &l->tangents, buf));
    *M = (struct db_dense){.data = buf, .n = op->n, .ld = op->n, .transposed = reverse};
    return DB_OK;
}

static size_t lazy_materialise_bytes(const struct db_operator *op) {
    return op->n * op->n * sizeof(double);
}

static void lazy_destroy(struct db_operator *op) {
    struct lazy_op *l = (struct lazy_op *)op;
    db_tangent_cache_free(&l->tangents);
    free(l);
}

extern const struct db_operator_kind db_operator_jacobian, db_operator_function;

static const struct db_operator_ops jacobian_ops = {
    .kind = db_operator_jacobian.name,
    .mv = lazy_mv,
    .mv_transpose = lazy_mv_transpose,
    .materialise = lazy_materialise,
    .materialise_bytes = lazy_materialise_bytes,
    .destroy = lazy_destroy,
};

static const struct db_operator_ops function_ops = {
    .kind = db_operator_function.name,
    .mv = lazy_mv,
    .materialise = lazy_materialise,
    .materialise_bytes = lazy_materialise_bytes,
    .destroy = lazy_destroy,
};

static int lazy_create(const struct db_operator_ops *ops, struct db_operator **out) {
    struct lazy_op *l = calloc(1, sizeof *l);
    if (!l) return DB_E_NOMEM;
    if (db_tangent_cache_init(&l->tangents) != DB_OK) {
        free(l);
        return DB_E_NOMEM;
    }
    l->base.ops = ops;
    *out = &l->base;
    return DB_OK;
}

static int jacobian_create(struct db_instance *in, enum db_jac jac, struct db_operator **out) {
    (void)in, (void)jac;
    return lazy_create(&jacobian_ops, out);
}

static int function_create(struct db_instance *in, enum db_jac jac, struct db_operator **out) {
    (void)in, (void)jac;
    return lazy_create(&function_ops, out);
}

const struct db_operator_kind db_operator_jacobian = {
    .name = "jacobian",
    .describe = "lazy Jacobian of the workload; jac=fwd uses JVPs, jac=bwd uses VJPs",
    .flags = DB_OPERATOR_JAC | DB_OPERATOR_LAZY | DB_OPERATOR_TRANSPOSE | DB_OPERATOR_BLOCKED,
    .create = jacobian_create,
    .setup_bytes = db_tangent_cache_bytes,
};

const struct db_operator_kind db_operator_function = {
    .name = "function",
    .describe = "a linear function v -> J v (no transpose); probe = fn(ones)",
    .flags = DB_OPERATOR_LAZY | DB_OPERATOR_BLOCKED,
    .create = function_create,
    .setup_bytes = db_tangent_cache_bytes,
};
