/* The remote workloads (remote, remote-vec, remote-nobatch): sin whose every primitive call is a
 * round trip to a worker process the instance starts (docs/PROTOCOL.md). The worker is a fork of
 * the calling process that serves one connection over a Unix-domain socket in a private
 * directory (mkdtemp, 0700) or TCP on 127.0.0.1, and exits at end of stream; it dies with the
 * thread that created the instance (PR_SET_PDEATHSIG), and the instance reaps it. */
#ifndef DB_REMOTE_H
#define DB_REMOTE_H

#include <sys/types.h>

#include "workloads/remote_proto.h"
#include "workloads/workload.h"

/* What a remote instance reports for its row. */
struct db_remote_info {
    int transport, encoding;
    double round_trip_s; /* median of a ping-pong after start; NaN when the worker failed */
    pid_t worker;        /* the worker's pid (0 once reaped or never started) */
};

/* DB_OK and *info for an instance of a remote workload; DB_E_UNSUPPORTED for any other. */
int db_remote_info(const struct db_instance *in, struct db_remote_info *info);

/* The worker's fault mode, read from DIAGBENCH_WORKER_FAULT when an instance starts its worker
 * (tests only): die-after:N, sleep-after:N, truncate-after:N, oversize-after:N or
 * garbage-after:N -- answer N primitive requests, then exit / sleep / send half a frame and exit /
 * announce a frame above the maximum / send a frame that does not decode. */
#define DB_REMOTE_FAULT_ENV "DIAGBENCH_WORKER_FAULT"

#endif
