/* The linked OpenBLAS build. */
#ifndef DB_OPENBLAS_H
#define DB_OPENBLAS_H

#include <stddef.h>

/* openblas_get_parallel(): 0 sequential, 1 pthreads, 2 OpenMP; and its name. */
int db_openblas_parallel(void);
const char *db_openblas_parallel_name(int mode);

/* One warning line (without "diagbench: warning: ") when the linked OpenBLAS is not the OpenMP
 * build; NULL when it is. */
const char *db_openblas_warning(void);

/* Under an address-space limit (ulimit -v / -d), map the calling thread's OpenBLAS buffer now,
 * before any cell: OpenBLAS retries a refused mapping forever, so a call that would need it
 * later would hang. DB_E_INVALID with one line in err when the limit leaves no room for it;
 * DB_OK at once without a limit. Call it from the thread that runs the cells. */
int db_openblas_reserve(char *err, size_t errlen);

#endif
