#include "core/sparse.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

int db_sparse_alloc(struct db_sparse *A, size_t n, size_t nnz, int with_values) {
    memset(A, 0, sizeof *A);
    A->n = n;
    A->row_ptr = calloc(n + 1, sizeof *A->row_ptr);
    A->col_idx = malloc((nnz ? nnz : 1) * sizeof *A->col_idx);
    A->values = with_values ? calloc(nnz ? nnz : 1, sizeof *A->values) : NULL;
    if (!A->row_ptr || !A->col_idx || (with_values && !A->values)) {
        db_sparse_free(A);
        return DB_E_NOMEM;
    }
    return DB_OK;
}

void db_sparse_free(struct db_sparse *A) {
    if (!A) return;
    free(A->row_ptr);
    free(A->col_idx);
    free(A->values);
    memset(A, 0, sizeof *A);
}

size_t db_sparse_nnz(const struct db_sparse *A) {
    return A->row_ptr ? A->row_ptr[A->n] : 0;
}

size_t db_sparse_bytes(size_t n, size_t nnz, int with_values) {
    return (n + 1) * sizeof(size_t) + nnz * (sizeof(size_t) + (with_values ? sizeof(double) : 0));
}

size_t db_sparse_max_row_nnz(const struct db_sparse *A) {
    size_t m = 0;
    for (size_t i = 0; i < A->n; i++) {
        size_t r = A->row_ptr[i + 1] - A->row_ptr[i];
        if (r > m) m = r;
    }
    return m;
}

int db_sparse_band(size_t n, size_t lower, size_t upper, int with_values, struct db_sparse *A) {
    if (n == 0) return DB_E_INVALID;
    size_t l = lower < n ? lower : n - 1, u = upper < n ? upper : n - 1;
    size_t nnz = 0;
    for (size_t i = 0; i < n; i++) {
        size_t lo = i > l ? i - l : 0, hi = n - 1 - i > u ? i + u : n - 1;
        nnz += hi - lo + 1;
    }
    DB_CHECK(db_sparse_alloc(A, n, nnz, with_values));
    size_t e = 0;
    for (size_t i = 0; i < n; i++) {
        size_t lo = i > l ? i - l : 0, hi = n - 1 - i > u ? i + u : n - 1;
        for (size_t j = lo; j <= hi; j++)
            A->col_idx[e++] = j;
        A->row_ptr[i + 1] = e;
    }
    return DB_OK;
}

int db_sparse_copy_pattern(const struct db_sparse *A, int with_values, struct db_sparse *B) {
    size_t nnz = db_sparse_nnz(A);
    DB_CHECK(db_sparse_alloc(B, A->n, nnz, with_values));
    memcpy(B->row_ptr, A->row_ptr, (A->n + 1) * sizeof *B->row_ptr);
    if (nnz) memcpy(B->col_idx, A->col_idx, nnz * sizeof *B->col_idx);
    return DB_OK;
}

int db_sparse_transpose(const struct db_sparse *A, struct db_sparse *AT) {
    size_t n = A->n, nnz = db_sparse_nnz(A);
    DB_CHECK(db_sparse_alloc(AT, n, nnz, A->values != NULL));
    for (size_t e = 0; e < nnz; e++)
        AT->row_ptr[A->col_idx[e] + 1]++;
    for (size_t j = 0; j < n; j++)
        AT->row_ptr[j + 1] += AT->row_ptr[j];
    size_t *next = malloc((n ? n : 1) * sizeof *next);
    if (!next) {
        db_sparse_free(AT);
        return DB_E_NOMEM;
    }
    memcpy(next, AT->row_ptr, n * sizeof *next);
    /* Rows of A in ascending order give ascending columns in each row of AT. */
    for (size_t i = 0; i < n; i++)
        for (size_t e = A->row_ptr[i]; e < A->row_ptr[i + 1]; e++) {
            size_t t = next[A->col_idx[e]]++;
            AT->col_idx[t] = i;
            if (A->values) AT->values[t] = A->values[e];
        }
    free(next);
    return DB_OK;
}

size_t db_sparse_find(const struct db_sparse *A, size_t i, size_t j) {
    if (i >= A->n) return DB_SPARSE_NONE;
    size_t lo = A->row_ptr[i], hi = A->row_ptr[i + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (A->col_idx[mid] < j)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < A->row_ptr[i + 1] && A->col_idx[lo] == j ? lo : DB_SPARSE_NONE;
}

int db_sparse_check(const struct db_sparse *A) {
    if (!A->row_ptr || A->row_ptr[0] != 0) return DB_E_INVALID;
    for (size_t i = 0; i < A->n; i++) {
        if (A->row_ptr[i + 1] < A->row_ptr[i]) return DB_E_INVALID;
        for (size_t e = A->row_ptr[i]; e < A->row_ptr[i + 1]; e++) {
            if (A->col_idx[e] >= A->n) return DB_E_INVALID;
            if (e > A->row_ptr[i] && A->col_idx[e] <= A->col_idx[e - 1]) return DB_E_INVALID;
        }
    }
    return DB_OK;
}
