/* The client side of a worker connection (docs/PROTOCOL.md), shared by the built-in remote
 * workloads (workloads/remote.c: a forked worker) and external workers (workloads/worker.c: a
 * program diagbench starts). One connection per instance; the instance's state starts with a
 * struct db_remote_conn. Calls are serialised by its mutex (materialise may call from several
 * threads; a worker serves one request at a time). The first failure -- a dead worker, a timeout,
 * a frame that is truncated, too large or does not decode, an answer of the wrong shape -- kills
 * and reaps the worker, leaves a one-line reason in the instance (db_instance_error), and makes
 * every later call fail at once with DB_E_IO. */
#ifndef DB_REMOTE_CLIENT_H
#define DB_REMOTE_CLIENT_H

#include <pthread.h>
#include <sys/types.h>

#include "workloads/remote_proto.h"
#include "workloads/workload.h"

struct db_remote_conn {
    pthread_mutex_t mu;
    int fd;
    pid_t pid;
    int encoding, transport, timeout_ms;
    double round_trip_s; /* median ping-pong after start (NaN: not measured) */
    int broken;
    char who[96];     /* how messages name the worker ("remote worker", "worker 'prog'") */
    char log[128];    /* where the worker's output is kept ("" : nowhere), named on a failure */
    int version2;     /* external worker: results checked finite, compute_s as declared */
    int unsupported;  /* every call is DB_E_UNSUPPORTED (a worker that does not take this n) */
    int compute_time; /* version 2: every result carries compute_s */
    double compute_s; /* version 2: sum of the compute_s of the results since the last reset */
};

/* Set up conn (not connected yet: fd -1, pid 0) for an instance whose state it starts. */
void db_remote_conn_init(struct db_remote_conn *c, const struct db_instance *in, const char *who);
/* Record why the worker is unusable (the first reason wins), kill and reap it: DB_E_IO. */
int db_remote_conn_fail(struct db_instance *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Wait up to wait_s for the worker to exit, then SIGKILL it; reaped either way. */
void db_remote_conn_reap(struct db_remote_conn *c, double wait_s);
/* One round trip: send q, receive the answer into a (decoded; db_remote_msg_free). Anything but a
 * result (or a hello answering a hello) fails the connection. */
int db_remote_conn_round_trip(struct db_instance *in, const struct db_remote_msg *q,
                              struct db_remote_msg *a);
/* Send len raw bytes (no frame) before the timeout: DB_OK, or the connection fails. */
int db_remote_conn_send(struct db_instance *in, const unsigned char *p, size_t len, size_t *done);
/* A primitive request of op at x with k columns of V (ldv); the answer's k columns (1 for eval and
 * reference) go to out (ldo), checked for shape (and, version 2, finite values). */
int db_remote_conn_request(const struct db_instance *in, enum db_remote_op op, const double *x,
                           const double *V, size_t ldv, size_t k, double *out, size_t ldo);
/* The workload ops over the connection (struct db_workload_ops): one request each. */
int db_remote_conn_eval(const struct db_instance *in, const double *x, double *y);
int db_remote_conn_jvp(const struct db_instance *in, const double *x, const double *v, double *out);
int db_remote_conn_vjp(const struct db_instance *in, const double *x, const double *w, double *out);
int db_remote_conn_jvp_batch(const struct db_instance *in, const double *x, const double *V,
                             size_t ldv, size_t k, double *out, size_t ldo);
int db_remote_conn_vjp_batch(const struct db_instance *in, const double *x, const double *W,
                             size_t ldw, size_t k, double *out, size_t ldo);
/* round_trip_s: the median of 15 pings after one warm-up. */
void db_remote_conn_time_pings(struct db_instance *in);
/* Close the connection (end of stream: the worker exits) and reap the worker (SIGKILL after
 * wait_s), then destroy the mutex. */
void db_remote_conn_close(struct db_remote_conn *c, double wait_s);
/* Seconds on the monotonic clock. */
double db_remote_now(void);

#endif
