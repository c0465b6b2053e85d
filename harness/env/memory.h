/* Memory budget for n^2 allocations: min of MemAvailable, the cgroup limit (v2 and v1) and the
 * memory of the hwloc NUMA nodes this process may run on, times a safety fraction. */
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
};

/* Fraction of the tightest limit a cell may use. */
#define DB_BUDGET_FRACTION 0.85

/* Read the limits (min of MemAvailable, cgroup headroom and, where it is a real limit, the
 * memory of the NUMA nodes we may run on). override_bytes > 0 replaces the computed budget (the
 * --mem-limit flag). */
void db_memory_limits_read(struct db_memory_limits *lim, unsigned long long override_bytes);

/* Parse a size such as 512M, 2G, 1.5G, 1048576 into bytes; DB_E_INVALID if malformed. */
int db_parse_bytes(const char *s, unsigned long long *bytes);

/* Format bytes as e.g. "12.8 GB" into buf. */
const char *db_format_bytes(unsigned long long bytes, char *buf, size_t len);

#endif
