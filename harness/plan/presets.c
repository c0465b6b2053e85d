#include "harness/plan/presets.h"

#include <string.h>

#define DS_ALL_SOLVE  "solve:sin,solve:split,solve:seqsin,solve:nobatch"
#define DS_ALL_NEWTON "newton:sin,newton:split,newton:seqsin,newton:nobatch"
#define DS_METHODS    "probe+diagonal,materialise+diagonal,materialise+lu"
#define DS_TRIDIAG    "probe-tridiag+tridiagonal,materialise+tridiagonal,materialise+lu,probe+diagonal"

static const struct db_preset_block quick_blocks[] = {
    {"sin,split,nobatch", "jacobian", "fwd,bwd", "materialise,probe",
     "10,100,1000,2000,4000,5000,8000,16000", 0},
    /* seqsin's materialise is n calls of ~10 us: 8000 tells the story in a quick run */
    {"seqsin", "jacobian", "fwd,bwd", "materialise,probe", "10,100,1000,2000,4000,8000", 0},
    {"sin,split", "jacobian", "fwd,bwd", "materialise,probe", "100000,1000000", 0},
    {"sin,split,seqsin,nobatch", "function,matrix,diagonal", "fwd", "materialise,probe",
     "100,1000,4000", 0},
    /* Downstream: LU is O(n^3), so the quick matrix caps it (skipped_budget above the cap). */
    {DS_ALL_SOLVE, "jacobian", "fwd,bwd", DS_METHODS, "10,100,1000,2000", 2000},
    {DS_ALL_NEWTON, "jacobian", "fwd,bwd", DS_METHODS, "10,100,1000,2000", 1000},
    {"solve:sin,newton:sin", "jacobian", "fwd", DS_METHODS, "100000,1000000", 2000},
    /* checked tags and structured probes (stencil sizes are perfect squares) */
    {"liar,tridiag,banded,stencil,randsparse", "jacobian", "fwd,bwd",
     "materialise,probe,probe-checked,probe-tridiag,probe-banded,probe-coloured", "100,2500", 0},
    {"sin,split", "jacobian", "fwd,bwd", "probe-checked", "10000,1000000", 0},
    {"seqsin,nobatch,liar", "jacobian", "fwd,bwd", "probe-checked", "1000", 0},
    {"liar,tridiag", "jacobian", "fwd,bwd", "probe-tridiag", "10000,1000000", 0},
    {"banded", "jacobian", "fwd,bwd", "probe-banded,probe-coloured", "10000,1000000", 0},
    {"stencil", "jacobian", "fwd,bwd", "probe-coloured", "10000,1000000", 0},
    {"randsparse", "jacobian", "fwd,bwd", "probe-coloured", "10000,250000", 0},
    {"tridiag,stencil", "function,matrix", "fwd", "probe-tridiag,probe-coloured", "100,2500", 0},
    /* downstream tridiagonal solve (dgtsv), and liar: tagged diagonal, truly tridiagonal */
    {"solve:tridiag", "jacobian", "fwd,bwd", DS_TRIDIAG, "100,1000,2000", 2000},
    {"solve:tridiag", "jacobian", "fwd", "probe-tridiag+tridiagonal", "100000,1000000", 0},
    {"solve:liar", "jacobian", "fwd", "probe+diagonal,probe-tridiag+tridiagonal", "100,1000", 0},
    /* the real sequential primitive: a round trip to a worker per call. Sequential materialise at
     * 5000 is 5000 round trips of 120 kB per extraction (~0.5-2.5 s here): fwd only in quick (bwd
     * is the same request to the worker); pr has both */
    {"remote,remote-vec", "jacobian", "fwd", "materialise,probe", "20,100,1000,5000", 0},
};

static const struct db_preset_block pr_blocks[] = {
    {"split", "jacobian", "fwd,bwd", "materialise,probe",
     "10,22,46,100,215,464,1000,2154,4642,10000,21544,40000", 0},
    {"seqsin", "jacobian", "fwd,bwd", "materialise,probe", "20,45,100,224,500,1118,2500,5000", 0},
    {"solve:split", "jacobian", "fwd,bwd", DS_METHODS,
     "10,22,46,100,215,464,1000,2154,4642,10000,21544,40000", 4642},
    {"newton:split", "jacobian", "fwd,bwd", DS_METHODS, "10,22,46,100,215,464,1000,2154,4642,10000",
     2154},
    {"solve:seqsin,newton:seqsin", "jacobian", "fwd,bwd", DS_METHODS, "20,45,100,224,500,1118,2500",
     2500},
    {"remote,remote-vec", "jacobian", "fwd,bwd", "materialise,probe",
     "20,45,100,224,500,1118,2500,5000", 0},
};

static const struct db_preset_block full_blocks[] = {
    {"sin,split,seqsin,nobatch", "jacobian,function,matrix,diagonal", "fwd,bwd",
     "materialise,probe", "10,32,100,316,1000,3162,10000,31623", 0},
    {"sin,split", "jacobian", "fwd,bwd", "probe", "100000,1000000,10000000", 0},
    {DS_ALL_SOLVE "," DS_ALL_NEWTON, "jacobian", "fwd,bwd", DS_METHODS,
     "10,32,100,316,1000,3162,10000", 3162},
    {"solve:sin,solve:split,newton:sin,newton:split", "jacobian", "fwd,bwd", "probe+diagonal",
     "100000,1000000,10000000", 0},
    {"sin,split,seqsin,nobatch,liar,tridiag,banded,stencil,randsparse",
     "jacobian,function,matrix,diagonal", "fwd,bwd",
     "probe-checked,probe-tridiag,probe-banded,probe-coloured", "100,1024,10000", 0},
    {"liar,tridiag,banded,stencil,randsparse", "jacobian", "fwd,bwd", "materialise,probe",
     "100,1024,10000", 0},
    {"sin,split", "jacobian", "fwd,bwd", "probe-checked", "100000,1000000,10000000", 0},
    {"tridiag", "jacobian", "fwd,bwd", "probe-tridiag", "100000,1000000,10000000", 0},
    {"banded", "jacobian", "fwd,bwd", "probe-banded,probe-coloured", "100000,1000000,10000000", 0},
    {"stencil", "jacobian", "fwd,bwd", "probe-coloured", "99856,1000000,9998244", 0},
    {"randsparse", "jacobian", "fwd,bwd", "probe-coloured", "100000,1000000", 0},
    {"solve:tridiag,solve:liar", "jacobian,function,matrix", "fwd,bwd",
     DS_TRIDIAG ",materialise+diagonal,probe-checked+diagonal", "10,100,1000,3162,10000", 3162},
    {"solve:tridiag", "jacobian", "fwd,bwd", "probe-tridiag+tridiagonal", "100000,1000000", 0},
};

#define BLOCKS(b) b, sizeof b / sizeof b[0]
const struct db_preset db_presets[] = {
    {"quick",
     "calibration, then all workloads x strategies x fwd/bwd, n = 10..10^6; structured probes "
     "to 10^6; solve/newton of every workload, n = 10..2000 (LU capped); tridiagonal solves "
     "(dgtsv) to 10^6; remote (a worker process per cell) n = 20..5000 (< 3 min on 2 cores)",
     BLOCKS(quick_blocks)},
    {"pr",
     "the seed's sweep: split n = 10..40000, seqsin n = 20..5000, fwd and bwd; solve/newton "
     "of split and seqsin; remote and remote-vec n = 20..5000",
     BLOCKS(pr_blocks)},
    {"full",
     "every workload x operator x strategy, n = 10..31623, probes to 10^7; solve/newton of "
     "all workloads; tridiagonal solves of tridiag and liar",
     BLOCKS(full_blocks)},
};
const size_t db_preset_count = sizeof db_presets / sizeof db_presets[0];

const struct db_preset *db_preset_find(const char *name) {
    for (size_t i = 0; i < db_preset_count; i++)
        if (strcmp(db_presets[i].name, name) == 0) return &db_presets[i];
    return NULL;
}
