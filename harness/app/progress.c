#include "harness/app/progress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/status.h"
#include "harness/bench/cell.h"
#include "harness/plan/plan.h"

unsigned long long db_progress_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

double db_progress_eta_s(const struct db_progress_position *p, unsigned long long now_ns) {
    double left = (double)(p->cost_total - p->cost_done);
    if (p->cost_done == 0) return left * 1e-9;
    double elapsed = now_ns > p->start_ns ? (double)(now_ns - p->start_ns) * 1e-9 : 0;
    return elapsed * left / (double)p->cost_done;
}

void db_progress_format_eta(double seconds, char *buf, size_t len) {
    double s = ceil(seconds > 0 ? seconds : 0);
    if (s < 60)
        snprintf(buf, len, "ETA %.0fs", s);
    else if (s < 3600)
        snprintf(buf, len, "ETA %.0fm%02.0fs", floor(s / 60), fmod(s, 60));
    else
        snprintf(buf, len, "ETA %.0fh%02.0fm", floor(s / 3600), floor(fmod(s, 3600) / 60));
}

/* The length of key's prefix at level (0: up to its first '/', ...; the deepest: all of it). */
static size_t prefix_len(const char *key, int level) {
    size_t i = 0;
    for (int slashes = 0; key[i]; i++)
        if (key[i] == '/' && slashes++ == level) break;
    return level == DB_ETA_LEVELS - 1 ? strlen(key) : i;
}

/* Compare two entries of the keys array through pointers to them (their index is p - keys). */
static int by_key(const void *a, const void *b) {
    return strcmp(**(const char *const *const *)a, **(const char *const *const *)b);
}

int db_eta_init(struct db_eta *e, size_t ncells, const char *const *keys,
                const unsigned long long *cost_ns, const unsigned char *pending) {
    memset(e, 0, sizeof *e);
    e->ncells = ncells;
    const char *const **order = malloc((ncells ? ncells : 1) * sizeof *order);
    int ok = order != NULL;
    for (int l = 0; l < DB_ETA_LEVELS; l++) {
        e->group[l] = calloc(ncells ? ncells : 1, sizeof *e->group[l]);
        e->leaf_up[l] = calloc(ncells ? ncells : 1, sizeof *e->leaf_up[l]);
        e->done_s[l] = calloc(ncells ? ncells : 1, sizeof *e->done_s[l]);
        e->done_cost[l] = calloc(ncells ? ncells : 1, sizeof *e->done_cost[l]);
        ok = ok && e->group[l] && e->leaf_up[l] && e->done_s[l] && e->done_cost[l];
    }
    e->left_cost = calloc(ncells ? ncells : 1, sizeof *e->left_cost);
    if (!ok || !e->left_cost) {
        free(order);
        db_eta_free(e);
        return DB_E_NOMEM;
    }
    /* Sorted, the cells that share a key's prefix are contiguous: number the groups in order. */
    for (size_t i = 0; i < ncells; i++)
        order[i] = &keys[i];
    qsort(order, ncells, sizeof *order, by_key);
    for (int l = 0; l < DB_ETA_LEVELS; l++)
        for (size_t k = 0; k < ncells; k++) {
            const char *cur = *order[k], *prev = k ? *order[k - 1] : NULL;
            size_t len = prefix_len(cur, l);
            if (!prev || prefix_len(prev, l) != len || memcmp(prev, cur, len) != 0) e->ngroups[l]++;
            e->group[l][order[k] - keys] = e->ngroups[l] - 1;
        }
    free(order);
    const int deep = DB_ETA_LEVELS - 1;
    e->nleaves = e->ngroups[deep];
    for (size_t i = 0; i < ncells; i++) {
        size_t leaf = e->group[deep][i];
        for (int l = 0; l < DB_ETA_LEVELS; l++)
            e->leaf_up[l][leaf] = e->group[l][i];
        if (!pending || pending[i]) e->left_cost[leaf] += (double)cost_ns[i] * 1e-9;
    }
    return DB_OK;
}

void db_eta_free(struct db_eta *e) {
    for (int l = 0; l < DB_ETA_LEVELS; l++) {
        free(e->group[l]);
        free(e->leaf_up[l]);
        free(e->done_s[l]);
        free(e->done_cost[l]);
    }
    free(e->left_cost);
    memset(e, 0, sizeof *e);
}

void db_eta_add(struct db_eta *e, size_t cell, double cost_ns, double seconds) {
    if (cell >= e->ncells || !(cost_ns >= 0) || !(seconds >= 0)) return;
    double c = cost_ns * 1e-9; /* model seconds */
    for (int l = 0; l < DB_ETA_LEVELS; l++) {
        e->done_s[l][e->group[l][cell]] += seconds;
        e->done_cost[l][e->group[l][cell]] += c;
    }
    double *left = &e->left_cost[e->group[DB_ETA_LEVELS - 1][cell]];
    *left = *left > c ? *left - c : 0;
}

double db_eta_left_s(const struct db_eta *e, const struct db_progress_position *p,
                     unsigned long long now_ns) {
    if (p->cost_done == 0) return db_progress_eta_s(p, now_ns);
    double elapsed = now_ns > p->start_ns ? (double)(now_ns - p->start_ns) * 1e-9 : 0;
    /* the run's rate: elapsed over the cost done (before this process too, in a sweep), without
     * the earlier children's preparation (an estimate: taken out only while it leaves at least
     * half of the elapsed time) */
    if (elapsed > 2 * e->earlier_prep_s) elapsed -= e->earlier_prep_s;
    double run_rate = elapsed / ((double)p->cost_done * 1e-9), own = 0, left = 0;
    for (size_t leaf = 0; leaf < e->nleaves; leaf++) {
        if (!(e->left_cost[leaf] > 0)) continue;
        double rate = run_rate;
        for (int l = 0; l < DB_ETA_LEVELS; l++) {
            size_t g = e->leaf_up[l][leaf];
            rate =
                (e->done_s[l][g] + DB_ETA_PRIOR_S * rate) / (e->done_cost[l][g] + DB_ETA_PRIOR_S);
        }
        own += e->left_cost[leaf];
        left += rate * e->left_cost[leaf];
    }
    double all = (double)(p->cost_total > p->cost_done ? p->cost_total - p->cost_done : 0) * 1e-9;
    double beyond = all > own ? all - own : 0; /* cells of later processes */
    return left + beyond * (own > 0 ? left / own : run_rate) + (beyond > 0 ? e->later_prep_s : 0);
}

int db_eta_init_plan(struct db_eta *e, const struct db_plan *plan, size_t config,
                     const unsigned char *sel) {
    enum { NAME = 64, KEY = 2 * NAME + 16 };
    size_t n = plan->ncells; /* diagonal and downstream cells: each has a workload */
    char(*text)[KEY] = malloc((n ? n : 1) * sizeof *text);
    const char **keys = malloc((n ? n : 1) * sizeof *keys);
    unsigned long long *cost = malloc((n ? n : 1) * sizeof *cost);
    int rc = text && keys && cost ? DB_OK : DB_E_NOMEM;
    for (size_t i = 0; rc == DB_OK && i < n; i++) {
        const struct db_cell *c = &plan->cells[i];
        char m[NAME];
        size_t item = config * n + i;
        cost[i] = item < plan->nitems ? plan->items[item].cost : 0;
        snprintf(text[i], KEY, "%d/%s/%s", (int)c->kind, db_cell_strategy_name(c, m, sizeof m),
                 c->wl->name);
        keys[i] = text[i];
    }
    if (rc == DB_OK) rc = db_eta_init(e, n, keys, cost, sel);
    free(text);
    free(keys);
    free(cost);
    return rc;
}

int db_noise_count(struct db_noise_tally *t, double cv, double threshold) {
    t->cells++;
    if (!(cv > threshold)) return 0;
    return ++t->noisy <= DB_NOISE_SHOWN;
}

void db_noise_summary(const struct db_noise_tally *t, double threshold, char *buf, size_t len) {
    if (t->noisy <= DB_NOISE_SHOWN) {
        snprintf(buf, len, "%s", "");
        return;
    }
    snprintf(buf, len,
             "%u of %u cells had cv above %.0f%% (%u more than the %d warned about above): the "
             "times are noisy; another load or frequency scaling? --precision PCT repeats each "
             "cell until its median is known to PCT%%",
             t->noisy, t->cells, 100 * threshold, t->noisy - DB_NOISE_SHOWN, DB_NOISE_SHOWN);
}
