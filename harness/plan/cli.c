/* The command line, in the order this file reads: comma lists and their numbers (-n, -t); the
 * names of -w -s -p -j --bind --places; a selection's defaults and checks; the cells a selection
 * or a preset (presets.c) expands to; flag values; one handler per flag family; the two flag
 * tables and parse_arg; the checks after the last flag (check_flags); db_cli_parse. */
#include "harness/plan/cli.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"
#include "harness/env/omp_env.h"
#include "harness/env/memory.h"
#include "harness/plan/shard.h"
#include "workloads/remote.h"
#include "workloads/worker.h"

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

/* "-w: sin given twice" and the like. */
static int given_twice(const char *flag, const char *item, char *err, size_t errlen) {
    return db_fail(err, errlen, "%s: %s given twice", flag, item);
}

/* A setting given once: the first flag that gives it is kept in *slot; a second is refused. */
static int given_once(const char **slot, const char *flag, char *err, size_t errlen) {
    if (*slot)
        return db_fail(err, errlen,
                       "%s conflicts with %s given earlier: they set the same thing, give it once",
                       flag, *slot);
    *slot = flag;
    return DB_OK;
}

struct sizes_ctx {
    const char *flag;
    size_t *out;
    size_t n;                          /* sizes so far (a range item adds several) */
    unsigned char ranged[DB_MAX_LIST]; /* whether out[j] came from a range */
};

#define SIZE_FORMS "N, LO:HI:geom:K, LO:HI:lin:K, LO:HI:+STEP or LO:HI:*MULT (see --help)"

static int bad_range(const struct sizes_ctx *c, const char *item, const char *why, char *err,
                     size_t errlen) {
    return db_fail(err, errlen, "invalid size range '%s' in %s: %s; expected " SIZE_FORMS, item,
                   c->flag, why);
}

/* Add one size. A plain number given twice is an error; a size a range also gives, before or
 * after it (ranges overlap their neighbours, geometric rounding repeats small sizes), is kept
 * once, whatever the order. */
static int add_size(struct sizes_ctx *c, unsigned long long v, int from_range, const char *item,
                    char *err, size_t errlen) {
    for (size_t j = 0; j < c->n; j++)
        if (c->out[j] == v) {
            if (from_range || c->ranged[j]) return DB_OK;
            return db_fail(err, errlen, "%s: size %s given twice", c->flag, item);
        }
    if (c->n == DB_MAX_LIST)
        return db_fail(err, errlen, "%s: '%s' takes the list past %d sizes", c->flag, item,
                       DB_MAX_LIST);
    c->ranged[c->n] = (unsigned char)from_range;
    c->out[c->n++] = (size_t)v;
    return DB_OK;
}

/* LO:HI:geom:K, LO:HI:lin:K (K sizes from LO to HI, both included, rounded to whole numbers,
 * repeats dropped), LO:HI:+STEP (LO, LO+STEP, ... up to HI, as hyperfine's --parameter-step-size)
 * and LO:HI:*MULT (LO, LO*MULT, ... and HI, as Google Benchmark's Range with RangeMultiplier). */
static int size_range(struct sizes_ctx *c, const char *item, char *err, size_t errlen) {
    unsigned long long lo, hi, k;
    const char *p;
    if (db_parse_whole(item, &p, DB_MAX_N, &lo) != DB_OK || lo < 1 || *p != ':')
        return bad_range(c, item, "LO must be a whole number from 1 to 100000000", err, errlen);
    if (db_parse_whole(p + 1, &p, DB_MAX_N, &hi) != DB_OK || (*p != ':' && *p))
        return bad_range(c, item, "HI must be a whole number from 1 to 100000000", err, errlen);
    if (!*p)
        return bad_range(c, item, "the form is missing after LO:HI (e.g. 10:100:geom:5)", err,
                         errlen);
    if (hi <= lo) return bad_range(c, item, "HI must be larger than LO", err, errlen);
    const char *form = p + 1;
    if (strncmp(form, "geom:", 5) == 0 || strncmp(form, "lin:", 4) == 0) {
        int geom = form[0] == 'g';
        if (db_parse_whole(form + (geom ? 5 : 4), NULL, DB_MAX_LIST, &k) != DB_OK || k < 2)
            return bad_range(c, item, "K must be a whole number from 2 to 64", err, errlen);
        for (unsigned long long i = 0; i < k; i++) {
            unsigned long long v;
            if (i == k - 1)
                v = hi; /* both ends exact, whatever the rounding */
            else if (geom)
                v = (unsigned long long)llround(exp(
                    log((double)lo) + (double)i / (double)(k - 1) * log((double)hi / (double)lo)));
            else /* lo + (hi - lo) i / (k - 1), rounded half up, in whole numbers */
                v = lo + ((hi - lo) * i * 2 + (k - 1)) / (2 * (k - 1));
            if (v < lo) v = lo;
            if (v > hi) v = hi;
            DB_CHECK(add_size(c, v, 1, item, err, errlen));
        }
        return DB_OK;
    }
    if (form[0] == '+' || form[0] == '*') {
        unsigned long long step;
        int mul = form[0] == '*';
        if (db_parse_whole(form + 1, NULL, DB_MAX_N, &step) != DB_OK || step < 1 + (unsigned)mul)
            return bad_range(c, item,
                             mul ? "MULT must be a whole number from 2 to 100000000"
                                 : "STEP must be a whole number from 1 to 100000000",
                             err, errlen);
        if (!mul && step > hi - lo)
            return bad_range(c, item,
                             "STEP passes HI at once (a range of LO alone): at most HI - LO", err,
                             errlen);
        for (unsigned long long v = lo; v <= hi; v = mul ? v * step : v + step) {
            DB_CHECK(add_size(c, v, 1, item, err, errlen));
            if (mul ? v > hi / step : step > hi - v) break; /* the next one would pass HI */
        }
        if (mul) DB_CHECK(add_size(c, hi, 1, item, err, errlen));
        return DB_OK;
    }
    return bad_range(c, item, "unknown form after LO:HI:", err, errlen);
}

static int size_item(const char *item, void *vctx, size_t i, char *err, size_t errlen) {
    struct sizes_ctx *c = vctx;
    (void)i;
    int ranges = strcmp(c->flag, "-n") == 0; /* --lu-max-n takes one number */
    if (ranges && strchr(item, ':')) return size_range(c, item, err, errlen);
    unsigned long long v;
    if (db_parse_whole(item, NULL, DB_MAX_N, &v) != DB_OK || v < 1)
        return db_fail(
            err, errlen, "invalid size '%s' in %s: expected a whole number from 1 to %llu%s", item,
            c->flag, DB_MAX_N,
            ranges ? ", or a range LO:HI:geom:K, LO:HI:lin:K, LO:HI:+STEP, LO:HI:*MULT" : "");
    return add_size(c, v, 0, item, err, errlen);
}

int db_parse_sizes(const char *list, const char *flag, size_t *out, size_t *count, char *err,
                   size_t errlen) {
    struct sizes_ctx c = {.flag = flag, .out = out};
    size_t items;
    DB_CHECK(each_item(list, flag, size_item, &c, &items, err, errlen));
    *count = c.n;
    return DB_OK;
}

struct ints_ctx {
    const char *flag;
    int lo, hi;
    int *out;
};

static int int_item(const char *item, void *vctx, size_t i, char *err, size_t errlen) {
    struct ints_ctx *c = vctx;
    unsigned long long v;
    if (db_parse_whole(item, NULL, (unsigned long long)c->hi, &v) != DB_OK ||
        v < (unsigned long long)c->lo)
        return db_fail(err, errlen,
                       "invalid value '%s' in %s: expected a whole number from %d to %d", item,
                       c->flag, c->lo, c->hi);
    for (size_t j = 0; j < i; j++)
        if (c->out[j] == (int)v) return given_twice(c->flag, item, err, errlen);
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

static int unknown_workload(const char *item, char *err, size_t errlen) {
    const char *names[DB_MAX_LIST];
    for (size_t k = 0; k < db_workload_count && k < DB_MAX_LIST; k++)
        names[k] = db_workloads[k]->name;
    char allowed[512];
    names_of(allowed, sizeof allowed, names, db_workload_count);
    return db_fail(err, errlen,
                   "unknown workload '%s' in -w: expected one of %s, worker (with --worker), or "
                   "solve:W / newton:W with W one of those",
                   item, allowed);
}

/* One -w item: a plain workload (sin) or a downstream one (solve:sin). */
static int workload_item(const char *item, void *vctx, size_t i, char *err, size_t errlen) {
    (void)i;
    struct db_selection *s = vctx;
    const struct db_workload *w = db_workload_find(item);
    struct db_task_workload tw;
    if (w) {
        for (size_t j = 0; j < s->nworkloads; j++)
            if (s->workloads[j] == w) return given_twice("-w", item, err, errlen);
        s->workloads[s->nworkloads++] = w;
    } else if (db_task_workload_parse(item, &tw.kind, &tw.wl) == DB_OK) {
        for (size_t j = 0; j < s->ntasks; j++)
            if (s->tasks[j].kind == tw.kind && s->tasks[j].wl == tw.wl)
                return given_twice("-w", item, err, errlen);
        s->tasks[s->ntasks++] = tw;
    } else {
        return unknown_workload(item, err, errlen);
    }
    return DB_OK;
}

/* Allowed diagonal strategies, comma-separated. */
static void plain_strategy_names(char *buf, size_t len) {
    const char *names[DB_MAX_LIST];
    for (size_t k = 0; k < db_strategy_count && k < DB_MAX_LIST; k++)
        names[k] = db_strategies[k]->name;
    names_of(buf, len, names, db_strategy_count);
}

/* Allowed solve methods, comma-separated: all of them, or (only != NULL) those of one solver. */
static void solve_method_names(char *buf, size_t len, const enum db_solver *only) {
    struct db_solve_method m[DB_MAX_LIST];
    size_t nm = db_solve_methods_all(m, DB_MAX_LIST);
    buf[0] = 0;
    for (size_t k = 0; k < nm && k < DB_MAX_LIST; k++) {
        if (only && m[k].solver != *only) continue;
        char name[64];
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
                 db_solve_method_name(&m[k], name, sizeof name));
    }
}

/* All -s names: the diagonal strategies, then the solve methods. */
static void strategy_names(char *buf, size_t len) {
    plain_strategy_names(buf, len);
    size_t used = strlen(buf);
    if (used + 2 < len) {
        memcpy(buf + used, ", ", 3);
        solve_method_names(buf + used + 2, len - used - 2, NULL);
    }
}

/* A known solver with a strategy it cannot use names the pairs that solver takes. */
static int unknown_strategy(const char *item, char *err, size_t errlen) {
    const char *plus = strrchr(item, '+');
    enum db_solver solver;
    if (plus && db_solver_find(plus + 1, &solver) == DB_OK) {
        char pairs[512];
        solve_method_names(pairs, sizeof pairs, &solver);
        return db_fail(err, errlen,
                       "invalid solve method '%s' in -s: the %s solver takes only %s (see --list)",
                       item, db_solver_name(solver), pairs);
    }
    char allowed[1024];
    strategy_names(allowed, sizeof allowed);
    return db_fail(err, errlen, "unknown strategy '%s' in -s: expected one of %s", item, allowed);
}

/* One -s item: a diagonal strategy (probe) or a solve method (probe+diagonal). */
static int strategy_item(const char *item, void *vctx, size_t i, char *err, size_t errlen) {
    (void)i;
    struct db_selection *s = vctx;
    const struct db_strategy *st = db_strategy_find(item);
    struct db_solve_method m;
    if (st) {
        for (size_t j = 0; j < s->nstrategies; j++)
            if (s->strategies[j] == st) return given_twice("-s", item, err, errlen);
        s->strategies[s->nstrategies++] = st;
    } else if (db_solve_method_parse(item, &m) == DB_OK) {
        for (size_t j = 0; j < s->nmethods; j++)
            if (s->methods[j].diag == m.diag && s->methods[j].solver == m.solver)
                return given_twice("-s", item, err, errlen);
        s->methods[s->nmethods++] = m;
    } else {
        return unknown_strategy(item, err, errlen);
    }
    return DB_OK;
}

static int operator_item(const char *item, void *vctx, size_t i, char *err, size_t errlen) {
    struct db_selection *s = vctx;
    for (size_t k = 0; k < db_operator_kind_count; k++) {
        if (strcmp(item, db_operator_kinds[k]) != 0) continue;
        for (size_t j = 0; j < i; j++)
            if (s->operators[j] == db_operator_kinds[k])
                return given_twice("-p", item, err, errlen);
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
    if (i >= 2 || (i == 1 && s->jacs[0] == j)) return given_twice("-j", item, err, errlen);
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
            return given_twice("--places", item, err, errlen);
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
            for (enum db_cell_kind t = DB_CELL_SOLVE; t <= DB_CELL_NEWTON; t++)
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
        solve_method_names(allowed, sizeof allowed, NULL);
        return db_fail(err, errlen,
                       "-s: no solve method for workload %s:%s: add one of %s (plain strategies "
                       "such as probe apply to plain workloads)",
                       db_cell_kind_name(s->tasks[0].kind), s->tasks[0].wl->name, allowed);
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

/* ---- cells ------------------------------------------------------------------------------- */

int db_selection_cells(const struct db_selection *s, struct db_cell **cells, size_t *count) {
    for (size_t w = 0; w < s->nworkloads; w++)
        for (size_t o = 0; o < s->noperators; o++) {
            int is_jac = !!(db_operator_kind_flags(s->operators[o]) & DB_OPERATOR_JAC);
            size_t nj = is_jac ? s->njacs : 1;
            for (size_t j = 0; j < nj; j++)
                for (size_t st = 0; st < s->nstrategies; st++)
                    for (size_t k = 0; k < s->nsizes; k++) {
                        struct db_cell *grown = realloc(*cells, (*count + 1) * sizeof **cells);
                        if (!grown) return DB_E_NOMEM;
                        *cells = grown;
                        grown[(*count)++] = (struct db_cell){
                            .kind = DB_CELL_DIAGONAL,
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

int db_selection_downstream_cells(const struct db_selection *s, struct db_cell **cells,
                                  size_t *count) {
    for (size_t w = 0; w < s->ntasks; w++)
        for (size_t o = 0; o < s->noperators; o++) {
            int is_jac = !!(db_operator_kind_flags(s->operators[o]) & DB_OPERATOR_JAC);
            size_t nj = is_jac ? s->njacs : 1;
            for (size_t j = 0; j < nj; j++)
                for (size_t m = 0; m < s->nmethods; m++)
                    for (size_t k = 0; k < s->nsizes; k++) {
                        struct db_cell *grown = realloc(*cells, (*count + 1) * sizeof **cells);
                        if (!grown) return DB_E_NOMEM;
                        *cells = grown;
                        grown[(*count)++] = (struct db_cell){
                            .kind = s->tasks[w].kind,
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

int db_preset_downstream_cells(const struct db_preset *p, size_t lu_max_n, struct db_cell **cells,
                               size_t *count, char *err, size_t errlen) {
    for (size_t b = 0; b < p->nblocks; b++) {
        struct db_selection s;
        DB_CHECK(block_selection(&p->blocks[b], &s, err, errlen));
        s.lu_max_n = lu_max_n ? lu_max_n : s.lu_max_n;
        s.budget_matrix = lu_max_n ? NULL : p->name;
        DB_CHECK(db_selection_downstream_cells(&s, cells, count));
    }
    return DB_OK;
}

/* ---- flag values -------------------------------------------------------------------------- */

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
        if (db_parse_whole(l, NULL, DB_MAX_BAND, &lv) == DB_OK &&
            db_parse_whole(u, NULL, DB_MAX_BAND, &uv) == DB_OK) {
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

/* --reps and --lu-max-n take one number, not a list. */
static int one_number(const char *flag, const char *v, char *err, size_t errlen) {
    if (strchr(v, ',') || strchr(v, ':'))
        return db_fail(err, errlen, "%s takes one number, got '%s'", flag, v);
    return DB_OK;
}

static int unknown_matrix(const char *v, char *err, size_t errlen) {
    const char *names[DB_MAX_LIST];
    for (size_t k = 0; k < db_preset_count; k++)
        names[k] = db_presets[k].name;
    char allowed[256];
    names_of(allowed, sizeof allowed, names, db_preset_count);
    return db_fail(err, errlen, "unknown matrix '%s' in --matrix: expected one of %s", v, allowed);
}

/* ---- flags, by family ----------------------------------------------------------------------- */

/* The flags that take a value, grouped by the family handler that applies them. */
enum flag {
    /* selection_flag */
    FLAG_MATRIX,
    FLAG_WORKLOADS,
    FLAG_STRATEGIES,
    FLAG_OPERATORS,
    FLAG_JAC,
    FLAG_SIZES,
    /* threads_flag */
    FLAG_THREADS,
    FLAG_BIND,
    FLAG_PLACES,
    /* timing_flag */
    FLAG_REPS,
    FLAG_MIN_TIME,
    FLAG_CALL_COST,
    FLAG_MEM_LIMIT,
    FLAG_LU_MAX_N,
    FLAG_PRECISION,
    FLAG_MAX_TIME_PER_CELL,
    FLAG_PLANT_WORK,
    FLAG_PLANT_PCT,
    /* operator_flag */
    FLAG_BAND,
    FLAG_ON_MISMATCH,
    /* output_flag */
    FLAG_OUT,
    FLAG_SHARD,
    FLAG_RESUME,
    FLAG_WISDOM,
    FLAG_CELLS_FILE,
    /* internal_flag */
    FLAG_CHILD,
    FLAG_CELLS,
    /* report_flag */
    FLAG_JSON,
    FLAG_JSON_FD,
    FLAG_POSITION,
    /* remote_flag */
    FLAG_REMOTE_TRANSPORT,
    FLAG_REMOTE_ENCODING,
    FLAG_REMOTE_TIMEOUT,
    /* worker_flag */
    FLAG_WORKER,
    FLAG_WORKER_CPUS,
    FLAG_WORKER_THREADS,
};

/* What to run: --matrix, or the lists -w -s -p -j -n (each replaces an earlier one). */
static int selection_flag(struct db_cli *cli, enum flag f, const char *v, char *err,
                          size_t errlen) {
    struct db_selection *s = &cli->sel;
    size_t k;
    int rc;
    switch (f) {
    case FLAG_MATRIX:
        if (!db_preset_find(v)) return unknown_matrix(v, err, errlen);
        cli->matrix = v;
        return DB_OK;
    case FLAG_WORKLOADS:
        s->nworkloads = s->ntasks = 0;
        rc = each_item(v, "-w", workload_item, s, &k, err, errlen);
        break;
    case FLAG_STRATEGIES:
        s->nstrategies = s->nmethods = 0;
        rc = each_item(v, "-s", strategy_item, s, &k, err, errlen);
        break;
    case FLAG_OPERATORS:
        rc = each_item(v, "-p", operator_item, s, &s->noperators, err, errlen);
        break;
    case FLAG_JAC:
        rc = each_item(v, "-j", jac_item, s, &s->njacs, err, errlen);
        break;
    default: /* FLAG_SIZES */
        rc = db_parse_sizes(v, "-n", s->sizes, &s->nsizes, err, errlen);
        break;
    }
    if (rc == DB_OK) cli->have_selection = 1;
    return rc;
}

/* The thread sweep: -t, --bind, --places (one child process per configuration). */
static int threads_flag(struct db_cli *cli, enum flag f, const char *v, char *err, size_t errlen) {
    switch (f) {
    case FLAG_THREADS:
        return db_parse_ints(v, "-t", 1, DB_MAX_THREADS, cli->threads, &cli->nthreads, err, errlen);
    case FLAG_BIND:
        return each_item(v, "--bind", bind_item, cli, &cli->nbinds, err, errlen);
    default: /* FLAG_PLACES */
        return each_item(v, "--places", places_item, cli, &cli->nplaces, err, errlen);
    }
}

/* How long and how large each cell may be: --reps, --min-time, --call-cost-us, --mem-limit,
 * --lu-max-n. */
static int timing_flag(struct db_cli *cli, enum flag f, const char *v, char *err, size_t errlen) {
    struct db_run_opts *o = &cli->run;
    size_t one;
    double us;
    switch (f) {
    case FLAG_REPS:
        DB_CHECK(given_once(&cli->given_reps, "--reps", err, errlen));
        DB_CHECK(one_number("--reps", v, err, errlen));
        return db_parse_ints(v, "--reps", 1, DB_MAX_REPS, &o->reps, &one, err, errlen);
    case FLAG_MIN_TIME:
        DB_CHECK(given_once(&cli->given_min_time, "--min-time", err, errlen));
        if (parse_double(v, 1e-6, 60, &o->min_time_s) != DB_OK)
            return db_fail(err, errlen, "invalid --min-time '%s': expected seconds from 1e-6 to 60",
                           v);
        return DB_OK;
    case FLAG_CALL_COST:
        if (parse_double(v, 0, 1e6, &us) != DB_OK)
            return db_fail(err, errlen,
                           "invalid --call-cost-us '%s': expected microseconds from 0 to 1e6", v);
        o->call_cost_s = us * 1e-6;
        return DB_OK;
    case FLAG_PLANT_WORK:
        /* TEST ONLY (README: Comparing runs): real busy work in every primitive call, inside the
         * timed region, to plant a known slowdown in any workload's cells. */
        if (parse_double(v, 0, 1e9, &us) != DB_OK)
            return db_fail(err, errlen,
                           "invalid --plant-work-ns '%s': expected nanoseconds from 0 to 1e9", v);
        o->plant_work_s = us * 1e-9;
        return DB_OK;
    case FLAG_PLANT_PCT: /* TEST ONLY: as --plant-work-ns, relative to each extraction */
        if (parse_double(v, 0, 100, &o->plant_work_pct) != DB_OK)
            return db_fail(err, errlen,
                           "invalid --plant-work-pct '%s': expected a percentage from 0 to 100", v);
        return DB_OK;
    case FLAG_MEM_LIMIT:
        if (db_parse_bytes(v, &o->mem_budget) != DB_OK)
            return db_fail(err, errlen,
                           "invalid --mem-limit '%s': expected bytes such as 512M, 2G or "
                           "1073741824",
                           v);
        return DB_OK;
    case FLAG_PRECISION:
        if (parse_double(v, 0, 100, &o->precision_pct) != DB_OK || !(o->precision_pct > 0))
            return db_fail(err, errlen,
                           "invalid --precision '%s': expected a percentage above 0, at most 100",
                           v);
        return DB_OK;
    case FLAG_MAX_TIME_PER_CELL:
        if (parse_double(v, 0.001, 86400, &o->max_time_per_cell_s) != DB_OK)
            return db_fail(err, errlen,
                           "invalid --max-time-per-cell '%s': expected seconds from 0.001 to 86400",
                           v);
        return DB_OK;
    default: /* FLAG_LU_MAX_N */
        DB_CHECK(one_number("--lu-max-n", v, err, errlen));
        return db_parse_sizes(v, "--lu-max-n", &cli->lu_max_n, &one, err, errlen);
    }
}

/* How operators are built and checked: --band, --on-mismatch. */
static int operator_flag(struct db_cli *cli, enum flag f, const char *v, char *err, size_t errlen) {
    if (f == FLAG_BAND) return parse_band(v, &cli->run, err, errlen);
    if (strcmp(v, "error") == 0)
        cli->run.on_mismatch_fallback = 0;
    else if (strcmp(v, "fallback") == 0)
        cli->run.on_mismatch_fallback = 1;
    else
        return db_fail(err, errlen, "invalid --on-mismatch '%s': expected error or fallback", v);
    return DB_OK;
}

/* Where results go and which part of the matrix runs: -o, --shard, --resume, --wisdom. */
static int output_flag(struct db_cli *cli, enum flag f, const char *v, char *err, size_t errlen) {
    switch (f) {
    case FLAG_OUT:
        if (!*v) return db_fail(err, errlen, "--out needs a file name");
        DB_CHECK(given_once(&cli->given_out, "--out", err, errlen));
        cli->out = v;
        return DB_OK;
    case FLAG_SHARD:
        return db_shard_parse(v, &cli->shard_k, &cli->shard_n, err, errlen);
    case FLAG_RESUME:
        DB_CHECK(check_resume(v, err, errlen));
        cli->resume = v;
        return DB_OK;
    case FLAG_CELLS_FILE:
        if (!*v) return db_fail(err, errlen, "--cells needs a file name");
        cli->cells_file = v;
        return DB_OK;
    default: /* FLAG_WISDOM */
        if (!*v) return db_fail(err, errlen, "--wisdom needs a file name");
        cli->wisdom = v;
        return DB_OK;
    }
}

/* Handed down by a sweep parent to its children: --_child RUN, --_cells INDICES. */
static int internal_flag(struct db_cli *cli, enum flag f, const char *v, char *err, size_t errlen) {
    (void)err, (void)errlen;
    if (f == FLAG_CHILD)
        cli->child = v;
    else
        cli->cells = v;
    return DB_OK;
}

/* "CONFIG,DONE,TOTAL,START_NS,COST_DONE,COST_TOTAL" (--_position, from a sweep parent). */
static int parse_position(const char *v, struct db_progress_position *p) {
    unsigned long long x[6];
    const char *s = v;
    for (int k = 0; k < 6; k++) {
        const char *end;
        if (db_parse_whole(s, &end, ~0ull, &x[k]) != DB_OK || *end != (k < 5 ? ',' : 0))
            return DB_E_INVALID;
        s = end + 1;
    }
    if (x[1] > x[2] || x[4] > x[5]) return DB_E_INVALID;
    *p = (struct db_progress_position){(size_t)x[0], (size_t)x[1], (size_t)x[2], x[3], x[4], x[5]};
    return DB_OK;
}

/* --json FILE; internal: --_json-fd N, --_position (handed down by a sweep parent). */
static int report_flag(struct db_cli *cli, enum flag f, const char *v, char *err, size_t errlen) {
    unsigned long long fd;
    switch (f) {
    case FLAG_JSON:
        if (!*v) return db_fail(err, errlen, "--json needs a file name");
        if (!strcmp(v, "-"))
            return db_fail(err, errlen,
                           "--json '-': give a file name (standard output carries the summary; "
                           "--json /dev/stdout writes it there)");
        DB_CHECK(given_once(&cli->given_json, "--json", err, errlen));
        cli->json = v;
        return DB_OK;
    case FLAG_JSON_FD:
        if (db_parse_whole(v, NULL, 1 << 20, &fd) != DB_OK || fd < 3)
            return db_fail(err, errlen, "invalid --_json-fd '%s'", v);
        cli->json_fd = (int)fd;
        return DB_OK;
    default: /* FLAG_POSITION */
        if (parse_position(v, &cli->position) != DB_OK)
            return db_fail(err, errlen, "invalid --_position '%s'", v);
        cli->have_position = 1;
        return DB_OK;
    }
}

/* Google Benchmark's boolean flag values. */
static int parse_bool(const char *v, int *out) {
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no",
                                                                                "off", "0"};
    for (size_t k = 0; k < 4; k++) {
        if (strcmp(v, yes[k]) == 0) return *out = 1, DB_OK;
        if (strcmp(v, no[k]) == 0) return *out = 0, DB_OK;
    }
    return DB_E_INVALID;
}

/* Google Benchmark's own --benchmark_NAME=VALUE flags, as Google Benchmark documents them, for
 * the whole run: those that mean something here map onto diagbench's options (and are recorded
 * as those); every other one is refused, naming it. Each cell is a Google Benchmark run of its
 * own inside diagbench, so flags about which benchmarks run or how the console looks would
 * otherwise act per cell (a filter turned the other cells into errors; --benchmark_out kept only
 * the last cell). */
static int benchmark_flag(struct db_cli *cli, const char *a, char *err, size_t errlen) {
    const char *eq = strchr(a, '=');
    int len = eq ? (int)(eq - a) : (int)strlen(a);
    const char *v = eq ? eq + 1 : "";
#define IS(name) ((size_t)len == strlen(name) && strncmp(a, name, (size_t)len) == 0)
    if (!IS("--benchmark_out") && !IS("--benchmark_out_format") && !IS("--benchmark_repetitions") &&
        !IS("--benchmark_min_time") && !IS("--benchmark_report_aggregates_only")) {
        if (IS("--benchmark_filter"))
            return db_fail(err, errlen,
                           "--benchmark_filter is not supported: select cells with -w, -s, -p, "
                           "-j and -n");
        if (IS("--benchmark_format"))
            return db_fail(err, errlen,
                           "--benchmark_format is not supported: stdout holds the CSV; write "
                           "Google Benchmark JSON with --json FILE or --benchmark_out=FILE");
        return db_fail(err, errlen,
                       "unsupported Google Benchmark flag '%.*s': diagbench takes "
                       "--benchmark_out=FILE, --benchmark_out_format=json, "
                       "--benchmark_repetitions=K, --benchmark_min_time=S and "
                       "--benchmark_report_aggregates_only=BOOL",
                       len, a);
    }
    if (!eq || !*v) return db_fail(err, errlen, "%.*s needs =VALUE", len, a);
    size_t one;
    if (IS("--benchmark_out")) {
        DB_CHECK(given_once(&cli->given_json, "--benchmark_out", err, errlen));
        cli->json = v;
        cli->gb_out = 1;
    } else if (IS("--benchmark_out_format")) {
        if (strcmp(v, "json") != 0)
            return db_fail(err, errlen,
                           "invalid --benchmark_out_format '%s': diagbench writes json only (the "
                           "CSV is its own format: --out)",
                           v);
        cli->gb_out_format = 1;
    } else if (IS("--benchmark_repetitions")) {
        DB_CHECK(given_once(&cli->given_reps, "--benchmark_repetitions", err, errlen));
        DB_CHECK(one_number("--benchmark_repetitions", v, err, errlen));
        return db_parse_ints(v, "--benchmark_repetitions", 1, DB_MAX_REPS, &cli->run.reps, &one,
                             err, errlen);
    } else if (IS("--benchmark_min_time")) {
        DB_CHECK(given_once(&cli->given_min_time, "--benchmark_min_time", err, errlen));
        /* Seconds: "0.5" (Google Benchmark 1.7) or "0.5s" (1.8); "100x" (an iteration count,
         * 1.8) is not supported. */
        char buf[64];
        size_t n = strlen(v);
        if (n < sizeof buf && n > 1 && v[n - 1] == 's') {
            memcpy(buf, v, n - 1);
            buf[n - 1] = 0;
            v = buf;
        }
        if (parse_double(v, 1e-6, 60, &cli->run.min_time_s) != DB_OK)
            return db_fail(err, errlen,
                           "invalid --benchmark_min_time '%s': expected seconds from 1e-6 to 60 "
                           "(e.g. 0.5 or 0.5s)",
                           eq + 1);
    } else if (parse_bool(v, &cli->json_aggregates_only) != DB_OK) {
        return db_fail(err, errlen,
                       "invalid --benchmark_report_aggregates_only '%s': expected true or false",
                       v);
    }
#undef IS
    return DB_OK;
}

/* How the remote workloads reach their worker: --remote-transport, --remote-encoding,
 * --remote-timeout-ms. */
static int remote_flag(struct db_cli *cli, enum flag f, const char *v, char *err, size_t errlen) {
    struct db_run_opts *o = &cli->run;
    unsigned long long ms;
    switch (f) {
    case FLAG_REMOTE_TRANSPORT:
        if (db_remote_transport_parse(v, &o->remote_transport) != DB_OK)
            return db_fail(err, errlen, "invalid --remote-transport '%s': expected unix or tcp", v);
        return DB_OK;
    case FLAG_REMOTE_ENCODING:
        if (db_remote_encoding_parse(v, &o->remote_encoding) != DB_OK)
            return db_fail(err, errlen, "invalid --remote-encoding '%s': expected binary or json",
                           v);
        return DB_OK;
    default: /* FLAG_REMOTE_TIMEOUT */
        if (db_parse_whole(v, NULL, DB_REMOTE_TIMEOUT_MS_MAX, &ms) != DB_OK || ms == 0)
            return db_fail(err, errlen,
                           "invalid --remote-timeout-ms '%s': expected milliseconds from 1 to %d",
                           v, DB_REMOTE_TIMEOUT_MS_MAX);
        o->remote_timeout_ms = (int)ms;
        return DB_OK;
    }
}

/* The worker workload's program and placement: --worker, --worker-cpus, --worker-threads. */
static int worker_flag(struct db_cli *cli, enum flag f, const char *v, char *err, size_t errlen) {
    struct db_run_opts *o = &cli->run;
    unsigned long long t;
    switch (f) {
    case FLAG_WORKER:
        DB_CHECK(db_worker_check_command(v, err, errlen));
        o->worker_cmd = v;
        return DB_OK;
    case FLAG_WORKER_CPUS:
        DB_CHECK(db_worker_check_cpus(v, err, errlen));
        o->worker_cpus = v;
        return DB_OK;
    default: /* FLAG_WORKER_THREADS */
        if (db_parse_whole(v, NULL, DB_WORKER_THREADS_MAX, &t) != DB_OK || t == 0)
            return db_fail(err, errlen,
                           "invalid --worker-threads '%s': expected a whole number from 1 to %d", v,
                           DB_WORKER_THREADS_MAX);
        o->worker_threads = (int)t;
        return DB_OK;
    }
}

/* ---- the flag tables ------------------------------------------------------------------------ */

/* Flags without a value: each sets one int of struct db_cli to 1. */
static const struct switch_flag {
    const char *name, *alias;
    size_t field; /* offsetof the int in struct db_cli */
} switch_flags[] = {
    {"-h", "--help", offsetof(struct db_cli, help)},
    {"--version", NULL, offsetof(struct db_cli, version)},
    {"--list", NULL, offsetof(struct db_cli, list)},
    {"--calibrate", NULL, offsetof(struct db_cli, calibrate)},
    {"--env", NULL, offsetof(struct db_cli, env)},
    {"--schema", NULL, offsetof(struct db_cli, schema)},
    {"-q", "--quiet", offsetof(struct db_cli, quiet)},
    {"--untagged", NULL, offsetof(struct db_cli, run.untagged)},
    {"--no-wisdom", NULL, offsetof(struct db_cli, no_wisdom)},
    {"--_nocal", NULL, offsetof(struct db_cli, no_calibrate)},
    {"--fail-on-error", NULL, offsetof(struct db_cli, fail_on_error)},
};

typedef int (*flag_fn)(struct db_cli *cli, enum flag f, const char *v, char *err, size_t errlen);

/* Flags with a value: "-x V", "-xV", "--long V" or "--long=V". */
static const struct value_flag {
    const char *shrt, *lng;
    enum flag f;
    flag_fn apply;
} value_flags[] = {
    {NULL, "--matrix", FLAG_MATRIX, selection_flag},
    {"-w", "--workloads", FLAG_WORKLOADS, selection_flag},
    {"-s", "--strategies", FLAG_STRATEGIES, selection_flag},
    {"-p", "--operators", FLAG_OPERATORS, selection_flag},
    {"-j", "--jac", FLAG_JAC, selection_flag},
    {"-n", "--sizes", FLAG_SIZES, selection_flag},
    {"-t", "--threads", FLAG_THREADS, threads_flag},
    {NULL, "--bind", FLAG_BIND, threads_flag},
    {NULL, "--places", FLAG_PLACES, threads_flag},
    {NULL, "--reps", FLAG_REPS, timing_flag},
    {NULL, "--min-time", FLAG_MIN_TIME, timing_flag},
    {NULL, "--call-cost-us", FLAG_CALL_COST, timing_flag},
    {NULL, "--mem-limit", FLAG_MEM_LIMIT, timing_flag},
    {NULL, "--lu-max-n", FLAG_LU_MAX_N, timing_flag},
    {NULL, "--precision", FLAG_PRECISION, timing_flag},
    {NULL, "--max-time-per-cell", FLAG_MAX_TIME_PER_CELL, timing_flag},
    {NULL, "--plant-work-ns", FLAG_PLANT_WORK, timing_flag},
    {NULL, "--plant-work-pct", FLAG_PLANT_PCT, timing_flag},
    {NULL, "--band", FLAG_BAND, operator_flag},
    {NULL, "--on-mismatch", FLAG_ON_MISMATCH, operator_flag},
    {"-o", "--out", FLAG_OUT, output_flag},
    {NULL, "--shard", FLAG_SHARD, output_flag},
    {NULL, "--resume", FLAG_RESUME, output_flag},
    {NULL, "--wisdom", FLAG_WISDOM, output_flag},
    {NULL, "--cells", FLAG_CELLS_FILE, output_flag},
    {NULL, "--_child", FLAG_CHILD, internal_flag},
    {NULL, "--_cells", FLAG_CELLS, internal_flag},
    {NULL, "--json", FLAG_JSON, report_flag},
    {NULL, "--_json-fd", FLAG_JSON_FD, report_flag},
    {NULL, "--_position", FLAG_POSITION, report_flag},
    {NULL, "--remote-transport", FLAG_REMOTE_TRANSPORT, remote_flag},
    {NULL, "--remote-encoding", FLAG_REMOTE_ENCODING, remote_flag},
    {NULL, "--remote-timeout-ms", FLAG_REMOTE_TIMEOUT, remote_flag},
    {NULL, "--worker", FLAG_WORKER, worker_flag},
    {NULL, "--worker-cpus", FLAG_WORKER_CPUS, worker_flag},
    {NULL, "--worker-threads", FLAG_WORKER_THREADS, worker_flag},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The int a value-less flag sets, or NULL. */
static int *switch_field(struct db_cli *cli, const char *a) {
    for (size_t k = 0; k < COUNT(switch_flags); k++) {
        const struct switch_flag *sw = &switch_flags[k];
        if (strcmp(a, sw->name) == 0 || (sw->alias && strcmp(a, sw->alias) == 0))
            return (int *)((char *)cli + sw->field);
    }
    return NULL;
}

/* The value flag arg names, with *v its attached value (NULL: the value is the next argument). */
static const struct value_flag *find_value_flag(const char *a, const char **v) {
    for (size_t k = 0; k < COUNT(value_flags); k++)
        if (is_opt(a, value_flags[k].shrt, value_flags[k].lng, v)) return &value_flags[k];
    return NULL;
}

/* Parse argv[*i] (and its value, advancing *i past it). --benchmark_* flags map onto ours or are
 * refused (benchmark_flag). */
static int parse_arg(struct db_cli *cli, int argc, char **argv, int *i, char *err, size_t errlen) {
    const char *a = argv[*i], *v;
    int *on = switch_field(cli, a);
    if (on) {
        *on = 1;
        return DB_OK;
    }
    if (strncmp(a, "--benchmark_", 12) == 0) return benchmark_flag(cli, a, err, errlen);
    const struct value_flag *vf = find_value_flag(a, &v);
    if (!vf) return db_fail(err, errlen, "unknown argument '%s' (see --help)", a);
    if (!v) {
        if (*i + 1 >= argc) return db_fail(err, errlen, "%s needs a value", a);
        v = argv[++*i];
    }
    return vf->apply(cli, vf->f, v, err, errlen);
}

/* ---- after the flags ------------------------------------------------------------------------ */

/* --calibrate is one short run of its own. */
static int check_calibrate(const struct db_cli *cli, char *err, size_t errlen) {
    if (cli->matrix || cli->have_selection)
        return db_fail(err, errlen,
                       "--calibrate runs alone (a --matrix run calibrates first anyway)");
    if (cli->resume || cli->shard_n)
        return db_fail(
            err, errlen,
            "--calibrate cannot be combined with --resume or --shard: it is one short run "
            "(a --matrix run calibrates in every shard and resume anyway)");
    return DB_OK;
}

/* Exactly one of --matrix and a selection with -n. */
static int check_matrix_or_selection(const struct db_cli *cli, char *err, size_t errlen) {
    if (cli->matrix && cli->have_selection)
        return db_fail(err, errlen,
                       "--matrix cannot be combined with -w/-s/-p/-j/-n: use one or the other");
    if (!cli->matrix && !cli->have_selection)
        return db_fail(err, errlen,
                       "nothing to run: give --matrix NAME or -n SIZES, or --resume FILE.partial "
                       "(see --help)");
    if (!cli->matrix && !cli->sel.nsizes)
        return db_fail(err, errlen, "-n SIZES is required without --matrix");
    return DB_OK;
}

/* A selection gets the defaults of the lists not given, is checked, and takes --lu-max-n. */
static int finish_selection(struct db_cli *cli, char *err, size_t errlen) {
    struct db_selection *s = &cli->sel;
    selection_defaults(s);
    DB_CHECK(selection_check(s, err, errlen));
    s->lu_max_n = cli->lu_max_n;
    s->budget_matrix = NULL;
    return DB_OK;
}

/* --resume with --out must name OUT.partial. */
static int check_resume_of_out(const struct db_cli *cli, char *err, size_t errlen) {
    if (!cli->resume || !cli->out) return DB_OK;
    size_t lo = strlen(cli->out);
    if (strncmp(cli->resume, cli->out, lo) != 0 || strcmp(cli->resume + lo, ".partial") != 0)
        return db_fail(err, errlen,
                       "--resume '%s' does not belong to --out '%s': expected --resume %s.partial",
                       cli->resume, cli->out, cli->out);
    return DB_OK;
}

/* --json (or --benchmark_out): not with --resume (the repetitions of the cells run before the
 * interruption are gone), nor onto the CSV; --benchmark_out_format only with --benchmark_out. */
static int check_json(const struct db_cli *cli, char *err, size_t errlen) {
    if (cli->gb_out_format && !cli->gb_out)
        return db_fail(err, errlen, "--benchmark_out_format needs --benchmark_out=FILE");
    if (cli->json_aggregates_only && cli->run.reps < 2)
        return db_fail(err, errlen,
                       "--benchmark_report_aggregates_only=true needs --reps 2 or more: with %d "
                       "repetition Google Benchmark reports no aggregate (the JSON would hold no "
                       "benchmark)",
                       cli->run.reps);
    if (!cli->json || cli->child) return DB_OK;
    const char *flag = cli->gb_out ? "--benchmark_out" : "--json";
    if (cli->resume)
        return db_fail(err, errlen,
                       "%s cannot be combined with --resume: the repetition times of the cells "
                       "run before the interruption are not kept (run the matrix again)",
                       flag);
    if (cli->out && strcmp(cli->out, cli->json) == 0)
        return db_fail(err, errlen, "%s '%s' is also --out: give the JSON its own file", flag,
                       cli->json);
    return DB_OK;
}

/* -w worker and --worker go together; --worker-cpus and --worker-threads need --worker. */
static int check_worker(const struct db_cli *cli, char *err, size_t errlen) {
    const struct db_workload *w = db_workload_find("worker");
    int selected = 0;
    for (size_t i = 0; i < cli->sel.nworkloads; i++)
        selected |= cli->sel.workloads[i] == w;
    for (size_t i = 0; i < cli->sel.ntasks; i++)
        selected |= cli->sel.tasks[i].wl == w;
    const struct db_run_opts *o = &cli->run;
    if (selected && !o->worker_cmd)
        return db_fail(err, errlen,
                       "-w worker needs --worker 'PROGRAM ARGS...', the program that serves the "
                       "primitive (docs/workers.md)");
    if (o->worker_cmd && !selected)
        return db_fail(err, errlen, "--worker '%s' is for the worker workload: add -w worker",
                       o->worker_cmd);
    if ((o->worker_cpus || o->worker_threads) && !o->worker_cmd)
        return db_fail(err, errlen, "%s places a worker: give -w worker --worker 'PROGRAM ARGS...'",
                       o->worker_cpus ? "--worker-cpus" : "--worker-threads");
    return DB_OK;
}

/* The checks once every flag is read: which combinations make a run. */
static int check_flags(struct db_cli *cli, char *err, size_t errlen) {
    if (cli->help || cli->version || cli->list || cli->env || cli->schema) return DB_OK;
    if (cli->run.max_time_per_cell_s > 0 && !(cli->run.precision_pct > 0))
        return db_fail(err, errlen, "--max-time-per-cell caps --precision: give --precision PCT");
    if (cli->run.precision_pct > 0 && !(cli->run.max_time_per_cell_s > 0))
        cli->run.max_time_per_cell_s = DB_DEFAULT_MAX_TIME_PER_CELL;
    DB_CHECK(check_json(cli, err, errlen));
    if (cli->cells_file && !cli->child && (cli->resume || cli->calibrate))
        return db_fail(err, errlen,
                       "--cells cannot be combined with %s: the cell list is not part of the "
                       "matrix a partial file records",
                       cli->resume ? "--resume" : "--calibrate");
    if (cli->calibrate) return check_calibrate(cli, err, errlen);
    if (cli->resume && !cli->matrix && !cli->have_selection) {
        cli->flags_from_resume = 1; /* the caller takes the matrix from the partial file */
        return DB_OK;
    }
    DB_CHECK(check_matrix_or_selection(cli, err, errlen));
    if (!cli->matrix) DB_CHECK(finish_selection(cli, err, errlen));
    DB_CHECK(check_worker(cli, err, errlen));
    return check_resume_of_out(cli, err, errlen);
}

int db_cli_parse(int argc, char **argv, struct db_cli *cli, char *err, size_t errlen) {
    memset(cli, 0, sizeof *cli);
    cli->run = (struct db_run_opts){.reps = 5, .min_time_s = 0.01, .call_cost_s = -1};
    cli->gb_argv[cli->gb_argc++] = argc > 0 ? argv[0] : "diagbench";
    for (int i = 1; i < argc; i++)
        DB_CHECK(parse_arg(cli, argc, argv, &i, err, errlen));
    return check_flags(cli, err, errlen);
}
