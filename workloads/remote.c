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
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/fail.h"
#include "core/parse.h"
#include "workloads/reference.h"
#include "workloads/remote_client.h"

/* ---- the worker (child side) ---------------------------------------------------------------- */

enum { SECRET_LEN = 16 }; /* bytes of the connection's secret (docs/PROTOCOL.md) */

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

/* Read the connection's first SECRET_LEN bytes within a second: 1 when they are the secret. */
static int authenticated(int fd, const unsigned char *secret) {
    unsigned char got[SECRET_LEN];
    size_t have = 0;
    while (have < SECRET_LEN) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 1000) <= 0) return 0;
        ssize_t r = recv(fd, got + have, SECRET_LEN - have, 0);
        if (r <= 0) return 0;
        have += (size_t)r;
    }
    unsigned char diff = 0; /* constant time */
    for (size_t i = 0; i < SECRET_LEN; i++)
        diff |= (unsigned char)(got[i] ^ secret[i]);
    return diff == 0;
}

/* The child: accept connections on lfd until one carries the secret, and serve it (anyone else
 * who connects first -- another user on 127.0.0.1 -- is dropped). Never returns. */
static void worker_main(int lfd, pid_t parent, int encoding, struct fault_mode fault,
                        const unsigned char *secret) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1); /* the parent died before prctl */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGINT, SIG_IGN); /* the harness handles ^C and then stops us */
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0 && errno == EINTR) continue;
        if (fd < 0) _exit(1);
        if (!authenticated(fd, secret)) {
            close(fd);
            continue;
        }
        close(lfd);
        serve(fd, encoding, fault);
        _exit(0);
    }
}

/* ---- the client (parent side) --------------------------------------------------------------- */

/* A private directory (mkdtemp, 0700) for the Unix socket under base: DB_OK, or the reason. */
static int socket_dir(const char *base, char *dir, size_t dirlen, char *why, size_t wlen) {
    struct sockaddr_un a;
    int w = snprintf(dir, dirlen, "%s/diagbench-remote-XXXXXX", base);
    if (w < 0 || (size_t)w >= dirlen || (size_t)w + 6 >= sizeof a.sun_path) {
        snprintf(why, wlen, "too long for a socket path (at most %zu bytes with the socket's name)",
                 sizeof a.sun_path - 1);
        dir[0] = 0;
        return DB_E_INVALID;
    }
    if (!mkdtemp(dir)) {
        snprintf(why, wlen, "%s", strerror(errno));
        dir[0] = 0;
        return DB_E_IO;
    }
    return DB_OK;
}

/* The listening socket: a Unix-domain one in a private directory under $TMPDIR (else /tmp; a
 * TMPDIR that cannot hold one is said once, and /tmp used), or TCP on 127.0.0.1. */
static int listen_on(int transport, char *dir, size_t dirlen, struct sockaddr_storage *addr,
                     socklen_t *alen, int *cleanup, char *why, size_t wlen) {
    int lfd = socket(transport == DB_REMOTE_TCP ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        snprintf(why, wlen, "cannot make a %s socket: %s", db_remote_transport_name(transport),
                 strerror(errno));
        return -1;
    }
    memset(addr, 0, sizeof *addr);
    if (transport == DB_REMOTE_TCP) {
        struct sockaddr_in *a = (struct sockaddr_in *)addr;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *alen = sizeof *a;
    } else {
        static int warned; /* once per process */
        const char *tmp = getenv("TMPDIR");
        char reason[160];
        if (tmp && *tmp && socket_dir(tmp, dir, dirlen, reason, sizeof reason) != DB_OK) {
            if (!warned++)
                fprintf(stderr,
                        "diagbench: warning: TMPDIR '%s' cannot hold the remote workers' sockets "
                        "(%s): using /tmp\n",
                        tmp, reason);
        }
        if (!dir[0] && socket_dir("/tmp", dir, dirlen, reason, sizeof reason) != DB_OK) {
            snprintf(why, wlen, "cannot make a socket folder in %s%s: %s",
                     tmp && *tmp ? "TMPDIR or " : "", "/tmp", reason);
            close(lfd);
            return -1;
        }
        struct sockaddr_un *a = (struct sockaddr_un *)addr;
        a->sun_family = AF_UNIX;
        snprintf(a->sun_path, sizeof a->sun_path, "%s/sock", dir);
        *alen = sizeof *a;
        *cleanup = db_cleanup_push(a->sun_path, dir); /* removed if a signal ends the process */
    }
    if (bind(lfd, (struct sockaddr *)addr, *alen) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)addr, alen) != 0) {
        snprintf(why, wlen, "cannot listen on a %s socket%s%s: %s",
                 db_remote_transport_name(transport), dir[0] ? " in " : "", dir, strerror(errno));
        if (dir[0]) unlink(((struct sockaddr_un *)addr)->sun_path), rmdir(dir);
        db_cleanup_pop(*cleanup);
        *cleanup = -1;
        dir[0] = 0;
        close(lfd);
        return -1;
    }
    return lfd;
}

/* Start the worker and connect; on failure the instance is broken with the reason. SIGINT and
 * SIGTERM wait in this thread while the socket's folder exists (microseconds), and a signal that
 * another thread takes meanwhile removes it before the process exits (core/cleanup.h), so an
 * interrupted run never leaves it behind; the connection's first bytes are a secret only this
 * process and its worker know (another local user who connects to a TCP worker first is dropped).
 */
static void start(struct db_instance *in, const struct fault_mode *fault) {
    struct db_remote_conn *r = in->state;
    unsigned char secret[SECRET_LEN];
    if (getrandom(secret, sizeof secret, 0) != (ssize_t)sizeof secret) {
        db_remote_conn_fail(in, "no random bytes for the connection's secret: %s", strerror(errno));
        return;
    }
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    char dir[128] = "", why[320] = "";
    struct sockaddr_storage addr;
    socklen_t alen = sizeof addr;
    int cleanup = -1;
    int lfd = listen_on(r->transport, dir, sizeof dir, &addr, &alen, &cleanup, why, sizeof why);
    pid_t pid = -1;
    int e = 0, ok = 0;
    if (lfd >= 0) {
        pid_t parent = getpid();
        pid = fork();
        if (pid == 0) worker_main(lfd, parent, r->encoding, *fault, secret);
        e = errno;
        close(lfd);
    }
    if (pid > 0) {
        r->pid = pid;
        r->fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ok = r->fd >= 0 && connect(r->fd, (struct sockaddr *)&addr, alen) == 0;
        e = errno;
    }
    if (dir[0]) { /* connected (or not): the socket file has done its job */
        unlink(((struct sockaddr_un *)&addr)->sun_path);
        rmdir(dir);
        db_cleanup_pop(cleanup);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (lfd < 0) {
        db_remote_conn_fail(in, "%s", why);
        return;
    }
    if (pid < 0) {
        db_remote_conn_fail(in, "cannot fork: %s", strerror(e));
        return;
    }
    if (!ok) {
        db_remote_conn_fail(in, "cannot connect: %s", strerror(e));
        return;
    }
    if (r->transport == DB_REMOTE_TCP) { /* a request is one write: do not wait for more */
        int one = 1;
        setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    size_t done;
    if (db_remote_conn_send(in, secret, sizeof secret, &done) != DB_OK) return;
}

static int remote_setup(struct db_instance *in) {
    struct db_remote_conn *r = malloc(sizeof *r);
    if (!r) return DB_E_NOMEM;
    db_remote_conn_init(r, in, "remote worker");
    in->state = r;
    struct fault_mode fault;
    if (parse_fault(getenv(DB_REMOTE_FAULT_ENV), &fault) != DB_OK) {
        db_remote_conn_fail(in, "invalid %s (expected MODE-after:N)", DB_REMOTE_FAULT_ENV);
        return DB_OK;
    }
    start(in, &fault);
    if (!r->broken) db_remote_conn_time_pings(in);
    return DB_OK; /* a worker that failed to start fails every call, with its reason */
}

static void remote_teardown(struct db_instance *in) {
    struct db_remote_conn *r = in->state;
    if (!r) return;
    db_remote_conn_close(r, 1);
    free(r);
    in->state = NULL;
}

int db_remote_info(const struct db_instance *in, struct db_remote_info *info) {
    if (!in || in->wl->ops.setup != remote_setup || !in->state) return DB_E_UNSUPPORTED;
    const struct db_remote_conn *r = in->state;
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
        .eval = db_remote_conn_eval, .jvp = db_remote_conn_jvp, .vjp = db_remote_conn_vjp,         \
        .jvp_batch = db_remote_conn_jvp_batch, .vjp_batch = db_remote_conn_vjp_batch,              \
        .reference_diagonal = remote_reference, .root_distance = remote_root_distance,             \
        .setup = remote_setup, .teardown = remote_teardown,                                        \
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
