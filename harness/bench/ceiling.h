/* The machine's write ceiling: how fast these threads can write a buffer of a given size, by
 * the two ways a CPU writes memory at full speed -- memset and non-temporal stores. Which of
 * the two is faster differs between machines (seen: memset ahead on an AMD EPYC VM, streaming
 * stores ~3x ahead of plain stores on an Intel Xeon VM for a 128 MB buffer), so the ceiling is
 * the better of both, measured. */
#ifndef DB_CEILING_H
#define DB_CEILING_H

#include <stddef.h>

#include "harness/bench/gbench.h"

/* The value every double holds after a fill: its bytes are not zero, because this class of CPU
 * special-cases zeroing `rep stosb` (seen here: ~78 GB/s for zeros vs ~27 GB/s for any other
 * byte on one core), and a matrix of non-zero values is the honest reference. */
double db_fill_value(void);

/* The calling OpenMP thread's contiguous slice [*lo, *hi) of count elements: the partition every
 * fill uses, so that a buffer first touched by one is placed for all. */
void db_fill_slice(size_t count, size_t *lo, size_t *hi);

/* Fill count doubles with db_fill_value() on the OpenMP threads in force, each thread one
 * contiguous slice (the same partition every call, so first touch places the pages): by memset,
 * or by non-temporal stores (the widest the build has). */
void db_fill_memset(double *dst, size_t count);
void db_fill_nontemporal(double *dst, size_t count);

/* The write ceiling of count doubles: both fills of buf, each timed with cfg; *best_s is the
 * fastest repetition of either (seconds per pass), *kernel (may be NULL) names it ("memset" or
 * "nt_fill"). buf's contents are overwritten. */
int db_write_ceiling(double *buf, size_t count, const struct db_bench_config *cfg, double *best_s,
                     const char **kernel);

#endif
