#include "harness/plan/cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/env/omp_env.h"
#include "harness/env/memory.h"
#include "harness/plan/shard.h"

/* ---- comma lists -------------------------------------------------------------------------- */

typedef int (*item_fn)(const char *item, void *ctx, size_t index, char *err, size_t errlen);

/* Split list at commas, rejecting empty lists, empty items and more than DB_MAX_LIST items. */
static int each_item(const char *list, const char *flag, item_fn fn, void *ctx, size_t *count,
                     char *err, size_t errlen) {
    if (!list || !*list) return db_fail(err, errlen, "%s: empty list", flag);
    size_t k = 0;
    const char *p = list;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == 0) return db_fail(err, errlen, "%s: empty item in list '%s'", flag, list);
        if (k == DB_MAX_LIST)
            return db_fail(err, errlen, "%s: more than %d items in list", flag, DB_MAX_LIST);
        char item[128];
        if (len >= sizeof item)
            return db_fail(err, errlen, "%s: item too long in '%s'", flag, list);
        memcpy(item, p, len);
        item[len] = 0;
        int rc = fn(item, ctx, k, err, errlen);
        if (rc != DB_OK) return rc;
        k++;
        if (!c) break;
        p = c + 1;
    }
    *count = k;
    return DB_OK;
}

/* Whole decimal number, digits only; DB_E_INVALID on anything else or overflow past max. */
static int parse_whole(const char *s, unsigned long long max, unsigned long long *v) {
    if (!*s) return DB_E_INVALID;
    unsigned long long x = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p)) return DB_E_INVALID;
        unsigned d = (unsigned)(*p - '0');
        if (d > max || x > (max - d) / 10) return DB_E_INVALID; /* max - d must not wrap */
        x = x * 10 + d;
    }
    *v = x;
    return DB_OK;
}

struct sizes_ctx {
    const char *flag;
    size_t *out;
};

static int size_item(const char *item, void *vctx, size_t i, char *err, size_t errlen) {
    struct sizes_ctx *c = vctx;
    unsigned long long v;
    if (parse_whole(item, DB_MAX_N, &v) != DB_OK || v < 1)
        return db_fail(err, errlen,
                       "invalid size '%s' in %s: expected a whole number from 1 to %llu", item,
                       c->flag, DB_MAX_N);
    for (size_t j = 0; j < i; j++)
        if (c->out[j] == v) return db_fail(err, errlen, "%s: size %s given twice", c->flag, item);
    c->out[i] = (size_t)v;
    return DB_OK;
}

int db_parse_sizes(const char *list, const char *flag, size_t *out, size_t *count, char *err,
                   size_t errlen) {
    struct sizes_ctx c = {flag, out};
    return each_item(list, flag, size_item, &c, count, err, errlen);
}

struct ints_ctx {
    const char *flag;
    int lo, hi;
    int *out;
};

static int int_item(const char *item, void *vctx, size_t i, char *err, size_t errlen) {
    struct ints_ctx *c = vctx;
    unsigned long long v;
    if (parse_whole(item, (unsigned long long)c->hi, &v) != DB_OK || v < (unsigned long long)c->lo)
        return db_fail(err, errlen,
                       "invalid value '%s' in %s: expected a whole number from %d to %d", item,
                       c->flag, c->lo, c->hi);
    for (size_t j = 0; j < i; j++)
        if (c->out[j] == (int)v) return db_fail(err, errlen, "%s: %s given twice", c->flag, item);
    c->out[i] = (int)v;
    return DB_OK;
}

int db_parse_ints(const char *list, const char *flag, int lo, int hi, int *out, size_t *count,
                  char *err, size_t errlen) {
    struct ints_ctx c = {flag, lo, hi, out};
    return each_item(list, flag, int_item, &c, count, err, errlen);
}

/* Allowed names, comma-separated, for error messages. */
static void names_of(char *buf, size_t len, const char *const *names, size_t count) {
    buf[0] = 0;
    for (size_t i = 0; i < count; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", i ? ", " : "", names[i]);
    }
}

static int workload_item(const char *item, void *vctx, size_t i, char *err, size_t errlen) {
    (void)i;
    struct db_selection *s = vctx;
    const struct db_workload *w = db_workload_find(item);
    if (w) {
        for (size_t j = 0; j < s->nworkloads; j++)
            if (s->workloads[j] == w) return db_fail(err, errlen, "-w: %s given twice", item);
        s->workloads[s->nworkloads++] = w;
        return DB_OK;
    }
    struct db_task_workload tw;
    if (db_task_workload_parse(item, &tw.task, &tw.wl) == DB_OK) {
        for (size_t j = 0; j < s->ntasks; j++)
            if (s->tasks[j].task == tw.task && s->tasks[j].wl == tw.wl)
                return db_fail(err, errlen, "-w: %s given twice", item);
        s->tasks[s->ntasks++] = tw;
        return DB_OK;
    }
    const char *names[DB_MAX_LIST];
    for (size_t k = 0; k < db_workload_count && k < DB_MAX_LIST; k++)
        names[k] = db_workloads[k]->name;
    char allowed[512];
    names_of(allowed, sizeof allowed, names, db_workload_count);
    return db_fail(err, errlen,
                   "unknown workload '%s' in -w: expected one of %s, or solve:W / newton:W with W "
                   "one of those",
                   item, allowed);
}

/* Allowed diagonal strategies, then the solve methods, comma-separated. */
static void plain_strategy_names(char *buf, size_t len) {
    const char *names[DB_MAX_LIST];
    for (size_t k = 0; k < db_strategy_count && k < DB_MAX_LIST; k++)
        names[k] = db_strategies[k]->name;
    names_of(buf, len, names, db_strategy_count);
}

static void solve_method_names(char *buf, size_t len) {
    struct db_solve_method m[DB_MAX_LIST];
    size_t nm = db_solve_methods_all(m, DB_MAX_LIST);
    buf[0] = 0;
    for (size_t k = 0; k < nm && k < DB_MAX_LIST; k++) {
        char name[64];
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", k ? ", " : "",
                 db_solve_method_name(&m[k], name, sizeof name));
    }
}

/* All -s names: the diagonal strategies, then the solve methods. */
static void strategy_names(char *buf, size_t len) {
    plain_strategy_names(buf, len);
    size_t used = strlen(buf);
    if (used + 2 < len) {
        memcpy(buf + used, ", ", 3);
        solve_method_names(buf + used + 2, len - used - 2);
    }
}

static int strategy_item(const char *item, void *vctx, size_t i, char *err, size_t errlen) {
    (void)i;
    struct db_selection *s = vctx;
    const struct db_strategy *st = db_strategy_find(item);
    if (st) {
        for (size_t j = 0; j < s->nstrategies; j++)
            if (s->strategies[j] == st) return db_fail(err, errlen, "-s: %s given twice", item);
        s->strategies[s->nstrategies++] = st;
        return DB_OK;
    }
    struct db_solve_method m;
    if (db_solve_method_parse(item, &m) == DB_OK) {
        for (size_t j = 0; j < s->nmethods; j++)
            if (s->methods[j].diag == m.diag && s->methods[j].solver == m.solver)
                return db_fail(err, errlen, "-s: %s given twice", item);
        s->methods[s->nmethods++] = m;
        return DB_OK;
    }
    /* A known solver with a strategy it cannot use: name the pairs that solver takes. */
    const char *plus = strrchr(item, '+');
    enum db_solver solver;
    if (plus && db_solver_find(plus + 1, &solver) == DB_OK) {
        struct db_solve_method all[DB_MAX_LIST];
        size_t nm = db_solve_methods_all(all, DB_MAX_LIST);
        char pairs[512] = "";
        for (size_t k = 0; k < nm && k < DB_MAX_LIST; k++) {
            if (all[k].solver != solver) continue;
            char name[64];
            size_t used = strlen(pairs);
            snprintf(pairs + used, sizeof pairs - used, "%s%s", used ? ", " : "",
                     db_solve_method_name(&all[k], name, sizeof name));
        }
        return db_fail(err, errlen,
                       "invalid solve method '%s' in -s: the %s solver takes only %s (see --list)",
                       item, db_solver_name(solver), pairs);
    }
    char allowed[1024];
    strategy_names(allowed, sizeof allowed);
    return db_fail(err, errlen, "unknown strategy '%s' in -s: expected one of %s", item, allowed);
}

static int operator_item(const char *item, void *vctx, size_t i, char *err, size_t errlen) {
    struct db_selection *s = vctx;
    for (size_t k = 0; k < db_operator_kind_count; k++) {
        if (strcmp(item, db_operator_kinds[k]) != 0) continue;
        for (size_t j = 0; j < i; j++)
            if (s->operators[j] == db_operator_kinds[k])
                return db_fail(err, errlen, "-p: %s given twice", item);
        s->operators[i] = db_operator_kinds[k];
        return DB_OK;
    }
    char allowed[256];
    names_of(allowed, sizeof allowed, db_operator_kinds, db_operator_kind_count);
    return db_fail(err, errlen, "unknown operator '%s' in -p: expected one of %s", item, allowed);
}

static int jac_item(const char *item, void *vctx, size_t i, char *err, size_t errlen) {
    struct db_selection *s = vctx;
    enum db_jac j;
    if (strcmp(item, "fwd") == 0)
        j = DB_JAC_FWD;
    else if (strcmp(item, "bwd") == 0)
        j = DB_JAC_BWD;
    else
        return db_fail(err, errlen, "unknown jac '%s' in -j: expected fwd or bwd", item);
    if (i >= 2 || (i == 1 && s->jacs[0] == j))
        return db_fail(err, errlen, "-j: %s given twice", item);
    s->jacs[i] = j;
    return DB_OK;
}

static int bind_item(const char *item, void *vctx, size_t i, char *err, size_t errlen) {
    struct db_cli *cli = vctx;
    size_t k;
    for (k = 0; k < db_omp_bind_name_count; k++)
        if (strcmp(item, db_omp_bind_names[k]) == 0) break;
    if (k == db_omp_bind_name_count) {
        char allowed[256];
        names_of(allowed, sizeof allowed, db_omp_bind_names, db_omp_bind_name_count);
        return db_fail(err, errlen, "unknown binding '%s' in --bind: expected one of %s", item,
                       allowed);
    }
    /* master is OpenMP 5.0's old name of primary: the same configuration */
    const char *canon = strcmp(db_omp_bind_names[k], "master") == 0 ? "primary" : NULL;
    for (size_t j = 0; j < i; j++) {
        const char *prev = strcmp(cli->binds[j], "master") == 0 ? "primary" : cli->binds[j];
        if (strcmp(prev, canon ? canon : db_omp_bind_names[k]) == 0)
            return db_fail(err, errlen, "--bind: %s given twice%s", item,
                           canon || strcmp(cli->binds[j], "master") == 0
                               ? " (master is the old name of primary)"
                               : "");
    }
    cli->binds[i] = db_omp_bind_names[k];
    return DB_OK;
}

static int places_item(const char *item, void *vctx, size_t i, char *err, size_t errlen) {
    struct db_cli *cli = vctx;
    struct db_places p;
    char e[512];
    char allowed[256];
    names_of(allowed, sizeof allowed, db_omp_place_names, db_omp_place_name_count);
    int rc = db_omp_places_parse(item, &p, e, sizeof e);
    int abstract = rc == DB_OK && p.abstract[0];
    db_omp_places_free(&p);
    if (rc == DB_E_NOMEM) return rc;
    if (!abstract)
        return db_fail(err, errlen,
                       "invalid places '%s' in --places: expected one of %s, optionally with "
                       "(count); set OMP_PLACES in the environment for explicit place lists",
                       item, allowed);
    if (p.count)
        snprintf(cli->places[i], sizeof cli->places[i], "%s(%d)", p.abstract, p.count);
    else
        snprintf(cli->places[i], sizeof cli->places[i], "%s", p.abstract);
    for (size_t j = 0; j < i; j++)
        if (strcmp(cli->places[j], cli->places[i]) == 0)
            return db_fail(err, errlen, "--places: %s given twice", item);
    return DB_OK;
}

int db_cli_sweeps(const struct db_cli *cli) {
    return !cli->child && (cli->nthreads || cli->nbinds || cli->nplaces);
}

/* Fill defaults for lists not given: jacobian, fwd+bwd; without -w, all plain workloads (and,
 * when -s names only solve methods, all solve:/newton: workloads instead); without -s, all
 * strategies for plain workloads and all solve methods for downstream ones. */
static void selection_defaults(struct db_selection *s) {
    if (!s->nworkloads && !s->ntasks) {
        if (!s->nmethods || s->nstrategies)
            for (size_t i = 0; i < db_workload_count && i < DB_MAX_LIST; i++)
                s->workloads[s->nworkloads++] = db_workloads[i];
        if (s->nmethods)
            for (int t = DB_TASK_SOLVE; t <= DB_TASK_NEWTON; t++)
                for (size_t i = 0; i < db_workload_count && s->ntasks < DB_MAX_LIST; i++)
                    s->tasks[s->ntasks++] = (struct db_task_workload){t, db_workloads[i]};
    }
    if (!s->nstrategies && !s->nmethods) {
        if (s->nworkloads)
            for (size_t i = 0; i < db_strategy_count && i < DB_MAX_LIST; i++)
                s->strategies[s->nstrategies++] = db_strategies[i];
        if (s->ntasks) {
            s->nmethods = db_solve_methods_all(s->methods, DB_MAX_LIST);
            if (s->nmethods > DB_MAX_LIST) s->nmethods = DB_MAX_LIST;
        }
    }
    if (!s->noperators) s->operators[s->noperators++] = db_operator_kinds[0];
    if (!s->njacs) {
        s->jacs[0] = DB_JAC_FWD;
        s->jacs[1] = DB_JAC_BWD;
        s->njacs = 2;
    }
}

/* Every workload needs a strategy of its kind and every strategy a workload of its kind. */
static int selection_check(const struct db_selection *s, char *err, size_t errlen) {
    char allowed[1024], name[64];
    if (s->nworkloads && !s->nstrategies) {
        plain_strategy_names(allowed, sizeof allowed);
        return db_fail(err, errlen,
                       "-s: no diagonal strategy for workload %s: add one of %s (solve methods "
                       "such as probe+diagonal apply to solve:W / newton:W)",
                       s->workloads[0]->name, allowed);
    }
    if (s->ntasks && !s->nmethods) {
        solve_method_names(allowed, sizeof allowed);
        return db_fail(err, errlen,
                       "-s: no solve method for workload %s:%s: add one of %s (plain strategies "
                       "such as probe apply to plain workloads)",
                       db_task_name(s->tasks[0].task), s->tasks[0].wl->name, allowed);
    }
    if (s->nstrategies && !s->nworkloads)
        return db_fail(err, errlen,
                       "-s: strategy '%s' needs a plain workload in -w (sin, split, ...), not only "
                       "solve:W / newton:W ones",
                       s->strategies[0]->name);
    if (s->nmethods && !s->ntasks)
        return db_fail(err, errlen,
                       "-s: solve method '%s' needs a solve:W or newton:W workload in -w",
                       db_solve_method_name(&s->methods[0], name, sizeof name));
    return DB_OK;
}

/* ---- presets ------------------------------------------------------------------------------ */

#define DS_ALL_SOLVE  "solve:sin,solve:split,solve:seqsin,solve:nobatch"
#define DS_ALL_NEWTON "newton:sin,newton:split,newton:seqsin,newton:nobatch"
#define DS_METHODS    "probe+diagonal,materialise+diagonal,materialise+lu"
#define DS_TRIDIAG    "probe-tridiag+tridiagonal,materialise+tridiagonal,materialise+lu,probe+diagonal"

static const struct db_preset_block quick_blocks[] = {
    {"sin,split,nobatch", "jacobian", "fwd,bwd", "materialise,probe",
     "10,100,1000,2000,4000,5000,8000,16000", 0},
    /* seqsin's materialise is n calls of ~10 us: 8000 tells the story in a quick run */
    {"seqsin", "jacobian", "fwd,bwd", "materialise,probe", "10,100,1000,2000,4000,8000", 0},
    {"sin,split", "jacobian", "fwd,bwd", "materialise,probe", "100000,1000000", 0},
    {"sin,split,seqsin,nobatch", "function,matrix,diagonal", "fwd", "materialise,probe",
     "100,1000,4000", 0},
    /* Downstream: LU is O(n^3), so the quick matrix caps it (skipped_budget above the cap). */
    {DS_ALL_SOLVE, "jacobian", "fwd,bwd", DS_METHODS, "10,100,1000,2000", 2000},
    {DS_ALL_NEWTON, "jacobian", "fwd,bwd", DS_METHODS, "10,100,1000,2000", 1000},
    {"solve:sin,newton:sin", "jacobian", "fwd", DS_METHODS, "100000,1000000", 2000},
    /* checked tags and structured probes (stencil sizes are perfect squares) */
    {"liar,tridiag,banded,stencil,randsparse", "jacobian", "fwd,bwd",
     "materialise,probe,probe-checked,probe-tridiag,probe-banded,probe-coloured", "100,2500", 0},
    {"sin,split", "jacobian", "fwd,bwd", "probe-checked", "10000,1000000", 0},
    {"seqsin,nobatch,liar", "jacobian", "fwd,bwd", "probe-checked", "1000", 0},
    {"liar,tridiag", "jacobian", "fwd,bwd", "probe-tridiag", "10000,1000000", 0},
    {"banded", "jacobian", "fwd,bwd", "probe-banded,probe-coloured", "10000,1000000", 0},
    {"stencil", "jacobian", "fwd,bwd", "probe-coloured", "10000,1000000", 0},
    {"randsparse", "jacobian", "fwd,bwd", "probe-coloured", "10000,250000", 0},
    {"tridiag,stencil", "function,matrix", "fwd", "probe-tridiag,probe-coloured", "100,2500", 0},
    /* downstream tridiagonal solve (dgtsv), and liar: tagged diagonal, truly tridiagonal */
    {"solve:tridiag", "jacobian", "fwd,bwd", DS_TRIDIAG, "100,1000,2000", 2000},
    {"solve:tridiag", "jacobian", "fwd", "probe-tridiag+tridiagonal", "100000,1000000", 0},
    {"solve:liar", "jacobian", "fwd", "probe+diagonal,probe-tridiag+tridiagonal", "100,1000", 0},
};

static const struct db_preset_block pr_blocks[] = {
    {"split", "jacobian", "fwd,bwd", "materialise,probe",
     "10,22,46,100,215,464,1000,2154,4642,10000,21544,40000", 0},
    {"seqsin", "jacobian", "fwd,bwd", "materialise,probe", "20,45,100,224,500,1118,2500,5000", 0},
    {"solve:split", "jacobian", "fwd,bwd", DS_METHODS,
     "10,22,46,100,215,464,1000,2154,4642,10000,21544,40000", 4642},
    {"newton:split", "jacobian", "fwd,bwd", DS_METHODS, "10,22,46,100,215,464,1000,2154,4642,10000",
     2154},
    {"solve:seqsin,newton:seqsin", "jacobian", "fwd,bwd", DS_METHODS, "20,45,100,224,500,1118,2500",
     2500},
};

static const struct db_preset_block full_blocks[] = {
    {"sin,split,seqsin,nobatch", "jacobian,function,matrix,diagonal", "fwd,bwd",
     "materialise,probe", "10,32,100,316,1000,3162,10000,31623", 0},
    {"sin,split", "jacobian", "fwd,bwd", "probe", "100000,1000000,10000000", 0},
    {DS_ALL_SOLVE "," DS_ALL_NEWTON, "jacobian", "fwd,bwd", DS_METHODS,
     "10,32,100,316,1000,3162,10000", 3162},
    {"solve:sin,solve:split,newton:sin,newton:split", "jacobian", "fwd,bwd", "probe+diagonal",
     "100000,1000000,10000000", 0},
    {"sin,split,seqsin,nobatch,liar,tridiag,banded,stencil,randsparse",
     "jacobian,function,matrix,diagonal", "fwd,bwd",
     "probe-checked,probe-tridiag,probe-banded,probe-coloured", "100,1024,10000", 0},
    {"liar,tridiag,banded,stencil,randsparse", "jacobian", "fwd,bwd", "materialise,probe",
     "100,1024,10000", 0},
    {"sin,split", "jacobian", "fwd,bwd", "probe-checked", "100000,1000000,10000000", 0},
    {"tridiag", "jacobian", "fwd,bwd", "probe-tridiag", "100000,1000000,10000000", 0},
    {"banded", "jacobian", "fwd,bwd", "probe-banded,probe-coloured", "100000,1000000,10000000", 0},
    {"stencil", "jacobian", "fwd,bwd", "probe-coloured", "99856,1000000,9998244", 0},
    {"randsparse", "jacobian", "fwd,bwd", "probe-coloured", "100000,1000000", 0},
    {"solve:tridiag,solve:liar", "jacobian,function,matrix", "fwd,bwd",
     DS_TRIDIAG ",materialise+diagonal,probe-checked+diagonal", "10,100,1000,3162,10000", 3162},
    {"solve:tridiag", "jacobian", "fwd,bwd", "probe-tridiag+tridiagonal", "100000,1000000", 0},
};

#define BLOCKS(b) b, sizeof b / sizeof b[0]
const struct db_preset db_presets[] = {
    {"quick",
     "calibration, then all workloads x strategies x fwd/bwd, n = 10..10^6; structured probes "
     "to 10^6; solve/newton of every workload, n = 10..2000 (LU capped); tridiagonal solves "
     "(dgtsv) to 10^6 (< 3 min on 2 cores)",
     BLOCKS(quick_blocks)},
    {"pr",
     "the seed's sweep: split n = 10..40000, seqsin n = 20..5000, fwd and bwd; solve/newton "
     "of split and seqsin",
     BLOCKS(pr_blocks)},
    {"full",
     "every workload x operator x strategy, n = 10..31623, probes to 10^7; solve/newton of "
     "all workloads; tridiagonal solves of tridiag and liar",
     BLOCKS(full_blocks)},
};
const size_t db_preset_count = sizeof db_presets / sizeof db_presets[0];

const struct db_preset *db_preset_find(const char *name) {
    for (size_t i = 0; i < db_preset_count; i++)
        if (strcmp(db_presets[i].name, name) == 0) return &db_presets[i];
    return NULL;
}

int db_selection_cells(const struct db_selection *s, struct db_cell **cells, size_t *count) {
    for (size_t w = 0; w < s->nworkloads; w++)
        for (size_t o = 0; o < s->noperators; o++) {
            int is_jac = strcmp(s->operators[o], "jacobian") == 0;
            size_t nj = is_jac ? s->njacs : 1;
            for (size_t j = 0; j < nj; j++)
                for (size_t st = 0; st < s->nstrategies; st++)
                    for (size_t k = 0; k < s->nsizes; k++) {
                        struct db_cell *grown = realloc(*cells, (*count + 1) * sizeof **cells);
                        if (!grown) return DB_E_NOMEM;
                        *cells = grown;
                        grown[(*count)++] = (struct db_cell){
                            .wl = s->workloads[w],
                            .op_kind = s->operators[o],
                            .jac = is_jac ? s->jacs[j] : DB_JAC_NONE,
                            .strategy = s->strategies[st],
                            .n = s->sizes[k],
                        };
                    }
        }
    return DB_OK;
}

int db_selection_downstream_cells(const struct db_selection *s, struct db_downstream_cell **cells,
                                  size_t *count) {
    for (size_t w = 0; w < s->ntasks; w++)
        for (size_t o = 0; o < s->noperators; o++) {
            int is_jac = strcmp(s->operators[o], "jacobian") == 0;
            size_t nj = is_jac ? s->njacs : 1;
            for (size_t j = 0; j < nj; j++)
                for (size_t m = 0; m < s->nmethods; m++)
                    for (size_t k = 0; k < s->nsizes; k++) {
                        struct db_downstream_cell *grown =
                            realloc(*cells, (*count + 1) * sizeof **cells);
                        if (!grown) return DB_E_NOMEM;
                        *cells = grown;
                        grown[(*count)++] = (struct db_downstream_cell){
                            .task = s->tasks[w].task,
                            .wl = s->tasks[w].wl,
                            .op_kind = s->operators[o],
                            .jac = is_jac ? s->jacs[j] : DB_JAC_NONE,
                            .method = s->methods[m],
                            .n = s->sizes[k],
                            .lu_max_n = s->lu_max_n,
                            .budget_matrix = s->budget_matrix,
                        };
                    }
        }
    return DB_OK;
}

/* Parse one preset block into a selection. */
static int block_selection(const struct db_preset_block *pb, struct db_selection *s, char *err,
                           size_t errlen) {
    size_t k;
    memset(s, 0, sizeof *s);
    DB_CHECK(each_item(pb->workloads, "-w", workload_item, s, &k, err, errlen));
    DB_CHECK(each_item(pb->operators, "-p", operator_item, s, &s->noperators, err, errlen));
    DB_CHECK(each_item(pb->jacs, "-j", jac_item, s, &s->njacs, err, errlen));
    DB_CHECK(each_item(pb->strategies, "-s", strategy_item, s, &k, err, errlen));
    DB_CHECK(db_parse_sizes(pb->sizes, "-n", s->sizes, &s->nsizes, err, errlen));
    s->lu_max_n = pb->lu_max_n;
    return DB_OK;
}

int db_preset_cells(const struct db_preset *p, struct db_cell **cells, size_t *count, char *err,
                    size_t errlen) {
    for (size_t b = 0; b < p->nblocks; b++) {
        struct db_selection s;
        DB_CHECK(block_selection(&p->blocks[b], &s, err, errlen));
        DB_CHECK(db_selection_cells(&s, cells, count));
    }
    return DB_OK;
}

int db_preset_downstream_cells(const struct db_preset *p, size_t lu_max_n,
                               struct db_downstream_cell **cells, size_t *count, char *err,
                               size_t errlen) {
    for (size_t b = 0; b < p->nblocks; b++) {
        struct db_selection s;
        DB_CHECK(block_selection(&p->blocks[b], &s, err, errlen));
        s.lu_max_n = lu_max_n ? lu_max_n : s.lu_max_n;
        s.budget_matrix = lu_max_n ? NULL : p->name;
        DB_CHECK(db_selection_downstream_cells(&s, cells, count));
    }
    return DB_OK;
}

/* ---- flags -------------------------------------------------------------------------------- */

/* --resume takes the OUT.partial file an interrupted run left behind. */
static int check_resume(const char *v, char *err, size_t errlen) {
    size_t l = strlen(v), sl = strlen(".partial");
    if (l <= sl || strcmp(v + l - sl, ".partial") != 0)
        return db_fail(err, errlen,
                       "invalid --resume '%s': expected the OUT.partial file of an interrupted run "
                       "(a name ending in .partial)",
                       v);
    return DB_OK;
}

/* Does arg name this option? Sets *val for "--opt=value" and "-xVALUE" forms. */
static int is_opt(const char *arg, const char *shrt, const char *lng, const char **val) {
    *val = NULL;
    if (shrt && strncmp(arg, shrt, 2) == 0) {
        if (arg[2] == 0) return 1;
        *val = arg + 2;
        return 1;
    }
    if (lng) {
        size_t l = strlen(lng);
        if (strncmp(arg, lng, l) == 0) {
            if (arg[l] == 0) return 1;
            if (arg[l] == '=') {
                *val = arg + l + 1;
                return 1;
            }
        }
    }
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *v) {
    if (!s || !*s) return DB_E_INVALID;
    errno = 0;
    char *end;
    double x = strtod(s, &end);
    if (errno || *end || !(x >= lo && x <= hi)) return DB_E_INVALID;
    *v = x;
    return DB_OK;
}

/* "L,U": two whole numbers from 0 to DB_MAX_BAND. */
static int parse_band(const char *v, struct db_run_opts *o, char *err, size_t errlen) {
    const char *comma = strchr(v, ',');
    char l[32], u[32];
    unsigned long long lv, uv;
    if (comma && (size_t)(comma - v) < sizeof l && strlen(comma + 1) < sizeof u) {
        memcpy(l, v, (size_t)(comma - v));
        l[comma - v] = 0;
        strcpy(u, comma + 1);
        if (parse_whole(l, DB_MAX_BAND, &lv) == DB_OK &&
            parse_whole(u, DB_MAX_BAND, &uv) == DB_OK) {
            o->band_set = 1;
            o->band_lower = (size_t)lv;
            o->band_upper = (size_t)uv;
            return DB_OK;
        }
    }
    return db_fail(err, errlen,
                   "invalid --band '%s': expected L,U (lower and upper bandwidth), whole numbers "
                   "from 0 to %d",
                   v, DB_MAX_BAND);
}

int db_cli_parse(int argc, char **argv, struct db_cli *cli, char *err, size_t errlen) {
    memset(cli, 0, sizeof *cli);
    cli->run = (struct db_run_opts){.reps = 5, .min_time_s = 0.01, .call_cost_s = -1};
    cli->gb_argv[cli->gb_argc++] = argc > 0 ? argv[0] : "diagbench";
    struct db_selection *s = &cli->sel;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define VALUE()                                                                                    \
    do {                                                                                           \
        if (!v) {                                                                                  \
            if (i + 1 >= argc) return db_fail(err, errlen, "%s needs a value", a);                 \
            v = argv[++i];                                                                         \
        }                                                                                          \
    } while (0)
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli->help = 1;
        } else if (strcmp(a, "--version") == 0) {
            cli->version = 1;
        } else if (strcmp(a, "--list") == 0) {
            cli->list = 1;
        } else if (strcmp(a, "--calibrate") == 0) {
            cli->calibrate = 1;
        } else if (strcmp(a, "--env") == 0) {
            cli->env = 1;
        } else if (strcmp(a, "--schema") == 0) {
            cli->schema = 1;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            cli->quiet = 1;
        } else if (strcmp(a, "--untagged") == 0) {
            cli->run.untagged = 1;
        } else if (is_opt(a, NULL, "--band", &v)) {
            VALUE();
            DB_CHECK(parse_band(v, &cli->run, err, errlen));
        } else if (is_opt(a, NULL, "--on-mismatch", &v)) {
            VALUE();
            if (strcmp(v, "error") == 0)
                cli->run.on_mismatch_fallback = 0;
            else if (strcmp(v, "fallback") == 0)
                cli->run.on_mismatch_fallback = 1;
            else
                return db_fail(err, errlen,
                               "invalid --on-mismatch '%s': expected error or fallback", v);
        } else if (strncmp(a, "--benchmark_", 12) == 0) {
            if (cli->gb_argc >= DB_MAX_LIST)
                return db_fail(err, errlen, "too many --benchmark_ flags");
            cli->gb_argv[cli->gb_argc++] = argv[i];
        } else if (is_opt(a, NULL, "--matrix", &v)) {
            VALUE();
            if (!db_preset_find(v)) {
                const char *names[DB_MAX_LIST];
                for (size_t k = 0; k < db_preset_count; k++)
                    names[k] = db_presets[k].name;
                char allowed[256];
                names_of(allowed, sizeof allowed, names, db_preset_count);
                return db_fail(err, errlen, "unknown matrix '%s' in --matrix: expected one of %s",
                               v, allowed);
            }
            cli->matrix = v;
        } else if (is_opt(a, "-w", "--workloads", &v)) {
            VALUE();
            size_t k;
            s->nworkloads = s->ntasks = 0;
            DB_CHECK(each_item(v, "-w", workload_item, s, &k, err, errlen));
            cli->have_selection = 1;
        } else if (is_opt(a, "-s", "--strategies", &v)) {
            VALUE();
            size_t k;
            s->nstrategies = s->nmethods = 0;
            DB_CHECK(each_item(v, "-s", strategy_item, s, &k, err, errlen));
            cli->have_selection = 1;
        } else if (is_opt(a, "-p", "--operators", &v)) {
            VALUE();
            DB_CHECK(each_item(v, "-p", operator_item, s, &s->noperators, err, errlen));
            cli->have_selection = 1;
        } else if (is_opt(a, "-j", "--jac", &v)) {
            VALUE();
            DB_CHECK(each_item(v, "-j", jac_item, s, &s->njacs, err, errlen));
            cli->have_selection = 1;
        } else if (is_opt(a, "-n", "--sizes", &v)) {
            VALUE();
            DB_CHECK(db_parse_sizes(v, "-n", s->sizes, &s->nsizes, err, errlen));
            cli->have_selection = 1;
        } else if (is_opt(a, "-t", "--threads", &v)) {
            VALUE();
            DB_CHECK(db_parse_ints(v, "-t", 1, DB_MAX_THREADS, cli->threads, &cli->nthreads, err,
                                   errlen));
        } else if (is_opt(a, NULL, "--bind", &v)) {
            VALUE();
            DB_CHECK(each_item(v, "--bind", bind_item, cli, &cli->nbinds, err, errlen));
        } else if (is_opt(a, NULL, "--places", &v)) {
            VALUE();
            DB_CHECK(each_item(v, "--places", places_item, cli, &cli->nplaces, err, errlen));
        } else if (is_opt(a, NULL, "--reps", &v)) {
            VALUE();
            if (strchr(v, ',')) return db_fail(err, errlen, "--reps takes one number, got '%s'", v);
            size_t one;
            DB_CHECK(db_parse_ints(v, "--reps", 1, DB_MAX_REPS, &cli->run.reps, &one, err, errlen));
        } else if (is_opt(a, NULL, "--min-time", &v)) {
            VALUE();
            if (parse_double(v, 1e-6, 60, &cli->run.min_time_s) != DB_OK)
                return db_fail(err, errlen,
                               "invalid --min-time '%s': expected seconds from 1e-6 to 60", v);
        } else if (is_opt(a, NULL, "--call-cost-us", &v)) {
            VALUE();
            double us;
            if (parse_double(v, 0, 1e6, &us) != DB_OK)
                return db_fail(err, errlen,
                               "invalid --call-cost-us '%s': expected microseconds from 0 to 1e6",
                               v);
            cli->run.call_cost_s = us * 1e-6;
        } else if (is_opt(a, NULL, "--mem-limit", &v)) {
            VALUE();
            if (db_parse_bytes(v, &cli->run.mem_budget) != DB_OK)
                return db_fail(err, errlen,
                               "invalid --mem-limit '%s': expected bytes such as 512M, 2G or "
                               "1073741824",
                               v);
        } else if (is_opt(a, NULL, "--lu-max-n", &v)) {
            VALUE();
            if (strchr(v, ','))
                return db_fail(err, errlen, "--lu-max-n takes one number, got '%s'", v);
            size_t one;
            DB_CHECK(db_parse_sizes(v, "--lu-max-n", &cli->lu_max_n, &one, err, errlen));
        } else if (is_opt(a, "-o", "--out", &v)) {
            VALUE();
            if (!*v) return db_fail(err, errlen, "--out needs a file name");
            cli->out = v;
        } else if (is_opt(a, NULL, "--shard", &v)) {
            VALUE();
            DB_CHECK(db_shard_parse(v, &cli->shard_k, &cli->shard_n, err, errlen));
        } else if (is_opt(a, NULL, "--resume", &v)) {
            VALUE();
            DB_CHECK(check_resume(v, err, errlen));
            cli->resume = v;
        } else if (is_opt(a, NULL, "--_child", &v)) {
            VALUE();
            cli->child = v;
        } else if (is_opt(a, NULL, "--_cells", &v)) {
            VALUE();
            cli->cells = v;
        } else if (is_opt(a, NULL, "--wisdom", &v)) {
            VALUE();
            if (!*v) return db_fail(err, errlen, "--wisdom needs a file name");
            cli->wisdom = v;
        } else if (strcmp(a, "--no-wisdom") == 0) {
            cli->no_wisdom = 1;
        } else if (strcmp(a, "--_nocal") == 0) {
            cli->no_calibrate = 1;
        } else {
            return db_fail(err, errlen, "unknown argument '%s' (see --help)", a);
        }
#undef VALUE
    }
    if (cli->help || cli->version || cli->list || cli->env || cli->schema) return DB_OK;
    if (cli->calibrate && (cli->matrix || cli->have_selection))
        return db_fail(err, errlen,
                       "--calibrate runs alone (a --matrix run calibrates first anyway)");
    if (cli->calibrate && (cli->resume || cli->shard_n))
        return db_fail(
            err, errlen,
            "--calibrate cannot be combined with --resume or --shard: it is one short run "
            "(a --matrix run calibrates in every shard and resume anyway)");
    if (cli->calibrate) return DB_OK;
    if (cli->resume && !cli->matrix && !cli->have_selection) {
        cli->flags_from_resume = 1; /* the caller takes the matrix from the partial file */
        return DB_OK;
    }
    if (cli->matrix && cli->have_selection)
        return db_fail(err, errlen,
                       "--matrix cannot be combined with -w/-s/-p/-j/-n: use one or the other");
    if (!cli->matrix && !cli->have_selection)
        return db_fail(err, errlen,
                       "nothing to run: give --matrix NAME or -n SIZES, or --resume FILE.partial "
                       "(see --help)");
    if (!cli->matrix && !s->nsizes)
        return db_fail(err, errlen, "-n SIZES is required without --matrix");
    if (!cli->matrix) {
        selection_defaults(s);
        DB_CHECK(selection_check(s, err, errlen));
        s->lu_max_n = cli->lu_max_n;
        s->budget_matrix = NULL;
    }
    if (cli->resume && cli->out) {
        size_t lo = strlen(cli->out);
        if (strncmp(cli->resume, cli->out, lo) != 0 || strcmp(cli->resume + lo, ".partial") != 0)
            return db_fail(
                err, errlen,
                "--resume '%s' does not belong to --out '%s': expected --resume %s.partial",
                cli->resume, cli->out, cli->out);
    }
    return DB_OK;
}
