/* `diagbench merge A.csv B.csv ... -o ALL.csv`: join the CSVs of the shards of one matrix. The
 * inputs must share one matrix_id (same matrix, run parameters, OpenMP environment and build)
 * and shard count; together they must hold every cell of the matrix exactly once (duplicates,
 * strays and missing cells are reported by name). The output has the rows verbatim, in the
 * order an unsharded run writes them, and is written atomically (OUT.partial, renamed). */
#ifndef DB_MERGE_H
#define DB_MERGE_H

#include <stddef.h>

struct db_merge_args {
    const char *out; /* -o / --out (required; "-" for stdout) */
    int quiet;       /* -q */
    int help;        /* -h / --help: print the usage, nothing else is checked */
    int nfiles;
    char **files; /* points into argv */
};

/* Parse the arguments after "merge". DB_E_INVALID with one line in err on bad usage. */
int db_merge_parse(int argc, char **argv, struct db_merge_args *a, char *err, size_t errlen);

/* Check and merge. DB_E_INVALID: an input cannot be read or the inputs do not form one complete
 * matrix, or -o cannot be created (err says how); DB_E_IO: writing the output failed midway;
 * rows_out receives the rows written. */
int db_merge_run(const struct db_merge_args *a, size_t *rows_out, char *err, size_t errlen);

#endif
