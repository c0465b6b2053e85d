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
    const char *kind; /* the kind's name (its descriptor's name, for messages) */
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
    const struct db_operator_kind *kind; /* set by db_operator_create (NULL for a hand-made one) */
    size_t n;
    unsigned tags;
    enum db_jac jac;
    struct db_instance *in; /* borrowed: the workload behind the operator, with its counter */
};

/* What a kind of operator is and can do, declared once in its descriptor. The harness, the
 * solvers and the plan's cost model read these flags, never the kind's name. */
enum db_operator_flag {
    DB_OPERATOR_JAC = 1u << 0,            /* takes a differentiation mode (fwd / bwd) */
    DB_OPERATOR_LAZY = 1u << 1,           /* evaluates the workload at in->x on every product, so
                                             it follows a moved point (Newton's iterate) */
    DB_OPERATOR_KNOWS_DIAGONAL = 1u << 2, /* ops->diagonal answers without products */
    DB_OPERATOR_STORES_DENSE = 1u << 3,   /* stores J (n*n, built at setup): materialise is a
                                             view, a product is a dgemv */
    DB_OPERATOR_TRANSPOSE = 1u << 4,      /* has mv_transpose (products with J^T) */
    DB_OPERATOR_BLOCKED = 1u << 5,        /* materialises through the blocked kernel
                                             (operators/blocks.h): the workload's batching rule */
};

/* A kind of operator: one descriptor in its own file (operators/<kind>.c) and its entry in the
 * registry in operator.c (the descriptor in db_operator_kind_table, its name in db_operator_kinds;
 * a static assertion and tests/test_registry.c keep the two in step). Adding a kind is that file
 * plus that entry, and nothing else names it: everything else asks the registry
 * (db_operator_kind_find) and reads the flags -- except, still, harness/plan/cli.c, which sweeps
 * -j only for the kind named "jacobian" (DB_OPERATOR_JAC is the flag it should read). */
struct db_operator_kind {
    char name[16]; /* an array, so the registry's db_operator_kinds[] can point into it */
    const char *describe;
    unsigned flags; /* enum db_operator_flag */
    /* Build an operator of this kind around in (jac: a mode when DB_OPERATOR_JAC, else NONE;
     * db_operator_create checks it and sets the common fields). DB_E_UNSUPPORTED when the kind
     * cannot represent the workload. */
    int (*create)(struct db_instance *in, enum db_jac jac, struct db_operator **out);
    /* Extra bytes an operator of size n allocates at creation, for the memory budget. */
    size_t (*setup_bytes)(size_t n);
};

/* The registry, in --list order, and the kinds' names in the same order (pointers into the
 * descriptors: for lists of names, such as the CLI's). */
extern const struct db_operator_kind *const db_operator_kind_table[];
extern const char *const db_operator_kinds[];
extern const size_t db_operator_kind_count;

/* The kind called name; NULL when unknown. The only lookup of a kind by name. */
const struct db_operator_kind *db_operator_kind_find(const char *name);

/* The flags of the kind called name; 0 when unknown. */
unsigned db_operator_kind_flags(const char *name);

/* True when kind names an operator kind. */
int db_operator_kind_valid(const char *kind);

/* Tags a workload's operator carries when the user tags it by its true structure. */
unsigned db_tags_for_structure(enum db_structure s);

/* Tags with their implications: diagonal implies tridiagonal and symmetric. */
unsigned db_tags_implied(unsigned tags);

/* The operator's tags with their implications; n = 1 is diagonal. */
unsigned db_operator_tags(const struct db_operator *op);

/* The operator's kind flags (0 for an operator not made by db_operator_create). */
unsigned db_operator_flags(const struct db_operator *op);

/* Extra bytes the operator allocates at creation (e.g. the dense matrix), for the memory budget. */
size_t db_operator_setup_bytes(const char *kind, size_t n);

/* Create an operator of the given kind around instance in. jac must be FWD or BWD for a kind
 * with DB_OPERATOR_JAC ("jacobian") and NONE otherwise. Returns DB_E_UNSUPPORTED when the kind
 * cannot represent the workload (a diagonal operator of a non-diagonal workload), DB_E_INVALID for
 * a bad kind or jac. */
int db_operator_create(const char *kind, enum db_jac jac, struct db_instance *in, unsigned tags,
                       struct db_operator **out);
/* The same from the kind's descriptor, registered or not (db_operator_create looks the name up and
 * calls this; tests/test_recipes.c creates a kind that is registered nowhere). */
int db_operator_create_kind(const struct db_operator_kind *kind, enum db_jac jac,
                            struct db_instance *in, unsigned tags, struct db_operator **out);
void db_operator_destroy(struct db_operator *op);

/* Ops with their defaults: mv_transpose missing -> DB_E_UNSUPPORTED. */
int db_operator_mv(struct db_operator *op, const double *v, double *out);
int db_operator_mv_transpose(struct db_operator *op, const double *w, double *out);

/* The product a probe applies: J^T v for a Jacobian in reverse mode (jac = bwd), else J v. */
int db_operator_probe(struct db_operator *op, const double *v, double *out);

/* Read the diagonal of a dense matrix. */
void db_dense_diagonal(const struct db_dense *M, double *diag);

/* "fwd", "bwd" or "none". */
const char *db_jac_name(enum db_jac jac);

#endif
