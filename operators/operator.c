/* Operator registry, creation dispatch, tags and the ops' defaults. */
#include "operators/operator.h"

#include <string.h>

#include "operators/blocks.h"

/* Constructors, one per kind (one file each). */
int db_jacobian_create(struct db_instance *in, enum db_jac jac, struct db_operator **out);
int db_function_create(struct db_instance *in, struct db_operator **out);
int db_matrix_create(struct db_instance *in, struct db_operator **out);
int db_diagonal_create(struct db_instance *in, struct db_operator **out);

const char *const db_operator_kinds[] = {"jacobian", "function", "matrix", "diagonal"};
const char *const db_operator_kind_descriptions[] = {
    "lazy Jacobian of the workload; jac=fwd uses JVPs, jac=bwd uses VJPs",
    "a linear function v -> J v (no transpose); probe = fn(ones)",
    "dense J stored in memory (built at setup); matrix-vector products with OpenBLAS dgemv",
    "stores diag(J); knows its diagonal (only for diagonal workloads)",
};
const size_t db_operator_kind_count = sizeof db_operator_kinds / sizeof db_operator_kinds[0];

int db_operator_kind_valid(const char *kind) {
    for (size_t i = 0; i < db_operator_kind_count; i++)
        if (strcmp(kind, db_operator_kinds[i]) == 0) return 1;
    return 0;
}

unsigned db_tags_for_structure(enum db_structure s) {
    switch (s) {
    case DB_STRUCT_DIAGONAL:
        return DB_TAG_DIAGONAL;
    case DB_STRUCT_TRIDIAGONAL:
        return DB_TAG_TRIDIAGONAL;
    case DB_STRUCT_DENSE:
        return 0;
    case DB_STRUCT_BANDED:
        return DB_TAG_BANDED;
    case DB_STRUCT_SPARSE:
        return DB_TAG_SPARSE;
    }
    return 0;
}

unsigned db_operator_tags(const struct db_operator *op) {
    unsigned t = op->tags;
    if (op->n == 1) t |= DB_TAG_DIAGONAL;
    if (t & DB_TAG_DIAGONAL) t |= DB_TAG_TRIDIAGONAL | DB_TAG_SYMMETRIC;
    return t;
}

size_t db_operator_setup_bytes(const char *kind, size_t n) {
    if (strcmp(kind, "matrix") == 0) return n * n * sizeof(double);
    if (strcmp(kind, "jacobian") == 0 || strcmp(kind, "function") == 0)
        return db_tangent_cache_bytes(n);
    return n * sizeof(double);
}

int db_operator_create(const char *kind, enum db_jac jac, struct db_instance *in, unsigned tags,
                       struct db_operator **out) {
    if (!kind || !in || !out) return DB_E_INVALID;
    int is_jac = strcmp(kind, "jacobian") == 0;
    if (is_jac != (jac != DB_JAC_NONE)) return DB_E_INVALID;
    int rc;
    if (is_jac)
        rc = db_jacobian_create(in, jac, out);
    else if (strcmp(kind, "function") == 0)
        rc = db_function_create(in, out);
    else if (strcmp(kind, "matrix") == 0)
        rc = db_matrix_create(in, out);
    else if (strcmp(kind, "diagonal") == 0)
        rc = db_diagonal_create(in, out);
    else
        return DB_E_INVALID;
    if (rc == DB_OK) {
        (*out)->n = in->n;
        (*out)->jac = jac;
        (*out)->in = in;
        (*out)->tags = tags;
    }
    return rc;
}

void db_operator_destroy(struct db_operator *op) {
    if (op) op->ops->destroy(op);
}

int db_operator_mv(struct db_operator *op, const double *v, double *out) {
    return op->ops->mv(op, v, out);
}

int db_operator_mv_transpose(struct db_operator *op, const double *w, double *out) {
    if (!op->ops->mv_transpose) return DB_E_UNSUPPORTED;
    return op->ops->mv_transpose(op, w, out);
}

void db_dense_diagonal(const struct db_dense *M, double *diag) {
    for (size_t i = 0; i < M->n; i++)
        diag[i] = M->data[i * M->ld + i];
}

const char *db_jac_name(enum db_jac jac) {
    switch (jac) {
    case DB_JAC_FWD:
        return "fwd";
    case DB_JAC_BWD:
        return "bwd";
    case DB_JAC_NONE:
        return "none";
    }
    return "?";
}
