/* Coupled workloads: y = C sin(x) with a constant sparse coupling matrix C whose diagonal is 1, so
 * J(x) = C diag(cos x) has the sparsity pattern of C. Families: band (liar, tridiag, banded),
 * 2-D 5-point stencil, random sparse pattern. This header is shared by the kernels (coupled.c)
 * and the scalar reference (coupled_reference.c). */
#ifndef DB_COUPLED_H
#define DB_COUPLED_H

#include "workloads/workload.h"

#define DB_RANDSPARSE_SEED    0x5eedc0deull /* fixed seed of the random sparse pattern */
#define DB_RANDSPARSE_MAX_OFF 4             /* off-diagonal entries per row: 0..4 */

/* C[i, j] of the instance's coupling (0 outside its pattern); C[i, i] = 1. */
double db_coupling_coef(const struct db_instance *in, size_t i, size_t j);

/* Exact J[i, j] = C[i, j] cos(x_j) for every entry of A's pattern, with scalar libm. */
int db_reference_coupled_entries(const struct db_instance *in, const double *x,
                                 struct db_sparse *A);
/* Exact diagonal of J: cos(x_i), with scalar libm. */
int db_reference_coupled_diagonal(const struct db_instance *in, const double *x, double *diag);

#endif
