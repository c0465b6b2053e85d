#include "harness/bench/repeat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/stats.h"
#include "core/status.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Is the median of the k samples t known to within pct % (95% CI half-width, either side)? */
static int precise_enough(const double *t, int k, double pct) {
    double *v = malloc((size_t)k * sizeof *v);
    if (!v) return 1; /* stop: no memory to decide with */
    memcpy(v, t, (size_t)k * sizeof *v);
    db_stats_sort(v, (size_t)k);
    int ok = db_stats_median_ci_pct(v, (size_t)k, 0.95) <= pct; /* NaN (no interval yet): no */
    free(v);
    return ok;
}

/* Append round's repetitions to all (growing its array). */
static int append(struct db_bench_result *all, const struct db_bench_result *round) {
    double *grown =
        realloc(all->rep_seconds, (size_t)(all->reps + round->reps) * sizeof *all->rep_seconds);
    if (!grown) return DB_E_NOMEM;
    memcpy(grown + all->reps, round->rep_seconds, (size_t)round->reps * sizeof *grown);
    all->rep_seconds = grown;
    if (all->rep_cpu_seconds && round->rep_cpu_seconds) { /* --json's CPU times, kept alike */
        double *cpu = realloc(all->rep_cpu_seconds,
                              (size_t)(all->reps + round->reps) * sizeof *all->rep_cpu_seconds);
        if (!cpu) return DB_E_NOMEM;
        memcpy(cpu + all->reps, round->rep_cpu_seconds, (size_t)round->reps * sizeof *cpu);
        all->rep_cpu_seconds = cpu;
    }
    all->reps += round->reps;
    return DB_OK;
}

int db_bench_repeat(const char *name, db_bench_body body, void *arg, const struct db_run_opts *o,
                    struct db_bench_result *br, int *missed) {
    struct db_bench_config cfg = {.reps = o->reps, .min_time_s = o->min_time_s};
    *missed = 0;
    double start = now_s();
    int rc = db_gbench_run(name, body, arg, &cfg, br);
    if (rc != DB_OK || o->precision_pct <= 0) return rc;
    while (!precise_enough(br->rep_seconds, br->reps, o->precision_pct)) {
        if (br->reps + o->reps > DB_SAMPLES_MAX || now_s() - start >= o->max_time_per_cell_s) {
            *missed = 1;
            return DB_OK;
        }
        struct db_bench_result round;
        rc = db_gbench_run(name, body, arg, &cfg, &round);
        if (rc == DB_OK) rc = append(br, &round);
        if (rc != DB_OK)
            snprintf(br->message, sizeof br->message, "%s",
                     rc == DB_E_NOMEM ? "out of memory" : round.message);
        db_bench_result_free(&round);
        if (rc != DB_OK) {
            br->status = rc;
            return rc;
        }
    }
    return DB_OK;
}
