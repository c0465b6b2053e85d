#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "shard.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    db_cli_one_line(err);
    return DB_E_INVALID;
}

void db_cli_one_line(char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = '?';
}

/* ---- comma lists -------------------------------------------------------------------------- */

typedef int (*item_fn)(const char *item, void *ctx, size_t index, char *err, size_t errlen);

/* Split list at commas, rejecting empty lists, empty items and more than DB_MAX_LIST items. */
static int each_item(const char *list, const char *flag, item_fn fn, void *ctx, size_t *count,
                     char *err, size_t errlen) {
    if (!list || !*list) return fail(err, errlen, "%s: empty list", flag);
    size_t k = 0;
    const char *p = list;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == 0) return fail(err, errlen, "%s: empty item in list '%s'", flag, list);
        if (k == DB_MAX_LIST)
            return fail(err, errlen, "%s: more than %d items in list", flag, DB_MAX_LIST);
        char item[128];
        if (len >= sizeof item) return fail(err, errlen, "%s: item too long in '%s'", flag, list);
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
        return fail(err, errlen, "invalid size '%s' in %s: expected a whole number from 1 to %llu",
                    item, c->flag, DB_MAX_N);
    for (size_t j = 0; j < i; j++)
        if (c->out[j] == v) return fail(err, errlen, "%s: size %s given twice", c->flag, item);
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
        return fail(err, errlen, "invalid value '%s' in %s: expected a whole number from %d to %d",
                    item, c->flag, c->lo, c->hi);
    for (size_t j = 0; j < i; j++)
        if (c->out[j] == (int)v) return fail(err, errlen, "%s: %s given twice", c->flag, item);
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
    struct db_selection *s = vctx;
    const struct db_workload *w = db_workload_find(item);
    if (!w) {
        const char *names[DB_MAX_LIST];
        for (size_t k = 0; k < db_workload_count && k < DB_MAX_LIST; k++)
            names[k] = db_workloads[k]->name;
        char allowed[512];
        names_of(allowed, sizeof allowed, names, db_workload_count);
        return fail(err, errlen, "unknown workload '%s' in -w: expected one of %s", item, allowed);
    }
    for (size_t j = 0; j < i; j++)
        if (s->workloads[j] == w) return fail(err, errlen, "-w: %s given twice", item);
    s->workloads[i] = w;
    return DB_OK;
}

static int strategy_item(const char *item, void *vctx, size_t i, char *err, size_t errlen) {
    struct db_selection *s = vctx;
    const struct db_strategy *st = db_strategy_find(item);
    if (!st) {
        const char *names[DB_MAX_LIST];
        for (size_t k = 0; k < db_strategy_count && k < DB_MAX_LIST; k++)
            names[k] = db_strategies[k]->name;
        char allowed[512];
        names_of(allowed, sizeof allowed, names, db_strategy_count);
        return fail(err, errlen, "unknown strategy '%s' in -s: expected one of %s", item, allowed);
    }
    for (size_t j = 0; j < i; j++)
        if (s->strategies[j] == st) return fail(err, errlen, "-s: %s given twice", item);
    s->strategies[i] = st;
    return DB_OK;
}

static int operator_item(const char *item, void *vctx, size_t i, char *err, size_t errlen) {
    struct db_selection *s = vctx;
    for (size_t k = 0; k < db_operator_kind_count; k++) {
        if (strcmp(item, db_operator_kinds[k]) != 0) continue;
        for (size_t j = 0; j < i; j++)
            if (s->operators[j] == db_operator_kinds[k])
                return fail(err, errlen, "-p: %s given twice", item);
        s->operators[i] = db_operator_kinds[k];
        return DB_OK;
    }
    char allowed[256];
    names_of(allowed, sizeof allowed, db_operator_kinds, db_operator_kind_count);
    return fail(err, errlen, "unknown operator '%s' in -p: expected one of %s", item, allowed);
}

static int jac_item(const char *item, void *vctx, size_t i, char *err, size_t errlen) {
    struct db_selection *s = vctx;
    enum db_jac j;
    if (strcmp(item, "fwd") == 0)
        j = DB_JAC_FWD;
    else if (strcmp(item, "bwd") == 0)
        j = DB_JAC_BWD;
    else
        return fail(err, errlen, "unknown jac '%s' in -j: expected fwd or bwd", item);
    if (i >= 2 || (i == 1 && s->jacs[0] == j)) return fail(err, errlen, "-j: %s given twice", item);
    s->jacs[i] = j;
    return DB_OK;
}

/* Fill defaults for lists not given: all workloads, all strategies, jacobian, fwd+bwd. */
static void selection_defaults(struct db_selection *s) {
    if (!s->nworkloads)
        for (size_t i = 0; i < db_workload_count && i < DB_MAX_LIST; i++)
            s->workloads[s->nworkloads++] = db_workloads[i];
    if (!s->nstrategies)
        for (size_t i = 0; i < db_strategy_count && i < DB_MAX_LIST; i++)
            s->strategies[s->nstrategies++] = db_strategies[i];
    if (!s->noperators) s->operators[s->noperators++] = db_operator_kinds[0];
    if (!s->njacs) {
        s->jacs[0] = DB_JAC_FWD;
        s->jacs[1] = DB_JAC_BWD;
        s->njacs = 2;
    }
}

/* ---- presets ------------------------------------------------------------------------------ */

static const struct db_preset_block quick_blocks[] = {
    {"sin,split,seqsin,nobatch", "jacobian", "fwd,bwd", "materialise,probe",
     "10,100,1000,4000,10000"},
    {"sin,split", "jacobian", "fwd,bwd", "materialise,probe", "100000,1000000"},
    {"sin,split,seqsin,nobatch", "function,matrix,diagonal", "fwd", "materialise,probe",
     "100,1000,4000"},
};

static const struct db_preset_block pr_blocks[] = {
    {"split", "jacobian", "fwd,bwd", "materialise,probe",
     "10,22,46,100,215,464,1000,2154,4642,10000,21544,40000"},
    {"seqsin", "jacobian", "fwd,bwd", "materialise,probe", "20,45,100,224,500,1118,2500,5000"},
};

static const struct db_preset_block full_blocks[] = {
    {"sin,split,seqsin,nobatch", "jacobian,function,matrix,diagonal", "fwd,bwd",
     "materialise,probe", "10,32,100,316,1000,3162,10000,31623"},
    {"sin,split", "jacobian", "fwd,bwd", "probe", "100000,1000000,10000000"},
};

#define BLOCKS(b) b, sizeof b / sizeof b[0]
const struct db_preset db_presets[] = {
    {"quick", "all workloads x strategies x fwd/bwd, n = 10..10^6 (< 3 min on 2 cores)",
     BLOCKS(quick_blocks)},
    {"pr", "the seed's sweep: split n = 10..40000, seqsin n = 20..5000, fwd and bwd",
     BLOCKS(pr_blocks)},
    {"full", "every workload x operator x strategy, n = 10..31623, probe to 10^7",
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

int db_preset_cells(const struct db_preset *p, struct db_cell **cells, size_t *count, char *err,
                    size_t errlen) {
    for (size_t b = 0; b < p->nblocks; b++) {
        const struct db_preset_block *pb = &p->blocks[b];
        struct db_selection s = {0};
        DB_CHECK(each_item(pb->workloads, "-w", workload_item, &s, &s.nworkloads, err, errlen));
        DB_CHECK(each_item(pb->operators, "-p", operator_item, &s, &s.noperators, err, errlen));
        DB_CHECK(each_item(pb->jacs, "-j", jac_item, &s, &s.njacs, err, errlen));
        DB_CHECK(each_item(pb->strategies, "-s", strategy_item, &s, &s.nstrategies, err, errlen));
        DB_CHECK(db_parse_sizes(pb->sizes, "-n", s.sizes, &s.nsizes, err, errlen));
        DB_CHECK(db_selection_cells(&s, cells, count));
    }
    return DB_OK;
}

/* ---- flags -------------------------------------------------------------------------------- */

/* --resume takes the OUT.partial file an interrupted run left behind. */
static int check_resume(const char *v, char *err, size_t errlen) {
    size_t l = strlen(v), sl = strlen(".partial");
    if (l <= sl || strcmp(v + l - sl, ".partial") != 0)
        return fail(err, errlen,
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
            if (i + 1 >= argc) return fail(err, errlen, "%s needs a value", a);                    \
            v = argv[++i];                                                                         \
        }                                                                                          \
    } while (0)
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli->help = 1;
        } else if (strcmp(a, "--version") == 0) {
            cli->version = 1;
        } else if (strcmp(a, "--list") == 0) {
            cli->list = 1;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            cli->quiet = 1;
        } else if (strcmp(a, "--untagged") == 0) {
            cli->run.untagged = 1;
        } else if (strncmp(a, "--benchmark_", 12) == 0) {
            if (cli->gb_argc >= DB_MAX_LIST)
                return fail(err, errlen, "too many --benchmark_ flags");
            cli->gb_argv[cli->gb_argc++] = argv[i];
        } else if (is_opt(a, NULL, "--matrix", &v)) {
            VALUE();
            if (!db_preset_find(v)) {
                const char *names[DB_MAX_LIST];
                for (size_t k = 0; k < db_preset_count; k++)
                    names[k] = db_presets[k].name;
                char allowed[256];
                names_of(allowed, sizeof allowed, names, db_preset_count);
                return fail(err, errlen, "unknown matrix '%s' in --matrix: expected one of %s", v,
                            allowed);
            }
            cli->matrix = v;
        } else if (is_opt(a, "-w", "--workloads", &v)) {
            VALUE();
            DB_CHECK(each_item(v, "-w", workload_item, s, &s->nworkloads, err, errlen));
            cli->have_selection = 1;
        } else if (is_opt(a, "-s", "--strategies", &v)) {
            VALUE();
            DB_CHECK(each_item(v, "-s", strategy_item, s, &s->nstrategies, err, errlen));
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
        } else if (is_opt(a, NULL, "--reps", &v)) {
            VALUE();
            if (strchr(v, ',')) return fail(err, errlen, "--reps takes one number, got '%s'", v);
            size_t one;
            DB_CHECK(db_parse_ints(v, "--reps", 1, DB_MAX_REPS, &cli->run.reps, &one, err, errlen));
        } else if (is_opt(a, NULL, "--min-time", &v)) {
            VALUE();
            if (parse_double(v, 1e-6, 60, &cli->run.min_time_s) != DB_OK)
                return fail(err, errlen,
                            "invalid --min-time '%s': expected seconds from 1e-6 to 60", v);
        } else if (is_opt(a, NULL, "--call-cost-us", &v)) {
            VALUE();
            double us;
            if (parse_double(v, 0, 1e6, &us) != DB_OK)
                return fail(err, errlen,
                            "invalid --call-cost-us '%s': expected microseconds from 0 to 1e6", v);
            cli->run.call_cost_s = us * 1e-6;
        } else if (is_opt(a, NULL, "--mem-limit", &v)) {
            VALUE();
            if (db_parse_bytes(v, &cli->run.mem_budget) != DB_OK)
                return fail(err, errlen,
                            "invalid --mem-limit '%s': expected bytes such as 512M, 2G or "
                            "1073741824",
                            v);
        } else if (is_opt(a, "-o", "--out", &v)) {
            VALUE();
            if (!*v) return fail(err, errlen, "--out needs a file name");
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
        } else {
            return fail(err, errlen, "unknown argument '%s' (see --help)", a);
        }
#undef VALUE
    }
    if (cli->help || cli->version || cli->list) return DB_OK;
    if (cli->resume && !cli->matrix && !cli->have_selection) {
        cli->flags_from_resume = 1; /* the caller takes the matrix from the partial file */
        return DB_OK;
    }
    if (cli->matrix && cli->have_selection)
        return fail(err, errlen,
                    "--matrix cannot be combined with -w/-s/-p/-j/-n: use one or the other");
    if (!cli->matrix && !cli->have_selection)
        return fail(err, errlen,
                    "nothing to run: give --matrix NAME or -n SIZES, or --resume FILE.partial "
                    "(see --help)");
    if (!cli->matrix && !s->nsizes)
        return fail(err, errlen, "-n SIZES is required without --matrix");
    if (!cli->matrix) selection_defaults(s);
    if (cli->resume && cli->out) {
        size_t lo = strlen(cli->out);
        if (strncmp(cli->resume, cli->out, lo) != 0 || strcmp(cli->resume + lo, ".partial") != 0)
            return fail(err, errlen,
                        "--resume '%s' does not belong to --out '%s': expected --resume %s.partial",
                        cli->resume, cli->out, cli->out);
    }
    return DB_OK;
}
