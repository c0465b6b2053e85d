/* Blocked materialisation of a Jacobian through the workload's batching rule: identity column
 * (or row) blocks pushed through batched JVPs (or VJPs), written straight into the n-by-n
 * buffer, OpenMP over blocks, one reusable tangent block per thread. */
#ifndef DB_BLOCKS_H
#define DB_BLOCKS_H

#include <stddef.h>

#include "../workloads/workload.h"

/* Per-thread identity tangent blocks, kept across calls (allocated on first use, first-touched
 * by the thread that uses them, zero except while a block is in flight). */
struct db_tangent_cache {
    double **blocks;
    size_t nthreads;
};

/* Columns per block for size n: the block of tangents stays cache-resident while the primal
 * derivative is recomputed at most once per block. */
size_t db_block_columns(size_t n);

/* Bytes the cache needs for size n with the current OpenMP thread count. */
size_t db_tangent_cache_bytes(size_t n);

int db_tangent_cache_init(struct db_tangent_cache *tc);
void db_tangent_cache_free(struct db_tangent_cache *tc);

/* Matrices of at least this many bytes are written with streaming stores (the workload's
 * stream_outputs hint). Default: half the last-level cache; tests set 0 (always) or SIZE_MAX
 * (never) to run both kernels. */
void db_blocks_set_stream_threshold(size_t bytes);
size_t db_blocks_stream_threshold(void);

/* Fill buf (n*n, column-major) with J (reverse = 0, JVP columns) or J^T (reverse = 1, VJP rows).
 * Returns the batching rule's status (DB_E_UNSUPPORTED when there is none). */
int db_blocked_materialise(struct db_instance *in, int reverse, struct db_tangent_cache *tc,
                           double *buf);

#endif
