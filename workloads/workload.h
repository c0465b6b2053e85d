/* Workloads: a primitive with its derivatives, batching rule, true structure and an exact
 * reference diagonal. A workload is a const table; an instance binds it to a size, a point and
 * a call counter. Every primitive call made through db_instance_* is counted. */
#ifndef DB_WORKLOAD_H
#define DB_WORKLOAD_H

#include <stdatomic.h>
#include <stddef.h>

#include "core/sparse.h"
#include "core/status.h"

/* How the primitive batches over k tangents. */
enum db_batch {
    DB_BATCH_VECTORISED, /* one call handles k tangents */
    DB_BATCH_SEQUENTIAL, /* a batched call is a loop of k single calls, each paying call_cost_s */
    DB_BATCH_NONE,       /* no batching rule: batched calls return DB_E_UNSUPPORTED */
};

/* True sparsity structure of the workload's Jacobian. BANDED has the instance's bandwidths
 * (lower, upper); SPARSE has a known CSR pattern (the workload's pattern op). */
enum db_structure {
    DB_STRUCT_DIAGONAL,
    DB_STRUCT_TRIDIAGONAL,
    DB_STRUCT_DENSE,
    DB_STRUCT_BANDED,
    DB_STRUCT_SPARSE,
};

/* What the user claims about the structure when tagging the operator: the truth, or (for a
 * deliberately mis-tagged workload such as liar) "diagonal" whatever the truth is. */
enum db_claim { DB_CLAIM_TRUE, DB_CLAIM_DIAGONAL };

struct db_instance;

/* Elements below which a kernel's single call stays serial (a fork/join costs more). The
 * calibration's bare loops use the same threshold, so they compare like with like. */
enum { DB_PAR_MIN = 1 << 15 };

/* Kernels. x is the primal point (length n). Single calls take length-n vectors; batched calls
 * take k tangents as the columns of a column-major n-by-k array with leading dimension ldv and
 * write k outputs as columns with leading dimension ldo. */
struct db_workload_ops {
    int (*eval)(const struct db_instance *in, const double *x, double *y);
    int (*jvp)(const struct db_instance *in, const double *x, const double *v, double *out);
    int (*vjp)(const struct db_instance *in, const double *x, const double *w, double *out);
    int (*jvp_batch)(const struct db_instance *in, const double *x, const double *V, size_t ldv,
                     size_t k, double *out, size_t ldo);
    int (*vjp_batch)(const struct db_instance *in, const double *x, const double *W, size_t ldw,
                     size_t k, double *out, size_t ldo);
    /* Exact diagonal of J(x), computed with scalar libm, independently of the kernels above. */
    int (*reference_diagonal)(const struct db_instance *in, const double *x, double *diag);
    /* Optional: dist[i] = distance from x[i] to the nearest root of f_i (scalar libm, exact
     * multiples of pi), for checking root finds; +inf for a non-finite x[i]. */
    int (*root_distance)(const struct db_instance *in, const double *x, double *dist);

    /* Optional (structured workloads). Build / free per-instance state in in->state; setup
     * returns DB_E_UNSUPPORTED when n does not fit the workload (see size_rule). */
    int (*setup)(struct db_instance *in);
    void (*teardown)(struct db_instance *in);
    /* Nearest size the workload accepts (NULL: every n >= 1). */
    size_t (*fit_size)(size_t n);
    /* The true sparsity pattern of J (CSR, ascending columns, values NULL). NULL: diagonal. */
    int (*pattern)(const struct db_instance *in, struct db_sparse *P);
    /* Exact J(x)[i, j] for every entry of A's pattern (0 outside the true pattern), with scalar
     * libm, independently of the kernels. NULL: only for diagonal workloads (uses the reference
     * diagonal). */
    int (*reference_entries)(const struct db_instance *in, const double *x, struct db_sparse *A);
};

struct db_workload {
    const char *name;
    const char *description;
    enum db_batch batch;
    enum db_structure structure;
    double default_call_cost_s; /* per-call cost paid by every primitive call (0 = none) */
    struct db_workload_ops ops;
    const void *data;      /* kernel-family private data */
    enum db_claim claim;   /* the structure the operator is tagged with (default: the truth) */
    size_t lower, upper;   /* default bandwidths (banded structures; 0 otherwise) */
    int band_option;       /* --band L,U sets lower and upper */
    size_t row_nnz_max;    /* bound on non-zeros per row of J (0: lower + upper + 1) */
    const char *size_rule; /* the sizes fit_size accepts, for messages (NULL: any n >= 1) */
    int streams;           /* batched kernels honour stream_outputs (non-temporal stores) */
    double round_trip_s;   /* modelled cost of one call's round trip to a worker process (remote
                              workloads; 0 = none): the cost model's price, not a busy-wait */
};

/* Instance parameters (NULL or zeroed: the workload's defaults). */
struct db_workload_params {
    int band_set;        /* apply lower/upper (only to workloads with band_option) */
    size_t lower, upper; /* bandwidths, at most DB_MAX_BAND each */
    /* remote workloads (workloads/remote.h): enum db_remote_transport / db_remote_encoding and
     * the per-call timeout in ms (0: the default) */
    int remote_transport, remote_encoding, remote_timeout_ms;
    /* the worker workload (workloads/worker.h): --worker, --worker-cpus (NULL: none) and
     * --worker-threads (0: not set); the strings must outlive the instance */
    const char *worker_cmd, *worker_cpus;
    int worker_threads;
};

#define DB_MAX_BAND 256

/* Room for a write path, "stream/" and any block width (operators/blocks.h). */
#define DB_WRITE_PATH_LEN 32

/* A workload bound to a size n, a point x and counters. */
struct db_instance {
    const struct db_workload *wl;
    size_t n;
    double call_cost_s; /* busy-wait paid by each single primitive call */
    double *x;          /* the point at which the Jacobian is taken (owned) */
    atomic_ullong calls;
    /* Hint from the caller: outputs of batched calls will not be re-read soon, so kernels may
     * use non-temporal (streaming) stores (set by materialise from its planned write path). */
    int stream_outputs;
    char write_path[DB_WRITE_PATH_LEN]; /* how the last materialisation wrote its matrix ("" if
                                           none) */
    atomic_ullong tangents; /* tangent vectors pushed through JVPs/VJPs (k per batch of k) */
    size_t lower, upper;    /* bandwidths of a banded workload (0 otherwise) */
    void *state;            /* workload-private state built by ops.setup (owned) */
    int remote_transport, remote_encoding, remote_timeout_ms; /* from the params (remote.h) */
    const char *worker_cmd, *worker_cpus;                     /* from the params (worker.h) */
    int worker_threads;
    char error[400]; /* why the last failed call failed, one line ("" if none; remote.h) */
};

/* Registry of the built-in workloads, in --list order (what -w selects by default). */
extern const struct db_workload *const db_workloads[];
extern const size_t db_workload_count;
/* The external worker (workloads/worker.h): not in the registry (it needs --worker), found by
 * name. */
extern const struct db_workload db_workload_worker;

/* Look a workload up by name (the registry's or "worker"); NULL when unknown. */
const struct db_workload *db_workload_find(const char *name);

/* Name of a batching kind / structure ("vectorised", "diagonal", ...). */
const char *db_batch_name(enum db_batch b);
const char *db_structure_name(enum db_structure s);

/* Create an instance of size n (n >= 1) at the default point. call_cost_s < 0 selects the
 * workload's default per-call cost. DB_E_UNSUPPORTED when n does not fit the workload. */
int db_instance_create(const struct db_workload *wl, size_t n, double call_cost_s,
                       struct db_instance **out);
/* Same, with instance parameters (bandwidths); DB_E_INVALID for a bandwidth above DB_MAX_BAND. */
int db_instance_create_with(const struct db_workload *wl, size_t n, double call_cost_s,
                            const struct db_workload_params *params, struct db_instance **out);
void db_instance_destroy(struct db_instance *in);

/* The structure the workload's operator is tagged with (its claim, not necessarily the truth). */
enum db_structure db_workload_tag_structure(const struct db_workload *wl);
/* n when the workload accepts it, else the nearest size it accepts. */
size_t db_workload_fit_size(const struct db_workload *wl, size_t n);

/* Fill x with the deterministic default point (values spread over [-4, 4)). */
void db_default_point(size_t n, double *x);

/* Primitive calls made so far, and reset (resets the tangent count too). */
unsigned long long db_instance_calls(const struct db_instance *in);
void db_instance_reset_calls(struct db_instance *in);
/* Tangent (probe) vectors applied so far: 1 per single JVP/VJP or counted product, k per batch. */
unsigned long long db_instance_tangents(const struct db_instance *in);

/* Count k primitive calls made outside the workload's kernels (e.g. a stored matrix's product);
 * each applies one tangent vector. */
void db_instance_count_calls(struct db_instance *in, unsigned long long k);

/* Single primitive calls: each counts 1 and pays the per-call cost. */
int db_instance_eval(struct db_instance *in, const double *x, double *y);
int db_instance_jvp(struct db_instance *in, const double *x, const double *v, double *out);
int db_instance_vjp(struct db_instance *in, const double *x, const double *w, double *out);

/* Batched calls through the workload's batching rule: vectorised = 1 call; sequential = k single
 * calls; none = DB_E_UNSUPPORTED (nothing counted). Safe to call from several threads. */
int db_instance_jvp_batch(struct db_instance *in, const double *x, const double *V, size_t ldv,
                          size_t k, double *out, size_t ldo);
int db_instance_vjp_batch(struct db_instance *in, const double *x, const double *W, size_t ldw,
                          size_t k, double *out, size_t ldo);

/* Exact reference diagonal at the instance's point (not counted). */
int db_instance_reference_diagonal(const struct db_instance *in, double *diag);

/* Distance of each x[i] to the nearest root of f_i (sin: k*pi; cos: k*pi + pi/2), not counted.
 * DB_E_UNSUPPORTED when the workload does not know its roots. */
int db_instance_root_distance(const struct db_instance *in, const double *x, double *dist);
/* The true pattern of J (the diagonal for workloads without a pattern op); P is allocated. */
int db_instance_pattern(const struct db_instance *in, struct db_sparse *P);
/* Exact J[i, j] at the instance's point for every entry of A's pattern (A has values). */
int db_instance_reference_entries(const struct db_instance *in, struct db_sparse *A);
/* Bound on the non-zeros in a row of J. */
size_t db_instance_row_nnz_bound(const struct db_instance *in);

/* Why the workload's last failed call failed, one line ("" when it has not said). */
const char *db_instance_error(const struct db_instance *in);

/* Busy-wait for the given number of seconds (models an FFI / host round trip). */
void db_spin(double seconds);

/* TEST ONLY (--plant-work-ns): every primitive call of every instance also spins this long. */
void db_set_plant_work(double seconds);

#endif
