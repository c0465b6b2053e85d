#include "harness/env/memory.h"

#include <ctype.h>
#include <errno.h>
#include <hwloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sched.h>
#include <sys/resource.h>

#include "core/status.h"

/* One "Name: <kB> kB" field of /proc/meminfo, in bytes (0 if absent). */
static unsigned long long meminfo(const char *field) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kb = 0;
    size_t len = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, len) == 0 && line[len] == ':' &&
            sscanf(line + len + 1, "%llu", &kb) == 1)
            break;
    fclose(f);
    return kb * 1024ull;
}

/* Read one unsigned number from a file; 0 if absent or "max". */
static unsigned long long read_number(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    unsigned long long v = 0;
    if (fscanf(f, "%llu", &v) != 1) v = 0;
    fclose(f);
    return v;
}

static unsigned long long cgroup_headroom(void) {
    unsigned long long limit = read_number("/sys/fs/cgroup/memory.max");
    unsigned long long used = read_number("/sys/fs/cgroup/memory.current");
    if (!limit) {
        limit = read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
        used = read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
        if (limit >= (1ull << 60)) limit = 0; /* v1 reports "unlimited" as a huge number */
    }
    if (!limit) return 0;
    return limit > used ? limit - used : 1;
}

/* Memory of the NUMA nodes our cpuset intersects; *all_nodes says whether that is every node. */
static unsigned long long numa_memory(int *all_nodes) {
    hwloc_topology_t topo;
    *all_nodes = 1;
    if (hwloc_topology_init(&topo) != 0) return 0;
    unsigned long long total = 0;
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (set && hwloc_topology_load(topo) == 0) {
        if (hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_PROCESS) != 0)
            hwloc_bitmap_copy(set, hwloc_topology_get_complete_cpuset(topo));
        int depth = hwloc_get_type_depth(topo, HWLOC_OBJ_NUMANODE);
        unsigned nodes = depth == HWLOC_TYPE_DEPTH_UNKNOWN
                             ? 0
                             : (unsigned)hwloc_get_nbobjs_by_depth(topo, depth);
        for (unsigned i = 0; i < nodes; i++) {
            hwloc_obj_t node = hwloc_get_obj_by_depth(topo, depth, i);
            if (node->cpuset && !hwloc_bitmap_intersects(node->cpuset, set)) {
                *all_nodes = 0;
                continue;
            }
            total += node->attr->numanode.local_memory;
        }
    }
    hwloc_bitmap_free(set);
    hwloc_topology_destroy(topo);
    return total;
}

unsigned long long db_memory_rlimit(void) {
    unsigned long long tight = 0;
    const int which[] = {RLIMIT_AS, RLIMIT_DATA};
    for (int i = 0; i < 2; i++) {
        struct rlimit r;
        if (getrlimit(which[i], &r) != 0 || r.rlim_cur == RLIM_INFINITY) continue;
        if (!tight || r.rlim_cur < tight) tight = r.rlim_cur;
    }
    return tight;
}

int db_memory_threads_at_load(char *const *envp) {
    const char *v = NULL;
    for (; envp && *envp && !v; envp++)
        if (strncmp(*envp, "OMP_NUM_THREADS=", 16) == 0) v = *envp + 16;
    if (v) {
        while (*v == ' ' || *v == '\t')
            v++;
        long n = 0;
        while (*v >= '0' && *v <= '9' && n < 100000)
            n = n * 10 + (*v++ - '0');
        if (n > 0) return (int)n;
    }
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    return 1;
}

unsigned long long db_memory_startup_need(int threads) {
    return DB_STARTUP_BYTES + (unsigned long long)(threads + 1) * DB_OPENBLAS_BUFFER_BYTES;
}

int db_memory_startup_check(unsigned long long limit, int threads, char *err, size_t errlen) {
    unsigned long long need = db_memory_startup_need(threads);
    if (!limit || limit >= need) return DB_OK;
    /* Whole MiB, rounded up: snprintf of integers only (this runs before main). */
    snprintf(err, errlen,
             "the address-space limit (ulimit -v / -d) of %llu MiB is below the %llu MiB "
             "diagbench needs with %d OpenMP thread%s (OpenBLAS maps %llu MiB per thread, and "
             "hangs when it cannot): raise the limit, or use fewer threads",
             limit >> 20, (need + (1ull << 20) - 1) >> 20, threads, threads == 1 ? "" : "s",
             DB_OPENBLAS_BUFFER_BYTES >> 20);
    return DB_E_INVALID;
}

unsigned long long db_memory_rlimit_left(void) {
    unsigned long long left = 0;
    const int which[] = {RLIMIT_AS, RLIMIT_DATA};
    const char *field[] = {"VmSize:", "VmData:"};
    for (int i = 0; i < 2; i++) {
        struct rlimit r;
        if (getrlimit(which[i], &r) != 0 || r.rlim_cur == RLIM_INFINITY) continue;
        unsigned long long used = 0, kb;
        char line[256];
        FILE *f = fopen("/proc/self/status", "r");
        while (f && fgets(line, sizeof line, f))
            if (strncmp(line, field[i], strlen(field[i])) == 0 &&
                sscanf(line + strlen(field[i]), "%llu", &kb) == 1)
                used = kb * 1024ull;
        if (f) fclose(f);
        unsigned long long l = r.rlim_cur > used ? r.rlim_cur - used : 1;
        if (!left || l < left) left = l;
    }
    return left;
}

void db_memory_limits_read(struct db_memory_limits *lim, unsigned long long override_bytes) {
    lim->mem_available = meminfo("MemAvailable");
    lim->cgroup_limit = cgroup_headroom();
    int all_nodes;
    lim->numa_memory = numa_memory(&all_nodes);
    /* Spanning every node, the nodes must hold MemTotal; if they report less, the figure is
     * stale (on-demand hot-plugged memory) and the kernel's MemAvailable is the real limit. */
    unsigned long long total = meminfo("MemTotal");
    lim->numa_is_limit = !(all_nodes && total && lim->numa_memory < total);
    lim->rlimit_headroom = db_memory_rlimit_left();
    unsigned long long tight = 0;
    unsigned long long c[4] = {lim->mem_available, lim->cgroup_limit,
                               lim->numa_is_limit ? lim->numa_memory : 0, lim->rlimit_headroom};
    for (int i = 0; i < 4; i++)
        if (c[i] && (!tight || c[i] < tight)) tight = c[i];
    lim->budget = (unsigned long long)((double)tight * DB_BUDGET_FRACTION);
    if (override_bytes) lim->budget = override_bytes;
}

int db_parse_bytes(const char *s, unsigned long long *bytes) {
    if (!s || !isdigit((unsigned char)*s)) return DB_E_INVALID;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s) return DB_E_INVALID;
    double mult = 1;
    switch (toupper((unsigned char)*end)) {
    case '\0':
        break;
    case 'K':
        mult = 1024.0;
        break;
    case 'M':
        mult = 1024.0 * 1024;
        break;
    case 'G':
        mult = 1024.0 * 1024 * 1024;
        break;
    case 'T':
        mult = 1024.0 * 1024 * 1024 * 1024;
        break;
    default:
        return DB_E_INVALID;
    }
    if (*end && end[1] && !(toupper((unsigned char)end[1]) == 'B' && !end[2]) &&
        !(toupper((unsigned char)end[1]) == 'I' && toupper((unsigned char)end[2]) == 'B' &&
          !end[3]))
        return DB_E_INVALID;
    double b = v * mult;
    if (!(b >= 1) || b > 1e18) return DB_E_INVALID;
    *bytes = (unsigned long long)b;
    return DB_OK;
}

const char *db_format_bytes(unsigned long long bytes, char *buf, size_t len) {
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 4)
        v /= 1024, u++;
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
    return buf;
}
