#include "harness/analysis/compare.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/format.h"
#include "core/fail.h"
#include "core/parse.h"
#include "core/stats.h"
#include "core/status.h"
#include "harness/io/csv_read.h"
#include "harness/io/csv_write.h"
#include "harness/analysis/sequential.h"
#include "harness/analysis/summary.h"

/* ---- arguments --------------------------------------------------------------------------- */

#define USAGE                                                                                      \
    "(usage: diagbench compare BASE.csv NEW.csv | --base B.csv... --new N.csv... | --pair A:B "    \
    "FILE.csv... [options])"

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

/* --sequential MIN:MAX: whole numbers, DB_SEQ_MIN_RUNS <= MIN <= MAX <= DB_SEQ_MAX_RUNS. */
static int set_sequential(struct db_compare_args *a, const char *v, char *err, size_t errlen) {
    unsigned long long lo, hi;
    const char *end;
    if (db_parse_whole(v, &end, DB_SEQ_MAX_RUNS, &lo) != DB_OK || *end != ':' ||
        db_parse_whole(end + 1, &end, DB_SEQ_MAX_RUNS, &hi) != DB_OK || *end ||
        lo < DB_SEQ_MIN_RUNS || hi < lo)
        return db_fail(err, errlen,
                       "compare: invalid --sequential '%s': expected MIN:MAX runs per side, whole "
                       "numbers with %d <= MIN <= MAX <= %d",
                       v, DB_SEQ_MIN_RUNS, DB_SEQ_MAX_RUNS);
    a->seq_min = (size_t)lo;
    a->seq_max = (size_t)hi;
    return DB_OK;
}

/* One flag with a value (v: attached "--x=V" value or the next argument). */
static int value_flag(struct db_compare_args *a, const char *name, const char *v, char *err,
                      size_t errlen) {
    if (strcmp(name, "--alpha") == 0)
        return number_arg(name, v, 0, 0.5, 1, &a->alpha, "a level above 0, at most 0.5", err,
                          errlen);
    if (strcmp(name, "--min-effect") == 0) {
        a->min_effect_given = 1;
        return number_arg(name, v, 0, 1000, 0, &a->min_effect_pct, "a percentage from 0 to 1000",
                          err, errlen);
    }
    if (strcmp(name, "--fail-on-regression") == 0)
        return number_arg(name, v, 0, 1000, 0, &a->fail_pct, "a percentage from 0 to 1000", err,
                          errlen);
    if (strcmp(name, "--pair") == 0) return set_pair(a, v, err, errlen);
    if (strcmp(name, "--sequential") == 0) return set_sequential(a, v, err, errlen);
    if (strcmp(name, "--open-cells") == 0) {
        if (!*v) return db_fail(err, errlen, "compare: --open-cells needs a file name");
        a->open_cells = v;
        return DB_OK;
    }
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

/* Add file s to a side's list; a file given twice on one side would count one run twice. */
static int add_file(const char **list, size_t *n, const char *which, const char *s, char *err,
                    size_t errlen) {
    if (*n == DB_COMPARE_MAX_FILES)
        return db_fail(err, errlen, "compare: more than %d files for %s", DB_COMPARE_MAX_FILES,
                       which);
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i], s) == 0)
            return db_fail(err, errlen,
                           "compare: '%s' is given twice for %s: each file must be another run", s,
                           which);
    list[(*n)++] = s;
    return DB_OK;
}

/* The files once every argument is read: BASE NEW, or --base/--new lists, or --pair's files. */
static int check_files(struct db_compare_args *a, const char **pos, size_t npos, char *err,
                       size_t errlen) {
    if (a->pair) {
        if (a->nbase || a->nnew)
            return db_fail(err, errlen,
                           "compare: --pair compares within its files: --base and --new do not "
                           "apply " USAGE);
        if (npos == 0)
            return db_fail(err, errlen, "compare: --pair needs at least one file " USAGE);
        for (size_t i = 0; i < npos; i++) {
            DB_CHECK(add_file(a->base, &a->nbase, "--pair", pos[i], err, errlen));
            a->new_files[a->nnew++] = pos[i];
        }
    } else if (a->nbase || a->nnew) {
        if (npos)
            return db_fail(err, errlen,
                           "compare: '%s' belongs to neither --base nor --new: give every file "
                           "after --base or --new, or exactly two files BASE NEW " USAGE,
                           pos[0]);
        if (!a->nbase || !a->nnew)
            return db_fail(err, errlen, "compare: --%s has no file " USAGE,
                           a->nbase ? "new" : "base");
    } else {
        if (npos > 2) return db_fail(err, errlen, "compare: a third file '%s' " USAGE, pos[2]);
        if (npos != 2)
            return db_fail(err, errlen,
                           "compare: expected two files, BASE and NEW, %zu given " USAGE, npos);
        a->base[a->nbase++] = pos[0];
        a->new_files[a->nnew++] = pos[1];
    }
    if ((a->nbase == 1) != (a->nnew == 1))
        return db_fail(err, errlen,
                       "compare: --base has %zu file%s and --new %zu: give one file per side (the "
                       "repetitions are the samples) or at least two per side (the runs are)",
                       a->nbase, a->nbase == 1 ? "" : "s", a->nnew);
    a->by_run = a->nbase >= 2;
    if (a->open_cells && !a->seq_max)
        return db_fail(err, errlen,
                       "compare: --open-cells lists what --sequential left open: "
                       "give --sequential MIN:MAX");
    if (a->seq_max && !a->by_run)
        return db_fail(err, errlen,
                       "compare: --sequential needs the runs of each side (--base and --new with "
                       "at least two files each, in the order they ran)");
    if (a->seq_max && !a->min_effect_given) a->min_effect_pct = DB_SEQ_DEFAULT_MARGIN_PCT;
    if (a->seq_max && !(a->min_effect_pct > 0))
        return db_fail(err, errlen,
                       "compare: --sequential needs --min-effect above 0: it is the margin of "
                       "\"no change\" (the CI inside +-PCT%%)");
    return DB_OK;
}

int db_compare_parse(int argc, char **argv, struct db_compare_args *a, char *err, size_t errlen) {
    static const char *const with_value[] = {"--alpha",     "--min-effect", "--fail-on-regression",
                                             "--pair",      "--format",     "--sequential",
                                             "--open-cells"};
    memset(a, 0, sizeof *a);
    a->alpha = 0.05;
    a->fail_pct = -1;
    const char *pos[DB_COMPARE_MAX_FILES];
    size_t npos = 0;
    /* Where a file name goes: the positional files, or the list of the last --base / --new. */
    const char **to = pos;
    size_t *nto = &npos;
    const char *which = "";
    int only_files = 0;
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
        if (!only_files && strcmp(s, "--check-args") == 0) {
            a->check_args = 1;
            continue;
        }
        if (only_files || s[0] != '-' || !s[1]) {
            if (to != pos)
                DB_CHECK(add_file(to, nto, which, s, err, errlen));
            else if (npos == DB_COMPARE_MAX_FILES)
                return db_fail(err, errlen, "compare: more than %d files", DB_COMPARE_MAX_FILES);
            else
                pos[npos++] = s; /* BASE NEW may be one file: an A/A check of the test */
            continue;
        }
        int side = strncmp(s, "--base", 6) == 0 ? 6 : strncmp(s, "--new", 5) == 0 ? 5 : 0;
        if (side && (s[side] == 0 || s[side] == '=')) {
            to = side == 6 ? a->base : a->new_files;
            nto = side == 6 ? &a->nbase : &a->nnew;
            which = side == 6 ? "--base" : "--new";
            if (s[side] == '=') DB_CHECK(add_file(to, nto, which, s + side + 1, err, errlen));
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
        to = pos; /* an option ends a --base / --new list */
        nto = &npos;
    }
    return check_files(a, pos, npos, err, errlen);
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
    int reps, run_id;                       /* column indices, -1 when absent */
    struct stat st; /* the file's identity, with several files per side (open_group) */
};

/* A cell's row in one file. */
struct hit {
    const struct input *in;
    size_t row;
};

/* A cell of one side: its rows, one per file that has it, in the order of the files. */
struct found {
    struct hit *hits;
    size_t nhits;
};

/* A cell on one side, gathered over that side's files. */
struct side {
    const struct input *in; /* the first file that has the cell, */
    char **f;               /* and its row there (the key fields) */
    const char *status;     /* "ok", or the first other status among the rows */
    double *x;              /* the samples tested (NULL: none): repetitions or per-run medians */
    size_t k;
    double median; /* of the samples, else time_median_s; NaN when not ok */
};

struct cell {
    struct side b, n;
    double ratio, lo, hi, p, padj;
    int tested;
    const char *verdict;
    char reason[160];
    /* --sequential: the runs per side of the cell's last look, the level that look spent, its
     * geometric-mean ratio, CI (at 1 - 2 level), Welch p and BH-adjusted p; the rule that settled
     * it (NULL: not settled); open: undecided with fewer than MAX runs per side. */
    size_t runs, avail; /* runs per side at the last look; available (the fewer of the sides) */
    double level, sratio, slo, shi, sp, spadj;
    const char *rule;
    int open;
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
    in->reps = db_table_column(&in->t, "reps");
    in->run_id = db_table_column(&in->t, "run_id");
    if (in->status < 0 || in->median < 0)
        return db_fail(err, errlen, "compare: '%s' is not a diagbench CSV: no column '%s'", path,
                       in->status < 0 ? "status" : "time_median_s");
    for (size_t r = 1; r < in->t.nrec; r++)
        if (in->t.rec[r].nfields != in->t.rec[0].nfields)
            return db_fail(err, errlen, "compare: '%s' line %zu: %zu fields, the header has %zu",
                           path, in->t.rec[r].line, in->t.rec[r].nfields, in->t.rec[0].nfields);
    return DB_OK;
}

static int same_file(const struct input *a, const struct input *b) {
    return a->st.st_dev == b->st.st_dev && a->st.st_ino == b->st.st_ino;
}

/* Open a side's files; the same file under two names would count one run twice. */
static int open_group(struct input *in, const char *const *paths, size_t n, char *err,
                      size_t errlen) {
    for (size_t i = 0; i < n; i++) {
        DB_CHECK(open_input(&in[i], paths[i], err, errlen));
        if (stat(paths[i], &in[i].st) != 0)
            return db_fail(err, errlen, "compare: cannot stat '%s': %s", paths[i], strerror(errno));
        for (size_t j = 0; j < i && n > 1; j++)
            if (same_file(&in[i], &in[j]))
                return db_fail(err, errlen,
                               "compare: '%s' and '%s' are the same file: each file must be "
                               "another run",
                               paths[j], paths[i]);
    }
    return DB_OK;
}

static char **fields(const struct hit *h) {
    return h->in->t.rec[h->row].field;
}

static size_t line_of(const struct hit *h) {
    return h->in->t.rec[h->row].line;
}

/* The median of x[0..n), sorted in scratch (n values). */
static double median_of(const double *x, size_t n, double *scratch) {
    memcpy(scratch, x, n * sizeof *x);
    db_stats_sort(scratch, n);
    return db_stats_median_sorted(scratch, n);
}

/* What a run can write: a decimal number (as %.9g prints: no hex, no inf or nan) of seconds per
 * extraction between DB_COMPARE_MIN_S and DB_COMPARE_MAX_S. Parses [s, s + len) (len: up to
 * the first ';' or the end); 1 and *t when it is one. */
#define DB_COMPARE_MIN_S 1e-12 /* a picosecond: below one instruction of any machine */
#define DB_COMPARE_MAX_S 1e6   /* 11.6 days for one timed extraction: no run lasts that long */
static int run_seconds(const char *s, size_t len, double *t) {
    char buf[64];
    if (len == 0 || len >= sizeof buf || strspn(s, "0123456789.eE+-") < len) return 0;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    *t = strtod(buf, &end);
    return !*end && !errno && *t >= DB_COMPARE_MIN_S && *t <= DB_COMPARE_MAX_S;
}

/* One ok row's samples (*x, *k; none in CSVs from before samples_s) and median. Refused: values
 * no run could have written, more or fewer samples than the row's reps, and a time_median_s
 * that is not the median of its samples_s (both printed %.9g from the same values: relative
 * rounding <= 5e-9 each, so 1e-6 of the median is a difference no run leaves). */
static int read_row(const struct hit *h, double **x, size_t *k, double *median, char *err,
                    size_t errlen) {
    const struct input *in = h->in;
    char **f = fields(h);
    *x = NULL;
    *k = 0;
    const char *v = f[in->median];
    double med;
    if (!run_seconds(v, strlen(v), &med))
        return db_fail(err, errlen,
                       "compare: '%s' line %zu: time_median_s '%.40s' is not a number of seconds "
                       "a run writes (decimal, %g to %g)",
                       in->path, line_of(h), v, DB_COMPARE_MIN_S, DB_COMPARE_MAX_S);
    *median = med;
    const char *text = in->samples >= 0 ? f[in->samples] : "";
    if (!*text) return DB_OK;
    size_t cap = 1;
    for (const char *c = text; *c; c++)
        cap += *c == ';';
    double *s = malloc(cap * sizeof *s), *sorted = malloc(cap * sizeof *sorted);
    if (!s || !sorted) {
        free(s);
        free(sorted);
        return DB_E_NOMEM;
    }
    size_t n = 0;
    for (const char *c = text;;) {
        size_t len = strcspn(c, ";");
        double t;
        if (!run_seconds(c, len, &t)) {
            free(s);
            free(sorted);
            return db_fail(err, errlen,
                           "compare: '%s' line %zu: samples_s '%.60s' is not a ';'-separated "
                           "list of seconds a run writes (decimal, %g to %g)",
                           in->path, line_of(h), text, DB_COMPARE_MIN_S, DB_COMPARE_MAX_S);
        }
        s[n++] = t;
        if (!c[len]) break;
        c += len + 1;
    }
    const char *reps = in->reps >= 0 ? f[in->reps] : "";
    char *end, detail[160] = "";
    unsigned long long r = *reps ? strtoull(reps, &end, 10) : 0;
    *median = median_of(s, n, sorted);
    free(sorted);
    if (*reps && (*end || r != n))
        snprintf(detail, sizeof detail, "samples_s holds %zu values, reps says '%.20s'", n, reps);
    else if (fabs(*median - med) > 1e-6 * med)
        snprintf(detail, sizeof detail,
                 "time_median_s '%.20s' is not the median %.9g of its %zu samples_s", v, *median,
                 n);
    if (detail[0]) {
        free(s);
        return db_fail(err, errlen,
                       "compare: '%s' line %zu: %s: not what a run writes (an edited file?)",
                       in->path, line_of(h), detail);
    }
    *x = s;
    *k = n;
    return DB_OK;
}

/* A cell on one side from its rows: not ok when any row is not; else the samples are the one
 * row's repetitions, or (by_run) the median of each row. */
static int read_side(const struct found *fd, int by_run, struct side *s, char *err, size_t errlen) {
    *s = (struct side){
        .in = fd->hits[0].in, .f = fields(&fd->hits[0]), .status = "ok", .median = NAN};
    for (size_t i = 0; i < fd->nhits; i++) {
        const char *st = fields(&fd->hits[i])[fd->hits[i].in->status];
        if (strcmp(st, "ok") != 0) {
            s->status = st;
            return DB_OK;
        }
    }
    if (!by_run) return read_row(&fd->hits[0], &s->x, &s->k, &s->median, err, errlen);
    s->x = malloc(fd->nhits * sizeof *s->x);
    double *sorted = malloc(fd->nhits * sizeof *sorted);
    int rc = s->x && sorted ? DB_OK : DB_E_NOMEM;
    for (size_t i = 0; rc == DB_OK && i < fd->nhits; i++) {
        double *reps;
        size_t nreps;
        rc = read_row(&fd->hits[i], &reps, &nreps, &s->x[i], err, errlen);
        free(reps);
        s->k += rc == DB_OK;
    }
    if (rc == DB_OK) s->median = median_of(s->x, s->k, sorted);
    free(sorted);
    return rc;
}

static int same_key(const struct input *ia, char **fa, const struct input *ib, char **fb,
                    int pair) {
    for (int k = 0; k < NKEY; k++)
        if (!(pair && k == KEY_STRATEGY) && strcmp(fa[ia->key[k]], fb[ib->key[k]]) != 0) return 0;
    return 1;
}

static int same_cell(const struct found *a, const struct found *b, int pair) {
    return same_key(a->hits[0].in, fields(&a->hits[0]), b->hits[0].in, fields(&b->hits[0]), pair);
}

/* ---- cells by key: a hash index, so that matching is linear in the cells (it was quadratic:
 * 60,000 cells did not finish in 300 s) ------------------------------------------------------ */

static uint64_t cell_hash(const struct input *in, char **f, int pair) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a over the key fields, each ended by 0x1f */
    for (int k = 0; k < NKEY; k++) {
        if (pair && k == KEY_STRATEGY) continue;
        for (const char *c = f[in->key[k]]; *c; c++)
            h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
        h = (h ^ 0x1f) * 0x100000001b3ull;
    }
    return h;
}

struct key_index {
    size_t mask;
    size_t *slot;   /* an item's index + 1; 0: empty */
    uint64_t *hash; /* its key's hash */
};

static int key_index_init(struct key_index *x, size_t items) {
    size_t cap = 16;
    while (cap < 2 * items + 2)
        cap <<= 1;
    x->mask = cap - 1;
    x->slot = calloc(cap, sizeof *x->slot);
    x->hash = malloc(cap * sizeof *x->hash);
    return x->slot && x->hash ? DB_OK : DB_E_NOMEM;
}

static void key_index_free(struct key_index *x) {
    free(x->slot);
    free(x->hash);
}

/* The slot of the item whose hash is h and for which eq(ctx, item) holds, else the empty slot
 * where it goes (the caller stores item + 1 there). */
static size_t *key_index_slot(struct key_index *x, uint64_t h, int (*eq)(const void *, size_t),
                              const void *ctx) {
    for (size_t i = h & x->mask;; i = (i + 1) & x->mask) {
        if (!x->slot[i]) {
            x->hash[i] = h;
            return &x->slot[i];
        }
        if (x->hash[i] == h && eq(ctx, x->slot[i] - 1)) return &x->slot[i];
    }
}

struct row_probe {
    const struct input *in;
    const size_t *rows;
    char **f;
    int pair;
};

static int row_eq(const void *vctx, size_t j) {
    const struct row_probe *p = vctx;
    return same_key(p->in, p->in->t.rec[p->rows[j]].field, p->in, p->f, p->pair);
}

struct found_probe {
    const struct found *cells, *probe;
    int pair;
};

static int found_eq(const void *vctx, size_t j) {
    const struct found_probe *p = vctx;
    return same_cell(&p->cells[j], p->probe, p->pair);
}

static uint64_t found_hash(const struct found *fd, int pair) {
    return cell_hash(fd->hits[0].in, fields(&fd->hits[0]), pair);
}

/* A row's cell for messages: "sin/jacobian/fwd/probe n=8 threads=2 (false, unset)". */
static const char *cell_name(const struct input *in, char **f, char *buf, size_t len) {
    snprintf(buf, len, "%s/%s/%s/%s n=%s threads=%s (%s, %s)", f[in->key[0]], f[in->key[1]],
             f[in->key[2]], f[in->key[3]], f[in->key[4]], f[in->key[5]], f[in->key[6]],
             f[in->key[7]]);
    return buf;
}

static int collect_row(const struct input *in, const char *want, int pair, struct key_index *x,
                       size_t *rows, size_t *count, size_t r, char *err, size_t errlen);

/* The rows of one file: every row, or (--pair) those whose strategy is want. n and threads must
 * be whole numbers; a cell may appear once. */
static int collect(const struct input *in, const char *want, int pair, size_t **rows, size_t *count,
                   char *err, size_t errlen) {
    *rows = malloc(in->t.nrec * sizeof **rows);
    struct key_index x = {0};
    if (!*rows || key_index_init(&x, in->t.nrec) != DB_OK) {
        key_index_free(&x);
        return DB_E_NOMEM;
    }
    *count = 0;
    int rc = DB_OK;
    for (size_t r = 1; r < in->t.nrec && rc == DB_OK; r++) {
        rc = collect_row(in, want, pair, &x, *rows, count, r, err, errlen);
    }
    key_index_free(&x);
    return rc;
}

/* collect's step for row r. */
static int collect_row(const struct input *in, const char *want, int pair, struct key_index *x,
                       size_t *rows, size_t *count, size_t r, char *err, size_t errlen) {
    {
        char **f = in->t.rec[r].field;
        if (want && strcmp(f[in->key[KEY_STRATEGY]], want) != 0) return DB_OK;
        unsigned long long v;
        for (int k = 4; k <= 5; k++)
            if (db_parse_whole(f[in->key[k]], NULL, ~0ull, &v) != DB_OK)
                return db_fail(err, errlen,
                               "compare: '%s' line %zu: %s '%.40s' is not a whole "
                               "number",
                               in->path, in->t.rec[r].line, key_names[k], f[in->key[k]]);
        struct row_probe probe = {in, rows, f, pair};
        size_t *slot = key_index_slot(x, cell_hash(in, f, pair), row_eq, &probe);
        if (*slot) {
            const struct db_record *o = &in->t.rec[rows[*slot - 1]];
            char name[512];
            return db_fail(err, errlen,
                           "compare: '%s': cell %s appears twice (lines %zu and "
                           "%zu)",
                           in->path, cell_name(in, f, name, sizeof name), o->line,
                           in->t.rec[r].line);
        }
        *slot = *count + 1;
        rows[(*count)++] = r;
    }
    return DB_OK;
}

/* The cells of one side over its n files (--pair: the rows whose strategy is want), in the order
 * they first appear; each with its row in every file that has it. */
static int gather(const struct input *in, size_t n, const char *want, int pair, struct found **out,
                  size_t *nout, char *err, size_t errlen) {
    size_t cap = 0;
    for (size_t i = 0; i < n; i++)
        cap += in[i].t.nrec;
    *out = calloc(cap ? cap : 1, sizeof **out);
    *nout = 0;
    if (!*out) return DB_E_NOMEM;
    struct key_index x = {0};
    int rc = key_index_init(&x, cap);
    for (size_t i = 0; i < n && rc == DB_OK; i++) {
        size_t *rows, k;
        rc = collect(&in[i], want, pair, &rows, &k, err, errlen);
        for (size_t j = 0; j < k && rc == DB_OK; j++) {
            struct hit h = {&in[i], rows[j]};
            struct found probe = {&h, 1}, *fd = NULL;
            struct found_probe fp = {*out, &probe, pair};
            size_t *slot = key_index_slot(&x, found_hash(&probe, pair), found_eq, &fp);
            if (*slot) {
                fd = &(*out)[*slot - 1];
            } else {
                *slot = *nout + 1;
                fd = &(*out)[(*nout)++];
                fd->hits = malloc(n * sizeof *fd->hits);
                if (!fd->hits) rc = DB_E_NOMEM;
            }
            if (rc == DB_OK) fd->hits[fd->nhits++] = h;
        }
        free(rows);
    }
    key_index_free(&x);
    return rc;
}

static void free_found(struct found *fd, size_t n) {
    for (size_t i = 0; fd && i < n; i++)
        free(fd[i].hits);
    free(fd);
}

/* ---- statistics ---------------------------------------------------------------------------- */

static uint64_t key_seed(const struct input *in, char **f) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a of the key: the same cell, the same resamples */
    for (int k = 0; k < NKEY; k++)
        for (const char *c = f[in->key[k]]; *c; c++)
            h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
    return h;
}

static int judge(const struct db_compare_args *a, struct cell *c) {
    c->ratio = c->lo = c->hi = c->p = c->padj = NAN;
    c->verdict = "undecided";
    if (strcmp(c->b.status, "ok") != 0 || strcmp(c->n.status, "ok") != 0) {
        snprintf(c->reason, sizeof c->reason, "status: base %s, new %s", c->b.status, c->n.status);
        return DB_OK;
    }
    c->ratio = c->n.median / c->b.median;
    if (!isfinite(c->ratio) || !(c->ratio > 0)) { /* never a verdict from a ratio we lack */
        snprintf(c->reason, sizeof c->reason, "the ratio of the medians is not a number");
        c->ratio = NAN;
        return DB_OK;
    }
    if (!c->b.x || !c->n.x) {
        snprintf(c->reason, sizeof c->reason, "no samples");
        return DB_OK;
    }
    DB_CHECK(db_stats_ratio_ci(c->b.x, c->b.k, c->n.x, c->n.k, 0.95, DB_COMPARE_RESAMPLES,
                               key_seed(c->b.in, c->b.f), &c->lo, &c->hi));
    c->p = db_stats_mwu(c->b.x, c->b.k, c->n.x, c->n.k, NULL);
    if (isnan(c->p)) return DB_E_NOMEM;
    double pmin = db_stats_mwu_min_p(c->b.k, c->n.k);
    if (pmin > a->alpha) {
        snprintf(c->reason, sizeof c->reason,
                 "too few %s: %zu and %zu cannot reach p < %g (smallest p 2/C(m+n,m) = %.2g)",
                 a->by_run ? "runs" : "samples", c->b.k, c->n.k, a->alpha, pmin);
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
    return a->fail_pct >= 0 && strcmp(c->verdict, "slower") == 0 && isfinite(c->ratio) &&
           100 * (c->ratio - 1) >= a->fail_pct;
}

/* ---- the report ------------------------------------------------------------------------------ */

struct report {
    const struct db_compare_args *a;
    struct input *ib, *in; /* the files of each side (with --pair, both are the same files) */
    size_t nb, nn;
    struct cell *cells;
    size_t ncells;
    const struct found **only_b, **only_n; /* cells of one side without a partner */
    size_t nonly_b, nonly_n;
    size_t counts[4]; /* faster, slower, no change, undecided */
    int regressed;
};

static const char *const verdicts[4] = {"faster", "slower", "no change", "undecided"};

/* ---- the sequential rule (--sequential MIN:MAX; harness/analysis/sequential.h) ------------- */

/* Test the open cells with at least n runs per side on their first n runs; BH at the look's level
 * over them; settle those whose verdict is decided. p and adj: ncells doubles of scratch. */
static int sequential_look(struct report *r, const struct db_seq_design *d, size_t n,
                           unsigned char *settled, double *p, double *adj) {
    double level = db_seq_level(d, n), m = d->margin_pct / 100;
    size_t tested = 0;
    for (size_t i = 0; i < r->ncells; i++) {
        struct cell *c = &r->cells[i];
        p[i] = NAN;
        if (settled[i] || c->avail < n) continue;
        c->runs = n;
        if ((n >= DB_SEQ_RANK_FROM ? db_seq_rank : db_seq_welch)(
                c->b.x, n, c->n.x, n, level, &c->sp, &c->sratio, &c->slo, &c->shi) != DB_OK)
            return DB_E_INVALID; /* read_row admits positive finite samples only */
        c->level = level;
        c->spadj = NAN;
        p[i] = c->sp;
        tested++;
    }
    if (!tested) return DB_OK;
    DB_CHECK(db_stats_bh_adjust(p, r->ncells, adj));
    for (size_t i = 0; i < r->ncells; i++) {
        struct cell *c = &r->cells[i];
        if (!isfinite(p[i])) continue;
        c->spadj = adj[i];
        if (adj[i] < level && (c->sratio >= 1 + m || c->sratio <= 1 - m)) {
            c->verdict = c->sratio > 1 ? "slower" : "faster";
            c->rule = "difference";
            snprintf(c->reason, sizeof c->reason,
                     "after %zu runs per side: p_adj %.2g < level %.2g, ratio outside +-%g%%", n,
                     adj[i], level, d->margin_pct);
        } else if (c->slo >= 1 - m && c->shi <= 1 + m) {
            c->verdict = "no change";
            c->rule = "equivalence";
            snprintf(c->reason, sizeof c->reason,
                     "after %zu runs per side: CI [%.4f, %.4f] at %.4g%% inside +-%g%%", n, c->slo,
                     c->shi, 100 * (1 - 2 * level), d->margin_pct);
        } else
            continue;
        settled[i] = 1;
    }
    return DB_OK;
}

/* Replay the looks from the files: a cell's runs are its per-run medians in the order of the
 * files, so the verdicts are those the rounds reached, whatever round compare is called after. */
static int sequential_decide(struct report *r) {
    const struct db_compare_args *a = r->a;
    struct db_seq_design d = {a->seq_min, a->seq_max, a->alpha, a->min_effect_pct};
    size_t nc = r->ncells ? r->ncells : 1;
    unsigned char *settled = calloc(nc, 1);
    double *p = malloc(nc * sizeof *p), *adj = malloc(nc * sizeof *adj);
    int rc = settled && p && adj ? DB_OK : DB_E_NOMEM;
    for (size_t i = 0; rc == DB_OK && i < r->ncells; i++) {
        struct cell *c = &r->cells[i];
        c->level = c->sratio = c->slo = c->shi = c->sp = c->spadj = NAN;
        c->rule = NULL;
        c->open = 0;
        int usable =
            strcmp(c->b.status, "ok") == 0 && strcmp(c->n.status, "ok") == 0 && c->b.x && c->n.x;
        c->avail = usable ? (c->b.k < c->n.k ? c->b.k : c->n.k) : 0;
        c->runs = c->avail < a->seq_min ? c->avail : 0; /* set by each look */
        if (!usable) {                                  /* judge said why */
            c->verdict = "undecided";
            c->rule = "status";
            settled[i] = 1;
            continue;
        }
        c->verdict = "undecided";
        c->reason[0] = 0;
    }
    for (size_t n = a->seq_min; rc == DB_OK && n <= a->seq_max; n++)
        rc = sequential_look(r, &d, n, settled, p, adj);
    for (size_t i = 0; rc == DB_OK && i < r->ncells; i++) {
        struct cell *c = &r->cells[i];
        if (!settled[i]) {
            c->open = c->avail < a->seq_max;
            c->rule = c->open ? "open" : "max runs";
            if (c->avail < a->seq_min)
                snprintf(c->reason, sizeof c->reason, "%zu runs per side, fewer than MIN %zu",
                         c->runs, a->seq_min);
            else
                snprintf(c->reason, sizeof c->reason,
                         "%s after %zu runs per side: CI [%.4f, %.4f] at %.4g%% neither outside "
                         "nor inside +-%g%%",
                         c->open ? "open" : "undecided at MAX", c->runs, c->slo, c->shi,
                         100 * (1 - 2 * c->level), a->min_effect_pct);
        }
        for (int v = 0; v < 4; v++)
            if (strcmp(c->verdict, verdicts[v]) == 0) r->counts[v]++;
        r->regressed |= regressed(a, c);
    }
    free(settled);
    free(p);
    free(adj);
    return rc;
}

/* --open-cells FILE: the key columns of the open cells, written to a temporary file in FILE's
 * directory (mkstemp: a new file, never through a link) and renamed over FILE. */
static int write_open_cells(const struct report *r, const char *path, char *err, size_t errlen) {
    size_t len = strlen(path);
    char *tmp = malloc(len + 16);
    if (!tmp) return DB_E_NOMEM;
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
    memcpy(tmp, path, dl);
    strcpy(tmp + dl, ".open-XXXXXX");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return db_fail(err, errlen, "compare: cannot write --open-cells '%s': %s", path,
                       strerror(e));
    }
    FILE *f = fdopen(fd, "w");
    if (!f) close(fd);
    int ok = f != NULL && fchmod(fd, 0644) == 0;
    for (int k = 0; ok && k < NKEY; k++)
        fprintf(f, "%s%s", key_names[k], k + 1 < NKEY ? "," : "\n");
    for (size_t i = 0; ok && i < r->ncells; i++) {
        const struct cell *c = &r->cells[i];
        if (!c->open) continue;
        for (int k = 0; k < NKEY; k++) {
            db_csv_field(f, c->b.f[c->b.in->key[k]]);
            fputc(k + 1 < NKEY ? ',' : '\n', f);
        }
    }
    int e = 0;
    if (f && (ferror(f) | fflush(f)) != 0) ok = 0;
    if (!ok) e = errno;
    if (f && fclose(f) != 0 && ok) ok = 0, e = errno;
    if (ok && rename(tmp, path) != 0) ok = 0, e = errno;
    if (!ok) unlink(tmp);
    free(tmp);
    if (!ok)
        return db_fail(err, errlen, "compare: cannot write --open-cells '%s': %s", path,
                       strerror(e ? e : EIO));
    return DB_OK;
}

/* The distinct values of column name among the rows of a side's files (a file without the
 * column counts as ""), at most max. */
static size_t distinct(const struct input *in, size_t nin, const char *name, const char **v,
                       size_t max) {
    size_t k = 0;
    for (size_t i = 0; i < nin; i++) {
        int col = db_table_column(&in[i].t, name);
        for (size_t r = 1; r < in[i].t.nrec && k < max; r++) {
            const char *s = col < 0 ? "" : in[i].t.rec[r].field[col];
            size_t j = 0;
            while (j < k && strcmp(v[j], s) != 0)
                j++;
            if (j == k) v[k++] = s;
        }
    }
    return k;
}

#define MAXDISTINCT 8

/* Does column name hold other values on the two sides? */
static int param_differs(const struct report *r, const char *name, const char **vb, size_t *kb,
                         const char **vn, size_t *kn) {
    *kb = distinct(r->ib, r->nb, name, vb, MAXDISTINCT);
    *kn = distinct(r->in, r->nn, name, vn, MAXDISTINCT);
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

/* One run parameter that differs: its column, its values on each side, and how many came
 * before it. */
typedef void (*param_fn)(FILE *f, const char *column, const char *const *vb, size_t kb,
                         const char *const *vn, size_t kn, int before);

/* Call each for every run parameter that differs between the sides (none with --pair: the same
 * files); returns how many did. */
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

/* The strategy column of a compared cell: A:B under --pair. */
static const char *strategy_text(const struct report *r, const struct input *in, char **fl,
                                 char *buf, size_t len) {
    if (!r->a->pair) return fl[in->key[KEY_STRATEGY]];
    snprintf(buf, len, "%s:%s", r->a->pair_a, r->a->pair_b);
    return buf;
}

/* The eight key fields of a row; paired: a compared cell (its strategy as strategy_text). */
static void json_key_fields(FILE *f, const struct report *r, const struct input *in, char **fl,
                            int paired) {
    for (int k = 0; k < NKEY; k++) {
        fprintf(f, "%s\"%s\": ", k ? ", " : "", key_names[k]);
        char both[300];
        if (k == KEY_STRATEGY && paired)
            json_str(f, strategy_text(r, in, fl, both, sizeof both));
        else if (k == 4 || k == 5)
            json_whole(f, fl[in->key[k]]);
        else
            json_str(f, fl[in->key[k]]);
    }
}

static void json_only(FILE *f, const struct report *r, const struct found *const *cells, size_t k) {
    fputc('[', f);
    for (size_t i = 0; i < k; i++) {
        fputs(i ? ",\n    {" : "\n    {", f);
        json_key_fields(f, r, cells[i]->hits[0].in, fields(&cells[i]->hits[0]), 0);
        fputc('}', f);
    }
    fputs(k ? "\n  ]" : "]", f);
}

static void json_files(FILE *f, const char *const *files, size_t n) {
    fputc('[', f);
    put_list(f, files, n, ", ", json_str);
    fputc(']', f);
}

/* --sequential, per cell: "sequential": {runs, level, ratio, ci_low, ci_high, p_value,
 * p_adjusted, rule, open} of its last look (the one that settled it). */
static void json_sequential_cell(FILE *f, const struct cell *c) {
    fprintf(f, ", \"sequential\": {\"runs\": %zu, \"level\": ", c->runs);
    const double v[] = {c->level, c->sratio, c->slo, c->shi, c->sp, c->spadj};
    static const char *const names[] = {"level",   "ratio",   "ci_low",
                                        "ci_high", "p_value", "p_adjusted"};
    for (int k = 0; k < 6; k++) {
        if (k) fprintf(f, ", \"%s\": ", names[k]);
        json_num(f, v[k]);
    }
    fputs(", \"rule\": ", f);
    json_str(f, c->rule ? c->rule : "open");
    fprintf(f, ", \"open\": %s}", c->open ? "true" : "false");
}

/* --sequential: the design and how many cells are still open. */
static void json_sequential(FILE *f, const struct report *r) {
    size_t open = 0;
    for (size_t i = 0; i < r->ncells; i++)
        open += r->cells[i].open;
    fprintf(f,
            ",\n  \"sequential\": {\"min_runs\": %zu, \"max_runs\": %zu, \"margin_pct\": %.9g, "
            "\"test\": \"two-sided; 3-5 runs per side: Yuen-Welch t, 20%% trimmed, on log per-run "
            "medians; 6 and more: Mann-Whitney U, Hodges-Lehmann ratio, Moses CI\", "
            "\"spending\": \"Lan-DeMets "
            "Pocock type alpha*ln(1+(e-1)*n/max_runs), Bonferroni over the looks\", "
            "\"adjustment\": \"Benjamini-Hochberg at each look's level over the cells open at "
            "it\", \"equivalence\": \"CI at 1-2*level inside 1 +- margin (TOST)\", "
            "\"open_cells\": %zu}",
            r->a->seq_min, r->a->seq_max, r->a->min_effect_pct, open);
}

static void write_json(FILE *f, const struct report *r) {
    const struct db_compare_args *a = r->a;
    fputs("{\n  \"base\": ", f);
    json_files(f, a->base, a->nbase);
    fputs(",\n  \"new\": ", f);
    json_files(f, a->new_files, a->nnew);
    fprintf(f, ",\n  \"unit\": \"%s\",\n  \"pair\": ", a->by_run ? "run" : "repetition");
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
            ",\n  \"statistics\": {\"samples\": \"%s\", \"ratio\": \"median(new) / median(base)\", "
            "\"ci\": \"95%% percentile bootstrap, %d resamples\", \"test\": \"two-sided "
            "Mann-Whitney U, scipy.stats.mannwhitneyu defaults\", \"adjustment\": "
            "\"Benjamini-Hochberg\"},\n"
            "  \"differing_parameters\": [",
            a->by_run ? "the median of each run (file)" : "the repetitions of one run per side",
            DB_COMPARE_RESAMPLES);
    int any = each_differing(f, r, json_param);
    fputs(any ? "\n  ],\n  \"only_in_base\": " : "],\n  \"only_in_base\": ", f);
    json_only(f, r, r->only_b, r->nonly_b);
    fputs(",\n  \"only_in_new\": ", f);
    json_only(f, r, r->only_n, r->nonly_n);
    fputs(",\n  \"cells\": [", f);
    for (size_t i = 0; i < r->ncells; i++) {
        const struct cell *c = &r->cells[i];
        fputs(i ? ",\n    {" : "\n    {", f);
        json_key_fields(f, r, c->b.in, c->b.f, 1);
        fputs(", \"base_status\": ", f);
        json_str(f, c->b.status);
        fputs(", \"new_status\": ", f);
        json_str(f, c->n.status);
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
        if (a->seq_max) json_sequential_cell(f, c);
        fputc('}', f);
    }
    fputs(r->ncells ? "\n  ],\n  \"counts\": {" : "],\n  \"counts\": {", f);
    for (int v = 0; v < 4; v++)
        fprintf(f, "%s\"%s\": %zu", v ? ", " : "", verdicts[v], r->counts[v]);
    fputs("},\n  \"regression\": ", f);
    fputs(a->fail_pct < 0 ? "null" : r->regressed ? "true" : "false", f);
    if (a->seq_max) json_sequential(f, r);
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
            const char *v = k == KEY_STRATEGY ? strategy_text(r, c->b.in, c->b.f, both, sizeof both)
                                              : c->b.f[c->b.in->key[k]];
            db_csv_field(f, v);
            fputc(',', f);
        }
        db_csv_field(f, c->b.status);
        fputc(',', f);
        db_csv_field(f, c->n.status);
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

/* Markdown text from a CSV (a host, a workload, a note: anyone's text): nothing in it may open
 * a code span, emphasis, a link or raw HTML, or break a table row. Markdown's punctuation is
 * backslash-escaped (CommonMark), '<', '>' and '&' become entities, newlines spaces. */
static void md_text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else if (*s && strchr("\\`*_[]|#!~", *s)) {
            fputc('\\', f);
            fputc(*s, f);
        } else
            fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    }
}

/* A code span holding s verbatim (code spans show their text as it is: no escapes there): its
 * fence is one backtick more than the longest run of backticks in s, padded with a space when s
 * starts or ends with one (CommonMark 6.1); newlines become spaces. */
static void md_code(FILE *f, const char *s) {
    size_t run = 0, longest = 0;
    for (const char *c = s; *c; c++) {
        run = *c == '`' ? run + 1 : 0;
        longest = run > longest ? run : longest;
    }
    size_t len = strlen(s);
    int pad = len && (s[0] == '`' || s[len - 1] == '`');
    for (size_t i = 0; i <= longest; i++)
        fputc('`', f);
    if (pad) fputc(' ', f);
    for (const char *c = s; *c; c++)
        fputc(*c == '\n' || *c == '\r' ? ' ' : *c, f);
    if (pad) fputc(' ', f);
    for (size_t i = 0; i <= longest; i++)
        fputc('`', f);
}

static void md_param(FILE *f, const char *column, const char *const *vb, size_t kb,
                     const char *const *vn, size_t kn, int before) {
    fputs(before ? "\n- " : "\n**Run parameters that differ:**\n\n- ", f);
    fprintf(f, "`%s`: base ", column);
    put_list(f, vb, kb, ", ", md_code);
    fputs("; new ", f);
    put_list(f, vn, kn, ", ", md_code);
}

/* A cell's name; paired: a compared cell (its strategy "A → B" under --pair). */
static void md_cell_name(FILE *f, const struct report *r, const struct input *in, char **fl,
                         int paired) {
    for (int k = 0; k < 4; k++) {
        if (k) fputc(' ', f);
        if (k == KEY_STRATEGY && paired && r->a->pair) {
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

static void md_only(FILE *f, const struct report *r, const struct found *const *cells, size_t k,
                    const char *which) {
    if (!k) return;
    fprintf(f, "\n**Only in %s** (%zu cell%s, not compared): ", which, k, k == 1 ? "" : "s");
    for (size_t i = 0; i < k; i++) {
        if (i) fputs("; ", f);
        md_cell_name(f, r, cells[i]->hits[0].in, fields(&cells[i]->hits[0]), 0);
    }
    fputc('\n', f);
}

/* A side's files in the title: `a.csv`, or `a.csv`, `b.csv` (2 runs). */
static void md_files(FILE *f, const char *const *files, size_t n) {
    put_list(f, files, n, ", ", md_code);
    if (n > 1) fprintf(f, " (%zu runs)", n);
}

/* --sequential: what was decided when, per cell. */
static void md_sequential(FILE *f, const struct report *r) {
    const struct db_compare_args *a = r->a;
    size_t open = 0;
    for (size_t i = 0; i < r->ncells; i++)
        open += r->cells[i].open;
    fprintf(
        f,
        "\n**Sequential decisions** (--sequential %zu:%zu): after each round from %zu runs per "
        "side, at the look's level: Yuen's 20%%-trimmed Welch t on log run medians (3-5 runs per "
        "side) or Mann-Whitney U with the Hodges-Lehmann ratio and Moses CI (6 and more) (α = %g "
        "spent over the looks: "
        "Lan-DeMets, Pocock type, Bonferroni over the looks), Benjamini-Hochberg across the "
        "cells open at the look; **slower**/**faster**: significant and outside ±%g%%; **no "
        "change**: the CI at 1 − 2·level inside ±%g%% (equivalence, TOST). %zu cell%s still "
        "open.\n\n| cell | runs | level | ratio | CI | p_adj | verdict | "
        "rule |\n"
        "|---|---|---|---|---|---|---|---|\n",
        a->seq_min, a->seq_max, a->seq_min, a->alpha, a->min_effect_pct, a->min_effect_pct, open,
        open == 1 ? " is" : "s are");
    for (size_t i = 0; i < r->ncells; i++) {
        const struct cell *c = &r->cells[i];
        fputs("| ", f);
        md_cell_name(f, r, c->b.in, c->b.f, 1);
        fprintf(f, " | %zu | ", c->runs);
        if (isfinite(c->sratio))
            fprintf(f, "%.2g | %.4f | [%.4f, %.4f] | %.2g | ", c->level, c->sratio, c->slo, c->shi,
                    c->spadj);
        else
            fputs("- | - | - | - | ", f);
        fprintf(f, "%s | %s |\n", c->verdict, c->rule ? c->rule : "open");
    }
}

static void write_md(FILE *f, const struct report *r) {
    const struct db_compare_args *a = r->a;
    fputs("### diagbench compare: ", f);
    if (a->pair) {
        md_code(f, a->pair_a);
        fputs(" → ", f);
        md_code(f, a->pair_b);
        fputs(" in ", f);
        md_files(f, a->base, a->nbase);
    } else {
        md_files(f, a->base, a->nbase);
        fputs(" → ", f);
        md_files(f, a->new_files, a->nnew);
    }
    fputs("\n\n", f);
    if (a->by_run)
        fputs("Samples: the median of each run (file) of a side, so that run-to-run differences "
              "are in the noise the test sees. ",
              f);
    else
        fputs("Samples: the repetitions of one run per side; what differs between runs of the "
              "same command (a few % on some machines) is not in them: give several runs per "
              "side (--base/--new) for verdicts that hold across runs. ",
              f);
    fprintf(f,
            "Ratio = median(new) / median(base), > 1 is slower; 95%% CI: percentile "
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
        md_cell_name(f, r, c->b.in, c->b.f, 1);
        fprintf(f, " | %s (%zu) | %s (%zu) | ", db_fmt_time(c->b.median, tb, sizeof tb), c->b.k,
                db_fmt_time(c->n.median, tn, sizeof tn), c->n.k);
        char rs[64], ls[64], hs[64]; /* 3 significant digits: 1.02, 0.000213, 4,700 */
        fputs(db_fmt_number3(c->ratio, rs, sizeof rs), f);
        if (isfinite(c->lo))
            fprintf(f, " | [%s, %s] | %.2g | %.2g | ", db_fmt_number3(c->lo, ls, sizeof ls),
                    db_fmt_number3(c->hi, hs, sizeof hs), c->p, c->padj);
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
    const char *ob = a->pair ? a->pair_a : a->nbase > 1 ? "base" : a->base[0];
    const char *on = a->pair ? a->pair_b : a->nnew > 1 ? "new" : a->new_files[0];
    md_only(f, r, r->only_b, r->nonly_b, ob);
    md_only(f, r, r->only_n, r->nonly_n, on);
    if (a->seq_max) md_sequential(f, r);
}

/* ---- the comparison ------------------------------------------------------------------------ */

static int build(struct report *r, const struct found *fb, size_t kb, const struct found *fn,
                 size_t kn, char *err, size_t errlen) {
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
    struct key_index x = {0};
    int rc = key_index_init(&x, kn);
    for (size_t j = 0; j < kn && rc == DB_OK; j++) {
        struct found_probe fp = {fn, &fn[j], pair};
        size_t *slot = key_index_slot(&x, found_hash(&fn[j], pair), found_eq, &fp);
        if (!*slot) *slot = j + 1; /* gather made each cell once */
    }
    for (size_t i = 0; i < kb && rc == DB_OK; i++) {
        struct found_probe fp = {fn, &fb[i], pair};
        size_t *slot = key_index_slot(&x, found_hash(&fb[i], pair), found_eq, &fp);
        size_t j = *slot ? *slot - 1 : kn;
        if (j == kn) {
            r->only_b[r->nonly_b++] = &fb[i];
            continue;
        }
        matched[j] = 1;
        struct cell *c = &r->cells[r->ncells++];
        rc = read_side(&fb[i], a->by_run, &c->b, err, errlen);
        if (rc == DB_OK) rc = read_side(&fn[j], a->by_run, &c->n, err, errlen);
        if (rc == DB_OK) rc = judge(a, c);
    }
    for (size_t j = 0; j < kn; j++)
        if (!matched[j]) r->only_n[r->nonly_n++] = &fn[j];
    free(matched);
    key_index_free(&x);
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

/* --pair: both strategies must be there. */
static int pair_found(const struct db_compare_args *a, size_t kb, size_t kn, char *err,
                      size_t errlen) {
    if (!a->pair || (kb && kn)) return DB_OK;
    const char *which = kb ? a->pair_b : a->pair_a;
    if (a->nbase == 1)
        return db_fail(err, errlen, "compare: --pair: no row of '%s' has strategy '%s'", a->base[0],
                       which);
    return db_fail(err, errlen, "compare: --pair: no row of the %zu files has strategy '%s'",
                   a->nbase, which);
}

/* A file on both sides (a glob that caught both, or `compare b.csv b.csv`, also through a link)
 * would be compared with itself. */
static int sides_disjoint(const struct db_compare_args *a, const struct input *ib,
                          const struct input *in, char *err, size_t errlen) {
    for (size_t i = 0; !a->pair && i < a->nbase; i++)
        for (size_t j = 0; j < a->nnew; j++)
            if (same_file(&ib[i], &in[j]))
                return a->by_run ? db_fail(err, errlen,
                                           "compare: '%s' is given for both --base and --new: "
                                           "each run belongs to one side",
                                           a->new_files[j])
                                 : db_fail(err, errlen,
                                           "compare: '%s' and '%s' are the same file: compare "
                                           "needs two runs",
                                           a->base[i], a->new_files[j]);
    return DB_OK;
}

static int cmp_str(const void *x, const void *y) {
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The distinct run_id values of a file, sorted (*ids malloc'd; 0 of them without the column). */
static int run_ids(const struct input *in, const char ***ids, size_t *n) {
    *ids = NULL;
    *n = 0;
    if (in->run_id < 0) return DB_OK;
    const char **v = malloc((in->t.nrec ? in->t.nrec : 1) * sizeof *v);
    if (!v) return DB_E_NOMEM;
    size_t k = 0;
    for (size_t r = 1; r < in->t.nrec; r++)
        v[k++] = in->t.rec[r].field[in->run_id];
    qsort(v, k, sizeof *v, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (!u || strcmp(v[u - 1], v[i]) != 0) v[u++] = v[i];
    *ids = v;
    *n = u;
    return DB_OK;
}

/* Copies of one run: two files (on one side, or one on each) with rows of the same run_id. A
 * copied run is not another run: five copies per side would give every cell p = 0.004 and a
 * zero-width interval. run_id is the UTC start time and pid of the run that wrote the row
 * (resumed and merged rows keep it), so two runs never share one. */
static int no_copies(const struct db_compare_args *a, struct input *const *files,
                     const char *const *names, size_t n, char *err, size_t errlen) {
    const char ***ids = calloc(n ? n : 1, sizeof *ids);
    size_t *nid = calloc(n ? n : 1, sizeof *nid);
    int rc = ids && nid ? DB_OK : DB_E_NOMEM;
    for (size_t i = 0; rc == DB_OK && i < n; i++)
        rc = run_ids(files[i], &ids[i], &nid[i]);
    for (size_t i = 0; rc == DB_OK && i < n; i++)
        for (size_t j = i + 1; rc == DB_OK && j < n; j++)
            for (size_t p = 0, q = 0; rc == DB_OK && p < nid[i] && q < nid[j];) {
                int c = strcmp(ids[i][p], ids[j][q]);
                if (c == 0)
                    rc = db_fail(err, errlen,
                                 "compare: '%s' and '%s' hold rows of the same run (run_id "
                                 "%.40s): a copy of a run is not another run%s",
                                 names[i], names[j], ids[i][p],
                                 a->by_run ? "; give each run once" : "");
                else if (c < 0)
                    p++;
                else
                    q++;
            }
    for (size_t i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
    free(nid);
    return rc;
}

/* Every file of the comparison (with --pair, the one side's) checked for copies. */
static int check_copies(const struct db_compare_args *a, struct input *ib, struct input *in,
                        char *err, size_t errlen) {
    size_t n = a->nbase + (a->pair ? 0 : a->nnew);
    struct input **files = malloc(n * sizeof *files);
    const char **names = malloc(n * sizeof *names);
    int rc = files && names ? DB_OK : DB_E_NOMEM;
    for (size_t i = 0; rc == DB_OK && i < n; i++) {
        files[i] = i < a->nbase ? &ib[i] : &in[i - a->nbase];
        names[i] = i < a->nbase ? a->base[i] : a->new_files[i - a->nbase];
    }
    if (rc == DB_OK) rc = no_copies(a, files, names, n, err, errlen);
    free(files);
    free(names);
    return rc;
}

int db_compare_run(const struct db_compare_args *a, FILE *out, int *regressed_out, char *err,
                   size_t errlen) {
    struct input *ib = calloc(a->nbase, sizeof *ib);
    struct input *in = a->pair ? ib : calloc(a->nnew, sizeof *in);
    struct report r = {.a = a, .ib = ib, .in = in, .nb = a->nbase, .nn = a->nnew};
    struct found *fb = NULL, *fn = NULL;
    size_t kb = 0, kn = 0;
    *regressed_out = 0;
    int rc = ib && in ? DB_OK : DB_E_NOMEM;
    if (rc == DB_OK) rc = open_group(ib, a->base, a->nbase, err, errlen);
    if (rc == DB_OK && !a->pair) rc = open_group(in, a->new_files, a->nnew, err, errlen);
    if (rc == DB_OK) rc = sides_disjoint(a, ib, in, err, errlen);
    if (rc == DB_OK) rc = check_copies(a, ib, in, err, errlen);
    if (rc == DB_OK)
        rc = gather(ib, a->nbase, a->pair ? a->pair_a : NULL, a->pair != NULL, &fb, &kb, err,
                    errlen);
    if (rc == DB_OK)
        rc =
            gather(in, a->nnew, a->pair ? a->pair_b : NULL, a->pair != NULL, &fn, &kn, err, errlen);
    if (rc == DB_OK) rc = pair_found(a, kb, kn, err, errlen);
    if (rc == DB_OK) rc = build(&r, fb, kb, fn, kn, err, errlen);
    if (rc == DB_OK) rc = a->seq_max ? sequential_decide(&r) : adjust_and_decide(&r);
    if (rc == DB_OK && a->open_cells) rc = write_open_cells(&r, a->open_cells, err, errlen);
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
    free_found(fb, kb);
    free_found(fn, kn);
    for (size_t i = 0; ib && i < a->nbase; i++)
        db_table_free(&ib[i].t);
    for (size_t i = 0; !a->pair && in && i < a->nnew; i++)
        db_table_free(&in[i].t);
    free(ib);
    if (!a->pair) free(in);
    return rc;
}
