/* The remote workloads: sin served by a worker process, one round trip per primitive call.
 *
 * Life of a worker: the instance (ops.setup) makes a listening socket -- a Unix-domain socket in
 * a mkdtemp directory (0700) or TCP on 127.0.0.1, port chosen by the kernel -- forks, and the
 * child accepts one connection and serves it until end of stream. The child never returns into
 * the harness: it runs only the serve loop (scalar libm, no OpenMP) and leaves with _exit. The
 * parent connects, removes the socket file and its directory, and times a ping-pong (the row's
 * round_trip_s). Every later failure -- a dead worker, a timeout, a frame that is truncated, too
 * large or does not decode -- kills and reaps the worker at once and leaves a one-line reason in
 * the instance (db_instance_error); every call after it fails fast with the same reason. Calls
 * are serialised by a mutex (materialise may call from several threads; one worker serves one
 * request at a time). ops.teardown closes the connection and reaps the worker (SIGKILL after
 * 1 s). */
#include "workloads/remote.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/fail.h"
#include "core/parse.h"
#include "workloads/reference.h"

enum { PINGS = 15 }; /* round_trip_s: median of this many pings after one warm-up */

struct remote {
    pthread_mutex_t mu;
    int fd;
    pid_t pid;
    int encoding, transport, timeout_ms;
    double round_trip_s;
    int broken;
};

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- the worker (child side) ---------------------------------------------------------------- */

enum fault { F_NONE, F_DIE, F_SLEEP, F_TRUNCATE, F_OVERSIZE, F_GARBAGE };

struct fault_mode {
    enum fault kind;
    unsigned long long after;
};

static int parse_fault(const char *s, struct fault_mode *f) {
    static const char *const names[] = {
        "", "die-after:", "sleep-after:", "truncate-after:", "oversize-after:", "garbage-after:"};
    f->kind = F_NONE;
    f->after = 0;
    if (!s || !*s) return DB_OK;
    for (int i = 1; i < 6; i++) {
        size_t l = strlen(names[i]);
        if (strncmp(s, names[i], l) == 0 &&
            db_parse_whole(s + l, NULL, 1ull << 40, &f->after) == 0) {
            f->kind = (enum fault)i;
            return DB_OK;
        }
    }
    return DB_E_INVALID;
}

static int write_all(int fd, const unsigned char *p, size_t len) {
    while (len) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w, len -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, unsigned char *p, size_t len) {
    while (len) {
        ssize_t r = recv(fd, p, len, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r, len -= (size_t)r;
    }
    return 0;
}

/* Answer one decoded request: f = sin, J = diag(cos x) (symmetric, so JVP and VJP agree). */
static int answer(const struct db_remote_msg *q, int encoding, unsigned char **buf, size_t *len) {
    struct db_remote_msg a = {.op = DB_REMOTE_RESULT, .n = q->n};
    double *out = NULL;
    if (q->op == DB_REMOTE_EVAL || q->op == DB_REMOTE_JVP || q->op == DB_REMOTE_VJP) {
        a.k = q->op == DB_REMOTE_EVAL ? 1 : q->k;
        out = malloc(a.k * q->n * sizeof *out);
        if (!out) {
            a = (struct db_remote_msg){.op = DB_REMOTE_ERROR, .message = "worker out of memory"};
        } else if (q->op == DB_REMOTE_EVAL) {
            for (size_t i = 0; i < q->n; i++)
                out[i] = sin(q->x[i]);
        } else { /* the derivative once, applied to every tangent (as vmap of a JVP does) */
            for (size_t i = 0; i < q->n; i++)
                out[i] = cos(q->x[i]);
            for (size_t j = q->k; j-- > 0;)
                for (size_t i = 0; i < q->n; i++)
                    out[j * q->n + i] = out[i] * q->v[j * q->n + i];
        }
        a.v = out;
    } else if (q->op != DB_REMOTE_PING) {
        a = (struct db_remote_msg){.op = DB_REMOTE_ERROR};
        snprintf(a.message, sizeof a.message, "the worker takes requests, not %s",
                 db_remote_op_name(q->op));
    } else {
        a.n = 0;
    }
    int rc = db_remote_encode(encoding, &a, buf, len);
    free(out);
    return rc;
}

/* Misbehave as the fault mode says (called instead of sending the answer). */
static void misbehave(int fd, enum fault kind, const unsigned char *frame, size_t len) {
    unsigned char big[DB_REMOTE_HEADER] = {0xff, 0xff, 0xff, 0x7f};
    static const unsigned char junk[] = {3, 0, 0, 0, 'x', 'y', 'z'};
    switch (kind) {
    case F_SLEEP:
        for (;;)
            pause();
    case F_TRUNCATE:
        write_all(fd, frame, len / 2);
        break;
    case F_OVERSIZE:
        write_all(fd, big, sizeof big);
        break;
    case F_GARBAGE:
        write_all(fd, junk, sizeof junk);
        break;
    default: /* F_DIE */
        break;
    }
    _exit(3);
}

/* Serve requests on fd until end of stream. */
static void serve(int fd, int encoding, struct fault_mode fault) {
    unsigned long long answered = 0;
    for (;;) {
        unsigned char hdr[DB_REMOTE_HEADER];
        size_t len;
        char err[160];
        if (read_all(fd, hdr, sizeof hdr) != 0) return;
        if (db_remote_frame_length(hdr, &len, err, sizeof err) != DB_OK) return;
        unsigned char *p = malloc(len ? len : 1);
        if (!p || read_all(fd, p, len) != 0) {
            free(p);
            return;
        }
        struct db_remote_msg q, e = {.op = DB_REMOTE_ERROR};
        unsigned char *out = NULL;
        size_t outlen = 0;
        int rc = db_remote_decode(encoding, p, len, &q, err, sizeof err);
        free(p);
        if (rc == DB_OK) {
            rc = answer(&q, encoding, &out, &outlen);
            if (q.op != DB_REMOTE_PING && fault.kind != F_NONE && answered++ >= fault.after)
                misbehave(fd, fault.kind, out, outlen);
            db_remote_msg_free(&q);
        } else {
            snprintf(e.message, sizeof e.message, "%s", err);
            rc = db_remote_encode(encoding, &e, &out, &outlen);
        }
        if (rc != DB_OK || write_all(fd, out, outlen) != 0) {
            free(out);
            return;
        }
        free(out);
    }
}

/* The child: accept one connection on lfd and serve it. Never returns. */
static void worker_main(int lfd, pid_t parent, int encoding, struct fault_mode fault) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1); /* the parent died before prctl */
    signal(SIGINT, SIG_IGN);           /* the harness handles ^C and then stops us */
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    int fd = accept(lfd, NULL, NULL);
    close(lfd);
    if (fd < 0) _exit(1);
    serve(fd, encoding, fault);
    _exit(0);
}

/* ---- the client (parent side) --------------------------------------------------------------- */

/* Record why the worker is unusable (the first reason wins), kill and reap it. */
static int fail(struct db_instance *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reap(struct remote *r, double wait_s) {
    if (r->pid <= 0) return;
    double end = now_s() + wait_s;
    while (waitpid(r->pid, NULL, WNOHANG) == 0) {
        if (now_s() >= end) {
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

static int fail(struct db_instance *in, const char *fmt, ...) {
    struct remote *r = in->state;
    if (!r->broken) {
        char msg[sizeof in->error - 16];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(in->error, sizeof in->error, "remote worker: %s", msg);
        db_one_line(in->error);
    }
    r->broken = 1;
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        reap(r, 5);
    }
    return DB_E_IO;
}

/* Wait until fd is ready for events or the deadline passes: 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, double deadline) {
    for (;;) {
        double left = deadline - now_s();
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

/* How the worker ended, for a reason (reaps it if it has exited). */
static void worker_fate(struct remote *r, char *buf, size_t len) {
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
static int round_trip(struct db_instance *in, const struct db_remote_msg *q,
                      struct db_remote_msg *a) {
    struct remote *r = in->state;
    unsigned char *frame = NULL;
    size_t len, done;
    double deadline = now_s() + r->timeout_ms * 1e-3;
    int rc = db_remote_encode(r->encoding, q, &frame, &len);
    if (rc != DB_OK)
        return rc == DB_E_NOMEM
                   ? rc
                   : fail(in, "a %s request of %zu x %zu exceeds the %u-byte frame",
                          db_remote_op_name(q->op), q->n, q->k, (unsigned)DB_REMOTE_FRAME_MAX);
    int t = transfer(r->fd, 1, frame, len, deadline, &done);
    free(frame);
    char fate[64];
    if (t == 1)
        return fail(in, "did not take a request within %d ms (--remote-timeout-ms)", r->timeout_ms);
    if (t < 0) {
        worker_fate(r, fate, sizeof fate);
        return fail(in, "%s while sending a request (%s)", fate, strerror(errno));
    }
    unsigned char hdr[DB_REMOTE_HEADER];
    char err[160];
    t = transfer(r->fd, 0, hdr, sizeof hdr, deadline, &done);
    if (t == 1) return fail(in, "did not answer within %d ms (--remote-timeout-ms)", r->timeout_ms);
    if (t < 0) {
        worker_fate(r, fate, sizeof fate);
        return fail(in, "%s without answering a %s request", fate, db_remote_op_name(q->op));
    }
    if (db_remote_frame_length(hdr, &len, err, sizeof err) != DB_OK) return fail(in, "%s", err);
    unsigned char *p = malloc(len ? len : 1);
    if (!p) return DB_E_NOMEM;
    t = transfer(r->fd, 0, p, len, deadline, &done);
    if (t != 0) {
        free(p);
        if (t == 1)
            return fail(in, "sent %zu of a %zu-byte frame within %d ms (--remote-timeout-ms)", done,
                        len, r->timeout_ms);
        worker_fate(r, fate, sizeof fate);
        return fail(in, "truncated frame: %zu of %zu bytes, then the worker %s", done, len, fate);
    }
    rc = db_remote_decode(r->encoding, p, len, a, err, sizeof err);
    free(p);
    if (rc == DB_E_NOMEM) return rc;
    if (rc != DB_OK) return fail(in, "undecodable answer: %s", err);
    if (a->op == DB_REMOTE_ERROR) {
        snprintf(err, sizeof err, "%s", a->message);
        return fail(in, "answered an error: %s", err);
    }
    if (a->op != DB_REMOTE_RESULT)
        return fail(in, "answered a %s, not a result", db_remote_op_name(a->op));
    return DB_OK;
}

/* A primitive request: x, k columns of V (ldv); the k result columns go to out (ldo). */
static int request(const struct db_instance *cin, enum db_remote_op op, const double *x,
                   const double *V, size_t ldv, size_t k, double *out, size_t ldo) {
    struct db_instance *in = (struct db_instance *)cin; /* the error text and the connection */
    struct remote *r = in->state;
    size_t n = in->n, want = op == DB_REMOTE_EVAL ? 1 : k;
    pthread_mutex_lock(&r->mu);
    int rc = DB_E_IO;
    if (!r->broken) {
        struct db_remote_msg q = {.op = op,
                                  .n = n,
                                  .k = op == DB_REMOTE_EVAL ? 0 : k,
                                  .x = x,
                                  .v = V,
                                  .ldv = ldv},
                             a;
        rc = round_trip(in, &q, &a);
        if (rc == DB_OK) {
            if (a.n != n || a.k != want) {
                rc = fail(in, "answered %zu x %zu values to a %s of %zu x %zu", a.n, a.k,
                          db_remote_op_name(op), n, want);
            } else {
                for (size_t j = 0; j < want; j++)
                    memcpy(out + j * ldo, a.v + j * n, n * sizeof *out);
            }
            db_remote_msg_free(&a);
        }
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static int remote_eval(const struct db_instance *in, const double *x, double *y) {
    return request(in, DB_REMOTE_EVAL, x, NULL, in->n, 0, y, in->n);
}

static int remote_jvp(const struct db_instance *in, const double *x, const double *v, double *out) {
    return request(in, DB_REMOTE_JVP, x, v, in->n, 1, out, in->n);
}

static int remote_vjp(const struct db_instance *in, const double *x, const double *w, double *out) {
    return request(in, DB_REMOTE_VJP, x, w, in->n, 1, out, in->n);
}

static int remote_jvp_batch(const struct db_instance *in, const double *x, const double *V,
                            size_t ldv, size_t k, double *out, size_t ldo) {
    return request(in, DB_REMOTE_JVP, x, V, ldv, k, out, ldo);
}

static int remote_vjp_batch(const struct db_instance *in, const double *x, const double *W,
                            size_t ldw, size_t k, double *out, size_t ldo) {
    return request(in, DB_REMOTE_VJP, x, W, ldw, k, out, ldo);
}

/* The listening socket: *path set for a Unix-domain one (in dir, created 0700). */
static int listen_on(int transport, char *dir, size_t dirlen, struct sockaddr_storage *addr,
                     socklen_t *alen) {
    int lfd = socket(transport == DB_REMOTE_TCP ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0) return -1;
    memset(addr, 0, sizeof *addr);
    if (transport == DB_REMOTE_TCP) {
        struct sockaddr_in *a = (struct sockaddr_in *)addr;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *alen = sizeof *a;
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, dirlen, "%s/diagbench-remote-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        struct sockaddr_un *a = (struct sockaddr_un *)addr;
        if (!mkdtemp(dir) || strlen(dir) + 8 >= sizeof a->sun_path) {
            if (dir[0] && strstr(dir, "XXXXXX") == NULL) rmdir(dir);
            dir[0] = 0;
            close(lfd);
            return -1;
        }
        a->sun_family = AF_UNIX;
        snprintf(a->sun_path, sizeof a->sun_path, "%s/sock", dir);
        *alen = sizeof *a;
    }
    if (bind(lfd, (struct sockaddr *)addr, *alen) != 0 || listen(lfd, 1) != 0 ||
        getsockname(lfd, (struct sockaddr *)addr, alen) != 0) {
        close(lfd);
        return -1;
    }
    return lfd;
}

/* Start the worker and connect; on failure the instance is broken with the reason. */
static void start(struct db_instance *in, const struct fault_mode *fault) {
    struct remote *r = in->state;
    char dir[128] = "";
    struct sockaddr_storage addr;
    socklen_t alen = sizeof addr;
    int lfd = listen_on(r->transport, dir, sizeof dir, &addr, &alen);
    if (lfd < 0) {
        fail(in, "cannot listen on a %s socket: %s", db_remote_transport_name(r->transport),
             strerror(errno));
        return;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) worker_main(lfd, parent, r->encoding, *fault);
    int e = errno;
    close(lfd);
    if (pid < 0) {
        if (dir[0]) unlink(((struct sockaddr_un *)&addr)->sun_path), rmdir(dir);
        fail(in, "cannot fork: %s", strerror(e));
        return;
    }
    r->pid = pid;
    r->fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int ok = r->fd >= 0 && connect(r->fd, (struct sockaddr *)&addr, alen) == 0;
    e = errno;
    if (dir[0]) { /* connected (or not): the socket file has done its job */
        unlink(((struct sockaddr_un *)&addr)->sun_path);
        rmdir(dir);
    }
    if (!ok) {
        fail(in, "cannot connect: %s", strerror(e));
        return;
    }
    if (r->transport == DB_REMOTE_TCP) { /* a request is one write: do not wait for more */
        int one = 1;
        setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
}

/* Median of PINGS round trips with an empty request (after one warm-up). */
static void time_pings(struct db_instance *in) {
    struct remote *r = in->state;
    double t[PINGS + 1];
    for (int i = 0; i <= PINGS && !r->broken; i++) {
        struct db_remote_msg q = {.op = DB_REMOTE_PING}, a;
        double t0 = now_s();
        if (round_trip(in, &q, &a) != DB_OK) return;
        t[i] = now_s() - t0;
        db_remote_msg_free(&a);
    }
    for (int i = 2; i <= PINGS; i++) /* insertion sort of t[1..PINGS] */
        for (int j = i; j > 1 && t[j - 1] > t[j]; j--) {
            double s = t[j];
            t[j] = t[j - 1], t[j - 1] = s;
        }
    r->round_trip_s = t[(PINGS + 1) / 2];
}

static int remote_setup(struct db_instance *in) {
    struct remote *r = calloc(1, sizeof *r);
    if (!r) return DB_E_NOMEM;
    pthread_mutex_init(&r->mu, NULL);
    r->fd = -1;
    r->round_trip_s = NAN;
    r->transport = in->remote_transport;
    r->encoding = in->remote_encoding;
    r->timeout_ms =
        in->remote_timeout_ms > 0 ? in->remote_timeout_ms : DB_REMOTE_TIMEOUT_MS_DEFAULT;
    in->state = r;
    struct fault_mode fault;
    if (parse_fault(getenv(DB_REMOTE_FAULT_ENV), &fault) != DB_OK) {
        fail(in, "invalid %s (expected MODE-after:N)", DB_REMOTE_FAULT_ENV);
        return DB_OK;
    }
    start(in, &fault);
    if (!r->broken) time_pings(in);
    return DB_OK; /* a worker that failed to start fails every call, with its reason */
}

static void remote_teardown(struct db_instance *in) {
    struct remote *r = in->state;
    if (!r) return;
    if (r->fd >= 0) close(r->fd); /* end of stream: the worker exits */
    reap(r, 1);
    pthread_mutex_destroy(&r->mu);
    free(r);
    in->state = NULL;
}

int db_remote_info(const struct db_instance *in, struct db_remote_info *info) {
    if (!in || in->wl->ops.setup != remote_setup || !in->state) return DB_E_UNSUPPORTED;
    const struct remote *r = in->state;
    *info = (struct db_remote_info){r->transport, r->encoding, r->round_trip_s, r->pid};
    return DB_OK;
}

static int remote_reference(const struct db_instance *in, const double *x, double *diag) {
    db_reference_sin_deriv(in->n, x, diag);
    return DB_OK;
}

static int remote_root_distance(const struct db_instance *in, const double *x, double *dist) {
    db_reference_sin_root_distance(in->n, x, dist);
    return DB_OK;
}

/* One round trip on this machine (binary over a Unix socket, the median of the pings on a loaded
 * 2-core VM, 2026-11-29: ~25 us): the cost model's price of a call (harness/plan/plan.c). */
#define REMOTE_MODEL_ROUND_TRIP_S 25e-6

#define REMOTE_OPS                                                                                 \
    {                                                                                              \
        .eval = remote_eval, .jvp = remote_jvp, .vjp = remote_vjp, .jvp_batch = remote_jvp_batch,  \
        .vjp_batch = remote_vjp_batch, .reference_diagonal = remote_reference,                     \
        .root_distance = remote_root_distance, .setup = remote_setup, .teardown = remote_teardown, \
    }

const struct db_workload db_workload_remote = {
    .name = "remote",
    .description = "sin served by a worker process: every call a round trip over a socket; "
                   "sequential batching rule (k tangents = k round trips)",
    .batch = DB_BATCH_SEQUENTIAL,
    .structure = DB_STRUCT_DIAGONAL,
    .ops = REMOTE_OPS,
    .round_trip_s = REMOTE_MODEL_ROUND_TRIP_S,
};

const struct db_workload db_workload_remote_vec = {
    .name = "remote-vec",
    .description = "remote with a vectorised batching rule: one request carries k tangents",
    .batch = DB_BATCH_VECTORISED,
    .structure = DB_STRUCT_DIAGONAL,
    .ops = REMOTE_OPS,
    .round_trip_s = REMOTE_MODEL_ROUND_TRIP_S,
};

const struct db_workload db_workload_remote_nobatch = {
    .name = "remote-nobatch",
    .description = "remote with no batching rule: batched calls are unsupported",
    .batch = DB_BATCH_NONE,
    .structure = DB_STRUCT_DIAGONAL,
    .ops = REMOTE_OPS,
    .round_trip_s = REMOTE_MODEL_ROUND_TRIP_S,
};
