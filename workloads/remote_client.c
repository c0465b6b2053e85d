/* The client side of a worker connection (remote_client.h). */
#include "workloads/remote_client.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/fail.h"

enum { PINGS = 15 }; /* round_trip_s: median of this many pings after one warm-up */

double db_remote_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void db_remote_conn_init(struct db_remote_conn *c, const struct db_instance *in, const char *who) {
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->fd = -1;
    c->round_trip_s = NAN;
    c->transport = in->remote_transport;
    c->encoding = in->remote_encoding;
    c->timeout_ms =
        in->remote_timeout_ms > 0 ? in->remote_timeout_ms : DB_REMOTE_TIMEOUT_MS_DEFAULT;
    snprintf(c->who, sizeof c->who, "%s", who);
}

void db_remote_conn_close(struct db_remote_conn *c, double wait_s) {
    if (c->fd >= 0) close(c->fd); /* end of stream: the worker exits */
    c->fd = -1;
    db_remote_conn_reap(c, wait_s);
    pthread_mutex_destroy(&c->mu);
}

void db_remote_conn_reap(struct db_remote_conn *r, double wait_s) {
    if (r->pid <= 0) return;
    double end = db_remote_now() + wait_s;
    while (waitpid(r->pid, NULL, WNOHANG) == 0) {
        if (db_remote_now() >= end) {
            kill(r->pid, SIGKILL);
            while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
                ;
            break;
        }
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    r->pid = 0;
}

int db_remote_conn_fail(struct db_instance *in, const char *fmt, ...) {
    struct db_remote_conn *r = in->state;
    if (!r->broken) {
        char msg[sizeof in->error - 16];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        char full[sizeof r->who + sizeof msg + sizeof r->log + 32];
        if (r->log[0])
            snprintf(full, sizeof full, "%s: %s (its output: %s)", r->who, msg, r->log);
        else
            snprintf(full, sizeof full, "%s: %s", r->who, msg);
        snprintf(in->error, sizeof in->error, "%.*s", (int)sizeof in->error - 1, full);
        db_visible(in->error, sizeof in->error);
    }
    r->broken = 1;
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        db_remote_conn_reap(r, 5);
    }
    return DB_E_IO;
}

/* Wait until fd is ready for events or the deadline passes: 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, double deadline) {
    for (;;) {
        double left = deadline - db_remote_now();
        if (left <= 0) return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, (int)(left * 1000) + 1);
        if (rc < 0 && errno == EINTR) continue;
        if (rc < 0) return -1;
        if (rc > 0) return 1;
    }
}

/* Send or receive exactly len bytes before the deadline. *done says how far it got. */
static int transfer(int fd, int sending, unsigned char *p, size_t len, double deadline,
                    size_t *done) {
    *done = 0;
    while (*done < len) {
        int w = wait_fd(fd, sending ? POLLOUT : POLLIN, deadline);
        if (w <= 0) return w == 0 ? 1 : -1; /* 1: timeout */
        ssize_t k = sending ? send(fd, p + *done, len - *done, MSG_NOSIGNAL | MSG_DONTWAIT)
                            : recv(fd, p + *done, len - *done, MSG_DONTWAIT);
        if (k < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (k <= 0) return -1; /* 0 on receive: end of stream */
        *done += (size_t)k;
    }
    return 0;
}

int db_remote_conn_send(struct db_instance *in, const unsigned char *p, size_t len, size_t *done) {
    struct db_remote_conn *r = in->state;
    int t =
        transfer(r->fd, 1, (unsigned char *)p, len, db_remote_now() + r->timeout_ms * 1e-3, done);
    if (t == 1)
        return db_remote_conn_fail(in, "did not take %zu bytes within %d ms (--remote-timeout-ms)",
                                   len, r->timeout_ms);
    if (t < 0) return db_remote_conn_fail(in, "closed the connection (%s)", strerror(errno));
    return DB_OK;
}

/* How the worker ended, for a reason (reaps it if it has exited). */
static void worker_fate(struct db_remote_conn *r, char *buf, size_t len) {
    int st;
    snprintf(buf, len, "closed the connection");
    if (r->pid <= 0) return;
    for (int i = 0; i < 100; i++) { /* an exit is seen at most ~0.1 s after its end of stream */
        pid_t p = waitpid(r->pid, &st, WNOHANG);
        if (p == r->pid) {
            r->pid = 0;
            if (WIFEXITED(st))
                snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
            else if (WIFSIGNALED(st))
                snprintf(buf, len, "was killed by signal %d", WTERMSIG(st));
            return;
        }
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

/* One round trip: send q, receive the answer into a (decoded; db_remote_msg_free). */
int db_remote_conn_round_trip(struct db_instance *in, const struct db_remote_msg *q,
                              struct db_remote_msg *a) {
    struct db_remote_conn *r = in->state;
    unsigned char *frame = NULL;
    size_t len, done;
    double deadline = db_remote_now() + r->timeout_ms * 1e-3;
    int rc = db_remote_encode(r->encoding, q, &frame, &len);
    if (rc != DB_OK)
        return rc == DB_E_NOMEM
                   ? rc
                   : db_remote_conn_fail(in, "a %s request of %zu x %zu exceeds the %u-byte frame",
                                         db_remote_op_name(q->op), q->n, q->k,
                                         (unsigned)DB_REMOTE_FRAME_MAX);
    int t = transfer(r->fd, 1, frame, len, deadline, &done);
    free(frame);
    char fate[64];
    if (t == 1)
        return db_remote_conn_fail(in, "did not take a request within %d ms (--remote-timeout-ms)",
                                   r->timeout_ms);
    if (t < 0) {
        worker_fate(r, fate, sizeof fate);
        return db_remote_conn_fail(in, "%s while sending a request (%s)", fate, strerror(errno));
    }
    unsigned char hdr[DB_REMOTE_HEADER];
    char err[160];
    t = transfer(r->fd, 0, hdr, sizeof hdr, deadline, &done);
    if (t == 1)
        return db_remote_conn_fail(in, "did not answer within %d ms (--remote-timeout-ms)",
                                   r->timeout_ms);
    if (t < 0) {
        worker_fate(r, fate, sizeof fate);
        return db_remote_conn_fail(in, "%s without answering a %s request", fate,
                                   db_remote_op_name(q->op));
    }
    if (db_remote_frame_length(hdr, &len, err, sizeof err) != DB_OK)
        return db_remote_conn_fail(in, "%s", err);
    unsigned char *p = malloc(len ? len : 1);
    if (!p) return DB_E_NOMEM;
    t = transfer(r->fd, 0, p, len, deadline, &done);
    if (t != 0) {
        free(p);
        if (t == 1)
            return db_remote_conn_fail(
                in, "sent %zu of a %zu-byte frame within %d ms (--remote-timeout-ms)", done, len,
                r->timeout_ms);
        worker_fate(r, fate, sizeof fate);
        return db_remote_conn_fail(in, "truncated frame: %zu of %zu bytes, then the worker %s",
                                   done, len, fate);
    }
    rc = db_remote_decode(r->encoding, p, len, a, err, sizeof err);
    free(p);
    if (rc == DB_E_NOMEM) return rc;
    if (rc != DB_OK) return db_remote_conn_fail(in, "undecodable answer: %s", err);
    if (a->op == DB_REMOTE_ERROR) {
        snprintf(err, sizeof err, "%s", a->message);
        return db_remote_conn_fail(in, "answered an error: %s", err);
    }
    enum db_remote_op want = q->op == DB_REMOTE_HELLO ? DB_REMOTE_HELLO : DB_REMOTE_RESULT;
    if (a->op != want) {
        rc = db_remote_conn_fail(in, "answered a %s to a %s, not a %s", db_remote_op_name(a->op),
                                 db_remote_op_name(q->op), db_remote_op_name(want));
        db_remote_msg_free(a);
        return rc;
    }
    if (r->version2 && want == DB_REMOTE_RESULT && q->op != DB_REMOTE_PING) {
        if (a->has_compute != r->compute_time) {
            db_remote_msg_free(a);
            return db_remote_conn_fail(in,
                                       "%s compute_s in a result although its hello said "
                                       "compute_time=%d",
                                       a->has_compute ? "sent" : "did not send", r->compute_time);
        }
        if (a->has_compute && !(a->compute_s >= 0 && a->compute_s < 1e6)) {
            double v = a->compute_s;
            db_remote_msg_free(a);
            return db_remote_conn_fail(in, "sent compute_s %g (expected seconds from 0 to 1e6)", v);
        }
        r->compute_s += a->compute_s;
    }
    return DB_OK;
}

/* A primitive request: x, k columns of V (ldv); the k result columns go to out (ldo). */
/* The index of the first NaN or infinity of v[0..len), len when all are finite. */
static size_t first_non_finite(const double *v, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (!isfinite(v[i])) return i;
    return len;
}

int db_remote_conn_request(const struct db_instance *cin, enum db_remote_op op, const double *x,
                           const double *V, size_t ldv, size_t k, double *out, size_t ldo) {
    struct db_instance *in = (struct db_instance *)cin; /* the error text and the connection */
    struct db_remote_conn *r = in->state;
    if (r->unsupported) return DB_E_UNSUPPORTED;
    int single = op == DB_REMOTE_EVAL || op == DB_REMOTE_REFERENCE;
    size_t n = in->n, want = single ? 1 : k;
    pthread_mutex_lock(&r->mu);
    int rc = DB_E_IO;
    if (!r->broken) {
        struct db_remote_msg q = {.op = op,
                                  .n = n,
                                  .k = single ? 0 : k,
                                  .x = x,
                                  .v = V,
                                  .ldv = ldv},
                             a;
        rc = db_remote_conn_round_trip(in, &q, &a);
        if (rc == DB_OK) {
            size_t bad =
                r->version2 && a.n == n && a.k == want ? first_non_finite(a.v, n * want) : n * want;
            if (a.n != n || a.k != want)
                rc = db_remote_conn_fail(in, "answered %zu x %zu values to a %s of %zu x %zu", a.n,
                                         a.k, db_remote_op_name(op), n, want);
            else if (bad < n * want)
                rc = db_remote_conn_fail(in, "answered %g at element %zu of column %zu of a %s",
                                         a.v[bad], bad % n, bad / n, db_remote_op_name(op));
            else
                for (size_t j = 0; j < want; j++)
                    memcpy(out + j * ldo, a.v + j * n, n * sizeof *out);
            db_remote_msg_free(&a);
        }
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int db_remote_conn_eval(const struct db_instance *in, const double *x, double *y) {
    return db_remote_conn_request(in, DB_REMOTE_EVAL, x, NULL, in->n, 0, y, in->n);
}

int db_remote_conn_jvp(const struct db_instance *in, const double *x, const double *v,
                       double *out) {
    return db_remote_conn_request(in, DB_REMOTE_JVP, x, v, in->n, 1, out, in->n);
}

int db_remote_conn_vjp(const struct db_instance *in, const double *x, const double *w,
                       double *out) {
    return db_remote_conn_request(in, DB_REMOTE_VJP, x, w, in->n, 1, out, in->n);
}

int db_remote_conn_jvp_batch(const struct db_instance *in, const double *x, const double *V,
                             size_t ldv, size_t k, double *out, size_t ldo) {
    return db_remote_conn_request(in, DB_REMOTE_JVP, x, V, ldv, k, out, ldo);
}

int db_remote_conn_vjp_batch(const struct db_instance *in, const double *x, const double *W,
                             size_t ldw, size_t k, double *out, size_t ldo) {
    return db_remote_conn_request(in, DB_REMOTE_VJP, x, W, ldw, k, out, ldo);
}

/* Median of PINGS round trips with an empty request (after one warm-up). */
void db_remote_conn_time_pings(struct db_instance *in) {
    struct db_remote_conn *r = in->state;
    double t[PINGS + 1];
    for (int i = 0; i <= PINGS && !r->broken; i++) {
        struct db_remote_msg q = {.op = DB_REMOTE_PING}, a;
        double t0 = db_remote_now();
        if (db_remote_conn_round_trip(in, &q, &a) != DB_OK) return;
        t[i] = db_remote_now() - t0;
        db_remote_msg_free(&a);
    }
    for (int i = 2; i <= PINGS; i++) /* insertion sort of t[1..PINGS] */
        for (int j = i; j > 1 && t[j - 1] > t[j]; j--) {
            double s = t[j];
            t[j] = t[j - 1], t[j - 1] = s;
        }
    r->round_trip_s = t[(PINGS + 1) / 2];
}
