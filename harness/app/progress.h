/* Progress on stderr: one numbering over the whole run (a sweep's children continue their
 * parent's count) and an ETA from the plan's cost model, corrected by the time the run has taken
 * so far against what the model predicted for it. */
#ifndef DB_PROGRESS_H
#define DB_PROGRESS_H

#include <stddef.h>

#include "harness/plan/cli.h"

/* CLOCK_MONOTONIC in nanoseconds (one clock for every process of the machine). */
unsigned long long db_progress_now_ns(void);

/* Seconds left: before any cost is done, the model's own prediction (its nanoseconds taken as
 * nanoseconds); after, the elapsed time scaled by the ratio of the cost left to the cost done. */
double db_progress_eta_s(const struct db_progress_position *p, unsigned long long now_ns);

/* "ETA 1m20s", "ETA 45s", "ETA 2h05m" (whole seconds, rounded up). */
void db_progress_format_eta(double seconds, char *buf, size_t len);

/* The ETA of the cells to come, learnt as cells finish: each cell's wall time (from the previous
 * cell's end) against its model cost. Cells are grouped at DB_ETA_LEVELS levels by a key
 * "A/B/C" (db_eta_init_plan: the cell kind, kind/strategy, kind/strategy/workload); the rate of
 * time per model second of a group is its own sums shrunk towards its parent's rate by
 * DB_ETA_PRIOR_S model seconds of evidence, the top level's towards the whole run's rate (elapsed
 * time over the cost done). A group not seen yet takes its parent's rate, so what the model
 * misprices for one kind of cell (a solver's flop rate, a framework's calls, the Google Benchmark
 * overhead of a short run) is learnt from that kind's own cells and carried over to its kind where
 * it has none. O(groups) per estimate. */
enum { DB_ETA_LEVELS = 3 };
#define DB_ETA_PRIOR_S 1.0
struct db_eta {
    size_t ncells, nleaves;
    size_t ngroups[DB_ETA_LEVELS];
    size_t *group[DB_ETA_LEVELS];   /* per cell: its group at each level */
    size_t *leaf_up[DB_ETA_LEVELS]; /* per leaf (deepest group): its group at each level */
    double *done_s[DB_ETA_LEVELS], *done_cost[DB_ETA_LEVELS]; /* per group: finished cells */
    double *left_cost;     /* per leaf: model seconds of the cells to come */
    double later_prep_s;   /* what later sweep children spend before their first cell (planning
                              the write path, calibrating), priced at this process's own (s) */
    double earlier_prep_s; /* the same for earlier ones, in the run's elapsed time: left out of
                              the run's rate */
};

/* Set up for ncells cells with keys[i] the "A/B/C" key of cell i and cost_ns[i] its model cost,
 * counted as to come when pending[i] (NULL: all). DB_E_NOMEM, or DB_OK. */
int db_eta_init(struct db_eta *e, size_t ncells, const char *const *keys,
                const unsigned long long *cost_ns, const unsigned char *pending);
void db_eta_free(struct db_eta *e);

/* db_eta_init for the cells of a plan's configuration config (its items' costs), pending where
 * sel is set: keys "kind/strategy/workload", the workload without its task (solve:sin is sin). */
struct db_plan;
int db_eta_init_plan(struct db_eta *e, const struct db_plan *plan, size_t config,
                     const unsigned char *sel);

/* Record a finished cell: its model cost (ns) and its wall time (s). */
void db_eta_add(struct db_eta *e, size_t cell, double cost_ns, double seconds);

/* Seconds left: the cells to come at their groups' rates, and any cost of p beyond them (a later
 * sweep configuration's cells, run by another process) at the mean rate of those, with
 * later_prep_s when there is such cost. Before any cost is done, db_progress_eta_s. */
double db_eta_left_s(const struct db_eta *e, const struct db_progress_position *p,
                     unsigned long long now_ns);

/* Noisy cells (cv above DB_CV_WARN): the first DB_NOISE_SHOWN get a warning under their
 * progress line; the rest are counted and summarised once at the end, so that on a shared
 * machine the warnings do not bury the progress. */
enum { DB_NOISE_SHOWN = 2 };
struct db_noise_tally {
    unsigned cells, noisy; /* cells seen, cells above the threshold */
};

/* Count a cell with coefficient of variation cv against threshold; 1 when its warning is to be
 * printed in full, 0 when it is only counted (or not noisy). */
int db_noise_count(struct db_noise_tally *t, double cv, double threshold);

/* The end-of-run line for the noisy cells not warned about one by one ("" when none). */
void db_noise_summary(const struct db_noise_tally *t, double threshold, char *buf, size_t len);

#endif
