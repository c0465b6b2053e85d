/* Command-line parsing: flags, comma lists, preset matrices and the cell plan. Parsing never
 * exits or prints: errors come back as DB_E_INVALID with one line naming the bad value and what
 * is allowed. */
#ifndef DB_CLI_H
#define DB_CLI_H

#include <stddef.h>

#include "runner.h"

#define DB_MAX_LIST    64
#define DB_MAX_N       100000000ull /* largest size accepted by -n */
#define DB_MAX_THREADS 4096
#define DB_MAX_REPS    1000

/* What to run: the cross product of these lists (a preset is a union of several). */
struct db_selection {
    const struct db_workload *workloads[DB_MAX_LIST];
    size_t nworkloads;
    const char *operators[DB_MAX_LIST];
    size_t noperators;
    enum db_jac jacs[2];
    size_t njacs;
    const struct db_strategy *strategies[DB_MAX_LIST];
    size_t nstrategies;
    size_t sizes[DB_MAX_LIST];
    size_t nsizes;
};

struct db_cli {
    int help, list, version, quiet;
    const char *matrix; /* preset name, or NULL */
    struct db_selection sel;
    int have_selection; /* any of -w -s -p -j -n given */
    int threads[DB_MAX_LIST];
    size_t nthreads; /* 0: run in this process with the OpenMP settings in force */
    struct db_run_opts run;
    const char *out;   /* NULL: CSV on stdout */
    const char *child; /* internal: run id handed down by the thread-sweep parent */
    int gb_argc;       /* --benchmark_* flags for Google Benchmark (argv[0] first) */
    char *gb_argv[DB_MAX_LIST + 1];

    /* Interrupted runs and sharding (harness/plan.h, resume.h, shard.h). */
    unsigned shard_k, shard_n; /* --shard K/N (0/0: the whole matrix) */
    const char *resume;        /* --resume FILE.partial: run only the cells missing from it */
    const char *cells;         /* internal: indices of the cells a sweep child runs */
    int flags_from_resume;     /* --resume alone: take the matrix from the file (resume.h) */
};

/* Parse argv into cli. On DB_E_INVALID, err holds one line (without the program name). The
 * strings in cli (matrix, out, child, cells, resume, gb_argv) point into argv: argv must
 * outlive cli. */
int db_cli_parse(int argc, char **argv, struct db_cli *cli, char *err, size_t errlen);

/* Replace control characters (a newline in a bad value, say) with '?', so that a message that
 * quotes user input stays on one line. */
void db_cli_one_line(char *s);

/* Strict list parsers (exposed for tests and fuzzing). flag names the option in messages. */
int db_parse_sizes(const char *list, const char *flag, size_t *out, size_t *count, char *err,
                   size_t errlen);
int db_parse_ints(const char *list, const char *flag, int lo, int hi, int *out, size_t *count,
                  char *err, size_t errlen);

/* Preset matrices, in --list order. */
struct db_preset {
    const char *name;
    const char *describe;
    const struct db_preset_block *blocks;
    size_t nblocks;
};
struct db_preset_block {
    const char *workloads, *operators, *jacs, *strategies, *sizes;
};
extern const struct db_preset db_presets[];
extern const size_t db_preset_count;
const struct db_preset *db_preset_find(const char *name);

/* Expand a selection (or a preset) into cells, appending to *cells (grown with realloc). */
int db_selection_cells(const struct db_selection *sel, struct db_cell **cells, size_t *count);
int db_preset_cells(const struct db_preset *p, struct db_cell **cells, size_t *count, char *err,
                    size_t errlen);

#endif
