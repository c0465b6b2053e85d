/* Provenance of a run: host, CPU, compiler and flags, git revision, OpenMP settings in force,
 * hwloc and OpenBLAS builds, CPU frequency governor. */
#ifndef DB_PROVENANCE_H
#define DB_PROVENANCE_H

struct db_provenance {
    char host[256];
    char cpu_model[256];
    char compiler[512];
    char git_rev[64];
    char proc_bind[32];        /* omp_get_proc_bind(): false, true, primary, close, spread */
    char places[256];          /* OMP_PLACES as given, or "unset" */
    int threads;               /* omp_get_max_threads(), capped by omp_get_thread_limit() */
    char omp_wait_policy[16];  /* OMP_WAIT_POLICY in lower case (active, passive), or "unset" */
    char hwloc_version[64];    /* hwloc release built against, e.g. "2.9.0" */
    char openblas_config[256]; /* openblas_get_config() plus "parallel=openmp|pthreads|..." */
    char cpu_governor[128];    /* distinct scaling governors of the CPUs, ';'-joined; "" if none */
    char gbench_version[32];   /* Google Benchmark built against (pkg-config at build time) */
};

void db_provenance_collect(struct db_provenance *p);

/* Name of an omp_proc_bind_t value: false, true, primary, close, spread. */
const char *db_omp_proc_bind_name(int bind);

/* Distinct CPU frequency governors (cpufreq scaling_governor of every CPU), ';'-joined; "" when
 * none is readable (virtual machines, containers). */
void db_cpu_governor(char *buf, unsigned long len);

/* A run id: UTC time plus the process id, e.g. 20261125T034512Z-1234. */
void db_make_run_id(char *buf, unsigned long len);

/* ISO 8601 UTC timestamp of now, e.g. 2026-11-25T03:45:12Z. */
void db_timestamp(char *buf, unsigned long len);

#endif
