#include "harness/bench/wisdom.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/outfile.h"
#include "core/parse.h"
#include "harness/env/provenance.h"
#include "harness/bench/runner.h"

#define WISDOM_MAGIC "# diagbench wisdom v1"
/* A wisdom file holds a few hundred plans (about 100 bytes each): one above 1 MiB is not ours
 * (a device, a log pointed at by mistake) and is not read. */
#define WISDOM_MAX_BYTES (1 << 20)
/* A plan's bandwidth above this is not a measurement: 10 TB/s is above the memory bandwidth of
 * any machine a harness runs on (HBM3e: about 5 TB/s per device; 12 DDR5 channels: 0.6 TB/s). */
#define WISDOM_MAX_GBPS 1e4
/* How long a run waits for another run's lock on the wisdom file before it gives up saving. */
#define WISDOM_LOCK_WAIT_ENV     "DIAGBENCH_WISDOM_LOCK_WAIT_MS"
#define WISDOM_LOCK_WAIT_DEFAULT 5000
#define MAX_CANDIDATES           32
#define DB_MAX_WISDOM_THREADS    4096 /* as -t accepts */

/* Each timing lasts at least this long (repeating the pass), and planning one size takes about
 * PLAN_SECONDS when one pass is slow (at least MIN_ROUNDS rounds, at most MAX_ROUNDS). */
#define TIMING_SECONDS 2e-3
#define PLAN_SECONDS   3.0
#define MIN_ROUNDS     3
#define MAX_ROUNDS     7

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int db_wisdom_file(const char *path, char *buf, size_t len) {
    const char *env = getenv("DIAGBENCH_WISDOM"), *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int w;
    if (path && *path)
        w = snprintf(buf, len, "%s", path);
    else if (env && *env)
        w = snprintf(buf, len, "%s", env);
    else if (xdg && *xdg)
        w = snprintf(buf, len, "%s/diagbench/wisdom.tsv", xdg);
    else if (home && *home)
        w = snprintf(buf, len, "%s/.cache/diagbench/wisdom.tsv", home);
    else
        return DB_E_INVALID;
    return w > 0 && (size_t)w < len ? DB_OK : DB_E_INVALID;
}

/* A field as it is stored: tabs and line breaks would break the line, so they become spaces. */
static void clean(char *s) {
    for (; *s; s++)
        if (*s == '\t' || *s == '\n' || *s == '\r') *s = ' ';
}

void db_wisdom_key_current(struct db_wisdom_key *k) {
    struct db_provenance p;
    db_provenance_collect(&p);
    memset(k, 0, sizeof *k);
    snprintf(k->cpu_model, sizeof k->cpu_model, "%s", p.cpu_model);
    k->threads = p.threads;
    snprintf(k->proc_bind, sizeof k->proc_bind, "%s", p.proc_bind);
    snprintf(k->places, sizeof k->places, "%s", p.places);
    snprintf(k->build, sizeof k->build, "%s", p.compiler);
    clean(k->cpu_model), clean(k->proc_bind), clean(k->places), clean(k->build);
}

/* ---- timing ------------------------------------------------------------------------------- */

/* What timing the candidates of one size works with. */
struct trial {
    size_t n, nc;
    struct db_write_path cand[MAX_CANDIDATES];
    double best[MAX_CANDIDATES]; /* fastest pass so far; NaN: wrote a wrong diagonal */
    struct db_instance *in;
    struct db_tangent_cache tc;
    double *buf, *ref;
};

/* The untimed round: first touch of the buffer and of each width's tangent blocks, and the check
 * that every candidate writes the right diagonal (a wrong one is never chosen). *pass: the
 * slowest pass. */
static int check_candidates(struct trial *t, double *pass) {
    size_t n = t->n;
    *pass = 0;
    for (size_t c = 0; c < t->nc; c++) {
        double t0 = now();
        DB_CHECK(db_blocked_materialise_path(t->in, 0, t->cand[c], &t->tc, t->buf));
        *pass = fmax(*pass, now() - t0);
        double err = 0;
        for (size_t i = 0; i < n; i++) {
            double e = fabs(t->buf[i * n + i] - t->ref[i]);
            if (!(e <= err)) err = isnan(e) ? INFINITY : e; /* a NaN never passes */
        }
        /* libmvec's cos <= 4 ulp, the scalar reference <= 1 ulp, of values |cos x| <= 1 */
        t->best[c] = err <= 5 * DBL_EPSILON ? INFINITY : NAN;
    }
    return DB_OK;
}

/* Interleaved rounds, a different candidate first each round, each timing at least
 * TIMING_SECONDS; t->best keeps each candidate's fastest pass. */
static void time_rounds(struct trial *t, double pass) {
    long long iters = pass >= TIMING_SECONDS ? 1 : (long long)ceil(TIMING_SECONDS / pass);
    double one = pass * (double)iters * (double)t->nc;
    int rounds = (int)fmin(MAX_ROUNDS, fmax(MIN_ROUNDS, PLAN_SECONDS / fmax(one, 1e-9)));
    for (int r = 0; r < rounds; r++)
        for (size_t k = 0; k < t->nc; k++) {
            size_t c = (k + (size_t)r) % t->nc;
            if (isnan(t->best[c])) continue;
            double t0 = now();
            for (long long i = 0; i < iters; i++)
                db_blocked_materialise_path(t->in, 0, t->cand[c], &t->tc, t->buf);
            t->best[c] = fmin(t->best[c], (now() - t0) / (double)iters);
        }
}

/* The fastest checked candidate, and the best of the other kind of store. */
static int choose(const struct trial *t, struct db_wisdom_plan *out) {
    size_t win = t->nc;
    for (size_t c = 0; c < t->nc; c++)
        if (!isnan(t->best[c]) && (win == t->nc || t->best[c] < t->best[win])) win = c;
    if (win == t->nc) return DB_E_INTERNAL; /* no candidate wrote the right diagonal */
    double bytes = 8.0 * (double)t->n * (double)t->n, other = INFINITY;
    for (size_t c = 0; c < t->nc; c++)
        if (t->cand[c].store != t->cand[win].store && !isnan(t->best[c]))
            other = fmin(other, t->best[c]);
    *out = (struct db_wisdom_plan){
        .n = t->n,
        .threads = omp_get_max_threads(),
        .wp = t->cand[win],
        .gbytes_per_s = bytes / t->best[win] * 1e-9,
        .runner_up = isinf(other) ? NAN : bytes / other * 1e-9,
    };
    return DB_OK;
}

int db_wisdom_time_candidates(size_t n, struct db_wisdom_plan *out) {
    struct trial t = {.n = n};
    t.nc = db_write_path_candidates(n, t.cand, MAX_CANDIDATES);
    const struct db_workload *wl = db_workload_find("sin");
    int rc = wl ? db_instance_create(wl, n, 0, &t.in) : DB_E_INTERNAL;
    if (rc == DB_OK) rc = db_tangent_cache_init(&t.tc);
    if (rc == DB_OK) {
        t.buf = malloc(n * n * sizeof *t.buf);
        t.ref = malloc(n * sizeof *t.ref);
        rc = t.buf && t.ref ? db_instance_reference_diagonal(t.in, t.ref) : DB_E_NOMEM;
    }
    double pass;
    if (rc == DB_OK) rc = check_candidates(&t, &pass);
    if (rc == DB_OK) time_rounds(&t, pass);
    if (rc == DB_OK) rc = choose(&t, out);
    free(t.buf);
    free(t.ref);
    db_tangent_cache_free(&t.tc);
    db_instance_destroy(t.in);
    return rc;
}

/* ---- the file ----------------------------------------------------------------------------- */

void db_wisdom_format_line(FILE *f, const struct db_wisdom_line *l) {
    char wps[DB_WRITE_PATH_LEN];
    fprintf(f, "%s\t%d\t%s\t%s\t%s\t%zu\t%s\t%.3f\t%s\n", l->key.cpu_model, l->key.threads,
            l->key.proc_bind, l->key.places, l->key.build, l->n,
            db_write_path_format(l->wp, wps, sizeof wps), l->gbytes_per_s, l->planned_at);
}

static int same_key(const struct db_wisdom_key *a, const struct db_wisdom_key *b) {
    return a->threads == b->threads && !strcmp(a->cpu_model, b->cpu_model) &&
           !strcmp(a->proc_bind, b->proc_bind) && !strcmp(a->places, b->places) &&
           !strcmp(a->build, b->build);
}

/* A whole number from 1 to max as we write it (no leading zero: db_parse_whole takes none of a
 * sign or blank either); 0 otherwise. */
static unsigned long long whole(const char *s, unsigned long long max) {
    unsigned long long v;
    return *s != '0' && db_parse_whole(s, NULL, max, &v) == DB_OK ? v : 0;
}

/* Copy a field that fits (a longer one would come back truncated: not a line we wrote). */
static int field(char *dst, size_t len, const char *src) {
    return (size_t)snprintf(dst, len, "%s", src) < len;
}

int db_wisdom_parse_line(char *s, struct db_wisdom_line *l) {
    char *f[9];
    int k = 0;
    f[k++] = s;
    for (char *p = s; (p = strchr(p, '\t')) != NULL;) {
        if (k == 9) return 0; /* more than nine fields */
        *p++ = '\0';
        f[k++] = p;
    }
    if (k != 9) return 0;
    memset(l, 0, sizeof *l);
    unsigned long long t = whole(f[1], DB_MAX_WISDOM_THREADS), n = whole(f[5], 100000000ull);
    if (!t || !n || db_write_path_parse(f[6], &l->wp) != DB_OK) return 0;
    struct db_write_path cand[MAX_CANDIDATES];
    size_t nc = db_write_path_candidates((size_t)n, cand, MAX_CANDIDATES), c = 0;
    while (c < nc && (cand[c].store != l->wp.store || cand[c].block_cols != l->wp.block_cols))
        c++;
    if (c == nc) return 0;
    l->key.threads = (int)t;
    l->n = (size_t)n;
    char *end;
    l->gbytes_per_s = strtod(f[7], &end);
    if (end == f[7] || *end || !(l->gbytes_per_s > 0 && l->gbytes_per_s <= WISDOM_MAX_GBPS))
        return 0;
    return field(l->key.cpu_model, sizeof l->key.cpu_model, f[0]) &&
           field(l->key.proc_bind, sizeof l->key.proc_bind, f[2]) &&
           field(l->key.places, sizeof l->key.places, f[3]) &&
           field(l->key.build, sizeof l->key.build, f[4]) &&
           field(l->planned_at, sizeof l->planned_at, f[8]);
}

/* Open the wisdom file for reading, never blocking (a FIFO without a writer) and only when it is
 * a regular file of at most WISDOM_MAX_BYTES: DB_OK with *f NULL when there is nothing to read (no
 * file, /dev/null), DB_E_INVALID with the reason in why when it is not read. */
static int open_for_reading(const char *path, FILE **f, char *why, size_t wlen) {
    *f = NULL;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT) return DB_OK;
        snprintf(why, wlen, "%s", strerror(errno));
        return DB_E_IO;
    }
    struct stat st, null;
    int rc = DB_OK;
    if (fstat(fd, &st) != 0) {
        snprintf(why, wlen, "%s", strerror(errno));
        rc = DB_E_IO;
    } else if (!S_ISREG(st.st_mode)) {
        int is_null =
            S_ISCHR(st.st_mode) && stat("/dev/null", &null) == 0 && null.st_rdev == st.st_rdev;
        snprintf(why, wlen, "a %s, not a regular file: not read",
                 S_ISFIFO(st.st_mode)   ? "FIFO"
                 : S_ISCHR(st.st_mode)  ? "character device"
                 : S_ISBLK(st.st_mode)  ? "block device"
                 : S_ISDIR(st.st_mode)  ? "directory"
                 : S_ISSOCK(st.st_mode) ? "socket"
                                        : "special file");
        rc = is_null ? DB_OK : DB_E_INVALID;
    } else if (st.st_size > WISDOM_MAX_BYTES) {
        snprintf(why, wlen, "%lld bytes, above the %d a wisdom file can hold: not read",
                 (long long)st.st_size, WISDOM_MAX_BYTES);
        rc = DB_E_INVALID;
    } else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0 ||
               !(*f = fdopen(fd, "r"))) {
        snprintf(why, wlen, "%s", strerror(errno));
        rc = DB_E_IO;
    }
    if (!*f) close(fd);
    return rc;
}

/* Read every valid line of the file (a missing file is empty). *bad counts the lines skipped and
 * *first_bad is the first one's number. DB_E_INVALID (reason in why) for a file that is not read:
 * not a regular file, too large, or without the wisdom header (someone else's file). */
static int read_lines(const char *path, struct db_wisdom_line **out, size_t *count, size_t *bad,
                      size_t *first_bad, char *why, size_t wlen) {
    *out = NULL;
    *count = *bad = *first_bad = 0;
    FILE *f;
    int rc = open_for_reading(path, &f, why, wlen);
    if (rc != DB_OK || !f) return rc;
    char *s = NULL;
    size_t cap = 0, lcap = 0, line = 0, total = 0;
    ssize_t len;
    while ((len = getline(&s, &cap, f)) >= 0) {
        total += (size_t)len;
        if (total > WISDOM_MAX_BYTES) { /* it grew while we read */
            snprintf(why, wlen, "above the %d bytes a wisdom file can hold: not read",
                     WISDOM_MAX_BYTES);
            rc = DB_E_INVALID;
            break;
        }
        if (++line == 1 && strncmp(s, WISDOM_MAGIC, sizeof WISDOM_MAGIC - 1) != 0) {
            snprintf(why, wlen, "not a diagbench wisdom file (its first line is not '%s')",
                     WISDOM_MAGIC);
            rc = DB_E_INVALID;
            break;
        }
        if (len && s[len - 1] == '\n') s[--len] = '\0';
        if (len && s[len - 1] == '\r') s[--len] = '\0'; /* saved by an editor with CRLF */
        if (len == 0 || s[0] == '#') continue;
        struct db_wisdom_line l;
        if (!db_wisdom_parse_line(s, &l)) {
            if (!(*bad)++) *first_bad = line;
            continue;
        }
        if (*count == lcap) {
            size_t nc = lcap ? 2 * lcap : 32;
            struct db_wisdom_line *g = realloc(*out, nc * sizeof *g);
            if (!g) {
                rc = DB_E_NOMEM;
                break;
            }
            *out = g;
            lcap = nc;
        }
        (*out)[(*count)++] = l;
    }
    free(s);
    if (ferror(f) && rc == DB_OK) {
        snprintf(why, wlen, "%s", strerror(errno));
        rc = DB_E_IO;
    }
    fclose(f);
    if (rc != DB_OK) {
        free(*out);
        *out = NULL;
        *count = 0;
    }
    return rc;
}

/* Take the lock beside the wisdom file: created exclusively of links (O_NOFOLLOW; a symlink
 * planted at its name is refused, never followed), a regular file, waited for at most
 * DIAGBENCH_WISDOM_LOCK_WAIT_MS (default 5 s) when another run holds it. */
static int take_lock(const char *lock, int *lfd, char *why, size_t wlen) {
    *lfd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);
    if (*lfd < 0) {
        snprintf(why, wlen, "lock %s: %s", lock,
                 errno == ELOOP ? "a symbolic link, not followed" : strerror(errno));
        return DB_E_IO;
    }
    struct stat st;
    if (fstat(*lfd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, wlen, "lock %s: not a regular file", lock);
        close(*lfd);
        return DB_E_IO;
    }
    const char *env = getenv(WISDOM_LOCK_WAIT_ENV);
    unsigned long long ms = WISDOM_LOCK_WAIT_DEFAULT;
    if (env && *env && db_parse_whole(env, NULL, 3600000, &ms) != DB_OK)
        ms = WISDOM_LOCK_WAIT_DEFAULT;
    double start = now(), deadline = start + (double)ms * 1e-3;
    while (flock(*lfd, LOCK_EX | LOCK_NB) != 0) {
        if ((errno != EWOULDBLOCK && errno != EINTR) || now() >= deadline) {
            snprintf(why, wlen, "lock %s: %s", lock,
                     errno == EWOULDBLOCK ? "held by another process" : strerror(errno));
            if (errno == EWOULDBLOCK)
                snprintf(why + strlen(why), wlen - strlen(why), " for %.1f s (%s)", now() - start,
                         WISDOM_LOCK_WAIT_ENV);
            close(*lfd);
            return DB_E_IO;
        }
        struct timespec nap = {0, 20000000};
        nanosleep(&nap, NULL);
    }
    return DB_OK;
}

/* mkdir -p of path's directory. */
static void make_parent(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0755);
            *p = '/';
        }
    mkdir(dir, 0755);
}

static int write_plans_to(const char *path, const char *lock, int through,
                          const struct db_wisdom_key *key, const struct db_wisdom_plan *plans,
                          size_t count, char *why, size_t wlen);

/* Merge the new plans into the file under an exclusive lock (concurrent runs on one home:
 * shards, sweeps), written to a temporary file and renamed, so a reader never sees half a file. */
static int write_plans(const char *path, const struct db_wisdom_key *key,
                       const struct db_wisdom_plan *plans, size_t count, char *why, size_t wlen) {
    make_parent(path);
    /* Never replace what we did not create (core/outfile.h): a symlink's target gets the new
     * file, a device or FIFO (--wisdom /dev/null) is written through. */
    char *target;
    enum db_out_mode mode;
    int rc = db_outfile_resolve(path, &target, &mode, why, wlen);
    if (rc != DB_OK) return rc == DB_E_NOMEM ? rc : DB_E_IO;
    char lock[4200];
    snprintf(lock, sizeof lock, "%s.lock", target);
    rc = write_plans_to(target, lock, mode == DB_OUT_THROUGH, key, plans, count, why, wlen);
    free(target);
    return rc;
}

/* A temporary file beside path, created exclusively at an unpredictable name (mkstemp): *tmp. */
static FILE *open_temporary(const char *path, char *tmp, size_t len) {
    if ((size_t)snprintf(tmp, len, "%s.tmp.XXXXXX", path) >= len) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) return NULL;
    FILE *f = fchmod(fd, 0644) == 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int saved = errno;
        close(fd);
        unlink(tmp);
        errno = saved;
    }
    return f;
}

/* write_plans into path through a temporary file renamed over it, or straight into path
 * (through: a device or FIFO). */
static int write_plans_to(const char *path, const char *lock, int through,
                          const struct db_wisdom_key *key, const struct db_wisdom_plan *plans,
                          size_t count, char *why, size_t wlen) {
    /* A device gets no lock file beside it (nothing is read from it, nothing renamed). */
    int lfd = -1;
    if (!through && take_lock(lock, &lfd, why, wlen) != DB_OK) return DB_E_IO;
    struct db_wisdom_line *old = NULL;
    size_t nold = 0, bad, first_bad;
    char reason[512] = "";
    int rc =
        through ? DB_OK : read_lines(path, &old, &nold, &bad, &first_bad, reason, sizeof reason);
    if (rc != DB_OK) { /* someone else's file, a huge one: never replaced */
        snprintf(why, wlen, "'%s': %s: not replaced (give another --wisdom)", path, reason);
        if (lfd >= 0) close(lfd);
        return DB_E_IO;
    }
    char tmp[4300] = "";
    FILE *f = through ? db_outfile_open_through(path, 0) : open_temporary(path, tmp, sizeof tmp);
    if (!f) {
        snprintf(why, wlen, "%s: %s", through ? path : tmp, strerror(errno));
        free(old);
        if (lfd >= 0) close(lfd);
        return DB_E_IO;
    }
    char ts[32];
    db_timestamp(ts, sizeof ts);
    fprintf(f,
            "%s: materialise write paths timed on this machine (diagbench --env shows them; "
            "delete the file or run with --no-wisdom to re-plan)\n"
            "# cpu_model\tthreads\tproc_bind\tplaces\tbuild\tn\twrite_path\tGB/s\tplanned_at\n",
            WISDOM_MAGIC);
    for (size_t i = 0; i < nold; i++) {
        int replaced = 0;
        for (size_t j = 0; j < count && !replaced; j++)
            replaced = same_key(&old[i].key, key) && old[i].n == plans[j].n;
        if (!replaced) db_wisdom_format_line(f, &old[i]);
    }
    for (size_t j = 0; j < count; j++) {
        struct db_wisdom_line l = {*key, plans[j].n, plans[j].wp, plans[j].gbytes_per_s, ""};
        snprintf(l.planned_at, sizeof l.planned_at, "%s", ts);
        db_wisdom_format_line(f, &l);
    }
    free(old);
    int bad_write = fflush(f) != 0 || (fsync(fileno(f)) != 0 && errno != EINVAL);
    bad_write |= fclose(f) != 0;
    if (bad_write || (!through && rename(tmp, path) != 0)) {
        snprintf(why, wlen, "%s: %s", bad_write && !through ? tmp : path, strerror(errno));
        if (!through) unlink(tmp);
        rc = DB_E_IO;
    }
    if (lfd >= 0) close(lfd);
    return rc;
}

static void print_plan(const struct db_wisdom_plan *p) {
    char wps[DB_WRITE_PATH_LEN];
    fprintf(stderr, "  n=%-8zu %-11s %7.2f GB/s", p->n,
            db_write_path_format(p->wp, wps, sizeof wps), p->gbytes_per_s);
    if (p->from_wisdom)
        fputs("  (wisdom)\n", stderr);
    else if (!isnan(p->runner_up))
        fprintf(stderr, "  (best %s-store path %.2f GB/s)\n",
                p->wp.store == DB_STORE_STREAM ? "plain" : "streaming", p->runner_up);
    else
        fputc('\n', stderr);
}

int db_wisdom_plan_sizes(const size_t *sizes, size_t count, const struct db_wisdom_opts *o,
                         struct db_wisdom_plan *out) {
    if (!count) return DB_OK;
    struct db_wisdom_key key;
    db_wisdom_key_current(&key);
    char path[4096];
    int have_path = db_wisdom_file(o->path, path, sizeof path) == DB_OK;
    struct db_wisdom_line *lines = NULL;
    size_t nlines = 0, bad = 0, first_bad = 0;
    char reason[512];
    if (have_path && !o->replan &&
        read_lines(path, &lines, &nlines, &bad, &first_bad, reason, sizeof reason) != DB_OK)
        fprintf(stderr, "diagbench: warning: wisdom file '%s' not used (%s): planning afresh\n",
                path, reason);
    if (bad)
        fprintf(stderr,
                "diagbench: warning: wisdom file '%s': %zu malformed or implausible line(s) "
                "ignored (the first: line %zu)\n",
                path, bad, first_bad);
    struct db_wisdom_plan *fresh = calloc(count, sizeof *fresh);
    if (!fresh) {
        free(lines);
        return DB_E_NOMEM;
    }
    size_t nfresh = 0;
    int rc = DB_OK;
    if (!o->quiet)
        fprintf(stderr, "planning materialise's write path (%d threads; wisdom: %s%s):\n",
                key.threads, have_path ? path : "none", o->replan ? ", --no-wisdom" : "");
    for (size_t i = 0; i < count && rc == DB_OK; i++) {
        size_t n = sizes[i];
        struct db_wisdom_plan p = {.n = n, .threads = key.threads, .runner_up = NAN};
        const struct db_wisdom_line *hit = NULL;
        for (size_t j = 0; j < nlines && !hit; j++)
            if (lines[j].n == n && same_key(&lines[j].key, &key)) hit = &lines[j];
        unsigned long long need =
            8ull * n * n + 8ull * (unsigned long long)key.threads * n * DB_WRITE_PATH_MAX_COLS;
        if (hit) {
            p.wp = hit->wp;
            p.gbytes_per_s = hit->gbytes_per_s;
            p.from_wisdom = 1;
        } else if (o->mem_budget && need > o->mem_budget) {
            continue; /* its cells are skipped_memory */
        } else {
            rc = db_wisdom_time_candidates(n, &p);
            if (rc != DB_OK) break;
            fresh[nfresh++] = p;
        }
        rc = db_write_path_plan(n, key.threads, p.wp);
        if (out) out[i] = p;
        if (!o->quiet) print_plan(&p);
    }
    char why[4400];
    if (rc == DB_OK && nfresh && have_path &&
        write_plans(path, &key, fresh, nfresh, why, sizeof why) != DB_OK)
        fprintf(stderr, "diagbench: warning: wisdom not saved (%s); the next run plans again\n",
                why);
    free(fresh);
    free(lines);
    return rc;
}

void db_wisdom_report(FILE *f, const char *path_opt) {
    char path[4096];
    if (db_wisdom_file(path_opt, path, sizeof path) != DB_OK) {
        fprintf(f, "wisdom: no location ($DIAGBENCH_WISDOM, $XDG_CACHE_HOME and $HOME unset): "
                   "every run plans afresh\n");
        return;
    }
    struct db_wisdom_key key;
    db_wisdom_key_current(&key);
    struct db_wisdom_line *lines;
    size_t count, bad, first_bad;
    char reason[512];
    if (read_lines(path, &lines, &count, &bad, &first_bad, reason, sizeof reason) != DB_OK) {
        fprintf(f, "wisdom: %s: not used (%s)\n", path, reason);
        return;
    }
    size_t mine = 0;
    for (size_t i = 0; i < count; i++)
        mine += same_key(&lines[i].key, &key);
    fprintf(f, "wisdom: %s (%zu plan(s), %zu for this CPU, thread count, binding and build", path,
            count, mine);
    if (bad) fprintf(f, "; %zu malformed line(s) ignored", bad);
    fprintf(f, ")\n  key: %s | threads=%d | proc_bind=%s | places=%s | %s\n", key.cpu_model,
            key.threads, key.proc_bind, key.places, key.build);
    char wps[DB_WRITE_PATH_LEN];
    for (size_t i = 0; i < count; i++)
        if (same_key(&lines[i].key, &key))
            fprintf(f, "  n=%-8zu %-11s %7.2f GB/s  planned %s\n", lines[i].n,
                    db_write_path_format(lines[i].wp, wps, sizeof wps), lines[i].gbytes_per_s,
                    lines[i].planned_at);
    if (!mine)
        fprintf(f, "  (none yet: a run with materialise cells plans their sizes and saves them)\n");
    free(lines);
}
