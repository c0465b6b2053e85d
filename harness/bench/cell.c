/* The benchmark cell, whatever its kind: the result helpers every kind shares, and the names a
 * cell's row carries. */
#include "harness/bench/cell.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stats.h"
#include "harness/bench/gbench.h"
#include "harness/env/memory.h"
#include "workloads/remote.h"
#include "workloads/worker.h"

void db_cell_result_keep_reps(struct db_cell_result *r, const struct db_bench_result *br) {
    int k = br->reps < DB_MAX_REPS ? br->reps : DB_MAX_REPS;
    for (int i = 0; i < k; i++) {
        r->rep_s[i] = br->rep_seconds[i];
        r->rep_cpu_s[i] = br->rep_cpu_seconds ? br->rep_cpu_seconds[i] : NAN;
    }
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
        db_stats_sort(v, (size_t)k);
        s->median = db_stats_median_sorted(v, (size_t)k);
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

void db_cell_result_times(struct db_cell_result *r, const double *t, int k) {
    if (k > DB_SAMPLES_MAX) k = DB_SAMPLES_MAX;
    double v[DB_SAMPLES_MAX];
    size_t used = 0;
    r->samples[0] = 0;
    for (int i = 0; i < k; i++) {
        char one[32];
        snprintf(one, sizeof one, "%.9g", t[i]);
        v[i] = strtod(one, NULL); /* the value a reader of samples_s gets back */
        if (used + strlen(one) + 2 > sizeof r->samples) break; /* cannot happen: 16 per sample */
        used += (size_t)snprintf(r->samples + used, sizeof r->samples - used, "%s%s", i ? ";" : "",
                                 one);
    }
    r->reps = k;
    db_time_stats_compute(v, k, &r->t);
    db_stats_sort(v, (size_t)k);
    r->outliers = (int)db_stats_tukey_outliers(v, (size_t)k);
    r->median_ci_pct = db_stats_median_ci_pct(v, (size_t)k, 0.95);
}

double db_max_abs_diff(const double *a, const double *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        if (!(d <= m)) m = isnan(d) ? INFINITY : d;
    }
    return m;
}

void db_cell_result_set(struct db_cell_result *r, const char *status, const char *fmt, ...) {
    snprintf(r->status, sizeof r->status, "%s", status);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->note, sizeof r->note, fmt, ap);
    va_end(ap);
}

int db_cell_over_budget(struct db_cell_result *r, unsigned long long need,
                        unsigned long long budget) {
    char b1[32], b2[32];
    if (!budget || need <= budget) return 0;
    db_cell_result_set(r, "skipped_memory", "needs %s, budget %s",
                       db_format_bytes(need, b1, sizeof b1),
                       db_format_bytes(budget, b2, sizeof b2));
    return 1;
}

void db_cell_result_init(struct db_cell_result *r) {
    memset(r, 0, sizeof *r);
    r->call_cost_s = -1;
    r->colours = r->colours_lower_bound = -1;
    r->write_ceiling_s = NAN;
    r->residual = NAN;
    r->newton_steps = -1;
    r->converged = -1;
    r->outliers = -1;
    r->median_ci_pct = NAN;
    r->round_trip_s = NAN;
    r->worker_compute_s = NAN;
    r->worker_threads = -1;
}

struct db_workload_params db_run_params(const struct db_run_opts *o) {
    return (struct db_workload_params){.band_set = o->band_set,
                                       .lower = o->band_lower,
                                       .upper = o->band_upper,
                                       .remote_transport = o->remote_transport,
                                       .remote_encoding = o->remote_encoding,
                                       .remote_timeout_ms = o->remote_timeout_ms,
                                       .worker_cmd = o->worker_cmd,
                                       .worker_cpus = o->worker_cpus,
                                       .worker_threads = o->worker_threads};
}

void db_cell_result_remote(struct db_cell_result *r, const struct db_instance *in) {
    struct db_remote_info info;
    struct db_worker_info wi;
    if (in && db_worker_info(in, &wi) == DB_OK) {
        snprintf(r->worker, sizeof r->worker, "%s", wi.name);
        snprintf(r->worker_checks, sizeof r->worker_checks, "%s", wi.checks);
        snprintf(r->reference, sizeof r->reference, "%s", wi.reference);
        snprintf(r->worker_cpus, sizeof r->worker_cpus, "%s", wi.cpus);
        r->worker_threads = wi.threads > 0 ? wi.threads : -1;
        snprintf(r->remote_transport, sizeof r->remote_transport, "unix");
        snprintf(r->remote_encoding, sizeof r->remote_encoding, "%s",
                 db_remote_encoding_name(wi.encoding));
        r->round_trip_s = wi.round_trip_s;
        return;
    }
    if (!in || db_remote_info(in, &info) != DB_OK) return;
    snprintf(r->remote_transport, sizeof r->remote_transport, "%s",
             db_remote_transport_name(info.transport));
    snprintf(r->remote_encoding, sizeof r->remote_encoding, "%s",
             db_remote_encoding_name(info.encoding));
    r->round_trip_s = info.round_trip_s;
}

const char *db_cell_kind_name(enum db_cell_kind k) {
    static const char *const names[] = {"diagonal", "solve", "newton", "calibration"};
    return (unsigned)k < DB_CELL_KINDS ? names[k] : "?";
}

const char *db_solve_method_name(const struct db_solve_method *m, char *buf, size_t len) {
    snprintf(buf, len, "%s+%s", m->diag ? m->diag->name : "materialise", db_solver_name(m->solver));
    return buf;
}

const char *db_cell_workload_name(const struct db_cell *c, char *buf, size_t len) {
    switch (c->kind) {
    case DB_CELL_SOLVE:
    case DB_CELL_NEWTON:
        snprintf(buf, len, "%s:%s", db_cell_kind_name(c->kind), c->wl->name);
        break;
    case DB_CELL_CALIBRATION:
        snprintf(buf, len, "_calibrate");
        break;
    default:
        snprintf(buf, len, "%s", c->wl->name);
    }
    return buf;
}

const char *db_cell_strategy_name(const struct db_cell *c, char *buf, size_t len) {
    switch (c->kind) {
    case DB_CELL_SOLVE:
    case DB_CELL_NEWTON:
        return db_solve_method_name(&c->method, buf, len);
    case DB_CELL_CALIBRATION:
        snprintf(buf, len, "%s", c->kernel);
        break;
    default:
        snprintf(buf, len, "%s", c->strategy->name);
    }
    return buf;
}

const char *db_cell_operator_name(const struct db_cell *c) {
    return c->kind == DB_CELL_CALIBRATION ? "none" : c->op_kind;
}
