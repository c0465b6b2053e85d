/* The `worker` workload: a primitive served by a program diagbench starts (`--worker 'PROGRAM
 * ARGS...'`), over the protocol of docs/PROTOCOL.md ("Version 2: external workers"). One worker
 * per instance (per cell). Its batching rule, tags and sizes come from its hello; nothing it
 * says is trusted: before any timing its JVP is checked against central differences, its VJP by
 * the dot-product test, its tag by random products, its reference diagonal against single JVPs.
 * A worker that fails a derivative check fails every call (the cell is status=error, the reason
 * in the note); a refuted tag is dropped (the operator is untagged, so probe materialises). */
#ifndef DB_WORKER_H
#define DB_WORKER_H

#include <stddef.h>

#include "workloads/workload.h"

/* Environment the worker is started with (the contract's names). */
#define DB_WORKER_FD_ENV       "DIAGBENCH_WORKER_FD"
#define DB_WORKER_ENCODING_ENV "DIAGBENCH_WORKER_ENCODING"
#define DB_WORKER_THREADS_ENV  "DIAGBENCH_WORKER_THREADS"
#define DB_WORKER_PROTOCOL     2
#define DB_WORKER_THREADS_MAX  4096

/* What a worker instance reports for its row (worker.c fills it from the hello and the checks). */
struct db_worker_info {
    char name[64];       /* the function's name from the hello ("" before a hello) */
    char checks[96];     /* the verification's outcome, e.g. "jvp-fd ok, dot ok, tag diagonal ok" */
    char reference[16];  /* where max_abs_err's reference came from: worker | materialised */
    char cpus[64];       /* --worker-cpus ("" : not pinned) */
    int threads;         /* the worker's threads (its hello, else --worker-threads; 0 unknown) */
    int compute_time;    /* the worker reports compute_s */
    double compute_s;    /* compute seconds summed since the last db_worker_compute_reset */
    int encoding;        /* --remote-encoding (the transport is a Unix-domain socket pair) */
    double round_trip_s; /* median ping-pong after the hello (NaN: the worker failed first) */
};

/* DB_OK and *info for an instance of the worker workload; DB_E_UNSUPPORTED for any other. */
int db_worker_info(const struct db_instance *in, struct db_worker_info *info);
/* Start summing the worker's compute seconds afresh (nothing for other workloads). */
void db_worker_compute_reset(struct db_instance *in);

/* Check a --worker command line before any cell: split into words (worker_argv.h), the program
 * found (PATH searched for a name without '/') as an executable regular file. DB_OK, or
 * DB_E_INVALID with one line in err naming the command and what is wrong. */
int db_worker_check_command(const char *cmd, char *err, size_t errlen);
/* Check a --worker-cpus list ("0", "0-1", "0,2-3"; CPUs below CPU_SETSIZE): DB_OK or
 * DB_E_INVALID with one line in err. */
int db_worker_check_cpus(const char *list, char *err, size_t errlen);

#endif
