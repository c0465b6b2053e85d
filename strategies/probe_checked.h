/* The checked probe's test: does an operator tagged diagonal really act as diag(d)? One more
 * product with a random Gaussian vector v (fixed, recorded seed) and the test
 * ||M v - d .* v||_inf <= tol (||d||_inf ||v||_inf + 1), M = J (fwd) or J^T (bwd). For a truly
 * diagonal operator M v = d .* v up to rounding; a non-zero off-diagonal J[i, j] adds
 * J[i, j] (v_j - v_i)-type terms that a continuous random v makes non-zero with probability 1. */
#ifndef DB_PROBE_CHECKED_H
#define DB_PROBE_CHECKED_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>

#include "operators/operator.h"

#define DB_CHECK_SEED 20261125ull /* default seed of the random vector (recorded in the note) */
/* Relative tolerance: the most an honest diagonal operator can miss by. d comes from one product
 * (J 1) and M v from another, each from the operator's diagonal entries, which two code paths may
 * compute differently (libmvec <= 4 ulp either side of the true value: 16u apart, 2u per ulp);
 * then one rounding for (M v)_i = d'_i v_i, one for d_i v_i and one for their difference (gamma_19
 * of |d_i v_i| <= ||d|| ||v||), and three in forming tol (||d|| ||v|| + 1): gamma_22, 2.4e-15. A
 * coupling worth a wrong diagonal is many orders above it (liar's is 0.4 cos x). */
#define DB_CHECK_TOL (22 * (DBL_EPSILON / 2) / (1 - 22 * (DBL_EPSILON / 2)))

/* One product M v with v ~ N(0, I) from seed; *residual = ||M v - d .* v||_inf and
 * *bound = tol (||d||_inf ||v||_inf + 1). work holds 2n doubles. Returns DB_OK when the check
 * passes, DB_E_TAG_MISMATCH when it fails (a NaN fails), or the product's error. */
int db_diagonal_check(struct db_operator *op, const double *d, uint64_t seed, double tol,
                      double *work, double *residual, double *bound);
/* The same with a given vector v (n) and product workspace mv (n). */
int db_diagonal_check_vector(struct db_operator *op, const double *d, const double *v, double tol,
                             double *mv, double *residual, double *bound);

#endif
