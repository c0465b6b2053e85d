/* The conformance checks (SUNDIALS style), shared by tests/test_conformance.c, which runs them over
 * the registries, and tests/test_recipes.c, which runs them over a workload, a strategy and an
 * operator kind defined in the test and registered nowhere. Every check asserts (cr_assert) and
 * allocates through the test arena (tests/helpers.h); every promise it holds a combination to is
 * derived from the declarations (cf_promised), never from a name. */
#ifndef DB_TEST_CONFORMANCE_H
#define DB_TEST_CONFORMANCE_H

#include <stddef.h>

#include "harness/plan/plan.h"
#include "strategies/strategy.h"

/* The sizes the checks run at (each workload at the nearest size it accepts). */
extern const size_t cf_sizes[];
extern const size_t cf_nsizes;

/* The central differences' step: a power of two, so h v is exact (see cf_sincos_model). */
#define CF_FD_H 0x1p-16

/* A workload's error model: the bounds every tolerance of the checks derives from, for tangents
 * with |v_i| <= 1 (every check's). A workload brings its own (cf_sincos_model covers the
 * registered ones). */
struct cf_model {
    double m3;    /* |d^3/dt^3 f_i(x + t v)| <= m3 vmax^3 near x */
    double f_err; /* f_i is evaluated within f_err near x */
    double f1;    /* row sums of |f'| <= f1 near x */
    double xmax;  /* |x_i| <= xmax */
    double jvp;   /* |(J v)^_i - (J v)_i| <= jvp vmax for the kernels' JVP */
    double vjp;   /* |(J^T w)^_j - (J^T w)_j| <= vjp wmax for the kernels' VJP */
    double entry; /* |J^_ij - J_ij| <= entry for one entry from the kernels (a unit tangent) */
    /* Kernels against the scalar reference: |J^_ij - R_ij| <= entry_rel |R_ij|. */
    double entry_rel;
};
typedef struct cf_model (*cf_model_fn)(const struct db_instance *in);

/* f(x) = C s(x), s = sin or cos elementwise (C = I for the elementwise workloads): every
 * registered workload. */
struct cf_model cf_sincos_model(const struct db_instance *in);

/* What one extraction promises. */
struct cf_promise {
    int unsupported;
    long long calls, colours; /* primitive calls and probe (tangent) vectors */
    int fallback;             /* materialise: the diagonal only, no extracted entries */
    int wrong;                /* answers from tags whose pattern misses true entries: wrong */
    int rejects;              /* checks its tag, finds it wrong: DB_E_TAG_MISMATCH after calls */
    const char *claimed;      /* the structure a rejected tag claims, named in the remark */
};

/* The promise of strategy st on op, from st's flags, required_tags, products, extract and
 * fallback_bytes, the fallback rule and op's kind flags. */
struct cf_promise cf_promised(const struct db_strategy *st, const struct db_operator *op);
/* What materialising op costs, from its kind's flags and its workload's batching rule. */
struct cf_promise cf_materialise_promise(const struct db_operator *op);
/* Whether a kind with these flags can hold the workload (else create is DB_E_UNSUPPORTED). */
int cf_kind_represents(unsigned kind_flags, const struct db_workload *wl);
/* The modes a kind takes: fwd and bwd with DB_OPERATOR_JAC, else none. Returns their count. */
size_t cf_kind_modes(const struct db_operator_kind *k, enum db_jac modes[2]);

/* An instance at the size nearest *n the workload accepts (a size it rejects must be rejected
 * with DB_E_UNSUPPORTED and a size rule); *n becomes that size. */
struct db_instance *cf_instance_near(const struct db_workload *wl, size_t *n);
/* The dense J of the instance (column-major), from JVPs with unit vectors, in the arena. */
double *cf_dense_jacobian(struct db_instance *in);

/* The workload's own checks: its true pattern and reference entries against its JVPs; JVP and
 * VJP against central differences at every size; counted single calls and batches following its
 * batching rule. */
void cf_check_pattern(const struct db_workload *wl, cf_model_fn model);
void cf_check_derivatives(const struct db_workload *wl, cf_model_fn model);
void cf_check_batches(const struct db_workload *wl);

/* The kind's materialised matrix of the workload (n = 37) against central differences. */
void cf_check_dense_matrix(const struct db_workload *wl, const struct db_operator_kind *kind,
                           enum db_jac jac, cf_model_fn model);

/* One combination at size n (tagged: the operator carries the tags of the workload's claim):
 * run twice and extract twice, each against its promise -- the diagonal against the exact
 * reference, every extracted entry against the reference entries and J (dense, from
 * cf_dense_jacobian), calls and probe vectors. */
void cf_check_combo(const struct db_workload *wl, const struct db_operator_kind *kind,
                    enum db_jac jac, const struct db_strategy *st, size_t n, int tagged,
                    const double *J, cf_model_fn model);
/* cf_check_combo for each of the nst strategies at every size up to max_n. */
void cf_check_sizes(const struct db_workload *wl, const struct db_operator_kind *kind,
                    enum db_jac jac, const struct db_strategy *const *st, size_t nst, int tagged,
                    size_t max_n, cf_model_fn model);

/* The kind's flags against what its operators do (on the sin workload). */
void cf_check_kind_flags(const struct db_operator_kind *k);

/* db_plan_cell_cost's documented model for a structured probe (no colouring, writes no matrix):
 * 1 ms setup + 102 ns per element of n + 150 ns per element of each product, then the
 * correctness run and reps timed runs of one extraction (at least 1.5 x min-time each); one
 * extraction = 2 ns per element of each product / threads + the per-call cost of each call. */
unsigned long long cf_cost_model(unsigned long long n, unsigned long long products,
                                 const struct db_run_opts *o, unsigned threads);

#endif
