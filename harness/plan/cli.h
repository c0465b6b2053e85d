/* Command-line parsing: flags, comma lists, and the cells a selection or a preset matrix
 * (presets.h) expands to. Parsing never exits or prints: errors come back as DB_E_INVALID with
 * one line naming the bad value and what is allowed. */
#ifndef DB_CLI_H
#define DB_CLI_H

#include <stddef.h>

#include "core/fail.h"
#include "core/limits.h"
#include "harness/bench/downstream.h"
#include "harness/bench/runner.h"
#include "harness/plan/presets.h"

/* A downstream workload item of -w, e.g. solve:sin. */
struct db_task_workload {
    enum db_cell_kind kind; /* DB_CELL_SOLVE or DB_CELL_NEWTON */
    const struct db_workload *wl;
};

/* What to run: the cross product of these lists (a preset is a union of several). Plain
 * workloads pair with diagonal strategies; solve:/newton: workloads pair with solve methods
 * (probe+diagonal, materialise+lu, ...). */
struct db_selection {
    const struct db_workload *workloads[DB_MAX_LIST];
    size_t nworkloads;
    struct db_task_workload tasks[DB_MAX_LIST]; /* solve:<w>, newton:<w> */
    size_t ntasks;
    const char *operators[DB_MAX_LIST];
    size_t noperators;
    enum db_jac jacs[2];
    size_t njacs;
    const struct db_strategy *strategies[DB_MAX_LIST];
    size_t nstrategies;
    struct db_solve_method methods[DB_MAX_LIST]; /* S+diagonal, materialise+lu */
    size_t nmethods;
    size_t sizes[DB_MAX_LIST];
    size_t nsizes;
    size_t lu_max_n;           /* materialise+lu cells above this n are skipped_budget (0: none) */
    const char *budget_matrix; /* preset whose time budget set lu_max_n; NULL: --lu-max-n */
};

/* Where a process's cells sit in the whole run, for the progress lines' numbering and ETA: a
 * sweep parent hands each child its own (--_position); a run without a sweep starts at 0. */
struct db_progress_position {
    size_t config;      /* the configuration this process runs (index into plan->configs) */
    size_t done, total; /* cells finished before this process's first one; in the run */
    unsigned long long start_ns; /* CLOCK_MONOTONIC when the run's first cell started */
    unsigned long long cost_done, cost_total; /* the plan's expected cost (model ns) of those */
};

struct db_cli {
    int help, list, version, quiet;
    int calibrate;      /* --calibrate: calibration rows only */
    int env;            /* --env: print the environment report */
    int schema;         /* --schema: print the CSV columns */
    const char *matrix; /* preset name, or NULL */
    struct db_selection sel;
    int have_selection; /* any of -w -s -p -j -n given */
    int threads[DB_MAX_LIST];
    size_t nthreads;                /* 0: run in this process with the OpenMP settings in force */
    const char *binds[DB_MAX_LIST]; /* --bind: OMP_PROC_BIND per sweep configuration */
    size_t nbinds;                  /* 0: OMP_PROC_BIND as in force */
    char places[DB_MAX_LIST][32];   /* --places: OMP_PLACES per sweep configuration */
    size_t nplaces;                 /* 0: OMP_PLACES as in force */
    struct db_run_opts run;
    size_t lu_max_n;   /* --lu-max-n (0: not given) */
    const char *out;   /* NULL: CSV on stdout */
    const char *child; /* internal: run id handed down by the thread-sweep parent */
    int gb_argc;       /* argv for Google Benchmark's Initialize: argv[0] only (every
                          --benchmark_* flag maps onto ours or is refused, cli.c) */
    char *gb_argv[DB_MAX_LIST + 1];

    /* Interrupted runs and sharding (harness/plan.h, resume.h, shard.h). */
    unsigned shard_k, shard_n; /* --shard K/N (0/0: the whole matrix) */
    const char *resume;        /* --resume FILE.partial: run only the cells missing from it */
    const char *cells;         /* internal: indices of the cells a sweep child runs */
    const char *cells_file;    /* --cells FILE: run only the cells it lists (main.c) */
    int no_calibrate;          /* internal: the child's configuration is calibrated already */
    int flags_from_resume;     /* --resume alone: take the matrix from the file (resume.h) */
    /* Write-path planning (harness/wisdom.h). */
    const char *wisdom; /* --wisdom FILE (NULL: the default location) */
    int no_wisdom;      /* --no-wisdom: re-plan, ignoring the file */
    /* Google Benchmark JSON (harness/io/gbench_json.h), CI gating, progress. */
    const char *json;          /* --json FILE or --benchmark_out=FILE (NULL: none) */
    int json_aggregates_only;  /* --benchmark_report_aggregates_only=true */
    int gb_out, gb_out_format; /* --benchmark_out, --benchmark_out_format=json given */
    /* The flag that first set the CSV, the JSON file, the repetitions and the minimum time: a
     * second one (also under Google Benchmark's name) is a conflict, refused by name. */
    const char *given_out, *given_json, *given_reps, *given_min_time;
    int fail_on_error; /* --fail-on-error: exit DB_EXIT_ERROR_ROWS when a row is error */
    int json_fd;       /* internal --_json-fd: a sweep child appends its entries here (0) */
    int have_position; /* internal --_position given (a sweep child) */
    struct db_progress_position position;
};

/* Exit status of a completed run with --fail-on-error when a row has status error (the CSV and
 * the JSON are written all the same); unsupported and skipped_* rows do not fail a run. */
#define DB_EXIT_ERROR_ROWS 3

/* Does this invocation sweep (re-run in child processes per -t / --bind / --places)? */
int db_cli_sweeps(const struct db_cli *cli);

/* Parse argv into cli. On DB_E_INVALID, err holds one line (without the program name). The
 * strings in cli (matrix, out, child, cells, resume, gb_argv) point into argv: argv must
 * outlive cli. */
int db_cli_parse(int argc, char **argv, struct db_cli *cli, char *err, size_t errlen);

/* Strict list parsers (exposed for tests and fuzzing). flag names the option in messages. */
int db_parse_sizes(const char *list, const char *flag, size_t *out, size_t *count, char *err,
                   size_t errlen);
int db_parse_ints(const char *list, const char *flag, int lo, int hi, int *out, size_t *count,
                  char *err, size_t errlen);

/* Expand a selection (or a preset) into diagonal cells, appending to *cells (grown with
 * realloc). Downstream items (solve:/newton:, S+solver) are left to the functions below. */
int db_selection_cells(const struct db_selection *sel, struct db_cell **cells, size_t *count);
int db_preset_cells(const struct db_preset *p, struct db_cell **cells, size_t *count, char *err,
                    size_t errlen);

/* Expand the downstream part (solve:/newton: workloads x methods) into cells, appending. For a
 * preset, lu_max_n > 0 replaces the blocks' own caps (the --lu-max-n flag). */
int db_selection_downstream_cells(const struct db_selection *sel, struct db_cell **cells,
                                  size_t *count);
int db_preset_downstream_cells(const struct db_preset *p, size_t lu_max_n, struct db_cell **cells,
                               size_t *count, char *err, size_t errlen);

#endif
