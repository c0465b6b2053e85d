#include "tests/helpers.h"

#include <criterion/criterion.h>

#include <lapack.h>
#include <lapacke.h>
#include <math.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/io/csv_write.h"
#include "solvers/solve.h"
#include "workloads/coupled.h"

extern char **environ;

int th_csv_split(const char *line, char *buf, char **fields, int max) {
    int n = 0;
    const char *p = line;
    char *o = buf;
    for (;;) {
        if (n == max) return -1;
        fields[n++] = o;
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p) return -1;
                if (*p == '"') {
                    if (p[1] == '"') {
                        *o++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *o++ = *p++;
            }
            if (*p && *p != ',') return -1;
        } else {
            while (*p && *p != ',') {
                if (*p == '"') return -1;
                *o++ = *p++;
            }
        }
        *o++ = 0;
        if (!*p) break;
        p++; /* the comma */
    }
    return n;
}

const char *th_binary(void) {
    const char *b = getenv("DIAGBENCH");
    return b && *b ? b : "build/diagbench";
}

int th_run(const char *const *args, const char *const *env, char *out, size_t outcap, char *err,
           size_t errcap) {
    int po[2], pe[2];
    if (pipe(po) || pipe(pe)) return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    posix_spawn_file_actions_addclose(&fa, po[0]);
    posix_spawn_file_actions_addclose(&fa, pe[0]);

    size_t na = 0, ne = 0, nenv = 0;
    while (args[na])
        na++;
    while (env && env[ne])
        ne++;
    while (environ[nenv])
        nenv++;
    char **argv = calloc(na + 2, sizeof *argv);
    char **envp = calloc(nenv + ne + 1, sizeof *envp);
    argv[0] = (char *)th_binary();
    for (size_t i = 0; i < na; i++)
        argv[i + 1] = (char *)args[i];
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        envp[k++] = (char *)env[i];
    for (size_t i = 0; i < nenv; i++) {
        int overridden = 0;
        for (size_t j = 0; j < ne; j++) {
            size_t l = strcspn(env[j], "=");
            if (strncmp(environ[i], env[j], l + 1) == 0) overridden = 1;
        }
        if (!overridden) envp[k++] = environ[i];
    }
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    free(argv);
    free(envp);
    close(po[1]);
    close(pe[1]);
    if (rc != 0) {
        close(po[0]);
        close(pe[0]);
        return -1;
    }
    size_t lo = 0, le = 0;
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
            char tmp[4096];
            ssize_t r = read(fds[i].fd, tmp, sizeof tmp);
            if (r <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            char *dst = i == 0 ? out : err;
            size_t cap = i == 0 ? outcap : errcap, *len = i == 0 ? &lo : &le;
            if (dst && cap > 1) {
                size_t room = cap - 1 - *len, take = (size_t)r < room ? (size_t)r : room;
                memcpy(dst + *len, tmp, take);
                *len += take;
            }
        }
    }
    if (out && outcap) out[lo] = 0;
    if (err && errcap) err[le] = 0;
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

char *th_slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)len + 1);
    if (s && fread(s, 1, (size_t)len, f) != (size_t)len) {
        free(s);
        s = NULL;
    }
    if (s) s[len] = 0;
    fclose(f);
    return th_own(s, free);
}

void th_write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

int th_count_lines(const char *s) {
    int n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

double th_csv_bound(double bound) {
    return bound * (1 + 5e-9) * (1 + DBL_EPSILON / 2);
}

int th_csv_column(const char *name) {
    char buf[4096];
    char *f[128];
    int n = th_csv_split(db_csv_header, buf, f, 128);
    for (int i = 0; i < n; i++)
        if (strcmp(f[i], name) == 0) return i;
    cr_assert_fail("no column %s in the CSV header", name);
    return -1;
}

/* ---- the per-test cleanup arena ------------------------------------------------------------ */

struct owned {
    void *obj;
    void (*destroy)(void *);
};
static struct owned *arena;
static size_t arena_n, arena_cap;

void *th_own(void *obj, void (*destroy)(void *)) {
    if (!obj) return NULL;
    if (arena_n == arena_cap) {
        size_t cap = arena_cap ? 2 * arena_cap : 64;
        struct owned *grown = realloc(arena, cap * sizeof *grown);
        if (!grown) {
            destroy(obj);
            cr_assert_fail("out of memory for the test arena");
        }
        arena = grown;
        arena_cap = cap;
    }
    arena[arena_n++] = (struct owned){obj, destroy};
    return obj;
}

void th_free(void *obj) {
    if (!obj) return;
    for (size_t i = arena_n; i-- > 0;)
        if (arena[i].obj == obj) {
            struct owned o = arena[i];
            memmove(arena + i, arena + i + 1, (arena_n - i - 1) * sizeof *arena);
            arena_n--;
            o.destroy(o.obj);
            return;
        }
    cr_assert_fail("th_free(%p): not in the test arena", obj);
}

void th_cleanup(void) {
    while (arena_n > 0) {
        struct owned o = arena[--arena_n];
        o.destroy(o.obj);
    }
    free(arena);
    arena = NULL;
    arena_cap = 0;
}

/* Every suite releases the arena after each of its tests, passed or failed. A suite is declared
 * once for the whole binary (its tests may span files: cli, parse), so all are declared here: a
 * new suite name goes on this list. */
TestSuite(bad_inputs, .fini = th_cleanup);
TestSuite(calibrate, .fini = th_cleanup);
TestSuite(ceiling, .fini = th_cleanup);
TestSuite(checked, .fini = th_cleanup);
TestSuite(cli, .fini = th_cleanup);
TestSuite(colouring, .fini = th_cleanup);
TestSuite(conformance, .fini = th_cleanup);
TestSuite(costs, .fini = th_cleanup);
TestSuite(csv, .fini = th_cleanup);
TestSuite(downstream, .fini = th_cleanup);
TestSuite(downstream_cli, .fini = th_cleanup);
TestSuite(fuzz, .fini = th_cleanup);
TestSuite(gbench_flags, .fini = th_cleanup);
TestSuite(gbench_json, .fini = th_cleanup);
TestSuite(hostile, .fini = th_cleanup);
TestSuite(interrupt, .fini = th_cleanup);
TestSuite(newton, .fini = th_cleanup);
TestSuite(operators, .fini = th_cleanup);
TestSuite(parse, .fini = th_cleanup);
TestSuite(parse_callers, .fini = th_cleanup);
TestSuite(parse_whole, .fini = th_cleanup);
TestSuite(plan, .fini = th_cleanup);
TestSuite(progress, .fini = th_cleanup);
TestSuite(recipes, .fini = th_cleanup);
TestSuite(registry, .fini = th_cleanup);
TestSuite(remote, .fini = th_cleanup);
TestSuite(row_checks, .fini = th_cleanup);
TestSuite(schema, .fini = th_cleanup);
TestSuite(shard, .fini = th_cleanup);
TestSuite(solve, .fini = th_cleanup);
TestSuite(stats, .fini = th_cleanup);
TestSuite(structured, .fini = th_cleanup);
TestSuite(summary, .fini = th_cleanup);
TestSuite(threads, .fini = th_cleanup);
TestSuite(tridiag_solve, .fini = th_cleanup);
TestSuite(wisdom, .fini = th_cleanup);
TestSuite(workloads, .fini = th_cleanup);
TestSuite(write_path, .fini = th_cleanup);
TestSuite(format, .fini = th_cleanup);

void *th_alloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    cr_assert_not_null(p, "out of memory (%zu bytes)", bytes);
    return th_own(p, free);
}

void *th_calloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    cr_assert_not_null(p, "out of memory (%zu x %zu bytes)", count, size);
    return th_own(p, free);
}

void th_destroy_instance(void *in) {
    db_instance_destroy(in);
}

void th_destroy_operator(void *op) {
    db_operator_destroy(op);
}

static struct db_instance *instance(const struct db_workload *wl, size_t n, double call_cost_s,
                                    const struct db_workload_params *params) {
    struct db_instance *in = NULL;
    cr_assert_not_null(wl);
    int rc = db_instance_create_with(wl, n, call_cost_s, params, &in);
    cr_assert_eq(rc, DB_OK, "%s n=%zu: %s", wl->name, n, db_strerror(rc));
    return th_own(in, th_destroy_instance);
}

struct db_instance *th_instance_with(const struct db_workload *wl, size_t n,
                                     const struct db_workload_params *params) {
    return instance(wl, n, 0, params);
}

struct db_instance *th_instance_cost(const struct db_workload *wl, size_t n, double call_cost_s) {
    return instance(wl, n, call_cost_s, NULL);
}

struct db_instance *th_instance(const struct db_workload *wl, size_t n) {
    return th_instance_with(wl, n, NULL);
}

struct db_operator *th_operator(const char *kind, enum db_jac jac, struct db_instance *in,
                                unsigned tags) {
    struct db_operator *op = NULL;
    int rc = db_operator_create(kind, jac, in, tags, &op);
    cr_assert_eq(rc, DB_OK, "%s/%s: %s", kind, db_jac_name(jac), db_strerror(rc));
    return th_own(op, th_destroy_operator);
}

static void destroy_sparse(void *p) {
    db_sparse_free(p);
    free(p);
}
static void destroy_strategy_ctx(void *p) {
    db_strategy_ctx_free(p);
    free(p);
}
static void destroy_solve_ctx(void *p) {
    db_solve_ctx_free(p);
    free(p);
}
static void destroy_newton_ws(void *p) {
    db_newton_ws_free(p);
    free(p);
}

static void destroy_table(void *p) {
    db_table_free(p);
    free(p);
}

static void *zeroed(size_t size, void (*destroy)(void *)) {
    void *p = calloc(1, size);
    cr_assert_not_null(p);
    return th_own(p, destroy);
}

struct db_sparse *th_sparse(void) {
    return zeroed(sizeof(struct db_sparse), destroy_sparse);
}
struct db_strategy_ctx *th_strategy_ctx(void) {
    return zeroed(sizeof(struct db_strategy_ctx), destroy_strategy_ctx);
}
struct db_solve_ctx *th_solve_ctx(void) {
    return zeroed(sizeof(struct db_solve_ctx), destroy_solve_ctx);
}
struct db_newton_ws *th_newton_ws(void) {
    return zeroed(sizeof(struct db_newton_ws), destroy_newton_ws);
}
struct db_table *th_table(void) {
    return zeroed(sizeof(struct db_table), destroy_table);
}

/* ---- error bounds -------------------------------------------------------------------------- */

double th_gamma(double k) {
    double ku = k * TH_U;
    return ku < 1 ? ku / (1 - ku) : INFINITY;
}

double th_entry_rel(void) {
    return th_gamma(2 * (TH_MVEC_ULPS + TH_LIBM_ULPS) + 2);
}

size_t th_rel_violation(const double *got, const double *ref, size_t n, double rel, double *ratio) {
    size_t worst = n;
    double wr = 0, worst_r = -1;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(got[i] - ref[i]), r = e == 0 ? 0 : e / fabs(ref[i]);
        if (isnan(r)) r = INFINITY; /* a NaN never passes */
        wr = r > wr ? r : wr;
        if (!(e <= rel * fabs(ref[i])) && r > worst_r) worst = i, worst_r = r;
    }
    if (ratio) *ratio = wr;
    return worst;
}

double th_forward_bound(double eps_a, double eps_b, double kappa) {
    double d = 1 - eps_a * kappa;
    return d > 0 ? (eps_a + eps_b) * kappa / d : INFINITY;
}

double th_gepp_tridiag_backward(size_t n) {
    return 12 * th_gamma(3 * (double)n);
}

double th_tridiag_cond1(size_t n, const double *dl, const double *d, const double *du) {
    lapack_int N = (lapack_int)n;
    double *f = th_alloc((4 * n + 1) * sizeof *f);
    lapack_int *ipiv = th_alloc(n * sizeof *ipiv);
    double *fdl = f, *fd = f + n, *fdu = f + 2 * n, *du2 = f + 3 * n;
    if (n > 1) memcpy(fdl, dl, (n - 1) * sizeof *f), memcpy(fdu, du, (n - 1) * sizeof *f);
    memcpy(fd, d, n * sizeof *f);
    double anorm = LAPACK_dlangt("1", &N, dl, d, du), rcond = 0;
    lapack_int rc = LAPACKE_dgttrf(N, fdl, fd, fdu, du2, ipiv);
    if (rc == 0) rc = LAPACKE_dgtcon('1', N, fdl, fd, fdu, du2, ipiv, anorm, &rcond);
    cr_assert_geq(rc, 0, "dgttrf/dgtcon: illegal argument %d", (int)-rc);
    th_free(f), th_free(ipiv);
    return rc == 0 && rcond > 0 ? 1 / rcond : INFINITY;
}

/* dgetrf of a copy of a (column-major n x n), into the arena; rc in *info. */
static double *dense_lu(size_t n, const double *a, lapack_int **ipiv, lapack_int *info) {
    double *lu = th_alloc(n * n * sizeof *lu);
    memcpy(lu, a, n * n * sizeof *lu);
    *ipiv = th_alloc(n * sizeof **ipiv);
    lapack_int N = (lapack_int)n;
    *info = LAPACKE_dgetrf(LAPACK_COL_MAJOR, N, N, lu, N, *ipiv);
    cr_assert_geq(*info, 0, "dgetrf: illegal argument %d", (int)-*info);
    return lu;
}

double th_dense_cond1(size_t n, const double *a) {
    lapack_int *ipiv, info, N = (lapack_int)n;
    double *lu = dense_lu(n, a, &ipiv, &info), rcond = 0;
    double anorm = LAPACKE_dlange(LAPACK_COL_MAJOR, '1', N, N, a, N);
    if (info == 0) info = LAPACKE_dgecon(LAPACK_COL_MAJOR, '1', N, lu, N, anorm, &rcond);
    th_free(lu), th_free(ipiv);
    return info == 0 && rcond > 0 ? 1 / rcond : INFINITY;
}

double th_dense_gepp_backward1(size_t n, const double *a) {
    lapack_int *ipiv, info, N = (lapack_int)n;
    double *lu = dense_lu(n, a, &ipiv, &info), worst = 0;
    /* column j of |L||U|: sum_k |L[:,k]| |U[k,j]|, k <= j; L unit lower, U upper, both in lu */
    for (size_t j = 0; j < n; j++) {
        double col = 0;
        for (size_t k = 0; k <= j; k++) {
            double ukj = fabs(lu[j * n + k]), lsum = 1;
            for (size_t i = k + 1; i < n; i++)
                lsum += fabs(lu[k * n + i]);
            col += lsum * ukj;
        }
        worst = col > worst ? col : worst;
    }
    double anorm = LAPACKE_dlange(LAPACK_COL_MAJOR, '1', N, N, a, N);
    th_free(lu), th_free(ipiv);
    return th_gamma(3 * (double)n) * worst / anorm;
}

void th_bands(const struct db_sparse *A, double *dl, double *d, double *du) {
    cr_assert_eq(db_tridiagonal_bands(A, dl, d, du), DB_OK,
                 "an entry outside the tridiagonal band, or no values");
}

double th_norm1(const double *x, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += fabs(x[i]);
    return s;
}

double th_sparse_residual1(const struct db_sparse *A, const double *x, const double *b) {
    size_t n = A->n;
    double *col = th_calloc(n, sizeof *col), r = 0;
    for (size_t i = 0; i < n; i++) {
        double ri = -b[i];
        for (size_t e = A->row_ptr[i]; e < A->row_ptr[i + 1]; e++) {
            ri += A->values[e] * x[A->col_idx[e]];
            col[A->col_idx[e]] += fabs(A->values[e]);
        }
        r += fabs(ri);
    }
    double an = 0;
    for (size_t j = 0; j < n; j++)
        an = col[j] > an ? col[j] : an;
    th_free(col);
    double q = r / (an * th_norm1(x, n));
    return isnan(q) ? INFINITY : q;
}

double th_residual_bound(double eps_a, size_t w, size_t n) {
    double g = th_gamma((double)w + 1);
    return (eps_a + g * (2 + eps_a)) * (1 + th_gamma(3 * (double)n + 3));
}

double th_central_difference_bound(double h, double m3, double f_err, double f1, double xmax,
                                   double vmax) {
    double g2 = th_gamma(2);
    double exact = h * h / 6 * m3 + (f_err + f1 * TH_U * (xmax + h * vmax)) / h;
    return exact * (1 + g2) + g2 * f1 * vmax;
}

struct th_coupling th_coupling_of(const struct db_instance *in) {
    struct th_coupling c = {1, 1, 1, 1};
    if (in->wl->structure == DB_STRUCT_DIAGONAL) return c; /* C = I */
    size_t n = in->n;
    struct db_sparse *P = th_sparse();
    cr_assert_eq(db_instance_pattern(in, P), DB_OK);
    double *cs = th_calloc(n, sizeof *cs);
    size_t *cn = th_calloc(n, sizeof *cn);
    c = (struct th_coupling){0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        double rs = 0;
        for (size_t e = P->row_ptr[i]; e < P->row_ptr[i + 1]; e++) {
            size_t j = P->col_idx[e];
            double a = fabs(db_coupling_coef(in, i, j));
            rs += a;
            cs[j] += a;
            cn[j]++;
        }
        size_t rn = P->row_ptr[i + 1] - P->row_ptr[i];
        c.row_sum = rs > c.row_sum ? rs : c.row_sum;
        c.row_nnz = rn > c.row_nnz ? rn : c.row_nnz;
    }
    for (size_t j = 0; j < n; j++) {
        c.col_sum = cs[j] > c.col_sum ? cs[j] : c.col_sum;
        c.col_nnz = cn[j] > c.col_nnz ? cn[j] : c.col_nnz;
    }
    th_free(cs), th_free(cn), th_free(P);
    return c;
}

int th_argv(const char *const *args, const char **argv, int max) {
    int n = 0;
    argv[n++] = th_binary();
    for (int i = 0; args[i] && n < max - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return n;
}
