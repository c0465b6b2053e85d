#include "harness/io/compare.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/format.h"
#include "core/fail.h"
#include "core/parse.h"
#include "core/stats.h"
#include "core/status.h"
#include "harness/io/csv_read.h"
#include "harness/io/csv_write.h"
#include "harness/io/summary.h"

/* ---- arguments --------------------------------------------------------------------------- */

#define USAGE "(usage: diagbench compare BASE.csv NEW.csv | --pair A:B FILE.csv [options])"

static int number_arg(const char *flag, const char *v, double lo, double hi, int open_lo,
                      double *out, const char *allowed, char *err, size_t errlen) {
    char *end;
    errno = 0;
    double x = v && *v ? strtod(v, &end) : NAN;
    if (!v || !*v || errno || *end || !(x >= lo && x <= hi) || (open_lo && x == lo))
        return db_fail(err, errlen, "compare: invalid %s '%s': expected %s", flag, v ? v : "",
                       allowed);
    *out = x;
    return DB_OK;
}

static int set_pair(struct db_compare_args *a, const char *v, char *err, size_t errlen) {
    const char *colon = strchr(v, ':');
    size_t la = colon ? (size_t)(colon - v) : 0;
    if (!colon || la == 0 || !colon[1] || strchr(colon + 1, ':') || la >= sizeof a->pair_a ||
        strlen(colon + 1) >= sizeof a->pair_b)
        return db_fail(err, errlen,
                       "compare: invalid --pair '%s': expected BASE:NEW, two values of the "
                       "strategy column such as materialise+diagonal:probe+diagonal",
                       v);
    memcpy(a->pair_a, v, la);
    a->pair_a[la] = 0;
    snprintf(a->pair_b, sizeof a->pair_b, "%s", colon + 1);
    if (strcmp(a->pair_a, a->pair_b) == 0)
        return db_fail(err, errlen, "compare: --pair '%s' compares a strategy with itself", v);
    a->pair = v;
    return DB_OK;
}

/* One flag with a value (v: attached "--x=V" value or the next argument). */
static int value_flag(struct db_compare_args *a, const char *name, const char *v, char *err,
                      size_t errlen) {
    if (strcmp(name, "--alpha") == 0)
        return number_arg(name, v, 0, 0.5, 1, &a->alpha, "a level above 0, at most 0.5", err,
                          errlen);
    if (strcmp(name, "--min-effect") == 0)
        return number_arg(name, v, 0, 1000, 0, &a->min_effect_pct, "a percentage from 0 to 1000",
                          err, errlen);
    if (strcmp(name, "--fail-on-regression") == 0)
        return number_arg(name, v, 0, 1000, 0, &a->fail_pct, "a percentage from 0 to 1000", err,
                          errlen);
    if (strcmp(name, "--pair") == 0) return set_pair(a, v, err, errlen);
    /* --format */
    if (strcmp(v, "md") == 0)
        a->format = DB_COMPARE_MD;
    else if (strcmp(v, "csv") == 0)
        a->format = DB_COMPARE_CSV;
    else if (strcmp(v, "json") == 0)
        a->format = DB_COMPARE_JSON;
    else
        return db_fail(err, errlen, "compare: invalid --format '%s': expected md, csv or json", v);
    return DB_OK;
}

int db_compare_parse(int argc, char **argv, struct db_compare_args *a, char *err, size_t errlen) {
    static const char *const with_value[] = {"--alpha", "--min-effect", "--fail-on-regression",
                                             "--pair", "--format"};
    memset(a, 0, sizeof *a);
    a->alpha = 0.05;
    a->fail_pct = -1;
    const char *files[2];
    int nfiles = 0, only_files = 0;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (!only_files && strcmp(s, "--") == 0) {
            only_files = 1;
            continue;
        }
        if (!only_files && (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0)) {
            a->help = 1;
            return DB_OK;
        }
        if (only_files || s[0] != '-' || !s[1]) {
            if (nfiles == 2) return db_fail(err, errlen, "compare: a third file '%s' " USAGE, s);
            files[nfiles++] = s;
            continue;
        }
        size_t k = 0, nk = sizeof with_value / sizeof *with_value;
        const char *v = NULL;
        for (; k < nk; k++) {
            size_t l = strlen(with_value[k]);
            if (strncmp(s, with_value[k], l) == 0 && (s[l] == 0 || s[l] == '=')) {
                v = s[l] == '=' ? s + l + 1 : NULL;
                break;
            }
        }
        if (k == nk) return db_fail(err, errlen, "compare: unknown argument '%s' " USAGE, s);
        if (!v) {
            if (i + 1 >= argc) return db_fail(err, errlen, "compare: %s needs a value", s);
            v = argv[++i];
        }
        DB_CHECK(value_flag(a, with_value[k], v, err, errlen));
    }
    if (a->pair && nfiles != 1)
        return db_fail(err, errlen, "compare: --pair compares within one file, %d given " USAGE,
                       nfiles);
    if (!a->pair && nfiles != 2)
        return db_fail(err, errlen, "compare: expected two files, BASE and NEW, %d given " USAGE,
                       nfiles);
    a->base = files[0];
    a->new_file = a->pair ? files[0] : files[1];
    return DB_OK;
}

/* ---- inputs -------------------------------------------------------------------------------- */

/* The matching key, in this order; --pair leaves out the strategy (KEY_STRATEGY). */
static const char *const key_names[] = {"workload", "operator", "jac",       "strategy",
                                        "n",        "threads",  "proc_bind", "places"};
#define NKEY         8
#define KEY_STRATEGY 3

/* The run parameters reported when they differ between the two files. */
static const char *const param_names[] = {
    "matrix",          "git_rev",       "compiler",        "host",
    "cpu_model",       "hwloc_version", "openblas_config", "cpu_governor",
    "omp_wait_policy", "call_cost_s",   "binding"};
#define NPARAM (sizeof param_names / sizeof *param_names)

struct input {
    const char *path;
    struct db_table t;
    int key[NKEY], status, median, samples; /* column indices; samples -1 in old CSVs */
};

/* One row of a cell on one side: its fields, samples and median. */
struct side {
    char **f;
    size_t line;
    double *x; /* samples (NULL: none) */
    size_t k;
    double median; /* of the samples, else time_median_s; NaN when not ok */
};

struct cell {
    struct side b, n;
    double ratio, lo, hi, p, padj;
    int tested;
    const char *verdict;
    char reason[160];
};

static int open_input(struct input *in, const char *path, char *err, size_t errlen) {
    in->path = path;
    char why[512];
    if (db_table_read(path, &in->t, why, sizeof why) != DB_OK)
        return db_fail(err, errlen, "compare: %s", why);
    if (in->t.nrec == 0) return db_fail(err, errlen, "compare: '%s' is empty", path);
    for (int k = 0; k < NKEY; k++) {
        in->key[k] = db_table_column(&in->t, key_names[k]);
        if (in->key[k] < 0)
            return db_fail(err, errlen, "compare: '%s' is not a diagbench CSV: no column '%s'",
                           path, key_names[k]);
    }
    in->status = db_table_column(&in->t, "status");
    in->median = db_table_column(&in->t, "time_median_s");
    in->samples = db_table_column(&in->t, "samples_s");
    if (in->status < 0 || in->median < 0)
        return db_fail(err, errlen, "compare: '%s' is not a diagbench CSV: no column '%s'", path,
                       in->status < 0 ? "status" : "time_median_s");
    for (size_t r = 1; r < in->t.nrec; r++)
        if (in->t.rec[r].nfields != in->t.rec[0].nfields)
            return db_fail(err, errlen, "compare: '%s' line %zu: %zu fields, the header has %zu",
                           path, in->t.rec[r].line, in->t.rec[r].nfields, in->t.rec[0].nfields);
    return DB_OK;
}

static int is_ok(const struct input *in, const struct side *s) {
    return strcmp(s->f[in->status], "ok") == 0;
}

/* Parse a row's samples_s and median (ok rows). */
static int read_side(const struct input *in, struct side *s, char *err, size_t errlen) {
    s->median = NAN;
    if (!is_ok(in, s)) return DB_OK;
    const char *v = s->f[in->median];
    char *end;
    double med = strtod(v, &end);
    if (!*v || *end || !(med > 0) || !isfinite(med))
        return db_fail(err, errlen,
                       "compare: '%s' line %zu: time_median_s '%s' is not a positive number",
                       in->path, s->line, v);
    s->median = med;
    const char *text = in->samples >= 0 ? s->f[in->samples] : "";
    if (!*text) return DB_OK;
    size_t cap = 1;
    for (const char *c = text; *c; c++)
        cap += *c == ';';
    s->x = malloc(cap * sizeof *s->x);
    if (!s->x) return DB_E_NOMEM;
    for (const char *c = text;;) {
        errno = 0;
        double x = strtod(c, &end);
        if (end == c || errno || !(x > 0) || !isfinite(x) || (*end && *end != ';'))
            return db_fail(err, errlen,
                           "compare: '%s' line %zu: samples_s '%.60s' is not a ';'-separated list "
                           "of positive numbers",
                           in->path, s->line, text);
        s->x[s->k++] = x;
        if (!*end) break;
        c = end + 1;
    }
    double *v2 = malloc(s->k * sizeof *v2);
    if (!v2) return DB_E_NOMEM;
    memcpy(v2, s->x, s->k * sizeof *v2);
    db_stats_sort(v2, s->k);
    s->median = db_stats_median_sorted(v2, s->k);
    free(v2);
    return DB_OK;
}

static int same_key(const struct input *ia, char **fa, const struct input *ib, char **fb,
                    int pair) {
    for (int k = 0; k < NKEY; k++)
        if (!(pair && k == KEY_STRATEGY) && strcmp(fa[ia->key[k]], fb[ib->key[k]]) != 0) return 0;
    return 1;
}

/* A row's cell for messages: "sin/jacobian/fwd/probe n=8 threads=2 (false, unset)". */
static const char *cell_name(const struct input *in, char **f, char *buf, size_t len) {
    snprintf(buf, len, "%s/%s/%s/%s n=%s threads=%s (%s, %s)", f[in->key[0]], f[in->key[1]],
             f[in->key[2]], f[in->key[3]], f[in->key[4]], f[in->key[5]], f[in->key[6]],
             f[in->key[7]]);
    return buf;
}

/* The rows of one side: every row, or (--pair) those whose strategy is want. n and threads must
 * be whole numbers; a cell may appear once. */
static int collect(const struct input *in, const char *want, int pair, size_t **rows, size_t *count,
                   char *err, size_t errlen) {
    *rows = malloc(in->t.nrec * sizeof **rows);
    if (!*rows) return DB_E_NOMEM;
    *count = 0;
    for (size_t r = 1; r < in->t.nrec; r++) {
        char **f = in->t.rec[r].field;
        if (want && strcmp(f[in->key[KEY_STRATEGY]], want) != 0) continue;
        unsigned long long v;
        for (int k = 4; k <= 5; k++)
            if (db_parse_whole(f[in->key[k]], NULL, ~0ull, &v) != DB_OK)
                return db_fail(err, errlen,
                               "compare: '%s' line %zu: %s '%.40s' is not a whole "
                               "number",
                               in->path, in->t.rec[r].line, key_names[k], f[in->key[k]]);
        for (size_t j = 0; j < *count; j++) {
            const struct db_record *o = &in->t.rec[(*rows)[j]];
            if (same_key(in, o->field, in, f, pair)) {
                char name[512];
                return db_fail(err, errlen,
                               "compare: '%s': cell %s appears twice (lines %zu and "
                               "%zu)",
                               in->path, cell_name(in, f, name, sizeof name), o->line,
                               in->t.rec[r].line);
            }
        }
        (*rows)[(*count)++] = r;
    }
    return DB_OK;
}

/* ---- statistics ---------------------------------------------------------------------------- */

static uint64_t key_seed(const struct input *in, char **f) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a of the key: the same cell, the same resamples */
    for (int k = 0; k < NKEY; k++)
        for (const char *c = f[in->key[k]]; *c; c++)
            h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
    return h;
}

static int judge(const struct db_compare_args *a, const struct input *ib, const struct input *in,
                 struct cell *c) {
    c->ratio = c->lo = c->hi = c->p = c->padj = NAN;
    c->verdict = "undecided";
    int bok = is_ok(ib, &c->b), nok = is_ok(in, &c->n);
    if (!bok || !nok) {
        snprintf(c->reason, sizeof c->reason, "status: base %s, new %s", c->b.f[ib->status],
                 c->n.f[in->status]);
        return DB_OK;
    }
    c->ratio = c->n.median / c->b.median;
    if (!c->b.x || !c->n.x) {
        snprintf(c->reason, sizeof c->reason, "no samples");
        return DB_OK;
    }
    DB_CHECK(db_stats_ratio_ci(c->b.x, c->b.k, c->n.x, c->n.k, 0.95, DB_COMPARE_RESAMPLES,
                               key_seed(ib, c->b.f), &c->lo, &c->hi));
    c->p = db_stats_mwu(c->b.x, c->b.k, c->n.x, c->n.k, NULL);
    if (isnan(c->p)) return DB_E_NOMEM;
    double pmin = db_stats_mwu_min_p(c->b.k, c->n.k);
    if (pmin > a->alpha) {
        snprintf(c->reason, sizeof c->reason,
                 "too few samples: %zu and %zu cannot reach p < %g (smallest p 2/C(m+n,m) = %.2g)",
                 c->b.k, c->n.k, a->alpha, pmin);
        return DB_OK;
    }
    c->tested = 1;
    return DB_OK;
}

/* After the Benjamini-Hochberg adjustment: significant and large enough is faster or slower. */
static void decide(const struct db_compare_args *a, struct cell *c) {
    if (!c->tested) return;
    double effect = 100 * fabs(c->ratio - 1);
    if (!(c->padj < a->alpha))
        c->verdict = "no change";
    else if (c->ratio == 1 || effect < a->min_effect_pct) {
        c->verdict = "no change";
        snprintf(c->reason, sizeof c->reason, "significant, but %.2g%% < --min-effect %g%%", effect,
                 a->min_effect_pct);
    } else
        c->verdict = c->ratio > 1 ? "slower" : "faster";
}

static int regressed(const struct db_compare_args *a, const struct cell *c) {
    return a->fail_pct >= 0 && strcmp(c->verdict, "slower") == 0 &&
           100 * (c->ratio - 1) >= a->fail_pct;
}

/* ---- the report ------------------------------------------------------------------------------ */

struct report {
    const struct db_compare_args *a;
    struct input *ib, *in;
    struct cell *cells;
    size_t ncells;
    size_t *only_b, nonly_b, *only_n, nonly_n; /* rows (of ib, in) without a partner */
    size_t counts[4];                          /* faster, slower, no change, undecided */
    int regressed;
};

static const char *const verdicts[4] = {"faster", "slower", "no change", "undecided"};

/* The distinct values of column name among the rows of in ("" when the column is absent). */
static size_t distinct(const struct input *in, const char *name, const char **v, size_t max) {
    int col = db_table_column(&in->t, name);
    size_t k = 0;
    if (col < 0) return 0;
    for (size_t r = 1; r < in->t.nrec && k < max; r++) {
        const char *s = in->t.rec[r].field[col];
        size_t j = 0;
        while (j < k && strcmp(v[j], s) != 0)
            j++;
        if (j == k) v[k++] = s;
    }
    return k;
}

#define MAXDISTINCT 8

/* Does column name hold other values in the two files? */
static int param_differs(const struct report *r, const char *name, const char **vb, size_t *kb,
                         const char **vn, size_t *kn) {
    *kb = distinct(r->ib, name, vb, MAXDISTINCT);
    *kn = distinct(r->in, name, vn, MAXDISTINCT);
    if (*kb != *kn) return 1;
    for (size_t i = 0; i < *kb; i++) {
        size_t j = 0;
        while (j < *kn && strcmp(vb[i], vn[j]) != 0)
            j++;
        if (j == *kn) return 1;
    }
    return 0;
}

typedef void (*text_fn)(FILE *f, const char *s);

/* v[0..k) through text, separated by sep. */
static void put_list(FILE *f, const char *const *v, size_t k, const char *sep, text_fn text) {
    for (size_t i = 0; i < k; i++) {
        if (i) fputs(sep, f);
        text(f, v[i]);
    }
}

/* One run parameter that differs: its column, its values in each file, and how many came
 * before it. */
typedef void (*param_fn)(FILE *f, const char *column, const char *const *vb, size_t kb,
                         const char *const *vn, size_t kn, int before);

/* Call each for every run parameter that differs between the files (none with --pair: one file);
 * returns how many did. */
static int each_differing(FILE *f, const struct report *r, param_fn each) {
    int any = 0;
    for (size_t p = 0; p < NPARAM && !r->a->pair; p++) {
        const char *vb[MAXDISTINCT], *vn[MAXDISTINCT];
        size_t kb, kn;
        if (param_differs(r, param_names[p], vb, &kb, vn, &kn))
            each(f, param_names[p], vb, kb, vn, kn, any++);
    }
    return any;
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* n and threads, whole numbers (checked by collect) as JSON numbers: no leading zeros. */
static void json_whole(FILE *f, const char *v) {
    fprintf(f, "%llu", strtoull(v, NULL, 10));
}

/* A number that reads back as the same double (%.17g), or null. */
static void json_num(FILE *f, double x) {
    if (isfinite(x))
        fprintf(f, "%.17g", x);
    else
        fputs("null", f);
}

/* The numbers of a cell's report, in CSV and JSON order. */
static const char *const num_names[] = {"base_median_s", "new_median_s",  "ratio",
                                        "ratio_ci_low",  "ratio_ci_high", "p_value",
                                        "p_adjusted"};
#define NNUM 7

static void cell_numbers(const struct cell *c, double v[NNUM]) {
    const double all[NNUM] = {c->b.median, c->n.median, c->ratio, c->lo, c->hi, c->p, c->padj};
    memcpy(v, all, sizeof all);
}

static void json_param(FILE *f, const char *column, const char *const *vb, size_t kb,
                       const char *const *vn, size_t kn, int before) {
    fprintf(f, "%s\n    {\"column\": \"%s\", \"base\": [", before ? "," : "", column);
    put_list(f, vb, kb, ", ", json_str);
    fputs("], \"new\": [", f);
    put_list(f, vn, kn, ", ", json_str);
    fputs("]}", f);
}

static void json_key_fields(FILE *f, const struct report *r, const struct input *in, char **fl) {
    for (int k = 0; k < NKEY; k++) {
        fprintf(f, "%s\"%s\": ", k ? ", " : "", key_names[k]);
        if (k == KEY_STRATEGY && r->a->pair && in == r->ib && fl) {
            char both[300];
            snprintf(both, sizeof both, "%s:%s", r->a->pair_a, r->a->pair_b);
            json_str(f, both);
        } else if (k == 4 || k == 5)
            json_whole(f, fl[in->key[k]]);
        else
            json_str(f, fl[in->key[k]]);
    }
}

static void json_only(FILE *f, const struct input *in, const size_t *rows, size_t k) {
    fputc('[', f);
    for (size_t i = 0; i < k; i++) {
        fputs(i ? ",\n    {" : "\n    {", f);
        for (int j = 0; j < NKEY; j++) {
            fprintf(f, "%s\"%s\": ", j ? ", " : "", key_names[j]);
            const char *v = in->t.rec[rows[i]].field[in->key[j]];
            if (j == 4 || j == 5)
                json_whole(f, v);
            else
                json_str(f, v);
        }
        fputc('}', f);
    }
    fputs(k ? "\n  ]" : "]", f);
}

static void write_json(FILE *f, const struct report *r) {
    const struct db_compare_args *a = r->a;
    fputs("{\n  \"base\": ", f);
    json_str(f, a->base);
    fputs(",\n  \"new\": ", f);
    json_str(f, a->new_file);
    fputs(",\n  \"pair\": ", f);
    if (a->pair) {
        fputs("{\"base\": ", f);
        json_str(f, a->pair_a);
        fputs(", \"new\": ", f);
        json_str(f, a->pair_b);
        fputc('}', f);
    } else
        fputs("null", f);
    fprintf(f, ",\n  \"alpha\": %.9g,\n  \"min_effect_pct\": %.9g,\n  \"fail_on_regression_pct\": ",
            a->alpha, a->min_effect_pct);
    json_num(f, a->fail_pct >= 0 ? a->fail_pct : NAN);
    fprintf(f,
            ",\n  \"statistics\": {\"ratio\": \"median(new) / median(base)\", \"ci\": \"95%% "
            "percentile bootstrap, %d resamples\", \"test\": \"two-sided Mann-Whitney U, "
            "scipy.stats.mannwhitneyu defaults\", \"adjustment\": \"Benjamini-Hochberg\"},\n"
            "  \"differing_parameters\": [",
            DB_COMPARE_RESAMPLES);
    int any = each_differing(f, r, json_param);
    fputs(any ? "\n  ],\n  \"only_in_base\": " : "],\n  \"only_in_base\": ", f);
    json_only(f, r->ib, r->only_b, r->nonly_b);
    fputs(",\n  \"only_in_new\": ", f);
    json_only(f, r->in, r->only_n, r->nonly_n);
    fputs(",\n  \"cells\": [", f);
    for (size_t i = 0; i < r->ncells; i++) {
        const struct cell *c = &r->cells[i];
        fputs(i ? ",\n    {" : "\n    {", f);
        json_key_fields(f, r, r->ib, c->b.f);
        fputs(", \"base_status\": ", f);
        json_str(f, c->b.f[r->ib->status]);
        fputs(", \"new_status\": ", f);
        json_str(f, c->n.f[r->in->status]);
        fprintf(f, ", \"base_samples\": %zu, \"new_samples\": %zu", c->b.k, c->n.k);
        double v[NNUM];
        cell_numbers(c, v);
        for (int k = 0; k < NNUM; k++) {
            fprintf(f, ", \"%s\": ", num_names[k]);
            json_num(f, v[k]);
        }
        fputs(", \"verdict\": ", f);
        json_str(f, c->verdict);
        fputs(", \"reason\": ", f);
        json_str(f, c->reason);
        fputc('}', f);
    }
    fputs(r->ncells ? "\n  ],\n  \"counts\": {" : "],\n  \"counts\": {", f);
    for (int v = 0; v < 4; v++)
        fprintf(f, "%s\"%s\": %zu", v ? ", " : "", verdicts[v], r->counts[v]);
    fputs("},\n  \"regression\": ", f);
    fputs(a->fail_pct < 0 ? "null" : r->regressed ? "true" : "false", f);
    fputs("\n}\n", f);
}

static void csv_num(FILE *f, double x) {
    if (isfinite(x)) fprintf(f, "%.17g", x);
}

static void write_csv(FILE *f, const struct report *r) {
    for (int k = 0; k < NKEY; k++)
        fprintf(f, "%s,", key_names[k]);
    fputs("base_status,new_status,base_samples,new_samples,", f);
    for (int k = 0; k < NNUM; k++)
        fprintf(f, "%s,", num_names[k]);
    fputs("verdict,reason\n", f);
    for (size_t i = 0; i < r->ncells; i++) {
        const struct cell *c = &r->cells[i];
        for (int k = 0; k < NKEY; k++) {
            char both[300];
            const char *v = c->b.f[r->ib->key[k]];
            if (k == KEY_STRATEGY && r->a->pair) {
                snprintf(both, sizeof both, "%s:%s", r->a->pair_a, r->a->pair_b);
                v = both;
            }
            db_csv_field(f, v);
            fputc(',', f);
        }
        db_csv_field(f, c->b.f[r->ib->status]);
        fputc(',', f);
        db_csv_field(f, c->n.f[r->in->status]);
        fprintf(f, ",%zu,%zu", c->b.k, c->n.k);
        double v[NNUM];
        cell_numbers(c, v);
        for (int k = 0; k < NNUM; k++) {
            fputc(',', f);
            csv_num(f, v[k]);
        }
        fprintf(f, ",%s,", c->verdict);
        db_csv_field(f, c->reason);
        fputc('\n', f);
    }
}

/* Markdown text: '|' and newlines would break a table row. */
static void md_text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else
            fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    }
}

static void md_param(FILE *f, const char *column, const char *const *vb, size_t kb,
                     const char *const *vn, size_t kn, int before) {
    fputs(before ? "\n- " : "\n**Run parameters that differ:**\n\n- ", f);
    fprintf(f, "`%s`: base `", column);
    put_list(f, vb, kb, "`, `", md_text);
    fputs("`; new `", f);
    put_list(f, vn, kn, "`, `", md_text);
    fputc('`', f);
}

static void md_cell_name(FILE *f, const struct report *r, const struct input *in, char **fl) {
    for (int k = 0; k < 4; k++) {
        if (k) fputc(' ', f);
        if (k == KEY_STRATEGY && r->a->pair && fl) {
            md_text(f, r->a->pair_a);
            fputs(" → ", f);
            md_text(f, r->a->pair_b);
        } else
            md_text(f, fl[in->key[k]]);
    }
    fprintf(f, " n=%s t=%s", fl[in->key[4]], fl[in->key[5]]);
    if (strcmp(fl[in->key[6]], "false") != 0 || strcmp(fl[in->key[7]], "unset") != 0) {
        fputs(" (", f);
        md_text(f, fl[in->key[6]]);
        fputs(", ", f);
        md_text(f, fl[in->key[7]]);
        fputc(')', f);
    }
}

static void md_only(FILE *f, const struct report *r, const struct input *in, const size_t *rows,
                    size_t k, const char *which) {
    if (!k) return;
    fprintf(f, "\n**Only in %s** (%zu cell%s, not compared): ", which, k, k == 1 ? "" : "s");
    for (size_t i = 0; i < k; i++) {
        if (i) fputs("; ", f);
        md_cell_name(f, r, in, in->t.rec[rows[i]].field);
    }
    fputc('\n', f);
}

static void write_md(FILE *f, const struct report *r) {
    const struct db_compare_args *a = r->a;
    if (a->pair) {
        fputs("### diagbench compare: `", f);
        md_text(f, a->pair_a);
        fputs("` → `", f);
        md_text(f, a->pair_b);
        fputs("` in `", f);
        md_text(f, a->base);
    } else {
        fputs("### diagbench compare: `", f);
        md_text(f, a->base);
        fputs("` → `", f);
        md_text(f, a->new_file);
    }
    fprintf(f,
            "`\n\nRatio = median(new) / median(base), > 1 is slower; 95%% CI: percentile "
            "bootstrap (%d resamples); p: two-sided Mann-Whitney U (as scipy / Google Benchmark's "
            "compare.py); p_adj: Benjamini-Hochberg over the cells tested; α = %g, min effect "
            "%g%%.\n",
            DB_COMPARE_RESAMPLES, a->alpha, a->min_effect_pct);
    int any = each_differing(f, r, md_param);
    if (any) fputc('\n', f);
    fputs("\n| cell | base | new | ratio | 95% CI | p | p_adj | verdict |\n"
          "|---|---|---|---|---|---|---|---|\n",
          f);
    for (size_t i = 0; i < r->ncells; i++) {
        const struct cell *c = &r->cells[i];
        char tb[32], tn[32];
        fputs("| ", f);
        md_cell_name(f, r, r->ib, c->b.f);
        fprintf(f, " | %s (%zu) | %s (%zu) | ", db_fmt_time(c->b.median, tb, sizeof tb), c->b.k,
                db_fmt_time(c->n.median, tn, sizeof tn), c->n.k);
        if (isfinite(c->ratio))
            fprintf(f, "%.3f", c->ratio);
        else
            fputs("-", f);
        if (isfinite(c->lo))
            fprintf(f, " | [%.3f, %.3f] | %.2g | %.2g | ", c->lo, c->hi, c->p, c->padj);
        else if (isfinite(c->p))
            fprintf(f, " | - | %.2g | - | ", c->p);
        else
            fputs(" | - | - | - | ", f);
        int strong = strcmp(c->verdict, "slower") == 0 || strcmp(c->verdict, "faster") == 0;
        fprintf(f, "%s%s%s", strong ? "**" : "", c->verdict, strong ? "**" : "");
        if (c->reason[0]) {
            fputs(" (", f);
            md_text(f, c->reason);
            fputc(')', f);
        }
        fputs(" |\n", f);
    }
    fprintf(f, "\n%zu cell%s: %zu faster, %zu slower, %zu no change, %zu undecided.", r->ncells,
            r->ncells == 1 ? "" : "s", r->counts[0], r->counts[1], r->counts[2], r->counts[3]);
    if (a->fail_pct >= 0)
        fprintf(f, " %s",
                r->regressed ? "**Regression**: a cell is significantly slower by at least"
                             : "No cell is significantly slower by");
    if (a->fail_pct >= 0) fprintf(f, " %g%%.", a->fail_pct);
    fputc('\n', f);
    md_only(f, r, r->ib, r->only_b, r->nonly_b, a->pair ? a->pair_a : a->base);
    md_only(f, r, r->in, r->only_n, r->nonly_n, a->pair ? a->pair_b : a->new_file);
}

/* ---- the comparison ------------------------------------------------------------------------ */

static int build(struct report *r, const size_t *rb, size_t kb, const size_t *rn, size_t kn,
                 char *err, size_t errlen) {
    const struct db_compare_args *a = r->a;
    int pair = a->pair != NULL;
    unsigned char *matched = calloc(kn ? kn : 1, 1);
    r->cells = calloc(kb ? kb : 1, sizeof *r->cells);
    r->only_b = malloc((kb ? kb : 1) * sizeof *r->only_b);
    r->only_n = malloc((kn ? kn : 1) * sizeof *r->only_n);
    if (!matched || !r->cells || !r->only_b || !r->only_n) {
        free(matched);
        return DB_E_NOMEM;
    }
    int rc = DB_OK;
    for (size_t i = 0; i < kb && rc == DB_OK; i++) {
        const struct db_record *bi = &r->ib->t.rec[rb[i]];
        size_t j = 0;
        while (j < kn && !same_key(r->ib, bi->field, r->in, r->in->t.rec[rn[j]].field, pair))
            j++;
        if (j == kn) {
            r->only_b[r->nonly_b++] = rb[i];
            continue;
        }
        matched[j] = 1;
        struct cell *c = &r->cells[r->ncells++];
        c->b = (struct side){.f = bi->field, .line = bi->line};
        c->n = (struct side){.f = r->in->t.rec[rn[j]].field, .line = r->in->t.rec[rn[j]].line};
        rc = read_side(r->ib, &c->b, err, errlen);
        if (rc == DB_OK) rc = read_side(r->in, &c->n, err, errlen);
        if (rc == DB_OK) rc = judge(a, r->ib, r->in, c);
    }
    for (size_t j = 0; j < kn; j++)
        if (!matched[j]) r->only_n[r->nonly_n++] = rn[j];
    free(matched);
    return rc;
}

static int adjust_and_decide(struct report *r) {
    double *p = malloc((r->ncells ? r->ncells : 1) * sizeof *p);
    double *adj = malloc((r->ncells ? r->ncells : 1) * sizeof *adj);
    int rc = p && adj ? DB_OK : DB_E_NOMEM;
    if (rc == DB_OK) {
        for (size_t i = 0; i < r->ncells; i++)
            p[i] = r->cells[i].tested ? r->cells[i].p : NAN;
        rc = db_stats_bh_adjust(p, r->ncells, adj);
    }
    for (size_t i = 0; rc == DB_OK && i < r->ncells; i++) {
        struct cell *c = &r->cells[i];
        c->padj = adj[i];
        decide(r->a, c);
        for (int v = 0; v < 4; v++)
            if (strcmp(c->verdict, verdicts[v]) == 0) r->counts[v]++;
        r->regressed |= regressed(r->a, c);
    }
    free(p);
    free(adj);
    return rc;
}

int db_compare_run(const struct db_compare_args *a, FILE *out, int *regressed_out, char *err,
                   size_t errlen) {
    struct input ib = {0}, in = {0};
    struct report r = {.a = a, .ib = &ib, .in = a->pair ? &ib : &in};
    size_t *rb = NULL, *rn = NULL, kb = 0, kn = 0;
    *regressed_out = 0;
    int rc = open_input(&ib, a->base, err, errlen);
    if (rc == DB_OK && !a->pair) rc = open_input(&in, a->new_file, err, errlen);
    if (rc == DB_OK)
        rc = collect(&ib, a->pair ? a->pair_a : NULL, a->pair != NULL, &rb, &kb, err, errlen);
    if (rc == DB_OK)
        rc = collect(r.in, a->pair ? a->pair_b : NULL, a->pair != NULL, &rn, &kn, err, errlen);
    if (rc == DB_OK && a->pair && kb == 0)
        rc = db_fail(err, errlen, "compare: --pair: no row of '%s' has strategy '%s'", a->base,
                     a->pair_a);
    if (rc == DB_OK && a->pair && kn == 0)
        rc = db_fail(err, errlen, "compare: --pair: no row of '%s' has strategy '%s'", a->base,
                     a->pair_b);
    if (rc == DB_OK) rc = build(&r, rb, kb, rn, kn, err, errlen);
    if (rc == DB_OK) rc = adjust_and_decide(&r);
    if (rc == DB_OK) {
        if (a->format == DB_COMPARE_JSON)
            write_json(out, &r);
        else if (a->format == DB_COMPARE_CSV)
            write_csv(out, &r);
        else
            write_md(out, &r);
        *regressed_out = r.regressed;
    }
    if (rc == DB_E_NOMEM) db_fail(err, errlen, "compare: out of memory");
    for (size_t i = 0; r.cells && i < r.ncells; i++) {
        free(r.cells[i].b.x);
        free(r.cells[i].n.x);
    }
    free(r.cells);
    free(r.only_b);
    free(r.only_n);
    free(rb);
    free(rn);
    db_table_free(&ib.t);
    if (!a->pair) db_table_free(&in.t);
    return rc;
}
