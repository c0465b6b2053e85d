/* The registries' declarations are true: every operator kind's flags match what its operators do,
 * and the names the CLI lists are the descriptors' own. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "operators/operator.h"

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

/* Each kind's flags against its operator on a diagonal workload. */
Test(registry, operator_kind_flags_match_the_operators) {
    const size_t n = 8;
    struct db_instance *in;
    cr_assert_eq(db_instance_create(db_workload_find("sin"), n, 0, &in), DB_OK);
    double *ones = malloc(n * sizeof *ones), *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    cr_assert(ones && a && b);
    for (size_t i = 0; i < n; i++)
        ones[i] = 1.0;
    for (size_t i = 0; i < db_operator_kind_count; i++) {
        const struct db_operator_kind *k = db_operator_kind_table[i];
        enum db_jac jac = k->flags & DB_OPERATOR_JAC ? DB_JAC_FWD : DB_JAC_NONE;
        struct db_operator *op;
        cr_assert_eq(db_operator_create(k->name, jac, in, 0, &op), DB_OK, "%s", k->name);
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
        double *M = calloc(n * n, sizeof *M);
        struct db_dense dense;
        in->write_path[0] = '\0';
        cr_assert_eq(op->ops->materialise(op, M, &dense), DB_OK);
        cr_assert_eq(!!(k->flags & DB_OPERATOR_BLOCKED), in->write_path[0] != '\0', "%s", k->name);
        free(M);
        db_operator_destroy(op);
        /* Only a kind with a differentiation mode takes one. */
        int rc = db_operator_create(k->name, DB_JAC_BWD, in, 0, &op);
        cr_assert_eq(!(k->flags & DB_OPERATOR_JAC), rc == DB_E_INVALID, "%s", k->name);
        if (rc == DB_OK) db_operator_destroy(op);
    }
    free(ones), free(a), free(b);
    db_instance_destroy(in);
}
