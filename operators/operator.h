/* Linear operators: a base struct embedded first in every kind (SQLite style), an ops table with
 * required and optional entries, and structural tags. Every operator here wraps a workload
 * instance at its point x; its primitive calls are counted on that instance. */
#ifndef DB_OPERATOR_H
#define DB_OPERATOR_H

#include <stddef.h>

#include "workloads/workload.h"

enum db_tag {
    DB_TAG_DIAGONAL = 1u << 0,
    DB_TAG_TRIDIAGONAL = 1u << 1,
    DB_TAG_SYMMETRIC = 1u << 2,
    DB_TAG_BANDED = 1u << 3, /* banded with the workload instance's bandwidths (lower, upper) */
    DB_TAG_SPARSE = 1u << 4, /* sparse with the workload's declared CSR pattern */
};

/* Differentiation mode of a Jacobian operator; other kinds use DB_JAC_NONE. */
enum db_jac { DB_JAC_NONE, DB_JAC_FWD, DB_JAC_BWD };

/* A dense n-by-n matrix, column-major with leading dimension ld. When transposed is set, data
 * holds A^T (i.e. A row-major), as reverse mode produces it. data may belong to the operator. */
struct db_dense {
    const double *data;
    size_t n, ld;
    int transposed;
};

struct db_operator;

struct db_operator_ops {
    const char *kind;
    /* out = A v. Required. */
    int (*mv)(struct db_operator *op, const double *v, double *out);
    /* out = A^T w. Optional: NULL makes reverse mode unsupported. */
    int (*mv_transpose)(struct db_operator *op, const double *w, double *out);
    /* Build A: write it into buf (n*n doubles, may be NULL if workspace_bytes says 0) or point M
     * at storage the operator already owns. Required. */
    int (*materialise)(struct db_operator *op, double *buf, struct db_dense *M);
    /* Bytes of buf materialise needs (0: it returns a view). Required. */
    size_t (*materialise_bytes)(const struct db_operator *op);
    /* Optional: a kind that knows its diagonal answers directly (PETSc's MATDIAGONAL). */
    int (*diagonal)(struct db_operator *op, double *diag);
    void (*destroy)(struct db_operator *op);
};

struct db_operator {
    const struct db_operator_ops *ops;
    size_t n;
    unsigned tags;
    enum db_jac jac;
    struct db_instance *in; /* borrowed: the workload behind the operator, with its counter */
};

/* Kinds of operator, in --list order, with a one-line description each. */
extern const char *const db_operator_kinds[];
extern const char *const db_operator_kind_descriptions[];
extern const size_t db_operator_kind_count;

/* True when kind names an operator kind. */
int db_operator_kind_valid(const char *kind);

/* Tags a workload's operator carries when the user tags it by its true structure. */
unsigned db_tags_for_structure(enum db_structure s);

/* Tags with their implications: diagonal implies tridiagonal and symmetric; n = 1 is diagonal. */
unsigned db_operator_tags(const struct db_operator *op);

/* Extra bytes the operator allocates at creation (e.g. the dense matrix), for the memory budget. */
size_t db_operator_setup_bytes(const char *kind, size_t n);

/* Create an operator of the given kind around instance in. jac must be FWD or BWD for
 * "jacobian" and NONE otherwise. Returns DB_E_UNSUPPORTED when the kind cannot represent the
 * workload (a diagonal operator of a non-diagonal workload), DB_E_INVALID for a bad kind or jac. */
int db_operator_create(const char *kind, enum db_jac jac, struct db_instance *in, unsigned tags,
                       struct db_operator **out);
void db_operator_destroy(struct db_operator *op);

/* Ops with their defaults: mv_transpose missing -> DB_E_UNSUPPORTED. */
int db_operator_mv(struct db_operator *op, const double *v, double *out);
int db_operator_mv_transpose(struct db_operator *op, const double *w, double *out);

/* Read the diagonal of a dense matrix. */
void db_dense_diagonal(const struct db_dense *M, double *diag);

/* "fwd", "bwd" or "none". */
const char *db_jac_name(enum db_jac jac);

#endif
