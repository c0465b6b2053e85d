/* The linked OpenBLAS: its parallel mode (the OpenMP build is required: a pthreads build would
 * oversubscribe the cores under an OpenMP team). */
#include "harness/env/openblas.h"

#include <cblas.h>
#include <lapacke.h>
#include <stdio.h>

#include "core/status.h"
#include "harness/env/memory.h"

int db_openblas_parallel(void) {
    return openblas_get_parallel();
}

const char *db_openblas_parallel_name(int mode) {
    switch (mode) {
    case 0:
        return "sequential";
    case 1:
        return "pthreads";
    case 2:
        return "openmp";
    }
    return "unknown";
}

const char *db_openblas_warning(void) {
    switch (db_openblas_parallel()) {
    case 2:
        return NULL;
    case 1:
        return "the linked OpenBLAS is the pthreads build (openblas_get_parallel() = 1): its own "
               "threads nest inside OpenMP regions and will oversubscribe the cores; link "
               "libopenblas-openmp";
    case 0:
        return "the linked OpenBLAS is sequential (openblas_get_parallel() = 0): BLAS calls ignore "
               "the thread count";
    }
    return "the linked OpenBLAS reports an unknown threading mode";
}

int db_openblas_reserve(char *err, size_t errlen) {
    unsigned long long left = db_memory_rlimit_left();
    if (!left) return DB_OK; /* no address-space limit: OpenBLAS maps its buffer when it likes */
    /* malloc of the buffer plus a page (gdb: 134221824 bytes), and room for the rest of a run. */
    unsigned long long need = DB_OPENBLAS_BUFFER_BYTES + (16ull << 20);
    if (left < need) {
        snprintf(err, errlen,
                 "the address-space limit (ulimit -v / -d) leaves %llu MiB after start-up, below "
                 "the %llu MiB OpenBLAS maps at its first call (it hangs when it cannot): raise "
                 "the limit, or use fewer threads",
                 left >> 20, need >> 20);
        return DB_E_INVALID;
    }
    /* A 1 x 1 dgesv takes the calling thread's buffer from OpenBLAS's pool (interface/lapack/
     * gesv.c: blas_memory_alloc(1)); freed, it stays mapped for every later call. */
    double a = 1, b = 1;
    lapack_int ipiv;
    LAPACKE_dgesv_work(LAPACK_COL_MAJOR, 1, 1, &a, 1, &ipiv, &b, 1);
    return DB_OK;
}
