/* Calibration: what this machine can do, measured through the same harness, so that every
 * strategy can be judged against the hardware rather than against another strategy:
 *   cos_loop, sin_loop   the bare vectorised libm loop y = cos(x) (ns per element)
 *   cos_jvp_loop         y = cos(x) * v: the same with the tangent a JVP must read
 *   memset, nt_fill      writing an n-by-n double buffer of non-zero bytes with memset and
 *                        with non-temporal stores (harness/bench/ceiling.h; the same two are timed
 * around every cell that writes a matrix: that is the ceiling it is judged by) copy copying an
 * n-by-n double buffer, the largest n (read+write bandwidth) wrapper, wrapper_batched,
 * native_gbench, plain_loop per-iteration cost of an empty body through our C wrapper (one call per
 * timer check, and KeepRunningBatch), of Google Benchmark's own loop, and of a plain C loop with
 * clock_gettime. All kernels use the OpenMP threads in force; each result is checked (max_abs_err).
 */
#ifndef DB_CALIBRATE_H
#define DB_CALIBRATE_H

#include <stddef.h>

#include "harness/bench/cell.h"

struct db_calibration {
    const char *kernel;
    size_t n;     /* doubles touched per call (iterations for the overhead kernels) */
    double bytes; /* bytes moved per call (0 for compute and overhead kernels) */
    struct db_cell_result r;
};

/* Rows besides the two ceilings per size: three loops, copy, four overhead kernels. */
#define DB_CALIBRATION_FIXED     8
#define DB_CALIBRATION_DEFAULT_N 4000 /* the matrix size without any (--calibrate alone) */

/* Rows db_calibrate writes for nsizes matrix sizes (the length out must have). */
size_t db_calibration_count(size_t nsizes);

/* Run every calibration kernel: loops at loop_n elements, memset and nt_fill of matrix_ns[i]^2
 * doubles for each size, copy at the largest (DB_CALIBRATION_DEFAULT_N when nsizes is 0; buffers
 * over o->mem_budget are skipped_memory). Fills out[0..*count).
 * The n column of a buffer row is the doubles it writes (matrix n^2). */
int db_calibrate(const struct db_run_opts *o, size_t loop_n, const size_t *matrix_ns, size_t nsizes,
                 struct db_calibration *out, size_t *count);

/* Run one calibration cell (kind DB_CELL_CALIBRATION: kernel and n as db_calibrate would). */
int db_calibration_cell_run(const struct db_cell *cell, const struct db_run_opts *o,
                            struct db_cell_result *r);

/* Effective bandwidth in GB/s (1e9 bytes) of a result that moved `bytes` per call. */
double db_gbytes_per_s(double bytes, double seconds);

#endif
