/* The cost model, frozen: for every combination of the registries (workload x operator kind x
 * strategy, and task x workload x operator kind x solve method) a checksum of its costs over
 * sizes, option sets and thread counts (and of db_plan_cell_writes_matrix), compared with
 * tests/frozen_costs.tsv, recorded from the model as it was before it read the strategies' and
 * operator kinds' declarations instead of comparing their names. The costs decide how shards
 * split, so a change here is a change of behaviour. Only for an intended change of the model:
 * DIAGBENCH_FREEZE_COSTS=tests/frozen_costs.tsv build/tests/unit --filter 'costs/every*' rewrites
 * it (run from the repository root, as the other table-driven tests). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/plan/plan.h"

#define TABLE "tests/frozen_costs.tsv"

static const size_t sizes[] = {1, 7, 100, 2500, 20000, 100000, 1000000, 10000000};
static const int threads[] = {0, 1, 2};

/* Option sets: defaults, untagged, --band with a per-call cost, a memory limit, zero times. */
static const struct db_run_opts opts[] = {
    {.reps = 5, .min_time_s = 0.01, .call_cost_s = -1},
    {.reps = 5, .min_time_s = 0.01, .call_cost_s = -1, .untagged = 1},
    {.reps = 3,
     .min_time_s = 0.001,
     .call_cost_s = 2.5e-6,
     .band_set = 1,
     .band_lower = 4,
     .band_upper = 5},
    {.reps = 1, .min_time_s = 1e-4, .call_cost_s = -1, .mem_budget = 1ull << 30},
    {.reps = 0, .min_time_s = 0, .call_cost_s = 0},
};
#define COUNT(a) (sizeof a / sizeof a[0])

static unsigned long long fold(unsigned long long h, unsigned long long v) {
    char s[32];
    snprintf(s, sizeof s, "%llu;", v);
    for (const char *p = s; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 0x100000001b3ull;
    }
    return h;
}

static enum db_jac jac_of(const char *kind) {
    return strcmp(kind, "jacobian") == 0 ? DB_JAC_FWD : DB_JAC_NONE;
}

static unsigned long long plain_hash(const struct db_workload *wl, const char *kind,
                                     const struct db_strategy *st) {
    unsigned long long h = 0xcbf29ce484222325ull;
    for (size_t s = 0; s < COUNT(sizes); s++)
        for (size_t o = 0; o < COUNT(opts); o++) {
            struct db_cell c = {
                .wl = wl, .op_kind = kind, .jac = jac_of(kind), .strategy = st, .n = sizes[s]};
            h = fold(h, (unsigned long long)db_plan_cell_writes_matrix(&c, &opts[o]));
            for (size_t t = 0; t < COUNT(threads); t++)
                h = fold(h, db_plan_cell_cost(&c, &opts[o], threads[t]));
        }
    return h;
}

static unsigned long long downstream_hash(enum db_cell_kind task, const struct db_workload *wl,
                                          const char *kind, const struct db_solve_method *m) {
    unsigned long long h = 0xcbf29ce484222325ull;
    static const size_t lu_max[] = {0, 2000};
    for (size_t s = 0; s < COUNT(sizes); s++)
        for (size_t o = 0; o < COUNT(opts); o++)
            for (size_t l = 0; l < COUNT(lu_max); l++)
                for (size_t t = 0; t < COUNT(threads); t++) {
                    struct db_cell c = {.kind = task,
                                        .wl = wl,
                                        .op_kind = kind,
                                        .jac = jac_of(kind),
                                        .method = *m,
                                        .n = sizes[s],
                                        .lu_max_n = lu_max[l]};
                    h = fold(h, db_plan_downstream_cost(&c, &opts[o], threads[t]));
                }
    return h;
}

/* Every line of the table, in a fixed order: "workload\tkind\tstrategy\thash". */
static char *table(void) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    for (size_t w = 0; w < db_workload_count; w++)
        for (size_t k = 0; k < db_operator_kind_count; k++)
            for (size_t s = 0; s < db_strategy_count; s++)
                fprintf(f, "%s\t%s\t%s\t%016llx\n", db_workloads[w]->name, db_operator_kinds[k],
                        db_strategies[s]->name,
                        plain_hash(db_workloads[w], db_operator_kinds[k], db_strategies[s]));
    struct db_solve_method m[DB_MAX_LIST];
    size_t nm = db_solve_methods_all(m, DB_MAX_LIST);
    cr_assert_leq(nm, DB_MAX_LIST);
    for (enum db_cell_kind task = DB_CELL_SOLVE; task <= DB_CELL_NEWTON; task++)
        for (size_t w = 0; w < db_workload_count; w++)
            for (size_t k = 0; k < db_operator_kind_count; k++)
                for (size_t i = 0; i < nm; i++) {
                    char name[64];
                    fprintf(f, "%s:%s\t%s\t%s\t%016llx\n", db_cell_kind_name(task),
                            db_workloads[w]->name, db_operator_kinds[k],
                            db_solve_method_name(&m[i], name, sizeof name),
                            downstream_hash(task, db_workloads[w], db_operator_kinds[k], &m[i]));
                }
    cr_assert_eq(fclose(f), 0);
    return buf;
}

Test(costs, every_registry_combination_costs_as_frozen) {
    char *now = table();
    const char *freeze = getenv("DIAGBENCH_FREEZE_COSTS");
    if (freeze && *freeze) {
        FILE *f = fopen(freeze, "w");
        cr_assert_not_null(f, "%s", freeze);
        fputs(now, f);
        cr_assert_eq(fclose(f), 0);
    }
    FILE *f = fopen(TABLE, "r");
    cr_assert_not_null(f, TABLE " (run from the repository root)");
    char want[256];
    const char *line = now;
    size_t lines = 0;
    while (fgets(want, sizeof want, f)) {
        const char *end = strchr(line, '\n');
        cr_assert_not_null(end,
                           "the registries have fewer combinations than " TABLE " (line %zu: %s)",
                           lines + 1, want);
        size_t len = (size_t)(end - line) + 1;
        cr_assert(strlen(want) == len && strncmp(want, line, len) == 0,
                  TABLE " line %zu: want %s   got %.*s", lines + 1, want, (int)len, line);
        line = end + 1;
        lines++;
    }
    fclose(f);
    cr_assert_eq(*line, 0, "the registries have more combinations than " TABLE ": %s", line);
    cr_assert_gt(lines, 0);
    free(now);
}
