/* Workload instances, counted dispatch through the batching rule, and the registry. */
#include "workloads/workload.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const struct db_workload db_workload_sin, db_workload_split, db_workload_seqsin,
    db_workload_nobatch, db_workload_liar, db_workload_tridiag, db_workload_banded,
    db_workload_stencil, db_workload_randsparse, db_workload_remote, db_workload_remote_vec,
    db_workload_remote_nobatch, db_workload_worker;

const struct db_workload *const db_workloads[] = {
    &db_workload_sin,     &db_workload_split,      &db_workload_seqsin,
    &db_workload_nobatch, &db_workload_liar,       &db_workload_tridiag,
    &db_workload_banded,  &db_workload_stencil,    &db_workload_randsparse,
    &db_workload_remote,  &db_workload_remote_vec, &db_workload_remote_nobatch,
};
const size_t db_workload_count = sizeof db_workloads / sizeof db_workloads[0];

const struct db_workload *db_workload_find(const char *name) {
    for (size_t i = 0; i < db_workload_count; i++)
        if (strcmp(db_workloads[i]->name, name) == 0) return db_workloads[i];
    return strcmp(name, db_workload_worker.name) == 0 ? &db_workload_worker : NULL;
}

const char *db_batch_name(enum db_batch b) {
    switch (b) {
    case DB_BATCH_VECTORISED:
        return "vectorised";
    case DB_BATCH_SEQUENTIAL:
        return "sequential";
    case DB_BATCH_NONE:
        return "none";
    }
    return "?";
}

const char *db_structure_name(enum db_structure s) {
    switch (s) {
    case DB_STRUCT_DIAGONAL:
        return "diagonal";
    case DB_STRUCT_TRIDIAGONAL:
        return "tridiagonal";
    case DB_STRUCT_DENSE:
        return "dense";
    case DB_STRUCT_BANDED:
        return "banded";
    case DB_STRUCT_SPARSE:
        return "sparse";
    }
    return "?";
}

enum db_structure db_workload_tag_structure(const struct db_workload *wl) {
    return wl->claim == DB_CLAIM_DIAGONAL ? DB_STRUCT_DIAGONAL : wl->structure;
}

size_t db_workload_fit_size(const struct db_workload *wl, size_t n) {
    return wl->ops.fit_size ? wl->ops.fit_size(n) : (n ? n : 1);
}

void db_default_point(size_t n, double *x) {
    /* Golden-ratio low-discrepancy sequence: deterministic, spread, no two entries equal. */
    const double phi = 0.6180339887498949;
    for (size_t i = 0; i < n; i++) {
        double f = (double)(i + 1) * phi;
        f -= (double)(unsigned long long)f;
        x[i] = -4.0 + 8.0 * f;
    }
}

int db_instance_create(const struct db_workload *wl, size_t n, double call_cost_s,
                       struct db_instance **out) {
    return db_instance_create_with(wl, n, call_cost_s, NULL, out);
}

int db_instance_create_with(const struct db_workload *wl, size_t n, double call_cost_s,
                            const struct db_workload_params *params, struct db_instance **out) {
    if (!wl || n == 0 || !out) return DB_E_INVALID;
    if (params && params->band_set && (params->lower > DB_MAX_BAND || params->upper > DB_MAX_BAND))
        return DB_E_INVALID;
    struct db_instance *in = calloc(1, sizeof *in);
    if (!in) return DB_E_NOMEM;
    in->x = malloc(n * sizeof *in->x);
    if (!in->x) {
        free(in);
        return DB_E_NOMEM;
    }
    in->wl = wl;
    in->n = n;
    in->call_cost_s = call_cost_s < 0 ? wl->default_call_cost_s : call_cost_s;
    atomic_init(&in->calls, 0);
    atomic_init(&in->tangents, 0);
    in->lower = wl->lower;
    in->upper = wl->upper;
    if (params && params->band_set && wl->band_option) {
        in->lower = params->lower;
        in->upper = params->upper;
    }
    if (params) {
        in->remote_transport = params->remote_transport;
        in->remote_encoding = params->remote_encoding;
        in->remote_timeout_ms = params->remote_timeout_ms;
        in->worker_cmd = params->worker_cmd;
        in->worker_cpus = params->worker_cpus;
        in->worker_threads = params->worker_threads;
    }
    db_default_point(n, in->x);
    if (wl->ops.setup) {
        int rc = wl->ops.setup(in);
        if (rc != DB_OK) {
            free(in->x);
            free(in);
            return rc;
        }
    }
    *out = in;
    return DB_OK;
}

void db_instance_destroy(struct db_instance *in) {
    if (!in) return;
    if (in->wl->ops.teardown) in->wl->ops.teardown(in);
    free(in->x);
    free(in);
}

unsigned long long db_instance_calls(const struct db_instance *in) {
    return atomic_load_explicit(&in->calls, memory_order_relaxed);
}

void db_instance_reset_calls(struct db_instance *in) {
    atomic_store_explicit(&in->calls, 0, memory_order_relaxed);
    atomic_store_explicit(&in->tangents, 0, memory_order_relaxed);
    in->write_path[0] = '\0';
}

unsigned long long db_instance_tangents(const struct db_instance *in) {
    return atomic_load_explicit(&in->tangents, memory_order_relaxed);
}

static void count_tangents(struct db_instance *in, unsigned long long k) {
    atomic_fetch_add_explicit(&in->tangents, k, memory_order_relaxed);
}

void db_instance_count_calls(struct db_instance *in, unsigned long long k) {
    atomic_fetch_add_explicit(&in->calls, k, memory_order_relaxed);
    count_tangents(in, k);
}

const char *db_instance_error(const struct db_instance *in) {
    return in->error;
}

void db_spin(double seconds) {
    if (seconds <= 0) return;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((double)(t.tv_sec - t0.tv_sec) + 1e-9 * (double)(t.tv_nsec - t0.tv_nsec) < seconds);
}

/* TEST ONLY (--plant-work-ns): busy work every primitive call pays on top of its own cost,
 * inside the timed region, so that scripts/ab_study.sh can plant a known slowdown in any
 * workload's cells. Set once before any cell runs, read-only afterwards. */
static double plant_work_s;

void db_set_plant_work(double seconds) {
    plant_work_s = seconds > 0 ? seconds : 0;
}

/* Account for one single primitive call. */
static void single_call(struct db_instance *in) {
    atomic_fetch_add_explicit(&in->calls, 1, memory_order_relaxed);
    db_spin(in->call_cost_s + plant_work_s);
}

int db_instance_eval(struct db_instance *in, const double *x, double *y) {
    if (!in->wl->ops.eval) return DB_E_UNSUPPORTED;
    single_call(in);
    return in->wl->ops.eval(in, x, y);
}

int db_instance_jvp(struct db_instance *in, const double *x, const double *v, double *out) {
    if (!in->wl->ops.jvp) return DB_E_UNSUPPORTED;
    single_call(in);
    count_tangents(in, 1);
    return in->wl->ops.jvp(in, x, v, out);
}

int db_instance_vjp(struct db_instance *in, const double *x, const double *w, double *out) {
    if (!in->wl->ops.vjp) return DB_E_UNSUPPORTED;
    single_call(in);
    count_tangents(in, 1);
    return in->wl->ops.vjp(in, x, w, out);
}

typedef int (*single_fn)(struct db_instance *, const double *, const double *, double *);
typedef int (*batch_fn)(const struct db_instance *, const double *, const double *, size_t, size_t,
                        double *, size_t);

/* Apply the workload's batching rule to k tangents. */
static int batched(struct db_instance *in, single_fn single, batch_fn vectorised, const double *x,
                   const double *V, size_t ldv, size_t k, double *out, size_t ldo) {
    if (ldv < in->n || ldo < in->n) return DB_E_INVALID;
    switch (in->wl->batch) {
    case DB_BATCH_VECTORISED:
        if (!vectorised) return DB_E_UNSUPPORTED;
        single_call(in);
        count_tangents(in, k);
        return vectorised(in, x, V, ldv, k, out, ldo);
    case DB_BATCH_SEQUENTIAL:
        for (size_t j = 0; j < k; j++)
            DB_CHECK(single(in, x, V + j * ldv, out + j * ldo));
        return DB_OK;
    case DB_BATCH_NONE:
        return DB_E_UNSUPPORTED;
    }
    return DB_E_INTERNAL;
}

int db_instance_jvp_batch(struct db_instance *in, const double *x, const double *V, size_t ldv,
                          size_t k, double *out, size_t ldo) {
    return batched(in, db_instance_jvp, in->wl->ops.jvp_batch, x, V, ldv, k, out, ldo);
}

int db_instance_vjp_batch(struct db_instance *in, const double *x, const double *W, size_t ldw,
                          size_t k, double *out, size_t ldo) {
    return batched(in, db_instance_vjp, in->wl->ops.vjp_batch, x, W, ldw, k, out, ldo);
}

int db_instance_reference_diagonal(const struct db_instance *in, double *diag) {
    if (!in->wl->ops.reference_diagonal) return DB_E_UNSUPPORTED;
    return in->wl->ops.reference_diagonal(in, in->x, diag);
}

int db_instance_root_distance(const struct db_instance *in, const double *x, double *dist) {
    if (!in->wl->ops.root_distance) return DB_E_UNSUPPORTED;
    return in->wl->ops.root_distance(in, x, dist);
}

int db_instance_pattern(const struct db_instance *in, struct db_sparse *P) {
    if (in->wl->ops.pattern) return in->wl->ops.pattern(in, P);
    if (in->wl->structure != DB_STRUCT_DIAGONAL) return DB_E_UNSUPPORTED;
    return db_sparse_band(in->n, 0, 0, 0, P);
}

int db_instance_reference_entries(const struct db_instance *in, struct db_sparse *A) {
    if (!A->values || A->n != in->n) return DB_E_INVALID;
    if (in->wl->ops.reference_entries) return in->wl->ops.reference_entries(in, in->x, A);
    if (in->wl->structure != DB_STRUCT_DIAGONAL) return DB_E_UNSUPPORTED;
    double *d = malloc(in->n * sizeof *d);
    if (!d) return DB_E_NOMEM;
    int rc = db_instance_reference_diagonal(in, d);
    for (size_t i = 0; rc == DB_OK && i < A->n; i++)
        for (size_t e = A->row_ptr[i]; e < A->row_ptr[i + 1]; e++)
            A->values[e] = A->col_idx[e] == i ? d[i] : 0.0;
    free(d);
    return rc;
}

size_t db_instance_row_nnz_bound(const struct db_instance *in) {
    size_t b = in->wl->row_nnz_max ? in->wl->row_nnz_max : in->lower + in->upper + 1;
    return b < in->n ? b : in->n;
}

int db_workload_pattern_by_name(const char *name, size_t n, struct db_sparse *P) {
    const struct db_workload *wl = name ? db_workload_find(name) : NULL;
    if (!wl) return DB_E_INVALID;
    struct db_instance *in;
    DB_CHECK(db_instance_create(wl, n, 0, &in));
    int rc = db_instance_pattern(in, P);
    db_instance_destroy(in);
    return rc;
}
