/* A diagonal cell: workload x operator x jac x strategy x n. Checks correctness (diagonal
 * against the exact reference and, for strategies that extract more entries, every extracted
 * entry against the exact reference Jacobian; primitive calls and probe vectors of one
 * extraction), then times the strategy (its extract when it has one) through Google Benchmark. */
#ifndef DB_RUNNER_H
#define DB_RUNNER_H

#include <stddef.h>

#include "harness/bench/cell.h"

/* Bytes a cell needs (inputs, operator setup, strategy workspace); 0 if it cannot be known. */
unsigned long long db_cell_bytes(const struct db_cell *c);

/* Run a diagonal cell. Always fills r (status says what happened); returns DB_OK unless r is
 * NULL. (db_cell_run in kinds.h runs any kind.) */
/* TEST ONLY (--plant-work-pct): each timed extraction of a diagonal cell also does busy work for
 * pct % of its own duration. */
void db_set_plant_work_pct(double pct);

int db_diagonal_cell_run(const struct db_cell *c, const struct db_run_opts *o,
                         struct db_cell_result *r);

#endif
