/* The preset matrices of --matrix (quick, pr, full): each a list of blocks, every block a cross
 * product written as the comma lists -w -p -j -s -n would take. The cells they expand to come
 * from cli.h (db_preset_cells, db_preset_downstream_cells), which parses each block like flags. */
#ifndef DB_PRESETS_H
#define DB_PRESETS_H

#include <stddef.h>

/* One cross product of a preset. */
struct db_preset_block {
    const char *workloads, *operators, *jacs, *strategies, *sizes;
    size_t lu_max_n; /* the matrix's time budget for materialise+lu cells (0: none) */
};

/* A preset matrix: a union of blocks. */
struct db_preset {
    const char *name;
    const char *describe;
    const struct db_preset_block *blocks;
    size_t nblocks;
};

/* Preset matrices, in --list order. */
extern const struct db_preset db_presets[];
extern const size_t db_preset_count;

/* The preset called name, or NULL. */
const struct db_preset *db_preset_find(const char *name);

#endif
