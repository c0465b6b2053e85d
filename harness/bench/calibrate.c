#include "harness/bench/calibrate.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workloads/reference.h"
#include "harness/bench/ceiling.h"
#include "harness/bench/gbench.h"

#pragma omp declare simd notinbranch
double sin(double);
#pragma omp declare simd notinbranch
double cos(double);

double db_gbytes_per_s(double bytes, double seconds) {
    return seconds > 0 ? bytes / seconds * 1e-9 : NAN;
}

/* The bare loops: y = cos(x), y = sin(x), and y = cos(x) * v -- the last reads a tangent
 * vector as a JVP must (three memory streams instead of two: once the vectors leave the cache,
 * that extra stream, not the libm call, sets the speed). */
enum loop_kind { LOOP_COS, LOOP_SIN, LOOP_COS_JVP };

struct loop_arg {
    size_t n;
    const double *x, *v;
    double *y;
    enum loop_kind kind;
};

static int loop_body(void *p) {
    struct loop_arg *a = p;
    const double *restrict x = a->x;
    double *restrict y = a->y;
    const double *restrict v = a->v;
    size_t n = a->n;
    switch (a->kind) {
    case LOOP_SIN:
#pragma omp parallel for simd schedule(static) if (n >= DB_PAR_MIN)
        for (size_t i = 0; i < n; i++)
            y[i] = sin(x[i]);
        break;
    case LOOP_COS:
#pragma omp parallel for simd schedule(static) if (n >= DB_PAR_MIN)
        for (size_t i = 0; i < n; i++)
            y[i] = cos(x[i]);
        break;
    case LOOP_COS_JVP:
#pragma omp parallel for simd schedule(static) if (n >= DB_PAR_MIN)
        for (size_t i = 0; i < n; i++)
            y[i] = cos(x[i]) * v[i];
        break;
    }
    return DB_OK;
}

struct buf_arg {
    size_t count; /* doubles */
    double *dst;
    const double *src;
};

static int memset_body(void *p) {
    struct buf_arg *a = p;
    db_fill_memset(a->dst, a->count);
    return DB_OK;
}

static int nt_fill_body(void *p) {
    struct buf_arg *a = p;
    db_fill_nontemporal(a->dst, a->count);
    return DB_OK;
}

static int copy_body(void *p) {
    struct buf_arg *a = p;
#pragma omp parallel
    {
        size_t lo, hi;
        db_fill_slice(a->count, &lo, &hi);
        memcpy(a->dst + lo, a->src + lo, (hi - lo) * sizeof(double));
    }
    return DB_OK;
}

static int empty_body(void *p) {
    (void)p;
    return DB_OK;
}

static void finish(struct db_calibration *c, const struct db_bench_result *br, double err) {
    c->r.iterations = br->iterations;
    db_cell_result_times(&c->r, br->rep_seconds, br->reps);
    c->r.ns_per_element = c->r.t.median / (double)c->n * 1e9;
    c->r.max_abs_err = err;
    snprintf(c->r.status, sizeof c->r.status, "ok");
}

static void fail(struct db_calibration *c, const char *status, const char *note) {
    db_cell_result_set(&c->r, status, "%s", note);
}

static void init(struct db_calibration *c, const char *kernel, size_t n, double bytes) {
    memset(c, 0, sizeof *c);
    c->kernel = kernel;
    c->n = n;
    c->bytes = bytes;
    db_cell_result_init(&c->r);
}

static void time_loop(const struct db_run_opts *o, struct db_calibration *c, size_t n,
                      enum loop_kind kind) {
    static const char *const names[] = {"cos_loop", "sin_loop", "cos_jvp_loop"};
    init(c, names[kind], n, 0);
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *ref = malloc(n * sizeof *ref);
    double *v = kind == LOOP_COS_JVP ? malloc(n * sizeof *v) : NULL;
    if (!x || !y || !ref || (kind == LOOP_COS_JVP && !v)) {
        fail(c, "error", "out of memory");
    } else {
        db_default_point(n, x);
        for (size_t i = 0; v && i < n; i++)
            v[i] = 1.0; /* the probe's tangent */
        struct loop_arg a = {n, x, v, y, kind};
        struct db_bench_config cfg = {.reps = o->reps, .min_time_s = o->min_time_s};
        struct db_bench_result br;
        loop_body(&a); /* first touch and warm-up */
        if (db_gbench_run(c->kernel, loop_body, &a, &cfg, &br) != DB_OK) {
            fail(c, "error", br.message);
        } else {
            /* reference with scalar libm, from a TU without SIMD declarations */
            (kind == LOOP_SIN ? db_reference_sin : db_reference_sin_deriv)(n, x, ref);
            finish(c, &br, db_max_abs_diff(y, ref, n)); /* a NaN never passes */
        }
        db_bench_result_free(&br);
    }
    free(x), free(y), free(ref), free(v);
}

enum buffer_kind { BUF_MEMSET, BUF_NT_FILL, BUF_COPY };

static void time_buffer(const struct db_run_opts *o, struct db_calibration *c, size_t count,
                        enum buffer_kind kind) {
    static const char *const names[] = {"memset", "nt_fill", "copy"};
    static int (*const bodies[])(void *) = {memset_body, nt_fill_body, copy_body};
    int copy = kind == BUF_COPY;
    double bytes = (copy ? 2.0 : 1.0) * (double)count * sizeof(double);
    init(c, names[kind], count, bytes);
    if (o->mem_budget && (copy ? 2 : 1) * count * sizeof(double) > o->mem_budget) {
        fail(c, "skipped_memory", "buffer exceeds the memory budget");
        return;
    }
    double *dst = malloc(count * sizeof *dst), *src = copy ? malloc(count * sizeof *src) : NULL;
    if (!dst || (copy && !src)) {
        fail(c, "error", "out of memory");
    } else {
        struct buf_arg a = {count, dst, src};
        if (copy) {
#pragma omp parallel
            {
                size_t lo, hi;
                db_fill_slice(count, &lo, &hi);
                for (size_t i = lo; i < hi; i++)
                    src[i] = (double)i;
            }
        }
        bodies[kind](&a); /* first touch by the same threads */
        struct db_bench_config cfg = {.reps = o->reps, .min_time_s = o->min_time_s};
        struct db_bench_result br;
        if (db_gbench_run(c->kernel, bodies[kind], &a, &cfg, &br) != DB_OK) {
            fail(c, "error", br.message);
        } else {
            double err = 0;
            for (size_t i = 0; i < count; i++)
                err = fmax(err, fabs(dst[i] - (copy ? (double)i : db_fill_value())));
            finish(c, &br, err);
        }
        db_bench_result_free(&br);
    }
    free(dst), free(src);
}

static void time_wrapper(const struct db_run_opts *o, struct db_calibration *c, long long batch) {
    init(c, batch > 1 ? "wrapper_batched" : "wrapper", 1, 0);
    struct db_bench_config cfg = {.reps = o->reps, .min_time_s = o->min_time_s, .batch = batch};
    struct db_bench_result br;
    if (db_gbench_run(c->kernel, empty_body, NULL, &cfg, &br) != DB_OK)
        fail(c, "error", br.message);
    else
        finish(c, &br, 0);
    db_bench_result_free(&br);
}

static void time_native(const struct db_run_opts *o, struct db_calibration *c) {
    init(c, "native_gbench", 1, 0);
    double s;
    if (db_gbench_native_empty(o->reps, o->min_time_s, &s) != DB_OK) {
        fail(c, "error", "Google Benchmark's native loop failed");
        return;
    }
    struct db_bench_result br = {.reps = 1, .rep_seconds = &s, .iterations = 0};
    finish(c, &br, 0);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A plain C loop: the body through a volatile function pointer, timed with clock_gettime. */
static void time_plain(const struct db_run_opts *o, struct db_calibration *c) {
    init(c, "plain_loop", 1, 0);
    int (*volatile body)(void *) = empty_body;
    double *t = malloc((size_t)o->reps * sizeof *t);
    if (!t) {
        fail(c, "error", "out of memory");
        return;
    }
    long long iters = 1000;
    for (;;) { /* grow until one repetition lasts min_time */
        double t0 = now();
        for (long long i = 0; i < iters; i++)
            body(NULL);
        if (now() - t0 >= o->min_time_s || iters > (1ll << 40)) break;
        iters *= 4;
    }
    for (int r = 0; r < o->reps; r++) {
        double t0 = now();
        for (long long i = 0; i < iters; i++)
            body(NULL);
        t[r] = (now() - t0) / (double)iters;
    }
    struct db_bench_result br = {.reps = o->reps, .rep_seconds = t, .iterations = iters};
    finish(c, &br, 0);
    free(t);
}

/* The kernels by name: each times itself at n (elements, or ignored by the overhead kernels). */
static void k_cos_loop(const struct db_run_opts *o, struct db_calibration *c, size_t n) {
    time_loop(o, c, n, LOOP_COS);
}
static void k_sin_loop(const struct db_run_opts *o, struct db_calibration *c, size_t n) {
    time_loop(o, c, n, LOOP_SIN);
}
static void k_cos_jvp_loop(const struct db_run_opts *o, struct db_calibration *c, size_t n) {
    time_loop(o, c, n, LOOP_COS_JVP);
}
static void k_memset(const struct db_run_opts *o, struct db_calibration *c, size_t n) {
    time_buffer(o, c, n, BUF_MEMSET);
}
static void k_nt_fill(const struct db_run_opts *o, struct db_calibration *c, size_t n) {
    time_buffer(o, c, n, BUF_NT_FILL);
}
static void k_copy(const struct db_run_opts *o, struct db_calibration *c, size_t n) {
    time_buffer(o, c, n, BUF_COPY);
}
static void k_wrapper(const struct db_run_opts *o, struct db_calibration *c, size_t n) {
    (void)n;
    time_wrapper(o, c, 1);
}
static void k_wrapper_batched(const struct db_run_opts *o, struct db_calibration *c, size_t n) {
    (void)n;
    time_wrapper(o, c, 1000);
}
static void k_native(const struct db_run_opts *o, struct db_calibration *c, size_t n) {
    (void)n;
    time_native(o, c);
}
static void k_plain(const struct db_run_opts *o, struct db_calibration *c, size_t n) {
    (void)n;
    time_plain(o, c);
}

static const struct kernel {
    const char *name;
    void (*run)(const struct db_run_opts *o, struct db_calibration *c, size_t n);
} kernels[] = {
    {"cos_loop", k_cos_loop},         {"sin_loop", k_sin_loop},
    {"cos_jvp_loop", k_cos_jvp_loop}, {"memset", k_memset},
    {"nt_fill", k_nt_fill},           {"copy", k_copy},
    {"wrapper", k_wrapper},           {"wrapper_batched", k_wrapper_batched},
    {"native_gbench", k_native},      {"plain_loop", k_plain},
};

static const struct kernel *kernel_find(const char *name) {
    for (size_t i = 0; name && i < sizeof kernels / sizeof *kernels; i++)
        if (strcmp(kernels[i].name, name) == 0) return &kernels[i];
    return NULL;
}

static void run_kernel(const struct db_run_opts *o, const char *name, size_t n,
                       struct db_calibration *c) {
    const struct kernel *k = kernel_find(name);
    if (k) {
        k->run(o, c, n);
        return;
    }
    init(c, name, n, 0);
    fail(c, "error", "unknown calibration kernel");
}

int db_calibration_cell_run(const struct db_cell *cell, const struct db_run_opts *o,
                            struct db_cell_result *r) {
    if (!r) return DB_E_INVALID;
    struct db_calibration c;
    run_kernel(o, cell->kernel, cell->n, &c);
    *r = c.r;
    return DB_OK;
}

size_t db_calibration_count(size_t nsizes) {
    return DB_CALIBRATION_FIXED + 2 * nsizes;
}

int db_calibrate(const struct db_run_opts *o, size_t loop_n, const size_t *matrix_ns, size_t nsizes,
                 struct db_calibration *out, size_t *count) {
    size_t k = 0, copy_n = 0;
    run_kernel(o, "cos_loop", loop_n, &out[k++]);
    run_kernel(o, "sin_loop", loop_n, &out[k++]);
    run_kernel(o, "cos_jvp_loop", loop_n, &out[k++]);
    for (size_t i = 0; i < nsizes; i++) {
        run_kernel(o, "memset", matrix_ns[i] * matrix_ns[i], &out[k++]);
        run_kernel(o, "nt_fill", matrix_ns[i] * matrix_ns[i], &out[k++]);
        copy_n = matrix_ns[i] > copy_n ? matrix_ns[i] : copy_n;
    }
    if (!copy_n) copy_n = DB_CALIBRATION_DEFAULT_N;
    run_kernel(o, "copy", copy_n * copy_n, &out[k++]);
    static const char *const overhead[] = {"wrapper", "wrapper_batched", "native_gbench",
                                           "plain_loop"};
    for (size_t i = 0; i < 4; i++)
        run_kernel(o, overhead[i], 1, &out[k++]);
    *count = k;
    return DB_OK;
}
