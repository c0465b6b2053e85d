/* Memory budget for n^2 allocations: min of MemAvailable, the cgroup limit (v2 and v1), the
 * memory of the hwloc NUMA nodes this process may run on and the headroom under RLIMIT_AS /
 * RLIMIT_DATA, times a safety fraction. */
#ifndef DB_MEMORY_H
#define DB_MEMORY_H

#include <stddef.h>

struct db_memory_limits {
    unsigned long long mem_available; /* /proc/meminfo MemAvailable (0 = unknown) */
    unsigned long long cgroup_limit;  /* cgroup memory limit minus usage (0 = none or unknown) */
    unsigned long long numa_memory;   /* hwloc: local memory of the NUMA nodes in our cpuset */
    int numa_is_limit;         /* 0 when our cpuset spans every node but the nodes report less than
                                  MemTotal: the node figure is stale (memory hot-plugged on demand, as
                                  virtio-mem VMs do: seen here, node0 grows from 7.5 to 18.7 GiB as
                                  memory is touched) and is not a limit */
    unsigned long long budget; /* what a cell may allocate */
    unsigned long long rlimit_headroom; /* RLIMIT_AS / RLIMIT_DATA (ulimit -v / -d) less what the
                                           process maps now (0 = no such limit) */
};

/* Fraction of the tightest limit a cell may use. */
#define DB_BUDGET_FRACTION 0.85

/* Read the limits (min of MemAvailable, cgroup headroom and, where it is a real limit, the
 * memory of the NUMA nodes we may run on). override_bytes > 0 replaces the computed budget (the
 * --mem-limit flag). */
void db_memory_limits_read(struct db_memory_limits *lim, unsigned long long override_bytes);

/* OpenBLAS 0.3.21 (the OpenMP build) maps one buffer per OpenMP thread when it loads, before
 * main, and one more for each thread that calls it; when a mapping fails it retries forever
 * (blas_memory_alloc: seen here spinning at 100% CPU under ulimit -v). Each buffer is 128 MiB
 * (gdb on this build: mmap of 134217728 bytes). */
#define DB_OPENBLAS_BUFFER_BYTES (128ull << 20)
/* What diagbench maps at start-up besides OpenBLAS's buffers: the libraries. Measured here:
 * --version starts under ulimit -v with OMP_NUM_THREADS=1 from 188867 kB, one buffer (131072 kB)
 * included, i.e. 56 MiB. A run maps more (hwloc, thread stacks and malloc arenas): that is
 * checked when it is mapped (db_openblas_reserve, the budget). */
#define DB_STARTUP_BYTES (56ull << 20)

/* The tighter of RLIMIT_AS and RLIMIT_DATA in bytes; 0 when neither is set. Async-signal-safe
 * and usable before main (getrlimit only). */
unsigned long long db_memory_rlimit(void);
/* The OpenMP threads the OpenMP runtime (and so OpenBLAS) starts with: the first number of
 * OMP_NUM_THREADS in envp, else the CPUs this process may run on. Usable before main (where
 * getenv does not see the environment yet: libc's environ is set by its own initialiser). */
int db_memory_threads_at_load(char *const *envp);
/* What a process with `threads` OpenMP threads needs under an address-space limit at the least:
 * DB_STARTUP_BYTES and threads + 1 OpenBLAS buffers (one per thread at load, one for the thread
 * that calls dgemv / dgesv). */
unsigned long long db_memory_startup_need(int threads);
/* RLIMIT_AS / RLIMIT_DATA less what this process maps now (VmSize, VmData): the tighter; 0 when
 * there is no such limit, 1 when nothing is left. */
unsigned long long db_memory_rlimit_left(void);
/* DB_OK when `limit` (db_memory_rlimit(), 0 = none) holds db_memory_startup_need(threads);
 * else DB_E_INVALID with one line in err saying so and what to do. Usable before main. */
int db_memory_startup_check(unsigned long long limit, int threads, char *err, size_t errlen);

/* Parse a size such as 512M, 2G, 1.5G, 1048576 into bytes; DB_E_INVALID if malformed. */
int db_parse_bytes(const char *s, unsigned long long *bytes);

/* Format bytes as e.g. "12.8 GB" into buf. */
const char *db_format_bytes(unsigned long long bytes, char *buf, size_t len);

#endif
