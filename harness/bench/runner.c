#include "harness/bench/runner.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness/env/memory.h"
#include "harness/bench/ceiling.h"
#include "harness/bench/gbench.h"
#include "harness/bench/repeat.h"
#include "workloads/worker.h"
#include "workloads/workload.h"

struct timed {
    int (*body)(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx);
    struct db_operator *op;
    double *diag;
    struct db_strategy_ctx *ctx;
    unsigned long long bodies; /* extractions run (a worker's compute time is per extraction) */
};

/* TEST ONLY (--plant-work-pct): after each extraction, inside the timed region, busy work for
 * this fraction of the extraction's own duration (measured around it with two clock reads, the
 * only extra cost: about 20-50 ns, so the planted slowdown is P% to within 2% for extractions of
 * 2.5 us and more). Set once before any cell runs. */
static double plant_fraction;

void db_set_plant_work_pct(double pct) {
    plant_fraction = pct > 0 ? pct / 100 : 0;
}

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int timed_body(void *arg) {
    struct timed *t = arg;
    double t0 = plant_fraction > 0 ? seconds_now() : 0;
    int rc = t->body(t->op, t->diag, t->ctx);
    t->bodies++;
    if (plant_fraction > 0) db_spin((seconds_now() - t0) * plant_fraction);
    db_gbench_do_not_optimize(t->diag);
    if (t->ctx->extracted) db_gbench_do_not_optimize(t->ctx->extracted->values);
    return rc;
}

unsigned long long db_cell_bytes(const struct db_cell *c) {
    return 4ull * c->n * sizeof(double) + db_operator_setup_bytes(c->op_kind, c->n);
}

static const char *cell_status_for(int rc) {
    return rc == DB_E_UNSUPPORTED ? "unsupported" : "error";
}

/* Largest error of the extracted entries against the exact reference Jacobian. *ref is the
 * reference on A's pattern, built on first use and kept for the check after timing. */
static int extracted_error(const struct db_instance *in, const struct db_sparse *A,
                           struct db_sparse *ref, double *err) {
    if (!ref->row_ptr) {
        DB_CHECK(db_sparse_copy_pattern(A, 1, ref));
        DB_CHECK(db_instance_reference_entries(in, ref));
    }
    if (ref->n != A->n || db_sparse_nnz(ref) != db_sparse_nnz(A)) return DB_E_INTERNAL;
    *err = db_max_abs_diff(A->values, ref->values, db_sparse_nnz(A));
    return DB_OK;
}

/* Fewest probe vectors that can recover the workload's true Jacobian by direct recovery: the
 * most non-zeros in a row of J for JVPs (columns probed), in a column for VJPs (jac=bwd: rows
 * probed); -1 when the pattern is unknown. */
static long long true_lower_bound(const struct db_instance *in, enum db_jac jac) {
    struct db_sparse P = {0}, PT = {0};
    if (db_instance_pattern(in, &P) != DB_OK) return -1;
    long long b = -1;
    if (jac != DB_JAC_BWD)
        b = (long long)db_sparse_max_row_nnz(&P);
    else if (db_sparse_transpose(&P, &PT) == DB_OK)
        b = (long long)db_sparse_max_row_nnz(&PT);
    db_sparse_free(&P);
    db_sparse_free(&PT);
    return b;
}

/* One diagonal cell from setup to teardown. Each step returns DB_OK to go on; a step that stops
 * the cell has set r's status and note. */
struct diagonal_run {
    const struct db_cell *c;
    const struct db_run_opts *o;
    struct db_cell_result *r;
    struct db_instance *in;
    struct db_operator *op;
    struct db_strategy_ctx ctx;
    double *diag, *ref;           /* the extracted diagonal and the exact one */
    struct db_sparse ref_entries; /* exact entries on an extracted pattern */
    struct db_bench_result br;    /* Google Benchmark's repetitions */
    struct timed t;               /* the timed body */
    double err;                   /* error of the first (untimed) extraction */
    char remark[sizeof((struct db_strategy_ctx *)0)->remark]; /* the strategy's, for the note */
};

/* A call on the instance failed outside the strategy: unsupported (a worker that does not take
 * this n) or an error, with the instance's reason. */
static void instance_failed(struct diagonal_run *d, int rc, const char *what) {
    const char *why = db_instance_error(d->in);
    if (rc == DB_E_UNSUPPORTED)
        db_cell_result_set(d->r, "unsupported", "%s", why[0] ? why : "the workload cannot");
    else
        db_cell_result_set(d->r, "error", "%s: %s%s%s", what, db_strerror(rc), why[0] ? ": " : "",
                           why);
}

/* The workload instance, the operator, the memory budget, the buffers and the exact diagonal. */
static int setup(struct diagonal_run *d) {
    const struct db_cell *c = d->c;
    const struct db_run_opts *o = d->o;
    struct db_cell_result *r = d->r;
    const struct db_strategy *st = c->strategy;
    struct db_workload_params params = db_run_params(o);
    int rc = db_instance_create_with(c->wl, c->n, o->call_cost_s, &params, &d->in);
    if (rc == DB_E_UNSUPPORTED && c->wl->size_rule) {
        db_cell_result_set(r, "unsupported", "%s: n=%zu does not fit: %s (nearest %zu)",
                           c->wl->name, c->n, c->wl->size_rule, db_workload_fit_size(c->wl, c->n));
        return rc;
    }
    if (rc != DB_OK) {
        db_cell_result_set(r, cell_status_for(rc), "creating the workload: %s", db_strerror(rc));
        return rc;
    }
    if (d->in->call_cost_s > 0) r->call_cost_s = d->in->call_cost_s;
    db_cell_result_remote(r, d->in);
    /* the instance's workload: an external worker's is its hello's and its verification's */
    const struct db_workload *wl = d->in->wl;
    unsigned tags = o->untagged ? 0 : db_tags_for_structure(db_workload_tag_structure(wl));
    rc = db_operator_create(c->op_kind, c->jac, d->in, tags, &d->op);
    if (rc != DB_OK) {
        db_cell_result_set(r, cell_status_for(rc), "%s operator of %s: %s", c->op_kind, c->wl->name,
                           rc == DB_E_UNSUPPORTED ? "the operator cannot represent this workload"
                                                  : db_strerror(rc));
        return rc;
    }
    unsigned long long need = db_cell_bytes(c) + st->workspace_bytes(d->op);
    if (o->on_mismatch_fallback && st->fallback_bytes) need += st->fallback_bytes(d->op);
    if (st->extract) /* the reference entries on the extracted pattern */
        need += db_sparse_bytes(c->n, c->n * db_instance_row_nnz_bound(d->in), 1);
    if (db_cell_over_budget(r, need, o->mem_budget)) return DB_E_NOMEM;
    d->diag = malloc(c->n * sizeof *d->diag);
    d->ref = malloc(c->n * sizeof *d->ref);
    if (!d->diag || !d->ref) {
        db_cell_result_set(r, "error", "out of memory for the diagonal");
        return DB_E_NOMEM;
    }
    rc = db_instance_reference_diagonal(d->in, d->ref);
    if (rc != DB_OK) instance_failed(d, rc, "reference diagonal");
    return rc;
}

/* The largest error of the last extraction: its diagonal and any extracted entries. */
static int extraction_error(struct diagonal_run *d, double *err) {
    *err = db_max_abs_diff(d->diag, d->ref, d->c->n);
    if (!d->ctx.extracted) return DB_OK;
    double e2 = 0;
    DB_CHECK(extracted_error(d->in, d->ctx.extracted, &d->ref_entries, &e2));
    *err = e2 > *err ? e2 : *err;
    return DB_OK;
}

/* The correctness run (untimed; it allocates and first-touches the workspace): its status, its
 * primitive calls, probe vectors and write path, and its error. */
static int first_extraction(struct diagonal_run *d) {
    const struct db_cell *c = d->c;
    const struct db_strategy *st = c->strategy;
    struct db_cell_result *r = d->r;
    d->ctx.on_mismatch =
        d->o->on_mismatch_fallback ? DB_ON_MISMATCH_FALLBACK : DB_ON_MISMATCH_ERROR;
    d->t = (struct timed){st->extract ? st->extract : st->run, d->op, d->diag, &d->ctx, 0};
    db_instance_reset_calls(d->in);
    int rc = d->t.body(d->op, d->diag, &d->ctx);
    if (rc == DB_E_UNSUPPORTED) {
        const char *why = db_instance_error(d->in);
        db_cell_result_set(r, "unsupported", "%s: %s", st->name,
                           why[0] ? why
                           : d->in->wl->batch == DB_BATCH_NONE
                               ? "the primitive has no batching rule"
                               : "the operator lacks a required op");
        return rc;
    }
    if (rc != DB_OK) {
        const char *why = db_instance_error(d->in)[0] ? db_instance_error(d->in) : d->ctx.remark;
        db_cell_result_set(r, "error", "%s: %s%s%s", st->name, db_strerror(rc), why[0] ? ": " : "",
                           why);
        return rc;
    }
    r->primitive_calls = db_instance_calls(d->in);
    snprintf(r->write_path, sizeof r->write_path, "%s", d->in->write_path);
    r->colours = (long long)db_instance_tangents(d->in);
    r->colours_lower_bound = true_lower_bound(d->in, c->jac);
    if (d->ctx.tag_mismatch && d->o->warn)
        fprintf(stderr, "diagbench: warning: %s/%s/%s/%s n=%zu: %s\n", c->wl->name, c->op_kind,
                db_jac_name(c->jac), st->name, c->n, d->ctx.remark);
    rc = extraction_error(d, &d->err);
    if (rc != DB_OK) db_cell_result_set(r, "error", "reference entries: %s", db_strerror(rc));
    memcpy(d->remark, d->ctx.remark, sizeof d->remark);
    return rc;
}

/* Google Benchmark's repetitions, with the write ceiling of the cell's own n x n buffer timed
 * just before and just after (the best of both): a shared machine's bandwidth changes over
 * seconds (seen here: 2-thread memset at 18 or 35 GB/s in consecutive runs), and a ceiling
 * measured at another moment would judge the kernel against another machine. */
static int timing(struct diagonal_run *d) {
    const struct db_cell *c = d->c;
    struct db_bench_config cfg = {.reps = d->o->reps, .min_time_s = d->o->min_time_s};
    size_t nn = c->n * c->n;
    int ceiling = d->in->write_path[0] && d->ctx.buf && d->ctx.buf_bytes >= nn * sizeof(double);
    double before = INFINITY, after = INFINITY;
    if (ceiling && db_write_ceiling(d->ctx.buf, nn, &cfg, &before, NULL) != DB_OK) ceiling = 0;
    char name[160];
    snprintf(name, sizeof name, "%s/%s/%s/%s/%zu", c->wl->name, c->op_kind, db_jac_name(c->jac),
             c->strategy->name, c->n);
    db_worker_compute_reset(d->in);
    d->t.bodies = 0;
    int rc = db_bench_repeat(name, timed_body, &d->t, d->o, &d->br, &d->r->precision_missed);
    struct db_worker_info wi;
    if (rc == DB_OK && d->t.bodies && db_worker_info(d->in, &wi) == DB_OK && wi.compute_time)
        d->r->worker_compute_s = wi.compute_s / (double)d->t.bodies;
    if (rc != DB_OK) {
        db_cell_result_set(d->r, "error", "timing: %s (%s)%s%s", db_strerror(rc), d->br.message,
                           db_instance_error(d->in)[0] ? ": " : "", db_instance_error(d->in));
        return rc;
    }
    if (ceiling && db_write_ceiling(d->ctx.buf, nn, &cfg, &after, NULL) != DB_OK) ceiling = 0;
    d->r->write_ceiling_s = ceiling ? fmin(before, after) : NAN;
    return DB_OK;
}

/* The last timed extraction must be as right as the first; then the times. */
static void finish(struct diagonal_run *d) {
    struct db_cell_result *r = d->r;
    double err2;
    if (extraction_error(d, &err2) != DB_OK) err2 = db_max_abs_diff(d->diag, d->ref, d->c->n);
    r->max_abs_err = err2 > d->err ? err2 : d->err;
    r->iterations = d->br.iterations;
    db_cell_result_times(r, d->br.rep_seconds, d->br.reps);
    db_cell_result_keep_reps(r, &d->br);
    r->ns_per_element = r->t.median / (double)d->c->n * 1e9;
    db_cell_result_set(r, "ok", "%s", d->remark);
}

int db_diagonal_cell_run(const struct db_cell *c, const struct db_run_opts *o,
                         struct db_cell_result *r) {
    if (!r) return DB_E_INVALID;
    db_cell_result_init(r);
    if (db_cell_over_budget(r, db_cell_bytes(c), o->mem_budget)) return DB_OK;
    struct diagonal_run d = {.c = c, .o = o, .r = r};
    if (setup(&d) == DB_OK && first_extraction(&d) == DB_OK && timing(&d) == DB_OK) finish(&d);
    db_cell_result_remote(r, d.in); /* again: a worker's reference and checks are known now */
    db_bench_result_free(&d.br);
    free(d.diag);
    free(d.ref);
    db_sparse_free(&d.ref_entries);
    db_strategy_ctx_free(&d.ctx);
    db_operator_destroy(d.op);
    db_instance_destroy(d.in);
    return DB_OK;
}
