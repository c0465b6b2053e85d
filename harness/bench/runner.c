#include "harness/bench/runner.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/env/memory.h"
#include "harness/bench/ceiling.h"
#include "harness/bench/gbench.h"

struct timed {
    int (*body)(struct db_operator *op, double *diag, struct db_strategy_ctx *ctx);
    struct db_operator *op;
    double *diag;
    struct db_strategy_ctx *ctx;
};

static int timed_body(void *arg) {
    struct timed *t = arg;
    int rc = t->body(t->op, t->diag, t->ctx);
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

int db_diagonal_cell_run(const struct db_cell *c, const struct db_run_opts *o,
                         struct db_cell_result *r) {
    if (!r) return DB_E_INVALID;
    db_cell_result_init(r);
    unsigned long long need = db_cell_bytes(c);
    if (db_cell_over_budget(r, need, o->mem_budget)) return DB_OK;

    struct db_instance *in = NULL;
    struct db_operator *op = NULL;
    struct db_strategy_ctx ctx = {0};
    double *diag = NULL, *ref = NULL;
    struct db_sparse ref_entries = {0};
    struct db_bench_result br = {0};
    const struct db_strategy *st = c->strategy;

    struct db_workload_params params = {o->band_set, o->band_lower, o->band_upper};
    int rc = db_instance_create_with(c->wl, c->n, o->call_cost_s, &params, &in);
    if (rc == DB_E_UNSUPPORTED && c->wl->size_rule) {
        db_cell_result_set(r, "unsupported", "%s: n=%zu does not fit: %s (nearest %zu)",
                           c->wl->name, c->n, c->wl->size_rule, db_workload_fit_size(c->wl, c->n));
        goto done;
    }
    if (rc != DB_OK) {
        db_cell_result_set(r, cell_status_for(rc), "creating the workload: %s", db_strerror(rc));
        goto done;
    }
    if (in->call_cost_s > 0) r->call_cost_s = in->call_cost_s;
    unsigned tags = o->untagged ? 0 : db_tags_for_structure(db_workload_tag_structure(c->wl));
    rc = db_operator_create(c->op_kind, c->jac, in, tags, &op);
    if (rc != DB_OK) {
        db_cell_result_set(r, cell_status_for(rc), "%s operator of %s: %s", c->op_kind, c->wl->name,
                           rc == DB_E_UNSUPPORTED ? "the operator cannot represent this workload"
                                                  : db_strerror(rc));
        goto done;
    }
    need += st->workspace_bytes(op);
    if (o->on_mismatch_fallback && st->fallback_bytes) need += st->fallback_bytes(op);
    if (st->extract) /* the reference entries on the extracted pattern */
        need += db_sparse_bytes(c->n, c->n * db_instance_row_nnz_bound(in), 1);
    if (db_cell_over_budget(r, need, o->mem_budget)) goto done;
    diag = malloc(c->n * sizeof *diag);
    ref = malloc(c->n * sizeof *ref);
    if (!diag || !ref) {
        db_cell_result_set(r, "error", "out of memory for the diagonal");
        goto done;
    }
    rc = db_instance_reference_diagonal(in, ref);
    if (rc != DB_OK) {
        db_cell_result_set(r, "error", "reference diagonal: %s", db_strerror(rc));
        goto done;
    }

    /* Correctness run (untimed): allocates and first-touches the workspace (and plans). */
    ctx.on_mismatch = o->on_mismatch_fallback ? DB_ON_MISMATCH_FALLBACK : DB_ON_MISMATCH_ERROR;
    struct timed t = {st->extract ? st->extract : st->run, op, diag, &ctx};
    db_instance_reset_calls(in);
    rc = t.body(op, diag, &ctx);
    if (rc != DB_OK) {
        if (rc == DB_E_UNSUPPORTED)
            db_cell_result_set(r, "unsupported", "%s: %s", st->name,
                               c->wl->batch == DB_BATCH_NONE ? "the primitive has no batching rule"
                                                             : "the operator lacks a required op");
        else
            db_cell_result_set(r, "error", "%s: %s%s%s", st->name, db_strerror(rc),
                               ctx.remark[0] ? ": " : "", ctx.remark);
        goto done;
    }
    r->primitive_calls = db_instance_calls(in);
    snprintf(r->write_path, sizeof r->write_path, "%s", in->write_path);
    r->colours = (long long)db_instance_tangents(in);
    r->colours_lower_bound = true_lower_bound(in, c->jac);
    if (ctx.tag_mismatch && o->warn)
        fprintf(stderr, "diagbench: warning: %s/%s/%s/%s n=%zu: %s\n", c->wl->name, c->op_kind,
                db_jac_name(c->jac), st->name, c->n, ctx.remark);
    double err = db_max_abs_diff(diag, ref, c->n), e2 = 0;
    if (ctx.extracted) {
        rc = extracted_error(in, ctx.extracted, &ref_entries, &e2);
        if (rc != DB_OK) {
            db_cell_result_set(r, "error", "reference entries: %s", db_strerror(rc));
            goto done;
        }
        err = e2 > err ? e2 : err;
    }
    char remark[sizeof ctx.remark];
    memcpy(remark, ctx.remark, sizeof remark);

    struct db_bench_config cfg = {.reps = o->reps, .min_time_s = o->min_time_s};
    /* The write ceiling of this cell's own n x n buffer, timed just before and just after the
     * cell (the best of both): a shared machine's bandwidth changes over seconds (seen here:
     * 2-thread memset at 18 or 35 GB/s in consecutive runs), and a ceiling measured at another
     * moment would judge the kernel against another machine. */
    size_t nn = c->n * c->n;
    int ceiling = in->write_path[0] && ctx.buf && ctx.buf_bytes >= nn * sizeof(double);
    double before = INFINITY, after = INFINITY;
    if (ceiling && db_write_ceiling(ctx.buf, nn, &cfg, &before, NULL) != DB_OK) ceiling = 0;
    char name[160];
    snprintf(name, sizeof name, "%s/%s/%s/%s/%zu", c->wl->name, c->op_kind, db_jac_name(c->jac),
             st->name, c->n);
    rc = db_gbench_run(name, timed_body, &t, &cfg, &br);
    if (rc != DB_OK) {
        db_cell_result_set(r, "error", "timing: %s (%s)", db_strerror(rc), br.message);
        goto done;
    }
    if (ceiling && db_write_ceiling(ctx.buf, nn, &cfg, &after, NULL) != DB_OK) ceiling = 0;
    r->write_ceiling_s = ceiling ? fmin(before, after) : NAN;
    /* The last timed extraction must be as right as the first. */
    double err2 = db_max_abs_diff(diag, ref, c->n);
    if (ctx.extracted && extracted_error(in, ctx.extracted, &ref_entries, &e2) == DB_OK)
        err2 = e2 > err2 ? e2 : err2;
    r->max_abs_err = err2 > err ? err2 : err;
    r->reps = br.reps;
    r->iterations = br.iterations;
    db_time_stats_compute(br.rep_seconds, br.reps, &r->t);
    r->ns_per_element = r->t.median / (double)c->n * 1e9;
    db_cell_result_set(r, "ok", "%s", remark);

done:
    db_bench_result_free(&br);
    free(diag);
    free(ref);
    db_sparse_free(&ref_entries);
    db_strategy_ctx_free(&ctx);
    db_operator_destroy(op);
    db_instance_destroy(in);
    return DB_OK;
}
