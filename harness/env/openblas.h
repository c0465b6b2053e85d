/* The linked OpenBLAS build. */
#ifndef DB_OPENBLAS_H
#define DB_OPENBLAS_H

/* openblas_get_parallel(): 0 sequential, 1 pthreads, 2 OpenMP; and its name. */
int db_openblas_parallel(void);
const char *db_openblas_parallel_name(int mode);

/* One warning line (without "diagbench: warning: ") when the linked OpenBLAS is not the OpenMP
 * build; NULL when it is. */
const char *db_openblas_warning(void);

#endif
