/* Operator registry, creation dispatch, tags and the ops' defaults. */
#include "operators/operator.h"

#include <string.h>

/* The registry, in --list order: each kind's descriptor (defined in its own file) and, for lists
 * of names, its name. */
extern const struct db_operator_kind db_operator_jacobian, db_operator_function, db_operator_matrix,
    db_operator_diagonal;

const struct db_operator_kind *const db_operator_kind_table[] = {
    &db_operator_jacobian,
    &db_operator_function,
    &db_operator_matrix,
    &db_operator_diagonal,
};
const char *const db_operator_kinds[] = {
    db_operator_jacobian.name,
    db_operator_function.name,
    db_operator_matrix.name,
    db_operator_diagonal.name,
};
const size_t db_operator_kind_count =
    sizeof db_operator_kind_table / sizeof db_operator_kind_table[0];
_Static_assert(sizeof db_operator_kinds / sizeof db_operator_kinds[0] ==
                   sizeof db_operator_kind_table / sizeof db_operator_kind_table[0],
               "every registered kind has its name in db_operator_kinds, in the same order");

const struct db_operator_kind *db_operator_kind_find(const char *name) {
    for (size_t i = 0; name && i < db_operator_kind_count; i++)
        if (strcmp(name, db_operator_kind_table[i]->name) == 0) return db_operator_kind_table[i];
    return NULL;
}

unsigned db_operator_kind_flags(const char *name) {
    const struct db_operator_kind *k = db_operator_kind_find(name);
    return k ? k->flags : 0;
}

int db_operator_kind_valid(const char *kind) {
    return db_operator_kind_find(kind) != NULL;
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

unsigned db_tags_implied(unsigned tags) {
    return tags & DB_TAG_DIAGONAL ? tags | DB_TAG_TRIDIAGONAL | DB_TAG_SYMMETRIC : tags;
}

unsigned db_operator_tags(const struct db_operator *op) {
    return db_tags_implied(op->n == 1 ? op->tags | DB_TAG_DIAGONAL : op->tags);
}

unsigned db_operator_flags(const struct db_operator *op) {
    return op->kind ? op->kind->flags : 0;
}

size_t db_operator_setup_bytes(const char *kind, size_t n) {
    const struct db_operator_kind *k = db_operator_kind_find(kind);
    return k ? k->setup_bytes(n) : n * sizeof(double);
}

int db_operator_create(const char *kind, enum db_jac jac, struct db_instance *in, unsigned tags,
                       struct db_operator **out) {
    return db_operator_create_kind(db_operator_kind_find(kind), jac, in, tags, out);
}

int db_operator_create_kind(const struct db_operator_kind *k, enum db_jac jac,
                            struct db_instance *in, unsigned tags, struct db_operator **out) {
    if (!k || !in || !out) return DB_E_INVALID;
    if (!(k->flags & DB_OPERATOR_JAC) != (jac == DB_JAC_NONE)) return DB_E_INVALID;
    int rc = k->create(in, jac, out);
    if (rc == DB_OK) {
        (*out)->kind = k;
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

int db_operator_probe(struct db_operator *op, const double *v, double *out) {
    return op->jac == DB_JAC_BWD ? db_operator_mv_transpose(op, v, out)
                                 : db_operator_mv(op, v, out);
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
