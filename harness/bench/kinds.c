#include "harness/bench/kinds.h"

#include "core/status.h"
#include "harness/bench/calibrate.h"
#include "harness/bench/downstream.h"
#include "harness/bench/runner.h"

const struct db_cell_kind_ops db_cell_kinds[DB_CELL_KINDS] = {
    [DB_CELL_DIAGONAL] = {db_diagonal_cell_run},
    [DB_CELL_SOLVE] = {db_downstream_run},
    [DB_CELL_NEWTON] = {db_downstream_run},
    [DB_CELL_CALIBRATION] = {db_calibration_cell_run},
};

int db_cell_run(const struct db_cell *c, const struct db_run_opts *o, struct db_cell_result *r) {
    if (!r || !c || (unsigned)c->kind >= DB_CELL_KINDS) return DB_E_INVALID;
    return db_cell_kinds[c->kind].run(c, o, r);
}
