/* `diagbench compare BASE.csv NEW.csv`, `diagbench compare --base B1.csv B2.csv ... --new N1.csv
 * N2.csv ...` and `diagbench compare --pair A:B FILE.csv...`: decide, cell by cell, whether NEW is
 * faster or slower than BASE. With one file per side the samples are the repetitions the rows
 * carry (samples_s); with two files or more per side, each file is one run (one process) and the
 * samples are the cell's per-run medians, so that run-to-run differences are part of the noise
 * the test sees. Statistics (core/stats.h): ratio of medians NEW/BASE with a 95% percentile
 * bootstrap interval (2000 resamples, seeded per cell), the two-sided Mann-Whitney U p-value as
 * scipy.stats.mannwhitneyu / Google Benchmark's compare.py compute it, Benjamini-Hochberg
 * adjusted p-values over the cells tested, and a verdict: faster, slower, no change or undecided.
 * Reads any diagbench CSV by column name, old ones without samples_s too (medians only, verdict
 * undecided). */
#ifndef DB_COMPARE_H
#define DB_COMPARE_H

#include <stddef.h>
#include <stdio.h>

enum db_compare_format { DB_COMPARE_MD, DB_COMPARE_CSV, DB_COMPARE_JSON };

/* At most this many files per side. */
#define DB_COMPARE_MAX_FILES 256

struct db_compare_args {
    /* The files of each side, one run each; with --pair both lists are the files given. */
    const char *base[DB_COMPARE_MAX_FILES], *new_files[DB_COMPARE_MAX_FILES];
    size_t nbase, nnew;
    int by_run;       /* samples: 1 the per-run medians (>= 2 files per side), 0 the repetitions */
    const char *pair; /* --pair A:B as given, or NULL */
    char pair_a[128], pair_b[128];
    double alpha;          /* --alpha, default 0.05 */
    double min_effect_pct; /* --min-effect, default 0 */
    double fail_pct;       /* --fail-on-regression; < 0: not given */
    enum db_compare_format format;
    int help;
    /* --sequential MIN:MAX (seq_max 0: not given; harness/analysis/sequential.h) and
     * --open-cells FILE (NULL: not given). */
    size_t seq_min, seq_max;
    const char *open_cells;
    int min_effect_given;
    int check_args; /* --check-args: validate the arguments, read no file (scripts/ab.sh) */
};

/* The verdicts, and the number of bootstrap resamples of the ratio's interval. */
#define DB_COMPARE_RESAMPLES 2000

/* Parse the arguments after "compare". DB_E_INVALID with one line in err on bad usage. */
int db_compare_parse(int argc, char **argv, struct db_compare_args *a, char *err, size_t errlen);

/* Read, compare and write the report to out. DB_OK (and *regressed = 1 when --fail-on-regression
 * found a cell significantly slower by at least its PCT), DB_E_INVALID with one line in err when
 * an input cannot be read or is not a diagbench CSV, DB_E_NOMEM. */
int db_compare_run(const struct db_compare_args *a, FILE *out, int *regressed, char *err,
                   size_t errlen);

#endif
