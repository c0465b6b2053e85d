#include "runner.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "gbench.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void db_time_stats_compute(const double *t, int k, struct db_time_stats *s) {
    double *v = malloc((size_t)k * sizeof *v);
    double sum = 0, mn = INFINITY, mx = -INFINITY;
    for (int i = 0; i < k; i++) {
        sum += t[i];
        mn = t[i] < mn ? t[i] : mn;
        mx = t[i] > mx ? t[i] : mx;
    }
    s->mean = sum / k;
    s->min = mn;
    s->max = mx;
    if (v) {
        memcpy(v, t, (size_t)k * sizeof *v);
        qsort(v, (size_t)k, sizeof *v, cmp_double);
        s->median = k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
        free(v);
    } else {
        s->median = NAN;
    }
    double ss = 0;
    for (int i = 0; i < k; i++)
        ss += (t[i] - s->mean) * (t[i] - s->mean);
    s->stddev = k > 1 ? sqrt(ss / (k - 1)) : 0.0;
    s->cv = s->mean > 0 ? s->stddev / s->mean : 0.0;
}

double db_max_abs_diff(const double *a, const double *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        if (!(d <= m)) m = isnan(d) ? INFINITY : d;
    }
    return m;
}

static void set_status(struct db_cell_result *r, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_status(struct db_cell_result *r, const char *status, const char *fmt, ...) {
    snprintf(r->status, sizeof r->status, "%s", status);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->note, sizeof r->note, fmt, ap);
    va_end(ap);
}

struct timed {
    const struct db_strategy *s;
    struct db_operator *op;
    double *diag;
    struct db_strategy_ctx *ctx;
};

static int timed_body(void *arg) {
    struct timed *t = arg;
    int rc = t->s->run(t->op, t->diag, t->ctx);
    db_gbench_do_not_optimize(t->diag);
    return rc;
}

unsigned long long db_cell_bytes(const struct db_cell *c) {
    return 4ull * c->n * sizeof(double) + db_operator_setup_bytes(c->op_kind, c->n);
}

static const char *cell_status_for(int rc) {
    return rc == DB_E_UNSUPPORTED ? "unsupported" : "error";
}

int db_cell_run(const struct db_cell *c, const struct db_run_opts *o, struct db_cell_result *r) {
    if (!r) return DB_E_INVALID;
    memset(r, 0, sizeof *r);
    r->call_cost_s = -1;
    char b1[32], b2[32];
    unsigned long long need = db_cell_bytes(c);
    if (o->mem_budget && need > o->mem_budget) {
        set_status(r, "skipped_memory", "needs %s, budget %s", db_format_bytes(need, b1, sizeof b1),
                   db_format_bytes(o->mem_budget, b2, sizeof b2));
        return DB_OK;
    }

    struct db_instance *in = NULL;
    struct db_operator *op = NULL;
    struct db_strategy_ctx ctx = {0};
    double *diag = NULL, *ref = NULL;
    struct db_bench_result br = {0};

    int rc = db_instance_create(c->wl, c->n, o->call_cost_s, &in);
    if (rc != DB_OK) {
        set_status(r, "error", "creating the workload: %s", db_strerror(rc));
        goto done;
    }
    if (in->call_cost_s > 0) r->call_cost_s = in->call_cost_s;
    unsigned tags = o->untagged ? 0 : db_tags_for_structure(c->wl->structure);
    rc = db_operator_create(c->op_kind, c->jac, in, tags, &op);
    if (rc != DB_OK) {
        set_status(r, cell_status_for(rc), "%s operator of %s: %s", c->op_kind, c->wl->name,
                   rc == DB_E_UNSUPPORTED ? "the operator cannot represent this workload"
                                          : db_strerror(rc));
        goto done;
    }
    need += c->strategy->workspace_bytes(op);
    if (o->mem_budget && need > o->mem_budget) {
        set_status(r, "skipped_memory", "needs %s, budget %s", db_format_bytes(need, b1, sizeof b1),
                   db_format_bytes(o->mem_budget, b2, sizeof b2));
        goto done;
    }
    diag = malloc(c->n * sizeof *diag);
    ref = malloc(c->n * sizeof *ref);
    if (!diag || !ref) {
        set_status(r, "error", "out of memory for the diagonal");
        goto done;
    }
    rc = db_instance_reference_diagonal(in, ref);
    if (rc != DB_OK) {
        set_status(r, "error", "reference diagonal: %s", db_strerror(rc));
        goto done;
    }

    /* Correctness run (untimed): allocates and first-touches the workspace too. */
    db_instance_reset_calls(in);
    rc = c->strategy->run(op, diag, &ctx);
    if (rc != DB_OK) {
        if (rc == DB_E_UNSUPPORTED)
            set_status(r, "unsupported", "%s: %s", c->strategy->name,
                       c->wl->batch == DB_BATCH_NONE ? "the primitive has no batching rule"
                                                     : "the operator lacks a required op");
        else
            set_status(r, "error", "%s: %s", c->strategy->name, db_strerror(rc));
        goto done;
    }
    r->primitive_calls = db_instance_calls(in);
    double err = db_max_abs_diff(diag, ref, c->n);

    struct timed t = {c->strategy, op, diag, &ctx};
    struct db_bench_config cfg = {.reps = o->reps, .min_time_s = o->min_time_s};
    char name[160];
    snprintf(name, sizeof name, "%s/%s/%s/%s/%zu", c->wl->name, c->op_kind, db_jac_name(c->jac),
             c->strategy->name, c->n);
    rc = db_gbench_run(name, timed_body, &t, &cfg, &br);
    if (rc != DB_OK) {
        set_status(r, "error", "timing: %s (%s)", db_strerror(rc), br.message);
        goto done;
    }
    /* The last timed extraction must be as right as the first. */
    double err2 = db_max_abs_diff(diag, ref, c->n);
    r->max_abs_err = err2 > err ? err2 : err;
    r->reps = br.reps;
    r->iterations = br.iterations;
    db_time_stats_compute(br.rep_seconds, br.reps, &r->t);
    r->ns_per_element = r->t.median / (double)c->n * 1e9;
    set_status(r, "ok", "%s", "");

done:
    db_bench_result_free(&br);
    free(diag);
    free(ref);
    db_strategy_ctx_free(&ctx);
    db_operator_destroy(op);
    db_instance_destroy(in);
    return DB_OK;
}
