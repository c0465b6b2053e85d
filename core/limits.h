/* Limits on what the command line and the environment may ask for. */
#ifndef DB_LIMITS_H
#define DB_LIMITS_H

#define DB_MAX_LIST    64
#define DB_MAX_N       100000000ull /* largest size accepted by -n */
#define DB_MAX_THREADS 4096
#define DB_MAX_REPS    1000

#endif
