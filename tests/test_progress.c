/* The progress line's ETA (harness/app/progress.h) replayed on a recorded run, and the noisy-cell
 * warnings collapsed into one summary. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "harness/app/progress.h"
#include "harness/plan/cli.h"
#include "harness/plan/plan.h"
#include "tests/helpers.h"

/* Recorded runs of `diagbench --matrix quick`: the wall time of every cell (one line per cell,
 * "index<TAB>seconds", cell 1's 0: its time is the planning before it, which the ETA's clock
 * leaves out), by scripts/eta_check.py --record on a 2-core AMD EPYC VM: tests/eta_quick.tsv on
 * the quiet machine, tests/eta_quick_loaded.tsv while other builds and tests ran beside it. The
 * plan's costs of the same cells come from the model here, so a replay sees exactly what a run's
 * ETA would see with today's model. A change of the quick matrix that changes its cells makes the
 * counts differ: re-record as the files' first lines say. */
static double *read_record(const char *path, size_t *count) {
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s missing", path);
    size_t cap = 1024, n = 0;
    double *d = malloc(cap * sizeof *d);
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        unsigned idx;
        double s;
        cr_assert_eq(sscanf(line, "%u\t%lf", &idx, &s), 2, "%s: bad line '%s'", path, line);
        cr_assert_eq(idx, n + 1, "%s: cell %u out of order", path, idx);
        if (n == cap) d = realloc(d, (cap *= 2) * sizeof *d);
        d[n++] = s;
    }
    fclose(f);
    *count = n;
    return d;
}

/* The worst max(eta/actual, actual/eta) from 10% of the cells on, over remaining times >= 1 s
 * (the ETA is printed in whole seconds), as scripts/eta_check.py computes it for a live run;
 * learn = 0 replays the cost ratio alone (elapsed x cost left / cost done). */
static double replay(const struct db_plan *plan, const double *dur, size_t n, int learn) {
    struct db_progress_position pos = {.total = n};
    for (size_t i = 0; i < n; i++)
        pos.cost_total += plan->items[i].cost;
    double total = 0, worst = 1;
    for (size_t i = 0; i < n; i++)
        total += dur[i];
    struct db_eta e;
    cr_assert_eq(db_eta_init_plan(&e, plan, 0, NULL), DB_OK);
    double elapsed = 0;
    for (size_t i = 0; i < n; i++) {
        elapsed += dur[i];
        pos.done = i + 1;
        pos.cost_done += plan->items[i].cost;
        db_eta_add(&e, i, (double)plan->items[i].cost, dur[i]);
        unsigned long long now = (unsigned long long)(elapsed * 1e9);
        double eta = learn ? db_eta_left_s(&e, &pos, now) : db_progress_eta_s(&pos, now);
        double actual = total - elapsed;
        if ((double)(i + 1) < 0.1 * (double)n || actual < 1) continue;
        double r = eta > 0 ? fmax(eta / actual, actual / eta) : INFINITY;
        worst = fmax(worst, r);
    }
    db_eta_free(&e);
    return worst;
}

static void free_plan(void *p) {
    db_plan_free(p);
    free(p);
}

static const struct db_plan *quick_plan(void) {
    char *argv[] = {"diagbench", "--matrix", "quick"};
    struct db_cli *cli = th_own(calloc(1, sizeof *cli), free);
    char err[512] = "";
    cr_assert_eq(db_cli_parse(3, argv, cli, err, sizeof err), DB_OK, "%s", err);
    struct db_plan *plan = th_own(calloc(1, sizeof *plan), free_plan);
    cr_assert_eq(db_plan_build(cli, plan, err, sizeof err), DB_OK, "%s", err);
    return plan;
}

/* Issue 23's target: from 10% of the cells on, every ETA within 1.5x of the time that really
 * remained. */
Test(progress, eta_within_1_5x_of_the_recorded_quick_run) {
    const struct db_plan *plan = quick_plan();
    size_t n;
    double *dur = th_own(read_record("tests/eta_quick.tsv", &n), free);
    cr_assert_eq(n, plan->nitems,
                 "tests/eta_quick.tsv holds %zu cells, the quick plan %zu: "
                 "re-record it",
                 n, plan->nitems);
    double ratio = replay(plan, dur, n, 0), learnt = replay(plan, dur, n, 1);
    cr_log_info("quick matrix replay: worst ETA ratio %.2f (cost ratio alone: %.2f)", learnt,
                ratio);
    cr_assert_leq(learnt, 1.5, "worst ETA/actual ratio %.2f (cost ratio alone %.2f)", learnt,
                  ratio);
}

/* The largest change of load the loaded recording shows against the quiet one, from 10% of the
 * cells on: at each cell, how much slower (or faster) than on the quiet machine the cells to come
 * ran, against those done. An ETA knows only the past, so such a change is an error no estimate
 * can avoid. */
static double load_shift(const double *quiet, const double *loaded, size_t n) {
    double tq = 0, tl = 0, pq = 0, pl = 0, worst = 1;
    for (size_t i = 0; i < n; i++) {
        tq += quiet[i];
        tl += loaded[i];
    }
    for (size_t i = 0; i < n; i++) {
        pq += quiet[i];
        pl += loaded[i];
        if ((double)(i + 1) < 0.1 * (double)n || tl - pl < 1 || !(pq > 0) || !(tq - pq > 0))
            continue;
        double s = ((tl - pl) / (tq - pq)) / (pl / pq);
        worst = fmax(worst, fmax(s, 1 / s));
    }
    return worst;
}

/* Under a load that comes and goes no estimate can know the future: what this pins is that on the
 * loaded recording the ETA stays within its quiet run's worst ratio times the change of load it
 * could not foresee (recorded: 2.33 <= 1.26 x 2.33; the load more than doubled after cell 404). */
Test(progress, eta_under_load_within_the_quiet_ratio_times_the_load_shift) {
    const struct db_plan *plan = quick_plan();
    size_t n, nq;
    double *dur = th_own(read_record("tests/eta_quick_loaded.tsv", &n), free);
    double *quiet = th_own(read_record("tests/eta_quick.tsv", &nq), free);
    cr_assert_eq(n, plan->nitems);
    cr_assert_eq(nq, plan->nitems);
    double shift = load_shift(quiet, dur, n), quiet_worst = replay(plan, quiet, n, 1);
    double ratio = replay(plan, dur, n, 0), learnt = replay(plan, dur, n, 1);
    cr_log_info("loaded replay: worst ETA ratio %.2f (cost ratio alone: %.2f), quiet %.2f, load "
                "shift %.2f",
                learnt, ratio, quiet_worst, shift);
    cr_assert_leq(learnt, quiet_worst * shift,
                  "worst ETA/actual ratio %.2f over the quiet run's %.2f x the load shift %.2f",
                  learnt, quiet_worst, shift);
}

/* The groups: a kind of cell the model prices at half its real time is learnt from its own cells,
 * and a group not seen yet takes its parent's rate. */
Test(progress, eta_learns_each_group_and_carries_over_to_unseen_ones) {
    const char *keys[] = {"0/probe/sin",       "0/probe/sin",       "0/probe/sin",
                          "0/materialise/sin", "0/materialise/sin", "0/materialise/sin",
                          "1/probe+lu/sin",    "0/probe/split"};
    unsigned long long cost[8];
    for (int i = 0; i < 8; i++)
        cost[i] = 1000000000ull; /* 1 model second each */
    struct db_eta e;
    cr_assert_eq(db_eta_init(&e, 8, keys, cost, NULL), DB_OK);
    cr_assert_eq(e.ngroups[0], 2);
    cr_assert_eq(e.ngroups[1], 3);
    cr_assert_eq(e.ngroups[2], 4);
    struct db_progress_position p = {.total = 8, .cost_total = 8000000000ull};
    double t = 0;
    for (int i = 0; i < 6; i++) { /* probe 1 s each, materialise 2 s each */
        double d = i < 3 ? 1 : 2;
        t += d;
        db_eta_add(&e, (size_t)i, 1e9, d);
        p.done++;
        p.cost_done += 1000000000ull;
    }
    unsigned long long now = (unsigned long long)(t * 1e9);
    /* left: 1/probe+lu/sin (kind 1 unseen: the run's rate 1.5) and 0/probe/split (unseen leaf
     * under 0/probe, whose rate is its 3 s over 3 model s, shrunk by the prior towards kind 0's
     * rate 1.5: (3 + 1.5) / 4 = 1.125, then the leaf (0 + 1.125) / 1 = 1.125). */
    double kind0 = (9 + 1.0 * 1.5) / (6 + 1.0), probe = (3 + kind0) / (3 + 1.0);
    double want = 1.5 + probe;
    double got = db_eta_left_s(&e, &p, now);
    cr_assert_float_eq(got, want, 1e-9, "%g vs %g", got, want);
    /* a later process's cells (cost beyond this process's) at the mean rate of those to come,
     * and its preparation as this process's */
    p.cost_total += 2000000000ull;
    cr_assert_float_eq(db_eta_left_s(&e, &p, now), want * 2, 1e-9);
    e.later_prep_s = 30;
    cr_assert_float_eq(db_eta_left_s(&e, &p, now), want * 2 + 30, 1e-9);
    p.cost_total -= 2000000000ull; /* no later cells: no later preparation */
    cr_assert_float_eq(db_eta_left_s(&e, &p, now), want, 1e-9);
    e.later_prep_s = 0;
    /* an earlier process's preparation is left out of the run's rate: 3 s of the 12 elapsed */
    e.earlier_prep_s = 3;
    double run = (12 - 3) / 6.0, k0 = (9 + run) / 7, pr = (3 + k0) / 4;
    cr_assert_float_eq(db_eta_left_s(&e, &p, now + 3000000000ull), run + pr, 1e-9);
    e.earlier_prep_s = 0;
    /* before any cost is done: the model's own prediction */
    struct db_progress_position none = {.total = 8, .cost_total = 8000000000ull};
    struct db_eta fresh;
    cr_assert_eq(db_eta_init(&fresh, 8, keys, cost, NULL), DB_OK);
    cr_assert_float_eq(db_eta_left_s(&fresh, &none, 0), 8.0, 1e-9);
    db_eta_free(&fresh);
    db_eta_free(&e);
}

Test(progress, noisy_cells_warned_twice_then_summarised) {
    struct db_noise_tally t = {0};
    char buf[512];
    int shown = 0;
    for (int i = 0; i < 20; i++)
        shown += db_noise_count(&t, i % 4 ? 0.5 : 0.01, 0.10);
    cr_assert_eq(shown, DB_NOISE_SHOWN);
    cr_assert_eq(t.noisy, 15);
    cr_assert_eq(t.cells, 20);
    db_noise_summary(&t, 0.10, buf, sizeof buf);
    cr_assert_not_null(strstr(buf, "15 of 20 cells had cv above 10% (13 more"), "%s", buf);
    cr_assert_not_null(strstr(buf, "--precision"), "%s", buf);
    struct db_noise_tally quiet = {0};
    db_noise_count(&quiet, 0.5, 0.10);
    db_noise_count(&quiet, NAN, 0.10);
    db_noise_summary(&quiet, 0.10, buf, sizeof buf);
    cr_assert_str_eq(buf, "");
}
