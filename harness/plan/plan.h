/* The run plan: a matrix's cells (plain diagonal cells, then downstream solve:/newton: cells) x
 * sweep configurations (the cross product -t x --bind x --places; one configuration, "as in
 * force", without them) -- the "items" -- in the order a run visits them (configuration major),
 * each with a stable name, an expected cost and its shard. Every row
 * records the matrix as canonical flags (`matrix`) and a fingerprint of everything that makes
 * rows comparable (`matrix_id`), so --resume and `diagbench merge` can tell which matrix a CSV
 * belongs to and which cells it lacks, from the CSV alone. */
#ifndef DB_PLAN_H
#define DB_PLAN_H

#include <stddef.h>

#include "harness/plan/cli.h"

/* One configuration of a sweep. Fields not swept inherit the environment in force. */
struct db_plan_config {
    int threads;       /* -t value; 0: as in force */
    char bind[16];     /* --bind value as the proc_bind column records it ("" : as in force) */
    char places[32];   /* --places value as the places column records it ("" : as in force) */
    char env_bind[16]; /* the OMP_PROC_BIND value the child gets ("" : as in force) */
    char name[80];     /* "t=2/bind=close/places=cores"; t=env without -t, bind/places when swept */
};

struct db_plan_item {
    size_t cell;             /* index into cells */
    size_t config;           /* index into configs */
    int t;                   /* -t value; 0 = the OpenMP environment in force */
    unsigned shard;          /* 1..shard_n (1 when not sharded) */
    unsigned long long cost; /* expected cost in model nanoseconds (see db_plan_cell_cost) */
};

struct db_plan {
    struct db_cell *cells; /* the cells of one configuration: diagonal cells, then solve:/newton:
                              cells */
    size_t ncells;
    struct db_plan_config *configs;
    size_t nconfigs;
    int sweep_threads, sweep_bind, sweep_places; /* which of -t / --bind / --places are swept */
    int calibrate; /* --matrix (or --calibrate): each process that runs cells calibrates first */
    struct db_plan_item *items;
    size_t nitems;
    unsigned shard_k, shard_n; /* 1/1 when not sharded */
    char *matrix;              /* canonical flags, e.g. "-w sin -p jacobian ... --reps 5" */
    char matrix_id[17];        /* 16 hex digits */
    char **keys;               /* item names, sorted, for db_plan_find */
    size_t *key_item;          /* keys[i] names items[key_item[i]] */
};

/* Expand cli into a plan: cells, items, costs, shards, matrix and matrix_id. */
int db_plan_build(const struct db_cli *cli, struct db_plan *p, char *err, size_t errlen);
void db_plan_free(struct db_plan *p);

/* The canonical flags of cli's matrix and run parameters (malloc'd; parseable by db_cli_parse
 * after db_plan_split_args). Output, progress, shard and resume flags are not part of it. */
int db_plan_matrix_string(const struct db_cli *cli, char **out);

/* Split a canonical flags string back into an argv (shell-like single quotes); argv[0] is
 * "diagbench". Free with db_plan_free_args. DB_E_INVALID on an unterminated quote. */
int db_plan_split_args(const char *s, int *argc, char ***argv);
void db_plan_free_args(int argc, char **argv);

/* Name of an item: "workload/operator/jac/strategy/n=N/" + its configuration's name, e.g.
 * "solve:sin/jacobian/fwd/probe+diagonal/n=100/t=2/bind=close". */
void db_plan_item_name(const struct db_plan *p, size_t item, char *buf, size_t len);

/* The configuration a CSV row was measured in (its threads, proc_bind and places fields; each
 * counts only when swept), or -1. */
long db_plan_config_find(const struct db_plan *p, const char *threads, const char *proc_bind,
                         const char *places);

/* Index of the item a CSV row describes (workload, operator, jac, strategy, n, and the
 * configuration fields as in db_plan_config_find), or -1 (calibration rows included: they are
 * not items, see db_plan_is_calibration). */
long db_plan_find(const struct db_plan *p, const char *workload, const char *op, const char *jac,
                  const char *strategy, const char *n, const char *threads, const char *proc_bind,
                  const char *places);

/* Is this row's workload the calibration pseudo-workload ("_calibrate")? Calibration rows are
 * not plan items: every process that runs cells of a --matrix run writes one set for its
 * configuration first (each shard, each sweep child); --resume keeps a configuration's set and
 * does not calibrate it again; merge keeps one set per configuration (the lowest shard's). */
int db_plan_is_calibration(const char *workload);

/* Expected cost of one diagonal cell in model nanoseconds (plan.c holds the constants and what
 * they were measured on): setup (the operator, the reference diagonal and the checks, per
 * element; a structured probe's pattern and colouring per product) + one extraction + reps x
 * max(1.5 x min-time, one extraction), one extraction = 2 ns per element touched (n^2 to
 * materialise, 0.55 ns each through the blocked kernel; n per product to probe) / threads + the
 * per-call cost of each primitive call (a sequential rule's calls per column / threads, when the
 * primitive is in-process); a cell that holds an n x n matrix adds its first touch (12 ns + 18 ns /
 * threads an element), one that writes it through the blocked kernel the write ceiling timed
 * around it (4 fills, each timed as a cell is). threads: t, or a nominal 2 for t = 0 (the OpenMP
 * environment in force), so that every machine prices a plan alike. Cells that cannot run
 * (no batching rule; an n x n buffer over --mem-limit, or over 64 GiB without it) cost 1 ms. A
 * structured probe whose tag is there writes no n x n buffer and is costed at any n. Integer
 * only, so every machine computes the same shards; the ETA learns each machine's rates
 * (harness/app/progress.h). */
unsigned long long db_plan_cell_cost(const struct db_cell *c, const struct db_run_opts *o, int t);

/* Expected cost of a downstream cell: setup as its extraction's (a plain cell of the method's
 * diagonal strategy; materialise for LU), then timed as a cell is, one run being the extraction
 * plus the solve (LU n^3 / 3 flops at 18 GFLOP/s x threads, diagonal 2n, tridiagonal 8n), times
 * 8 for newton (its step limit); LU cells over their lu_max_n and n x n buffers over the memory
 * model cost 1 ms (skipped). */
unsigned long long db_plan_downstream_cost(const struct db_cell *c, const struct db_run_opts *o,
                                           int t);

/* The expected cost of any cell: db_plan_cell_cost for diagonal cells, db_plan_downstream_cost
 * for solve and newton cells. */
unsigned long long db_plan_cost(const struct db_cell *c, const struct db_run_opts *o, int t);

/* Does one extraction of c write an n x n matrix through the blocked kernel (a blocked operator
 * kind whose workload has a vectorised batching rule, and a strategy that materialises, or falls
 * back to materialise for want of the tags it needs, or may on a failed check)? Those are the
 * cells whose write path is planned and judged against the machine's write ceiling. */
int db_plan_cell_writes_matrix(const struct db_cell *c, const struct db_run_opts *o);

/* The distinct n (ascending) of the cells selected in sel (NULL: all), of any kind, that write
 * an n x n matrix within o->mem_budget (0: no budget). out holds p->ncells entries. */
size_t db_plan_matrix_sizes(const struct db_plan *p, const unsigned char *sel,
                            const struct db_run_opts *o, size_t *out);

/* Cell index sets for a sweep child (--_cells): "0-4,7,9-12". format writes a malloc'd string;
 * parse marks sel[i] = 1 for every listed i < count (DB_E_INVALID on malformed or out of
 * range). */
int db_plan_format_indices(const unsigned char *sel, size_t count, char **out);
int db_plan_parse_indices(const char *s, unsigned char *sel, size_t count);

#endif
