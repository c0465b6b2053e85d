/* Provenance of a run: host, CPU, compiler and flags, git revision, OpenMP settings in force. */
#ifndef DB_PROVENANCE_H
#define DB_PROVENANCE_H

struct db_provenance {
    char host[256];
    char cpu_model[256];
    char compiler[512];
    char git_rev[64];
    char proc_bind[32]; /* omp_get_proc_bind(): false, true, primary, close, spread */
    char places[256];   /* OMP_PLACES as given, or "unset" */
    int threads;        /* omp_get_max_threads() */
};

void db_provenance_collect(struct db_provenance *p);

/* A run id: UTC time plus the process id, e.g. 20261125T034512Z-1234. */
void db_make_run_id(char *buf, unsigned long len);

/* ISO 8601 UTC timestamp of now, e.g. 2026-11-25T03:45:12Z. */
void db_timestamp(char *buf, unsigned long len);

#endif
