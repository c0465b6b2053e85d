/* Compressed sparse row (CSR) n-by-n structures: a Jacobian's sparsity pattern and, optionally,
 * its values. Plain C with C linkage, so the C++ ColPack comparison can include it. */
#ifndef DB_SPARSE_H
#define DB_SPARSE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DB_SPARSE_NONE ((size_t)-1) /* "no such entry" */

struct db_sparse {
    size_t n;        /* rows = columns */
    size_t *row_ptr; /* n + 1 offsets into col_idx / values */
    size_t *col_idx; /* row_ptr[n] column indices, strictly ascending within a row */
    double *values;  /* row_ptr[n] values, or NULL for a pattern only */
};

/* Allocate an n-row structure with room for nnz entries (values zeroed when with_values).
 * row_ptr is zeroed; the caller fills it and col_idx. */
int db_sparse_alloc(struct db_sparse *A, size_t n, size_t nnz, int with_values);
/* Free the arrays and zero the struct (safe on a zeroed struct). */
void db_sparse_free(struct db_sparse *A);
/* Number of stored entries. */
size_t db_sparse_nnz(const struct db_sparse *A);
/* Bytes of a structure with n rows and nnz entries. */
size_t db_sparse_bytes(size_t n, size_t nnz, int with_values);
/* Largest number of entries in a row: a lower bound on the colours any column colouring needs. */
size_t db_sparse_max_row_nnz(const struct db_sparse *A);
/* Band pattern: entries (i, j) with -lower <= j - i <= upper. */
int db_sparse_band(size_t n, size_t lower, size_t upper, int with_values, struct db_sparse *A);
/* Copy A's pattern into B (values zeroed when with_values). */
int db_sparse_copy_pattern(const struct db_sparse *A, int with_values, struct db_sparse *B);
/* Transposed pattern (values transposed too when A has them). */
int db_sparse_transpose(const struct db_sparse *A, struct db_sparse *AT);
/* Index of entry (i, j), or DB_SPARSE_NONE. */
size_t db_sparse_find(const struct db_sparse *A, size_t i, size_t j);
/* DB_OK when the structure is well formed (monotone row_ptr, columns < n, ascending per row). */
int db_sparse_check(const struct db_sparse *A);

/* True Jacobian pattern of the named workload at size n with its default parameters (for C++
 * callers, which cannot include workload.h). DB_E_INVALID for an unknown name, DB_E_UNSUPPORTED
 * when n does not fit the workload. */
int db_workload_pattern_by_name(const char *name, size_t n, struct db_sparse *P);

#ifdef __cplusplus
}
#endif

#endif
