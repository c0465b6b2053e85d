/* Calibration: what this machine can do, measured through the same harness, so that every
 * strategy can be judged against the hardware rather than against another strategy:
 *   cos_loop, sin_loop   the bare vectorised libm loop y = cos(x) (ns per element)
 *   memset               writing an n-by-n double buffer (write bandwidth)
 *   copy                 copying an n-by-n double buffer (read+write bandwidth)
 *   wrapper, wrapper_batched, native_gbench, plain_loop
 *                        per-iteration cost of an empty body through our C wrapper (one call
 *                        per timer check, and KeepRunningBatch), of Google Benchmark's own loop,
 *                        and of a plain C loop with clock_gettime.
 * All kernels use the OpenMP threads in force; each result is checked (max_abs_err). */
#ifndef DB_CALIBRATE_H
#define DB_CALIBRATE_H

#include <stddef.h>

#include "runner.h"

struct db_calibration {
    const char *kernel;
    size_t n;     /* doubles touched per call (iterations for the overhead kernels) */
    double bytes; /* bytes moved per call (0 for compute and overhead kernels) */
    struct db_cell_result r;
};

#define DB_CALIBRATION_MAX 16

/* Run every calibration kernel: loops at loop_n elements, buffers of matrix_n^2 doubles (skipped
 * as skipped_memory over o->mem_budget). Fills out[0..*count). */
int db_calibrate(const struct db_run_opts *o, size_t loop_n, size_t matrix_n,
                 struct db_calibration *out, size_t *count);

/* Effective bandwidth in GB/s (1e9 bytes) of a result that moved `bytes` per call. */
double db_gbytes_per_s(double bytes, double seconds);

#endif
