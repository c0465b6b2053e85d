/* The linked OpenBLAS: its parallel mode (the OpenMP build is required: a pthreads build would
 * oversubscribe the cores under an OpenMP team). */
#include "harness/env/openblas.h"

#include <cblas.h>
#include <stdio.h>

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
