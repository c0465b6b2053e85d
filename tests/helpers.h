/* Shared test helpers: a tiny RFC 4180 line splitter, a process runner, a per-test cleanup arena
 * and the error bounds the numerical tolerances are derived from. */
#ifndef DB_TEST_HELPERS_H
#define DB_TEST_HELPERS_H

#include <float.h>
#include <stddef.h>

#include "harness/io/csv_read.h"
#include "solvers/newton.h"
#include "strategies/strategy.h"

/* Split one CSV record (no trailing newline) into at most max fields, unquoting in place into
 * storage owned by the caller (buf, at least strlen(line)+1). Returns the field count or -1 if
 * the quoting is malformed. */
int th_csv_split(const char *line, char *buf, char **fields, int max);

/* Run the diagbench binary ($DIAGBENCH, default build/diagbench) with args (NULL-terminated),
 * capturing stdout and stderr (each up to cap bytes, NUL-terminated). Extra environment
 * entries "NAME=value" may be given in env (NULL-terminated, or NULL). Returns the exit code,
 * or -1 if it did not exit normally. */
int th_run(const char *const *args, const char *const *env, char *out, size_t outcap, char *err,
           size_t errcap);

/* The diagbench binary th_run runs ($DIAGBENCH, default build/diagbench). */
const char *th_binary(void);
/* argv for exec: th_binary(), then args (NULL-terminated), at most max entries with the final
 * NULL. Returns the count before the NULL. */
int th_argv(const char *const *args, const char **argv, int max);

/* Read a whole file into a NUL-terminated string owned by the test's arena (NULL if unreadable;
 * th_free it, or leave it to th_cleanup). */
char *th_slurp(const char *path);

/* Write text to path, replacing it (fails the current test when path cannot be opened). */
void th_write_file(const char *path, const char *text);

/* Index of a column in db_csv_header (fails the current test when there is none). */
int th_csv_column(const char *name);

/* Count '\n' in s. */
int th_count_lines(const char *s);

/* The largest value a number at most bound can read back as from the CSV: %.9g keeps 9
 * significant digits (relative rounding <= 5e-9), then strtod rounds (u). */
double th_csv_bound(double bound);

/* ---- the per-test cleanup arena ------------------------------------------------------------
 * A failed cr_assert longjmps out of the test body, past its free()s, and LeakSanitizer would
 * then report the test's own buffers. Everything a test allocates goes through the arena
 * instead: th_free releases an object early (loops), and th_cleanup -- the .fini of every suite,
 * TestSuite(name, .fini = th_cleanup) -- releases whatever is left, newest first, whether the
 * test passed or not. Objects must live on the heap: the arena may outlive the test's frame. */

/* malloc / calloc (a zero size gets one element), failing the test when out of memory. */
void *th_alloc(size_t bytes);
void *th_calloc(size_t count, size_t size);
/* Hand obj to the arena, to be released with destroy(obj); returns obj (NULL: nothing). */
void *th_own(void *obj, void (*destroy)(void *));
/* Release obj now with its destroy function (NULL: nothing; not in the arena: fails the test). */
void th_free(void *obj);
/* Release everything still in the arena, newest first. */
void th_cleanup(void);

/* Library objects, created (asserting DB_OK) and owned by the arena. */
struct db_instance *th_instance(const struct db_workload *wl, size_t n);
struct db_instance *th_instance_cost(const struct db_workload *wl, size_t n, double call_cost_s);
struct db_instance *th_instance_with(const struct db_workload *wl, size_t n,
                                     const struct db_workload_params *params);
struct db_operator *th_operator(const char *kind, enum db_jac jac, struct db_instance *in,
                                unsigned tags);
/* Zeroed workspaces on the heap, released with their db_*_free. */
struct db_sparse *th_sparse(void);
struct db_strategy_ctx *th_strategy_ctx(void);
struct db_solve_ctx *th_solve_ctx(void);
struct db_newton_ws *th_newton_ws(void);
struct db_table *th_table(void);
/* Destroy functions for objects created outside the helpers above (db_instance_create expected
 * to fail, db_operator_create with its return code checked). */
void th_destroy_instance(void *in);
void th_destroy_operator(void *op);

/* ---- error bounds ----------------------------------------------------------------------------
 * Every numerical tolerance of the suites is one of these bounds (Higham, Accuracy and Stability
 * of Numerical Algorithms, 2nd ed., 2002; "Higham" below), never an error observed on one
 * machine: the same tests must hold for any correct build (make test-codegen) and any CPU. */

#define TH_U (DBL_EPSILON / 2) /* unit roundoff u */
/* Accuracy of the elementary functions, in ulps of the result (1 ulp <= 2u relative): glibc
 * documents its libmvec vector variants (which the kernels' `omp simd` loops call) to <= 4 ulp;
 * glibc's scalar sin/cos/log (the references) are <= 1 ulp on x86_64 (libm-test-ulps). */
#define TH_MVEC_ULPS 4
#define TH_LIBM_ULPS 1

/* gamma_k = k u / (1 - k u) (Higham §3.1): |prod (1 + d_i)^(+-1) - 1| <= gamma_k for k
 * roundings |d_i| <= u; gamma_a + gamma_b + gamma_a gamma_b <= gamma_(a+b). +inf if k u >= 1. */
double th_gamma(double k);

/* Relative distance between a Jacobian entry from the kernels and the scalar reference's:
 * |J^_ij - J_ij| <= th_entry_rel() |J_ij|. Both are c cos(x_j) (or -sin for split): libmvec
 * <= 4 ulp and libm <= 1 ulp from the true value (2u per ulp), and one rounding each for the
 * product with the coupling coefficient c (exact when c = 1): gamma_(2 (4 + 1) + 2). */
double th_entry_rel(void);

/* Index of the worst violation of |got_i - ref_i| <= rel |ref_i| (a NaN violates it), or n
 * when every entry holds; *ratio = max |got_i - ref_i| / |ref_i| (NULL: not wanted). */
size_t th_rel_violation(const double *got, const double *ref, size_t n, double rel, double *ratio);

/* Forward error of a perturbed system (Higham Thm 7.2): if A x = b and (A + dA) y = b + db with
 * ||dA|| <= eps_a ||A||, ||db|| <= eps_b ||A|| ||x|| and eps_a kappa < 1 (kappa = ||A|| ||A^-1||,
 * any one norm), then ||y - x|| / ||x|| <= (eps_a + eps_b) kappa / (1 - eps_a kappa). +inf when
 * eps_a kappa >= 1 (callers assert it is finite: a bound that cannot fail tests nothing). */
double th_forward_bound(double eps_a, double eps_b, double kappa);

/* Normwise backward error of Gaussian elimination with partial pivoting on a tridiagonal matrix
 * (dgtsv, or dgesv on the dense matrix), in the 1-norm of the matrix factorised:
 * (A + dA) x^ = b with ||dA||_1 <= 12 gamma_(3n) ||A||_1. Higham Thm 9.4: |dA| <= gamma_(3n)
 * |L^||U^|, so ||dA||_1 <= gamma_(3n) ||L^||_1 ||U^||_1 with ||L^||_1 <= 2 (one multiplier
 * |l| <= 1 per column, however the rows are interchanged) and ||U^||_1 <= 3 rho max|a_ij| (three
 * non-zeros per column of U, growth rho <= 2 for tridiagonal matrices: Bohte 1975, Higham §9.5).
 * The 1-norm matters: a row carried down by a run of interchanges collects a multiplier per step,
 * so ||L^||_inf can reach n (dgtsv interchanges at nearly every step on the tridiag workload). */
double th_gepp_tridiag_backward(size_t n);

/* kappa_1(A) of the tridiagonal matrix with bands dl (n-1), d (n), du (n-1): ||A||_1 (dlangt)
 * times LAPACK's estimate of ||A^-1||_1 (dgttrf + dgtcon: the Hager-Higham estimator, exact in
 * most cases and rarely low by more than a factor 3, Higham §15.3). +inf when singular.
 * kappa_inf(A) = kappa_1(A^T): pass du as dl and dl as du. */
double th_tridiag_cond1(size_t n, const double *dl, const double *d, const double *du);

/* kappa_1(A) of a dense column-major n x n matrix (dlange, dgetrf + dgecon). +inf if singular. */
double th_dense_cond1(size_t n, const double *a);

/* Normwise backward error of GEPP on the dense column-major A, from its own computed factors
 * (dgetrf, as dgesv computes them): gamma_(3n) || |L^||U^| ||_1 / ||A||_1 (Higham Thm 9.4). */
double th_dense_gepp_backward1(size_t n, const double *a);

/* The three bands of a tridiagonal CSR matrix (values required): dl[i] = A[i+1][i],
 * d[i] = A[i][i], du[i] = A[i][i+1]; entries outside the band fail the test. */
void th_bands(const struct db_sparse *A, double *dl, double *d, double *du);

/* ||x||_1 and ||A x - b||_1 / (||A||_1 ||x||_1) for A in CSR (values required). */
double th_norm1(const double *x, size_t n);
double th_sparse_residual1(const struct db_sparse *A, const double *x, const double *b);

/* A bound on the relative residual th_sparse_residual1 (or db_sparse_residual, the same in the
 * inf-norm) computes for an x^ with (A + dA) x^ = b, ||dA|| <= eps_a ||A|| in that norm, A with
 * at most w non-zeros per row: ||r|| <= eps_a ||A|| ||x^|| exactly, and forming r costs
 * gamma_(w+1) (|A||x^| + |b|) with ||b|| <= (1 + eps_a) ||A|| ||x^|| (Higham §12.1); the
 * norms (sums of up to n terms) and the quotient make it at most (1 + gamma_(3n+3)) larger. */
double th_residual_bound(double eps_a, size_t w, size_t n);

/* Central difference (f(x + h v) - f(x - h v)) / (2h) against the directional derivative f'(x) v,
 * for h a power of two (h v exact): truncation h^2/6 * m3 (|d^3/dt^3 f_i(x + t v)| <= m3) plus
 * rounding: each f evaluated within f_err, at a point rounded by u (|x| + h |v|) with row sums
 * of |f'| <= f1, divided by 2h; then the subtraction and division (gamma_2, also on
 * |f'(x) v| <= f1 vmax). */
double th_central_difference_bound(double h, double m3, double f_err, double f1, double xmax,
                                   double vmax);

/* What the error analysis needs of a workload's f(x) = C s(x) (s = sin or cos elementwise; C = I
 * for the elementwise workloads): max row and column sums of |C| and max non-zeros per row and
 * per column. */
struct th_coupling {
    double row_sum, col_sum;
    size_t row_nnz, col_nnz;
};
struct th_coupling th_coupling_of(const struct db_instance *in);

#endif
