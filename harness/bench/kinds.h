/* The kind table: how each kind of cell runs. Adding a kind is one enum value in cell.h, its
 * row names in cell.c, and one line here. */
#ifndef DB_KINDS_H
#define DB_KINDS_H

#include "harness/bench/cell.h"

struct db_cell_kind_ops {
    /* Run one cell: always fills r (its status says what happened). */
    int (*run)(const struct db_cell *c, const struct db_run_opts *o, struct db_cell_result *r);
};

extern const struct db_cell_kind_ops db_cell_kinds[DB_CELL_KINDS];

/* Run any cell through its kind. Returns DB_OK unless r is NULL (DB_E_INVALID for an unknown
 * kind). */
int db_cell_run(const struct db_cell *c, const struct db_run_opts *o, struct db_cell_result *r);

#endif
