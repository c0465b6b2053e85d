#include "harness/analysis/summary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/format.h"
#include "core/status.h"
#include "workloads/workload.h"
#include "harness/io/schema.h"
#include "harness/io/csv_read.h"

struct point {
    double n, t, tmin; /* median and fastest repetition */
    double ceiling;    /* write_ceiling_s (0: none) */
    char write_path[DB_WRITE_PATH_LEN];
};

/* A series is named by these columns, in this order (struct series' key). */
#define NKEY 5
static const enum db_column_id key_col[NKEY] = {DB_COL_workload, DB_COL_operator, DB_COL_jac,
                                                DB_COL_strategy, DB_COL_threads};

struct series {
    char key[NKEY][64]; /* workload, operator, jac, strategy, threads */
    struct point *pts;
    size_t npts, cap;
    size_t not_ok;
};

struct db_summary {
    size_t fit_from;
    struct series *s;
    size_t count, cap;
};

/* Parse one CSV record (with or without its newline) with the same RFC 4180 reader --resume
 * and merge use; DB_OK only for exactly one complete record. */
static int parse_record(const char *line, struct db_table *t) {
    size_t len = strlen(line);
    int nl = len && line[len - 1] == '\n';
    char *text = malloc(len + 2);
    if (!text) return DB_E_NOMEM;
    memcpy(text, line, len);
    if (!nl) text[len++] = '\n';
    char err[256];
    int rc = db_table_parse(text, len, t, err, sizeof err);
    free(text);
    if (rc == DB_OK && t->nrec != 1) {
        db_table_free(t);
        rc = DB_E_INVALID;
    }
    return rc;
}

struct db_summary *db_summary_create(size_t fit_from) {
    struct db_summary *s = calloc(1, sizeof *s);
    if (s) s->fit_from = fit_from;
    return s;
}

void db_summary_destroy(struct db_summary *s) {
    if (!s) return;
    for (size_t i = 0; i < s->count; i++)
        free(s->s[i].pts);
    free(s->s);
    free(s);
}

static struct series *find(struct db_summary *s, char **key) {
    for (size_t i = 0; i < s->count; i++) {
        int same = 1;
        for (int k = 0; k < NKEY && same; k++)
            same = strcmp(s->s[i].key[k], key[k]) == 0;
        if (same) return &s->s[i];
    }
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct series *g = realloc(s->s, cap * sizeof *g);
        if (!g) return NULL;
        s->s = g;
        s->cap = cap;
    }
    struct series *x = &s->s[s->count++];
    memset(x, 0, sizeof *x);
    for (int k = 0; k < NKEY; k++)
        snprintf(x->key[k], sizeof x->key[k], "%s", key[k]);
    return x;
}

int db_summary_add_csv(struct db_summary *s, const char *line) {
    struct db_table t;
    int rc = parse_record(line, &t);
    if (rc != DB_OK) return rc;
    char **f = t.rec[0].field;
    rc = DB_E_INVALID;
    if (t.rec[0].nfields == DB_NCOLUMNS) {
        char *key[NKEY];
        for (int k = 0; k < NKEY; k++)
            key[k] = f[key_col[k]];
        struct series *x = find(s, key);
        rc = x ? DB_OK : DB_E_NOMEM;
        if (x && strcmp(f[DB_COL_status], "ok") != 0) {
            x->not_ok++;
        } else if (x) {
            if (x->npts == x->cap) {
                size_t cap = x->cap ? 2 * x->cap : 8;
                struct point *g = realloc(x->pts, cap * sizeof *g);
                if (!g) {
                    db_table_free(&t);
                    return DB_E_NOMEM;
                }
                x->pts = g;
                x->cap = cap;
            }
            struct point *pt = &x->pts[x->npts++];
            *pt = (struct point){atof(f[DB_COL_n]), atof(f[DB_COL_time_median_s]),
                                 atof(f[DB_COL_time_min_s]), atof(f[DB_COL_write_ceiling_s]), ""};
            snprintf(pt->write_path, sizeof pt->write_path, "%s", f[DB_COL_write_path]);
        }
    }
    db_table_free(&t);
    return rc;
}

double db_fit_slope(const double *n, const double *t, size_t k) {
    double mx = 0, my = 0;
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        if (n[i] > 0 && t[i] > 0) mx += log(n[i]), my += log(t[i]), m++;
    if (m < 2) return NAN;
    mx /= (double)m, my /= (double)m;
    double sxy = 0, sxx = 0;
    for (size_t i = 0; i < k; i++) {
        if (!(n[i] > 0 && t[i] > 0)) continue;
        double dx = log(n[i]) - mx;
        sxy += dx * (log(t[i]) - my);
        sxx += dx * dx;
    }
    return sxx > 0 ? sxy / sxx : NAN;
}

/* Points with a positive n and time: the ones a log-log fit can use. */
static size_t fittable(const double *n, const double *t, size_t k) {
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        m += n[i] > 0 && t[i] > 0;
    return m;
}

/* The slope over the sizes >= fit_from, or over all sizes when fewer than two reach it; *sizes
 * is the number of sizes it was fitted on. */
static double series_slope(const struct series *x, size_t fit_from, size_t *sizes) {
    *sizes = 0;
    double *n = malloc((x->npts + 1) * sizeof *n), *t = malloc((x->npts + 1) * sizeof *t);
    if (!n || !t) {
        free(n), free(t);
        return NAN;
    }
    size_t k = 0;
    for (size_t i = 0; i < x->npts; i++)
        if (x->pts[i].n >= (double)fit_from) n[k] = x->pts[i].n, t[k++] = x->pts[i].t;
    *sizes = fittable(n, t, k);
    double slope = db_fit_slope(n, t, k);
    if (isnan(slope)) {
        for (size_t i = 0; i < x->npts; i++)
            n[i] = x->pts[i].n, t[i] = x->pts[i].t;
        slope = db_fit_slope(n, t, x->npts);
        *sizes = fittable(n, t, x->npts);
    }
    free(n), free(t);
    return slope;
}

static double time_at(const struct series *x, double n) {
    for (size_t i = 0; i < x->npts; i++)
        if (x->pts[i].n == n) return x->pts[i].t;
    return NAN;
}

/* The baseline of a series: materialise for diagonal strategies, the dense path a user would
 * otherwise take (materialise+lu) for solve methods. */
static const struct series *materialise_of(const struct db_summary *s, const struct series *x) {
    const char *base = strchr(x->key[3], '+') ? "materialise+lu" : "materialise";
    for (size_t i = 0; i < s->count; i++) {
        const struct series *m = &s->s[i];
        if (strcmp(m->key[3], base) != 0) continue;
        if (!strcmp(m->key[0], x->key[0]) && !strcmp(m->key[1], x->key[1]) &&
            !strcmp(m->key[2], x->key[2]) && !strcmp(m->key[4], x->key[4]))
            return m;
    }
    return NULL;
}

/* s in a column of width w (display width: the format's strings are UTF-8), left- or
 * right-aligned, after a space unless it is the first column. */
static void column(FILE *f, const char *s, size_t w, int right) {
    size_t pad = db_fmt_width(s) < w ? w - db_fmt_width(s) : 0;
    if (right) fprintf(f, "%*s", (int)pad, "");
    fputs(s, f);
    if (!right) fprintf(f, "%*s", (int)pad, "");
}

/* The series of a calibration kernel run with the given thread count. */
static const struct series *calibration(const struct db_summary *s, const char *kernel,
                                        const char *threads) {
    for (size_t i = 0; i < s->count; i++)
        if (!strcmp(s->s[i].key[0], "_calibrate") && !strcmp(s->s[i].key[3], kernel) &&
            !strcmp(s->s[i].key[4], threads) && s->s[i].npts)
            return &s->s[i];
    return NULL;
}

/* A calibration series' point at n (NULL when it has none). */
static const struct point *point_at(const struct series *x, double n) {
    for (size_t i = 0; x && i < x->npts; i++)
        if (x->pts[i].n == n) return &x->pts[i];
    return NULL;
}

/* materialise against the write ceiling of each size >= fit_from, one line per series, with the
 * write path each size ran; a ratio above 1 means the ceiling was mismeasured and is flagged.
 * The ceiling was timed around the cell on its own buffer (write_ceiling_s); both sides are
 * their best repetition, so that a moment of lower bandwidth on a shared machine counts for
 * neither. Returns the number of flags. */
static int print_materialise_ratios(const struct db_summary *s, const struct series *x, FILE *f,
                                    int *header) {
    int flagged = 0, shown = 0;
    for (size_t k = 0; k < x->npts; k++) {
        const struct point *p = &x->pts[k];
        if (!(p->ceiling > 0) || p->n < (double)s->fit_from) continue;
        if (!*header) {
            fprintf(f, "\nagainst the machine (same run):\n"
                       "  materialise / write ceiling (the better of memset and a non-temporal "
                       "fill of the cell's own n x n buffer, timed just before and after it; best "
                       "repetitions), write path:\n");
            *header = 1;
        }
        if (!shown++)
            fprintf(f, "  %-8s %s %-4s thr=%-3s", x->key[0], x->key[1], x->key[2], x->key[4]);
        double r = p->ceiling / p->tmin;
        char rs[64];
        fprintf(f, "%s n=%.0f %s (%s, ceiling %.1f GB/s)%s", shown > 1 ? "," : "", p->n,
                db_fmt_ratio(r, rs, sizeof rs), p->write_path[0] ? p->write_path : "-",
                8 * p->n * p->n / p->ceiling * 1e-9, r > 1 ? " [!]" : "");
        flagged += r > 1;
    }
    if (shown) fputc('\n', f);
    char sizes[64];
    if (flagged)
        fprintf(f,
                "  [!] %s %s %s thr=%s: materialise above its write ceiling at %s: the "
                "ceiling was mismeasured, do not trust these ratios\n",
                x->key[0], x->key[1], x->key[2], x->key[4],
                db_fmt_count((unsigned long long)flagged, "size", sizes, sizeof sizes));
    return flagged;
}

/* Judge strategies against the machine (issue: no strawman): materialise's effective bandwidth
 * against the write ceiling of each size, probe against the bare libm loop, the wrapper against
 * Google Benchmark. */
static void print_ratios(const struct db_summary *s, FILE *f) {
    int header = 0;
    for (size_t i = 0; i < s->count; i++) {
        const struct series *x = &s->s[i];
        if (x->key[0][0] == '_' || strcmp(x->key[1], "jacobian") != 0) continue;
        int mat = !strcmp(x->key[3], "materialise"), probe = !strcmp(x->key[3], "probe");
        if (!mat && !probe) continue;
        /* rows that wrote an n x n matrix carry their write ceiling */
        if (mat) print_materialise_ratios(s, x, f, &header);
        if (!probe) continue;
        const struct series *ref =
            calibration(s, !strcmp(x->key[0], "split") ? "sin_loop" : "cos_loop", x->key[4]);
        const struct series *ref2 =
            !strcmp(x->key[0], "split") ? calibration(s, "cos_loop", x->key[4]) : NULL;
        if (!ref) continue;
        double n = 0; /* the largest n >= 100000 */
        for (size_t k = 0; k < x->npts; k++)
            if (x->pts[k].n >= 100000 && x->pts[k].n > n) n = x->pts[k].n;
        if (n == 0) continue;
        if (!header) {
            fprintf(f, "\nagainst the machine (same run):\n");
            header = 1;
        }
        double t = point_at(x, n)->tmin; /* best against best, as for materialise */
        /* split probes sin' on one half and cos' on the other: the mean of both loops */
        double loop = ref->pts[0].tmin / ref->pts[0].n;
        if (ref2) loop = 0.5 * (loop + ref2->pts[0].tmin / ref2->pts[0].n);
        char rs[64];
        fprintf(f,
                "  %-8s %s %-4s probe       n=%-8.0f thr=%-3s %6.3f ns/el = %s bare "
                "loop (%.3f ns/el; best repetitions)",
                x->key[0], x->key[1], x->key[2], n, x->key[4], t / n * 1e9,
                db_fmt_ratio(t / n / loop, rs, sizeof rs), loop * 1e9);
        /* the same loop reading a tangent, as a JVP must */
        const struct series *jl = calibration(s, "cos_jvp_loop", x->key[4]);
        if (jl && !strcmp(x->key[0], "sin"))
            fprintf(f, ", %s cos(x)*v loop",
                    db_fmt_ratio(t / n / (jl->pts[0].tmin / jl->pts[0].n), rs, sizeof rs));
        fputc('\n', f);
    }
    for (size_t i = 0; i < s->count; i++) {
        const struct series *w = &s->s[i];
        if (strcmp(w->key[0], "_calibrate") || strcmp(w->key[3], "wrapper") || !w->npts) continue;
        const struct series *nat = calibration(s, "native_gbench", w->key[4]);
        const struct series *plain = calibration(s, "plain_loop", w->key[4]);
        if (!nat) continue;
        fprintf(f,
                "  wrapper overhead (thr=%s): %.2f ns/iteration above Google Benchmark's own "
                "loop (%.2f vs %.2f ns; plain C loop %.2f ns)\n",
                w->key[4], (w->pts[0].t - nat->pts[0].t) * 1e9, w->pts[0].t * 1e9,
                nat->pts[0].t * 1e9, plain ? plain->pts[0].t * 1e9 : NAN);
    }
}

void db_summary_print(const struct db_summary *s, FILE *f) {
    size_t measured = 0; /* series other than calibration rows: the table's rows */
    for (size_t i = 0; i < s->count; i++)
        measured += s->s[i].key[0][0] != '_';
    if (!measured) { /* --calibrate alone: no table, not an empty header */
        print_ratios(s, f);
        return;
    }
    fprintf(f,
            "\nsummary: slope = least squares of log(median time) on log(n) over n >= %zu (over "
            "all n where fewer than 2 sizes reach it), with the number of sizes it was fitted on;"
            "\n         speedup = materialise (materialise+lu for solve methods) / strategy at the "
            "largest n where both ran\n",
            s->fit_from);
    fprintf(f, "%-14s %-9s %-4s %-20s %3s %-21s %9s %11s %20s\n", "workload", "operator", "jac",
            "strategy", "thr", "slope", "n_max", "t(n_max)", "speedup");
    for (size_t i = 0; i < s->count; i++) {
        const struct series *x = &s->s[i];
        if (x->key[0][0] == '_') continue; /* calibration rows: see print_ratios */
        double nmax = 0;
        for (size_t k = 0; k < x->npts; k++)
            nmax = x->pts[k].n > nmax ? x->pts[k].n : nmax;
        size_t sizes;
        double slope = series_slope(x, s->fit_from, &sizes);
        char slope_s[64], n_s[32] = "-", t_s[32], sp_s[96] = "-", ratio[64];
        db_fmt_slope(slope, NAN, sizes, slope_s, sizeof slope_s);
        if (x->npts) snprintf(n_s, sizeof n_s, "%.0f", nmax); /* no ok row: no n_max */
        db_fmt_time(x->npts ? time_at(x, nmax) : NAN, t_s, sizeof t_s);
        const struct series *m = materialise_of(s, x);
        if (m && m != x) {
            double best = 0;
            for (size_t k = 0; k < x->npts; k++) {
                double tm = time_at(m, x->pts[k].n);
                if (!isnan(tm) && x->pts[k].n > best) best = x->pts[k].n;
            }
            if (best > 0)
                snprintf(sp_s, sizeof sp_s, "%s (n=%.0f)",
                         db_fmt_ratio(time_at(m, best) / time_at(x, best), ratio, sizeof ratio),
                         best);
        }
        fprintf(f, "%-14s %-9s %-4s %-20s %3s ", x->key[0], x->key[1], x->key[2], x->key[3],
                x->key[4]);
        column(f, slope_s, 21, 0);
        fprintf(f, " %9s ", n_s);
        column(f, t_s, 11, 1);
        fputc(' ', f);
        column(f, sp_s, 20, 1);
        if (x->not_ok)
            fprintf(f, "  (%s not ok)", db_fmt_count(x->not_ok, "cell", ratio, sizeof ratio));
        fputc('\n', f);
    }
    print_ratios(s, f);
}
