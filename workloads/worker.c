/* The worker workload: a primitive served by a program diagbench starts (worker.h,
 * docs/PROTOCOL.md "Version 2: external workers").
 *
 * Life of a worker (one per instance, i.e. per cell): the instance's setup splits --worker into
 * argv (no shell), creates the worker's log file exclusively (mkstemps, 0600) under $TMPDIR or
 * /tmp, makes a socketpair and forks; the child dies with the thread that started it
 * (PR_SET_PDEATHSIG), takes the pair's other end as fd 3, /dev/null as stdin and the log as
 * stdout and stderr, is pinned (--worker-cpus), gets its environment (DIAGBENCH_WORKER_FD,
 * _ENCODING, _THREADS; the harness's OpenMP placement variables removed) and execs the program.
 * The parent sends a hello and reads the worker's: its batching rule, tags, sizes, whether it
 * serves VJPs, an exact reference and its compute time. Then 16 pings (round_trip_s) and the
 * verification (below), all untimed and uncounted. Every fault -- no hello, another protocol, bad
 * keys, a result of the wrong shape, NaN, a timeout, a failed derivative check -- kills and reaps
 * the worker and fails every later call with one line naming the worker, the cause and the log
 * (remote_client.c). Teardown closes the connection (end of stream: the worker exits), reaps it
 * (SIGKILL after 1 s) and removes the log unless something failed.
 *
 * Verification (before any timing; seeds fixed, so a run is reproducible). u = 2^-53 is the unit
 * roundoff, gamma_m = m u / (1 - m u). The worker's f, JVP and VJP are assumed computed in
 * binary64, each output element a sum of at most n rounded terms.
 * - JVP against central differences, 3 Gaussian directions v: D(s) = (f(p) - f(m)) / 2s at
 *   p = fl(x + s v), m = fl(x - s v), s = h and 2h, h = u^(1/3) max(1, |x|_inf) / |v|_inf rounded
 *   to a power of 2; the JVP is taken along the secant's exact direction (p - m) / 2h, so the
 *   rounding of x + s v does not count against the worker. D(h)'s truncation error is
 *   h^2/6 f''' v^3 + O(h^4) and D(2h)'s four times it, so T_i = |D_i(2h) - D_i(h)| / 3 estimates
 *   it. f is taken as computed with a backward error of 2 ulps in its value and 2 ulps in its
 *   argument (vectorised sin/cos reduce the argument with an absolute error of a few u |x|): an
 *   absolute error of at most 2u (|f_i| + g), g = |J v|_inf / |v|_inf max(1, |x|_inf) the
 *   gradient's scale times the argument's, so D_i(h)'s rounding error is at most 2u (|f+_i| +
 *   |f-_i| + 2g) / 2h. Element i passes when |D_i(h) - (J v)_i| <= 10 T_i + 4 u (|f+_i| + |f-_i|
 *   + 2g) / h + 8 u |J v|_inf (10: room for the O(h^4) term the estimate does not see).
 * - VJP by the dot-product test (when the worker serves VJPs), Gaussian v, w: <w, J v> and
 *   <J^T w, v> agree to gamma_{n+1} (sum |w_i (Jv)_i| + sum |(J^T w)_i v_i|) (the two sums) plus
 *   gamma_n (|w|_2 |J v|_2 + |v|_2 |J^T w|_2) (the products' own errors: |w|^T |J| |v| <= |w|_2
 *   |J|_F |v|_2, and |J v|_2 estimates |J|_F for a Gaussian v), times 4 for the estimate.
 * - A claimed tag (diagonal: band 0; tridiagonal: band 1) by random products: the band's entries
 *   T from 2b+1 JVPs with the indicator vectors of the columns i mod (2b+1), then for 2 Gaussian
 *   r, |(J r)_i - (T r)_i| <= 16 u ((|T| |r|)_i + |J r|_i) + gamma_n |J r|_inf (the second term
 *   lets a worker compute J r densely with exact zeros). A refuted tag is dropped: the structure
 *   is taken as dense and the operator untagged, so probe falls back to materialise.
 * - The worker's reference diagonal (when offered) against single JVPs at 3 indices j:
 *   |ref_j - (J e_j)_j| <= 8 u |ref_j| + gamma_n |J e_j|_inf; without one, the reference is the
 *   diagonal materialised once through n single JVPs (column `reference`). */
#include "workloads/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fail.h"
#include "core/parse.h"
#include "core/rng.h"
#include "workloads/remote.h"
#include "workloads/remote_client.h"
#include "workloads/worker_argv.h"

struct worker {
    struct db_remote_conn conn; /* first: remote_client.c takes in->state as the connection */
    struct db_workload wl;      /* the static table with the hello's batching, verified tags */
    struct db_worker_info info;
    int has_vjp, has_reference;
    int failed; /* something failed: the log is kept */
};

static struct worker *state_of(const struct db_instance *in) {
    return in->state;
}

/* ---- checks before any cell ----------------------------------------------------------------- */

/* Parse a CPU list into set; DB_E_INVALID on anything else. */
static int parse_cpus(const char *s, cpu_set_t *set) {
    CPU_ZERO(set);
    if (!s || !*s) return DB_E_INVALID;
    while (*s) {
        char *end;
        if (*s < '0' || *s > '9') return DB_E_INVALID;
        unsigned long a = strtoul(s, &end, 10), b = a;
        if (*end == '-') {
            if (end[1] < '0' || end[1] > '9') return DB_E_INVALID;
            b = strtoul(end + 1, &end, 10);
        }
        if (a > b || b >= CPU_SETSIZE) return DB_E_INVALID;
        for (unsigned long c = a; c <= b; c++)
            CPU_SET(c, set);
        if (*end == ',' && end[1])
            end++;
        else if (*end)
            return DB_E_INVALID;
        s = end;
    }
    return DB_OK;
}

int db_worker_check_cpus(const char *list, char *err, size_t errlen) {
    cpu_set_t set, mine;
    if (parse_cpus(list, &set) != DB_OK)
        return db_fail(err, errlen,
                       "invalid --worker-cpus '%s': expected a CPU list such as 1, 0-1 or 0,2-3 "
                       "(CPUs below %d)",
                       list, CPU_SETSIZE);
    if (sched_getaffinity(0, sizeof mine, &mine) == 0) {
        CPU_AND(&set, &set, &mine);
        if (CPU_COUNT(&set) == 0)
            return db_fail(err, errlen,
                           "invalid --worker-cpus '%s': none of these CPUs is available to this "
                           "process (see nproc, taskset -p $$)",
                           list);
    }
    return DB_OK;
}

/* The program execvp would run for name: *path (PATH searched for a name without '/'). */
static int find_program(const char *name, char *path, size_t len) {
    if (strchr(name, '/')) {
        snprintf(path, len, "%s", name);
        return access(path, F_OK) == 0 ? DB_OK : DB_E_INVALID;
    }
    const char *p = getenv("PATH");
    if (!p || !*p) p = "/usr/local/bin:/usr/bin:/bin";
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t l = colon ? (size_t)(colon - p) : strlen(p);
        int w = snprintf(path, len, "%.*s%s%s", (int)l, p, l ? "/" : "", name);
        struct stat st;
        if (w > 0 && (size_t)w < len && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
            access(path, X_OK) == 0)
            return DB_OK;
        p += l + (colon != NULL);
    }
    return DB_E_INVALID;
}

int db_worker_check_command(const char *cmd, char *err, size_t errlen) {
    char **argv = NULL;
    int words = db_worker_split_argv(cmd, &argv);
    if (words == -3) return db_fail(err, errlen, "out of memory splitting --worker");
    if (words < 1)
        return db_fail(err, errlen,
                       "invalid --worker '%s': %s (words are split as a shell would, without "
                       "running one)",
                       cmd,
                       words == -2 ? "no program named"
                                   : "an unterminated quote or a "
                                     "trailing backslash");
    char path[4096];
    struct stat st;
    int rc = DB_OK;
    if (find_program(argv[0], path, sizeof path) != DB_OK)
        rc = db_fail(err, errlen, "worker program '%s' not found%s", argv[0],
                     strchr(argv[0], '/') ? "" : " in PATH");
    else if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        rc = db_fail(err, errlen, "worker program '%s' is not a regular file", path);
    else if (access(path, X_OK) != 0)
        rc = db_fail(err, errlen,
                     "worker program '%s' is not executable (chmod +x, or name its "
                     "interpreter first: --worker '/usr/bin/python3 %s')",
                     path, path);
    free(argv);
    return rc;
}

/* ---- starting the worker -------------------------------------------------------------------- */

/* The child: fd 3 is the connection, the log is stdout and stderr. Never returns. */
static void child(int fd, int logfd, char **argv, const struct db_instance *in, pid_t parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1); /* the parent died before prctl */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGINT, SIG_IGN); /* the harness handles ^C and then stops us */
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0) _exit(126);
    if (fd == 3) {
        fcntl(3, F_SETFD, 0);
    } else if (dup2(fd, 3) < 0) {
        _exit(126);
    }
    char num[16];
    setenv(DB_WORKER_FD_ENV, "3", 1);
    setenv(DB_WORKER_ENCODING_ENV, db_remote_encoding_name(in->remote_encoding), 1);
    /* The harness's OpenMP placement is the harness's: the worker is placed by --worker-cpus. */
    static const char *const omp[] = {"OMP_PLACES", "OMP_PROC_BIND", "GOMP_CPU_AFFINITY",
                                      "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"};
    for (size_t i = 0; i < sizeof omp / sizeof *omp; i++)
        unsetenv(omp[i]);
    if (in->worker_threads > 0) {
        snprintf(num, sizeof num, "%d", in->worker_threads);
        setenv(DB_WORKER_THREADS_ENV, num, 1);
        setenv("OMP_NUM_THREADS", num, 1);
    }
    cpu_set_t set;
    if (in->worker_cpus && (parse_cpus(in->worker_cpus, &set) != DB_OK ||
                            sched_setaffinity(0, sizeof set, &set) != 0)) {
        dprintf(2, "diagbench: cannot pin the worker to CPUs %s: %s\n", in->worker_cpus,
                strerror(errno));
        _exit(126);
    }
    execvp(argv[0], argv);
    dprintf(2, "diagbench: cannot run '%s': %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Split the command, create the log, fork and exec; on failure the instance is broken. */
static void spawn(struct db_instance *in, struct worker *w) {
    struct db_remote_conn *c = &w->conn;
    char **argv = NULL;
    if (!in->worker_cmd || db_worker_split_argv(in->worker_cmd, &argv) < 1) {
        db_remote_conn_fail(in, "no program to run (-w worker needs --worker 'PROGRAM ARGS...')");
        return;
    }
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    snprintf(c->who, sizeof c->who, "worker '%.80s'", base);
    const char *tmp = getenv("TMPDIR");
    int w1 = tmp && *tmp && tmp[0] == '/'
                 ? snprintf(c->log, sizeof c->log, "%s/diagbench-worker-XXXXXX.log", tmp)
                 : -1;
    int logfd = w1 > 0 && (size_t)w1 < sizeof c->log ? mkstemps(c->log, 4) : -1;
    if (logfd < 0) { /* TMPDIR unset, too long or unusable: /tmp */
        snprintf(c->log, sizeof c->log, "/tmp/diagbench-worker-XXXXXX.log");
        logfd = mkstemps(c->log, 4);
    }
    if (logfd < 0) {
        int e = errno;
        c->log[0] = 0;
        free(argv);
        db_remote_conn_fail(in, "cannot create its log file in %s or /tmp: %s",
                            tmp && *tmp ? tmp : "$TMPDIR (unset)", strerror(e));
        return;
    }
    fcntl(logfd, F_SETFD, FD_CLOEXEC);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        int e = errno;
        close(logfd);
        free(argv);
        db_remote_conn_fail(in, "cannot make a socket pair: %s", strerror(e));
        return;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) child(sv[1], logfd, argv, in, parent);
    int e = errno;
    close(sv[1]);
    close(logfd);
    free(argv);
    if (pid < 0) {
        close(sv[0]);
        db_remote_conn_fail(in, "cannot fork: %s", strerror(e));
        return;
    }
    c->pid = pid;
    c->fd = sv[0];
}

/* ---- the hello ------------------------------------------------------------------------------ */

/* The value of key in the hello text (lines key=value), into out; 0 when absent. */
static int hello_get(const char *text, const char *key, char *out, size_t len) {
    size_t kl = strlen(key);
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        if (!strncmp(line, key, kl) && line[kl] == '=') {
            size_t vl = (size_t)((nl ? nl : line + strlen(line)) - (line + kl + 1));
            snprintf(out, len, "%.*s", (int)(vl < len ? vl : len - 1), line + kl + 1);
            return 1;
        }
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

/* One of the allowed words: its index, else -1. */
static int word_index(const char *v, const char *const *words, int count) {
    for (int i = 0; i < count; i++)
        if (!strcmp(v, words[i])) return i;
    return -1;
}

/* A whole number in [lo, hi]: DB_OK and *out. */
static int whole(const char *v, unsigned long long lo, unsigned long long hi,
                 unsigned long long *out) {
    return db_parse_whole(v, NULL, hi, out) == DB_OK && *out >= lo ? DB_OK : DB_E_INVALID;
}

static int name_ok(const char *v) {
    size_t l = strlen(v);
    return l >= 1 && l <= 63 &&
           strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-") == l;
}

/* Send the hello, read the worker's and apply it to w. */
static int handshake(struct db_instance *in, struct worker *w) {
    char text[64];
    snprintf(text, sizeof text, "n=%zu\n", in->n); /* the protocol is the header's k */
    struct db_remote_msg q = {.op = DB_REMOTE_HELLO,
                              .k = DB_WORKER_PROTOCOL,
                              .text = text,
                              .text_len = strlen(text)},
                         a;
    DB_CHECK(db_remote_conn_round_trip(in, &q, &a));
    static const char *const batch_words[] = {"vectorised", "sequential", "none"};
    static const char *const tag_words[] = {"diagonal", "tridiagonal", "none"};
    static const char *const required[] = {"name",  "batching", "tags",      "n_min",
                                           "n_max", "vjp",      "reference", "compute_time"};
    char v[8][80], threads[80];
    int rc = DB_OK;
    if (a.k != DB_WORKER_PROTOCOL) {
        rc = db_remote_conn_fail(in, "speaks protocol %zu, not %d", a.k, DB_WORKER_PROTOCOL);
        goto out;
    }
    for (int i = 0; i < 8; i++)
        if (!hello_get(a.text, required[i], v[i], sizeof v[i])) {
            rc = db_remote_conn_fail(in, "its hello lacks '%s' (docs/PROTOCOL.md, Handshake)",
                                     required[i]);
            goto out;
        }
    int batch = word_index(v[1], batch_words, 3), tag = word_index(v[2], tag_words, 3);
    unsigned long long nmin, nmax, vjp, ref, ct, th = 0;
    const char *bad = !name_ok(v[0])                      ? "name"
                      : batch < 0                         ? "batching"
                      : tag < 0                           ? "tags"
                      : whole(v[3], 1, 1ull << 40, &nmin) ? "n_min"
                      : whole(v[4], 0, 1ull << 40, &nmax) ? "n_max"
                      : whole(v[5], 0, 1, &vjp)           ? "vjp"
                      : whole(v[6], 0, 1, &ref)           ? "reference"
                      : whole(v[7], 0, 1, &ct)            ? "compute_time"
                      : (hello_get(a.text, "threads", threads, sizeof threads) &&
                         whole(threads, 1, DB_WORKER_THREADS_MAX, &th))
                          ? "threads"
                          : NULL;
    if (!bad && nmax && nmax < nmin) bad = "n_max";
    if (bad) {
        char got[80];
        hello_get(a.text, bad, got, sizeof got);
        db_visible(got, sizeof got);
        rc = db_remote_conn_fail(in, "its hello has %s='%s' (docs/PROTOCOL.md, Handshake)", bad,
                                 got);
        goto out;
    }
    snprintf(w->info.name, sizeof w->info.name, "%s", v[0]);
    w->wl.batch = batch == 0   ? DB_BATCH_VECTORISED
                  : batch == 1 ? DB_BATCH_SEQUENTIAL
                               : DB_BATCH_NONE;
    w->wl.structure = tag == 0   ? DB_STRUCT_DIAGONAL
                      : tag == 1 ? DB_STRUCT_TRIDIAGONAL
                                 : DB_STRUCT_DENSE;
    w->has_vjp = (int)vjp;
    w->has_reference = (int)ref;
    w->conn.compute_time = (int)ct;
    w->info.compute_time = (int)ct;
    w->info.threads = th ? (int)th : in->worker_threads;
    if (!vjp) w->wl.ops.vjp = NULL, w->wl.ops.vjp_batch = NULL;
    if (in->n < nmin || (nmax && in->n > nmax)) {
        w->conn.unsupported = 1;
        char hi[24] = "any";
        if (nmax) snprintf(hi, sizeof hi, "%llu", nmax);
        snprintf(in->error, sizeof in->error, "%s (%s) accepts n from %llu to %s, not %zu",
                 w->conn.who, w->info.name, nmin, hi, in->n);
    }
out:
    db_remote_msg_free(&a);
    return rc;
}

/* ---- calls ---------------------------------------------------------------------------------- */

/* ---- verification --------------------------------------------------------------------------- */

static const double U = DBL_EPSILON / 2; /* unit roundoff */

static double gamma_m(size_t m) {
    return (double)m * U / (1 - (double)m * U);
}

static double max_abs(const double *v, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

static double norm2(const double *v, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i] * v[i];
    return sqrt(s);
}

static int fail_check(struct db_instance *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail_check(struct db_instance *in, const char *fmt, ...) {
    char msg[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(state_of(in)->info.checks, sizeof state_of(in)->info.checks, "failed");
    return db_remote_conn_fail(in, "failed verification: %s", msg);
}

/* D = (f(p) - f(m)) / 2s at p = fl(x + s v), m = fl(x - s v); fp, fm keep the two values, and
 * vs = (p - m) / 2s is the secant's exact direction (s a power of 2, p - m exact by Sterbenz for
 * |s v| well below |x|): D approximates J vs, free of the rounding of x + s v. */
static int central(struct db_instance *in, const double *v, double s, double *xs, double *fp,
                   double *fm, double *D, double *vs) {
    size_t n = in->n;
    for (size_t i = 0; i < n; i++)
        xs[i] = in->x[i] + s * v[i];
    DB_CHECK(db_remote_conn_eval(in, xs, fp));
    for (size_t i = 0; i < n; i++)
        vs[i] = xs[i], xs[i] = in->x[i] - s * v[i];
    DB_CHECK(db_remote_conn_eval(in, xs, fm));
    for (size_t i = 0; i < n; i++) {
        vs[i] = (vs[i] - xs[i]) / (2 * s);
        D[i] = (fp[i] - fm[i]) / (2 * s);
    }
    return DB_OK;
}

/* JVP against central differences (3 directions); work holds 8 n doubles. */
static int check_fd(struct db_instance *in, double *work) {
    size_t n = in->n;
    double *v = work, *jv = v + n, *xs = jv + n, *fp = xs + n, *fm = fp + n, *D1 = fm + n,
           *D2 = D1 + n, *vs = D2 + n;
    for (int dir = 0; dir < 3; dir++) {
        db_rng_gaussian_fill(0x5eed0000u + (uint64_t)dir, n, v);
        double h = exp2(round(log2(cbrt(U) * fmax(1.0, max_abs(in->x, n)) / max_abs(v, n))));
        DB_CHECK(central(in, v, 2 * h, xs, fp, fm, D2, vs));
        DB_CHECK(central(in, v, h, xs, fp, fm, D1, vs));
        DB_CHECK(db_remote_conn_jvp(in, in->x, vs, jv));
        double jmax = max_abs(jv, n), grad = jmax / max_abs(vs, n) * fmax(1.0, max_abs(in->x, n));
        for (size_t i = 0; i < n; i++) {
            double bound = 10 * fabs(D2[i] - D1[i]) / 3 +
                           4 * U * (fabs(fp[i]) + fabs(fm[i]) + 2 * grad) / h + 8 * U * jmax;
            double e = fabs(D1[i] - jv[i]);
            if (!(e <= bound))
                return fail_check(in,
                                  "JVP off central differences: element %zu, direction %d: "
                                  "|Jv - D| = %.3g > bound %.3g",
                                  i, dir + 1, e, bound);
        }
    }
    return DB_OK;
}

/* The dot-product test <w, J v> = <J^T w, v>; work holds 4 n doubles. */
static int check_dot(struct db_instance *in, double *work) {
    size_t n = in->n;
    double *v = work, *w = v + n, *jv = w + n, *jtw = jv + n;
    db_rng_gaussian_fill(0x5eed0100u, n, v);
    db_rng_gaussian_fill(0x5eed0101u, n, w);
    DB_CHECK(db_remote_conn_jvp(in, in->x, v, jv));
    DB_CHECK(db_remote_conn_vjp(in, in->x, w, jtw));
    double a = 0, b = 0, sa = 0, sb = 0;
    for (size_t i = 0; i < n; i++) {
        a += w[i] * jv[i], b += jtw[i] * v[i];
        sa += fabs(w[i] * jv[i]), sb += fabs(jtw[i] * v[i]);
    }
    double bound = 4 * (gamma_m(n + 1) * (sa + sb) +
                        gamma_m(n) * (norm2(w, n) * norm2(jv, n) + norm2(v, n) * norm2(jtw, n)));
    if (!(fabs(a - b) <= bound))
        return fail_check(in,
                          "VJP not the JVP's transpose: <w, Jv> - <J^T w, v> = %.3g > bound %.3g",
                          a - b, bound);
    return DB_OK;
}

/* The claimed band (0: diagonal, 1: tridiagonal) by 2 random products; work holds 6 n doubles.
 * 1 when the claim holds, 0 when refuted (reason in why), < 0 on a failed call. */
static int check_band(struct db_instance *in, size_t band, double *work, char *why, size_t len) {
    size_t n = in->n, colours = 2 * band + 1;
    double *cols = work, *e = cols + 3 * n, *r = e + n, *jr = r + n;
    for (size_t m = 0; m < colours; m++) {
        for (size_t i = 0; i < n; i++)
            e[i] = i % colours == m;
        DB_CHECK(db_remote_conn_jvp(in, in->x, e, cols + m * n));
    }
    for (int t = 0; t < 2; t++) {
        db_rng_gaussian_fill(0x5eed0200u + (uint64_t)t, n, r);
        DB_CHECK(db_remote_conn_jvp(in, in->x, r, jr));
        double floor = gamma_m(n) * max_abs(jr, n);
        for (size_t i = 0; i < n; i++) {
            double tr = 0, atr = 0;
            for (size_t j = i >= band ? i - band : 0; j <= i + band && j < n; j++) {
                double tij = cols[(j % colours) * n + i];
                tr += tij * r[j], atr += fabs(tij * r[j]);
            }
            double bound = 16 * U * (atr + fabs(jr[i])) + floor, res = fabs(jr[i] - tr);
            if (!(res <= bound)) {
                snprintf(why, len,
                         "row %zu of J r differs from the claimed %s part by %.3g > bound %.3g", i,
                         band ? "tridiagonal" : "diagonal", res, bound);
                return 0;
            }
        }
    }
    return 1;
}

static void verify(struct db_instance *in, struct worker *w) {
    size_t n = in->n;
    double *work = malloc(8 * n * sizeof *work);
    if (!work) {
        db_remote_conn_fail(in, "out of memory for the verification (%zu doubles)", 8 * n);
        return;
    }
    const char *tag = w->wl.structure == DB_STRUCT_DIAGONAL      ? "diagonal"
                      : w->wl.structure == DB_STRUCT_TRIDIAGONAL ? "tridiagonal"
                                                                 : NULL;
    char why[160] = "";
    int held = -1;
    if (check_fd(in, work) != DB_OK || (w->has_vjp && check_dot(in, work) != DB_OK)) goto out;
    if (tag) {
        held = check_band(in, w->wl.structure == DB_STRUCT_TRIDIAGONAL, work, why, sizeof why);
        if (held < 0) goto out;
    }
    snprintf(w->info.checks, sizeof w->info.checks, "jvp-fd ok, %s, %s%s%s",
             w->has_vjp ? "dot ok" : "no vjp", tag ? "tag " : "no tag", tag ? tag : "",
             !tag   ? ""
             : held ? " ok"
                    : " refuted");
    if (tag && !held) { /* never trusted: the operator is untagged, probe materialises */
        w->wl.structure = DB_STRUCT_DENSE;
        fprintf(stderr, "diagbench: warning: %s (%s) claims a %s Jacobian at n=%zu, refuted: %s\n",
                w->conn.who, w->info.name, tag, n, why);
    }
    if (w->wl.structure == DB_STRUCT_TRIDIAGONAL) in->lower = in->upper = 1;
out:
    free(work);
}

/* ---- the reference -------------------------------------------------------------------------- */

static int worker_reference(const struct db_instance *cin, const double *x, double *diag) {
    struct db_instance *in = (struct db_instance *)cin;
    struct worker *w = state_of(in);
    size_t n = in->n;
    double *e = calloc(2 * n, sizeof *e), *col = e + n;
    if (!e) return DB_E_NOMEM;
    int rc = DB_OK;
    if (w->has_reference) {
        rc = db_remote_conn_request(in, DB_REMOTE_REFERENCE, x, NULL, n, 0, diag, n);
        for (int t = 0; rc == DB_OK && t < 3; t++) { /* spot checks against single JVPs */
            size_t j = t == 0 ? 0 : t == 1 ? n - 1 : n / 2;
            e[j] = 1;
            rc = db_remote_conn_jvp(in, x, e, col);
            e[j] = 0;
            double bound = 8 * U * fabs(diag[j]) + gamma_m(n) * max_abs(col, n);
            if (rc == DB_OK && !(fabs(col[j] - diag[j]) <= bound))
                rc =
                    fail_check(in, "reference diagonal off its JVP: element %zu: %.3g > bound %.3g",
                               j, fabs(col[j] - diag[j]), bound);
        }
        if (rc == DB_OK) snprintf(w->info.reference, sizeof w->info.reference, "worker");
    } else { /* the diagonal materialised once, through single JVPs, untimed */
        for (size_t j = 0; rc == DB_OK && j < n; j++) {
            e[j] = 1;
            rc = db_remote_conn_jvp(in, x, e, col);
            e[j] = 0;
            diag[j] = col[j];
        }
        if (rc == DB_OK) snprintf(w->info.reference, sizeof w->info.reference, "materialised");
    }
    free(e);
    return rc;
}

/* ---- the instance --------------------------------------------------------------------------- */

static int worker_setup(struct db_instance *in) {
    struct worker *w = calloc(1, sizeof *w);
    if (!w) return DB_E_NOMEM;
    db_remote_conn_init(&w->conn, in, "worker");
    w->conn.version2 = 1;
    w->wl = db_workload_worker;
    in->state = w;
    in->wl = &w->wl;
    if (in->worker_cpus) snprintf(w->info.cpus, sizeof w->info.cpus, "%s", in->worker_cpus);
    w->info.threads = in->worker_threads;
    spawn(in, w);
    int rc = w->conn.broken ? DB_E_IO : handshake(in, w);
    if (rc != DB_OK && !w->conn.broken)
        db_remote_conn_fail(in, "no hello exchanged: %s", db_strerror(rc));
    if (rc == DB_OK && !w->conn.unsupported) {
        db_remote_conn_time_pings(in);
        if (!w->conn.broken) verify(in, w);
    }
    return DB_OK; /* a worker that failed fails every call, with its reason */
}

static void worker_teardown(struct db_instance *in) {
    struct worker *w = state_of(in);
    if (!w) return;
    db_remote_conn_close(&w->conn, 1);
    if (w->conn.log[0] && !w->conn.broken) unlink(w->conn.log); /* kept when something failed */
    in->wl = &db_workload_worker;
    free(w);
    in->state = NULL;
}

int db_worker_info(const struct db_instance *in, struct db_worker_info *info) {
    if (!in || in->wl->ops.setup != worker_setup || !in->state) return DB_E_UNSUPPORTED;
    const struct worker *w = state_of(in);
    *info = w->info;
    info->compute_s = w->conn.compute_s;
    info->encoding = w->conn.encoding;
    info->round_trip_s = w->conn.round_trip_s;
    return DB_OK;
}

void db_worker_compute_reset(struct db_instance *in) {
    if (in && in->wl->ops.setup == worker_setup && in->state) state_of(in)->conn.compute_s = 0;
}

/* Priced as a remote call until the hello says more (the cost model runs before any worker). */
#define WORKER_MODEL_ROUND_TRIP_S 100e-6

const struct db_workload db_workload_worker = {
    .name = "worker",
    .description = "a primitive served by an external program (--worker 'PROGRAM ARGS...', "
                   "docs/workers.md): batching, tags and sizes from its hello, verified before "
                   "timing",
    .batch = DB_BATCH_SEQUENTIAL,
    .structure = DB_STRUCT_DENSE,
    .ops =
        {
            .eval = db_remote_conn_eval,
            .jvp = db_remote_conn_jvp,
            .vjp = db_remote_conn_vjp,
            .jvp_batch = db_remote_conn_jvp_batch,
            .vjp_batch = db_remote_conn_vjp_batch,
            .reference_diagonal = worker_reference,
            .setup = worker_setup,
            .teardown = worker_teardown,
        },
    .round_trip_s = WORKER_MODEL_ROUND_TRIP_S,
};
