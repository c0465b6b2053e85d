/* Blocked materialisation of a Jacobian through the workload's batching rule: identity column
 * (or row) blocks pushed through batched JVPs (or VJPs), written straight into the n-by-n
 * buffer, OpenMP over blocks, one reusable tangent block per thread.
 *
 * How the matrix is written (the write path: plain or non-temporal stores, and how many
 * columns one batched call produces) is chosen per (n, thread count) by timing the candidates
 * on the machine in use (harness/wisdom.c), as FFTW plans: which is fastest depends on the
 * CPU's caches and store buffers, and no threshold read off one machine holds on another. */
#ifndef DB_BLOCKS_H
#define DB_BLOCKS_H

#include <stddef.h>

#include "workloads/workload.h"

enum db_store {
    DB_STORE_PLAIN,  /* ordinary stores: the matrix passes through the caches */
    DB_STORE_STREAM, /* non-temporal stores (workloads with .streams; others store plainly) */
};

struct db_write_path {
    enum db_store store;
    size_t block_cols; /* columns (rows for VJPs) per batched call, >= 1 */
};

/* Per-thread identity tangent blocks, kept across calls (allocated on first use, first-touched
 * by the thread that uses them, zero except while a block is in flight). */
struct db_tangent_cache {
    double **blocks;
    size_t *lens; /* doubles allocated per block (the write path may change between calls) */
    size_t nthreads;
};

/* The path used for n when none was planned: plain stores, clamp(65536/n, 16, 256) columns
 * (a 512 KiB tangent block). */
struct db_write_path db_write_path_default(size_t n);

/* The path materialise uses for n at the current OpenMP thread count: the forced one (tests),
 * else the planned one, else the default. *planned (may be NULL) says which. */
struct db_write_path db_write_path_for(size_t n, int *planned);

/* Record the plan for (n, threads); DB_E_NOMEM when the table cannot grow. */
int db_write_path_plan(size_t n, int threads, struct db_write_path wp);
/* Forget every plan (and any forced path). */
void db_write_path_forget(void);
/* Use wp for every n (tests run each kernel this way); NULL stops forcing. */
void db_write_path_force(const struct db_write_path *wp);

/* "stream/64", "plain/16". Returns buf. */
char *db_write_path_format(struct db_write_path wp, char *buf, size_t len);
/* The inverse; DB_E_INVALID on anything else. */
int db_write_path_parse(const char *s, struct db_write_path *wp);

/* The widest block a candidate path has (planning budgets its tangent blocks by it). */
#define DB_WRITE_PATH_MAX_COLS 512

/* The candidates worth timing for n: both stores at block widths 16, 32, ..., 512 that are at
 * most n (n below 16: n alone). Returns the count written to out (at most max). */
size_t db_write_path_candidates(size_t n, struct db_write_path *out, size_t max);

/* Columns per block that materialise uses for n now (db_write_path_for(n).block_cols). */
size_t db_block_columns(size_t n);

/* Bytes the tangent cache needs for size n with the current OpenMP thread count. */
size_t db_tangent_cache_bytes(size_t n);

int db_tangent_cache_init(struct db_tangent_cache *tc);
void db_tangent_cache_free(struct db_tangent_cache *tc);

/* Fill buf (n*n, column-major) with J (reverse = 0, JVP columns) or J^T (reverse = 1, VJP rows)
 * through the path db_write_path_for(n) gives, and record that path in in->write_path (for a
 * vectorised batching rule; "" otherwise).
 * Returns the batching rule's status (DB_E_UNSUPPORTED when there is none). */
int db_blocked_materialise(struct db_instance *in, int reverse, struct db_tangent_cache *tc,
                           double *buf);
/* The same through an explicit path (planning times each candidate this way). */
int db_blocked_materialise_path(struct db_instance *in, int reverse, struct db_write_path wp,
                                struct db_tangent_cache *tc, double *buf);

#endif
