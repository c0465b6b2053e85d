/* Scalar reference for the coupled workloads (this TU has no SIMD declarations). */
#include <math.h>

#include "workloads/coupled.h"

int db_reference_coupled_entries(const struct db_instance *in, const double *x,
                                 struct db_sparse *A) {
    for (size_t i = 0; i < A->n; i++)
        for (size_t e = A->row_ptr[i]; e < A->row_ptr[i + 1]; e++) {
            size_t j = A->col_idx[e];
            double c = db_coupling_coef(in, i, j);
            A->values[e] = c == 0.0 ? 0.0 : c * cos(x[j]);
        }
    return DB_OK;
}

int db_reference_coupled_diagonal(const struct db_instance *in, const double *x, double *diag) {
    for (size_t i = 0; i < in->n; i++)
        diag[i] = cos(x[i]);
    return DB_OK;
}
