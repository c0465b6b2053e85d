/* Planning materialise's write path by measurement, as FFTW plans its transforms and OpenBLAS
 * picks its kernels: for each n x n size a run will write and the OpenMP thread count in force,
 * every candidate path (plain or non-temporal stores x block widths, operators/blocks.h) is
 * timed on the machine in use, in interleaved rounds so that a noisy moment hits every
 * candidate alike, and the fastest (best round) is used by every cell of that size. The timing
 * uses its own instance and buffer, never a timed cell's measurements.
 *
 * Plans are cached in a wisdom file (TSV, one line per plan) keyed by CPU model, thread count,
 * OMP_PROC_BIND, OMP_PLACES and the build (compiler and flags), so a repeated run does not
 * re-plan. Its location: $DIAGBENCH_WISDOM, else $XDG_CACHE_HOME/diagbench/wisdom.tsv, else
 * $HOME/.cache/diagbench/wisdom.tsv; --wisdom FILE overrides, --no-wisdom re-plans (and
 * records the new plans). The file is a cache: unreadable or foreign lines are ignored with a
 * warning, and a file that cannot be written costs a warning, never the run. */
#ifndef DB_WISDOM_H
#define DB_WISDOM_H

#include <stddef.h>
#include <stdio.h>

#include "operators/blocks.h"

struct db_wisdom_opts {
    const char *path;              /* NULL: the default location */
    int replan;                    /* --no-wisdom: ignore what the file holds */
    unsigned long long mem_budget; /* bytes planning may allocate (0: no budget) */
    int quiet;                     /* no progress lines on stderr */
};

/* What planning decided for one size. */
struct db_wisdom_plan {
    size_t n;
    int threads;
    struct db_write_path wp;
    double gbytes_per_s; /* the chosen path's best round, 8 n^2 bytes per pass */
    double runner_up;    /* the best path with the other kind of store, GB/s (NaN: none) */
    int from_wisdom;     /* 1: read from the file, 0: timed in this run */
};

/* The wisdom file's path (the default location when path is NULL). DB_E_INVALID when neither
 * $DIAGBENCH_WISDOM, $XDG_CACHE_HOME nor $HOME is set. */
int db_wisdom_file(const char *path, char *buf, size_t len);

/* The key of this process: CPU model, thread count, proc_bind, places, build. */
struct db_wisdom_key {
    char cpu_model[256];
    int threads;
    char proc_bind[32], places[256], build[512];
};
void db_wisdom_key_current(struct db_wisdom_key *k);

/* Plan sizes[0..count) at the current thread count: from the file where it holds a plan for
 * this key (unless replan), else by timing, and record each in blocks.c's table
 * (db_write_path_plan). out (count entries, may be NULL) receives what was decided. Sizes over
 * the memory budget are left unplanned. Returns DB_OK, or DB_E_NOMEM. */
int db_wisdom_plan_sizes(const size_t *sizes, size_t count, const struct db_wisdom_opts *o,
                         struct db_wisdom_plan *out);

/* Time every candidate for n now (no file involved). */
int db_wisdom_time_candidates(size_t n, struct db_wisdom_plan *out);

/* One plan line of a wisdom file (tab-separated): cpu_model, threads, proc_bind, places, build,
 * n, write_path, GB/s, planned_at. */
struct db_wisdom_line {
    struct db_wisdom_key key;
    size_t n;
    struct db_write_path wp;
    double gbytes_per_s;
    char planned_at[32];
};

/* Parse one line (without its newline; split in place). 1 when it is a valid plan; 0 for
 * anything else, including a path planning could not have chosen for that n (the file is read,
 * never trusted). */
int db_wisdom_parse_line(char *s, struct db_wisdom_line *l);
/* Write one line with its newline (the fields must be free of tabs and newlines). */
void db_wisdom_format_line(FILE *f, const struct db_wisdom_line *l);

/* Print the file's location and the plans it holds for this key (the --env report). */
void db_wisdom_report(FILE *f, const char *path);

#endif
