/* Threads under control: results do not depend on the thread count; the recorded binding is what
 * hwloc (and libgomp's own affinity display) report; -t / --bind / --places sweeps give one row
 * per configuration per cell in one CSV; invalid OMP_* / OPENBLAS_* values exit 2 or warn with a
 * documented fallback; --env reports the machine. */
#include <criterion/criterion.h>
#include <hwloc.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness/env/omp_env.h"
#include "harness/io/csv_write.h"
#include "operators/blocks.h"
#include "strategies/strategy.h"
#include "tests/helpers.h"

static char out[1 << 17], err[1 << 16];

/* ---- helpers -------------------------------------------------------------------------------- */

/* Rows of a CSV text (header checked and skipped): fields[row][col] point into storage. */
struct table {
    int rows;
    char *f[64][64];
    char storage[64][4096];
};

static void parse_csv(const char *text, struct table *t) {
    char *copy = th_own(strdup(text), free), *save;
    char *line = strtok_r(copy, "\n", &save);
    cr_assert_not_null(line, "empty CSV");
    cr_assert_str_eq(line, db_csv_header);
    t->rows = 0;
    int ncol = (int)db_csv_column_count();
    while ((line = strtok_r(NULL, "\n", &save))) {
        cr_assert(t->rows < 64);
        cr_assert_eq(th_csv_split(line, t->storage[t->rows], t->f[t->rows], 64), ncol, "row: %s",
                     line);
        t->rows++;
    }
    th_free(copy);
}

static int allowed_pus(void) {
    hwloc_topology_t topo;
    cr_assert_eq(db_topology_open(&topo), DB_OK);
    int n = hwloc_bitmap_weight(hwloc_topology_get_allowed_cpuset(topo));
    hwloc_topology_destroy(topo);
    return n;
}

static int allowed_cores(void) {
    hwloc_topology_t topo;
    cr_assert_eq(db_topology_open(&topo), DB_OK);
    int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    hwloc_topology_destroy(topo);
    return n;
}

/* The last line of s (without its newline) into buf. */
static const char *last_line(const char *s, char *buf, size_t len) {
    size_t n = strlen(s);
    while (n && s[n - 1] == '\n')
        n--;
    size_t b = n;
    while (b && s[b - 1] != '\n')
        b--;
    snprintf(buf, len, "%.*s", (int)(n - b), s + b);
    return buf;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

#define QUICK                                                                                      \
    "-w", "sin", "-s", "probe", "-j", "fwd", "-n", "10", "--reps", "1", "--min-time", "1e-4"

/* ---- results do not depend on the thread count ---------------------------------------------- */

static double *extract(const char *wl, const char *kind, enum db_jac jac, unsigned tags,
                       const struct db_strategy *st, size_t n, int threads) {
    omp_set_num_threads(threads);
    struct db_instance *in = th_instance(db_workload_find(wl), n);
    struct db_operator *op = th_operator(kind, jac, in, tags);
    struct db_strategy_ctx *ctx = th_strategy_ctx();
    double *d = th_alloc(n * sizeof *d);
    cr_assert_eq(st->run(op, d, ctx), DB_OK, "%s %s %s n=%zu t=%d", wl, kind, st->name, n, threads);
    th_free(ctx), th_free(op), th_free(in);
    return d;
}

/* Materialise (OpenMP over column blocks) and probe (OpenMP over row chunks once n is large)
 * give bit-identical diagonals for 1, 2 and 3 threads (3 > cores: uneven splits). */
Test(threads, identical_results_for_any_thread_count) {
    const char *wls[] = {"sin", "split", "seqsin"};
    struct {
        const char *kind;
        enum db_jac jac;
        unsigned tags;
        size_t n;
    } cases[] = {
        {"jacobian", DB_JAC_FWD, 0, 1501},                  /* untagged: materialise */
        {"jacobian", DB_JAC_BWD, 0, 1501},                  /* untagged: materialise (VJP rows) */
        {"jacobian", DB_JAC_FWD, DB_TAG_DIAGONAL, 1 << 17}, /* probe: parallel element loop */
        {"jacobian", DB_JAC_BWD, DB_TAG_DIAGONAL, (1 << 17) + 3},
        {"function", DB_JAC_NONE, DB_TAG_DIAGONAL, (1 << 17) + 1},
        {"matrix", DB_JAC_NONE, DB_TAG_DIAGONAL, 700}, /* OpenBLAS dgemv with the same team */
    };
    for (size_t w = 0; w < 3; w++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            for (size_t s = 0; s < db_strategy_count; s++) {
                const struct db_strategy *st = db_strategies[s];
                size_t n = cases[c].n;
                /* keep the n^2 cells small: materialising a probe-sized operator is skipped */
                if (strcmp(st->name, "materialise") == 0 && n > 2000) continue;
                if (strcmp(wls[w], "seqsin") == 0 && n > 2000) continue;
                double *ref = extract(wls[w], cases[c].kind, cases[c].jac, cases[c].tags, st, n, 1);
                for (int t = 2; t <= 3; t++) {
                    double *d =
                        extract(wls[w], cases[c].kind, cases[c].jac, cases[c].tags, st, n, t);
                    cr_assert_eq(memcmp(ref, d, n * sizeof *d), 0, "%s %s %s %s n=%zu: 1 vs %d",
                                 wls[w], cases[c].kind, db_jac_name(cases[c].jac), st->name, n, t);
                    th_free(d);
                }
                th_free(ref);
            }
}

/* ---- the binding check reads what hwloc reports --------------------------------------------- */

static void destroy_topology(void *topo) {
    hwloc_topology_destroy(topo);
}
static void destroy_bitmap(void *set) {
    hwloc_bitmap_free(set);
}
static void destroy_three_bindings(void *t) {
    db_thread_bindings_free(t, 3);
}

/* Bind each thread of a 2-thread team with hwloc (CPU i of the allowed set, or the whole set),
 * then check that db_binding_check records exactly those cpusets. OMP_PROC_BIND is false in the
 * test process, so distinct per-thread bindings are reported as a mismatch (pinned by something
 * other than OpenMP) and the whole set as unbound. */
Test(threads, recorded_binding_matches_hwloc) {
    hwloc_topology_t topo;
    cr_assert_eq(db_topology_open(&topo), DB_OK);
    th_own(topo, destroy_topology);
    hwloc_const_bitmap_t allowed = hwloc_topology_get_allowed_cpuset(topo);
    if (hwloc_bitmap_weight(allowed) < 2 || omp_get_proc_bind() != omp_proc_bind_false) {
        th_free(topo);
        cr_skip_test("needs 2 allowed CPUs and OMP_PROC_BIND unset");
    }
    int cpu0 = hwloc_bitmap_first(allowed), cpu1 = hwloc_bitmap_next(allowed, cpu0);
    omp_set_num_threads(2);
    int set_ok = 1;
#pragma omp parallel reduction(& : set_ok)
    {
        hwloc_bitmap_t s = hwloc_bitmap_alloc();
        hwloc_bitmap_only(s, (unsigned)(omp_get_thread_num() == 0 ? cpu0 : cpu1));
        set_ok = hwloc_set_cpubind(topo, s, HWLOC_CPUBIND_THREAD) == 0;
        hwloc_bitmap_free(s);
    }
    cr_assert(set_ok, "hwloc_set_cpubind failed");
    struct db_binding b;
    cr_assert_eq(db_binding_check(topo, 2, &b), DB_OK);
    char want[160];
    snprintf(want, sizeof want, "%d;%d", cpu0, cpu1);
    cr_assert_str_eq(b.bound_cpus, want);
    cr_assert_str_eq(b.status, "mismatch", "%s", b.detail);
    cr_assert_eq(b.team, 2);
    cr_assert_eq(b.team_cpus, 2);

    /* Cross-check against hwloc directly, thread by thread. */
    char seen[2][64];
#pragma omp parallel
    {
        hwloc_bitmap_t s = hwloc_bitmap_alloc();
        hwloc_get_cpubind(topo, s, HWLOC_CPUBIND_THREAD);
        hwloc_bitmap_list_snprintf(seen[omp_get_thread_num()], sizeof seen[0], s);
        hwloc_bitmap_free(s);
    }
    snprintf(want, sizeof want, "%s;%s", seen[0], seen[1]);
    cr_assert_str_eq(b.bound_cpus, want);

    /* Unbind: every thread may run anywhere again. */
#pragma omp parallel
    hwloc_set_cpubind(topo, allowed, HWLOC_CPUBIND_THREAD);
    cr_assert_eq(db_binding_check(topo, 2, &b), DB_OK);
    char all[64];
    hwloc_bitmap_list_snprintf(all, sizeof all, allowed);
    cr_assert_str_eq(b.bound_cpus, all);
    cr_assert_str_eq(b.status, "unbound", "%s", b.detail);
    cr_assert_str_eq(b.detail, "");
    th_free(topo);
}

/* Synthetic teams through the classifier: every verdict and its reason. */
Test(threads, classification) {
    hwloc_bitmap_t allowed = th_own(hwloc_bitmap_alloc(), destroy_bitmap);
    cr_assert_not_null(allowed);
    hwloc_bitmap_set_range(allowed, 0, 1); /* two hardware threads: 0 and 1 */
    struct db_thread_binding *t = NULL;
    int rc = db_thread_bindings_alloc(&t, 3);
    th_own(rc == DB_OK ? t : NULL, destroy_three_bindings);
    cr_assert_eq(rc, DB_OK);
    struct db_binding b;
#define BIND(i, cpus, pl, placecpus, last)                                                         \
    do {                                                                                           \
        t[i].ok = 1;                                                                               \
        hwloc_bitmap_list_sscanf(t[i].cpuset, cpus);                                               \
        t[i].place = pl;                                                                           \
        hwloc_bitmap_list_sscanf(t[i].place_cpus, placecpus);                                      \
        t[i].last_cpu = last;                                                                      \
    } while (0)

    BIND(0, "0", 0, "0", 0);
    BIND(1, "1", 1, "1", 1);
    db_binding_classify(t, 2, 2, 1, allowed, &b);
    cr_assert_str_eq(b.status, "verified");
    cr_assert_str_eq(b.bound_cpus, "0;1");

    db_binding_classify(t, 2, 3, 1, allowed, &b);
    cr_assert_str_eq(b.status, "mismatch", "team size differs from the request");
    cr_assert_not_null(strstr(b.detail, "2 threads ran, 3 were asked for"), "%s", b.detail);

    BIND(1, "0-1", 1, "1", 1);
    db_binding_classify(t, 2, 2, 1, allowed, &b);
    cr_assert_str_eq(b.status, "mismatch", "cpuset wider than the place");
    cr_assert_str_eq(b.bound_cpus, "0;0-1");

    BIND(1, "1", -1, "", 1);
    db_binding_classify(t, 2, 2, 1, allowed, &b);
    cr_assert_str_eq(b.status, "mismatch", "no place although binding is on");

    BIND(1, "1", 1, "1", 0);
    db_binding_classify(t, 2, 2, 1, allowed, &b);
    cr_assert_str_eq(b.status, "mismatch", "last ran outside its binding");
    cr_assert_not_null(strstr(b.detail, "last ran on CPU 0"), "%s", b.detail);

    BIND(1, "0", 0, "0", 0); /* OMP_PROC_BIND=primary: both threads on place 0 */
    db_binding_classify(t, 2, 2, 1, allowed, &b);
    cr_assert_str_eq(b.status, "oversubscribed");
    cr_assert_str_eq(b.bound_cpus, "0");
    cr_assert_eq(b.team_cpus, 1);

    BIND(0, "0-1", -1, "", 1);
    BIND(1, "0-1", -1, "", 0);
    BIND(2, "0-1", -1, "", 1);
    db_binding_classify(t, 2, 2, 0, allowed, &b);
    cr_assert_str_eq(b.status, "unbound");
    cr_assert_str_eq(b.bound_cpus, "0-1");
    db_binding_classify(t, 3, 3, 0, allowed, &b);
    cr_assert_str_eq(b.status, "oversubscribed");
    cr_assert_not_null(strstr(b.detail, "3 threads on 2 hardware threads"), "%s", b.detail);
    hwloc_bitmap_only(allowed, 0); /* e.g. taskset -c 0 */
    db_binding_classify(t, 2, 2, 0, allowed, &b);
    cr_assert_str_eq(b.status, "oversubscribed");
    cr_assert_not_null(strstr(b.detail, "2 threads on 1 hardware thread "), "%s", b.detail);
    hwloc_bitmap_set_range(allowed, 0, 1);

    BIND(1, "1", -1, "", 1);
    db_binding_classify(t, 2, 2, 0, allowed, &b);
    cr_assert_str_eq(b.status, "mismatch", "pinned although OpenMP binding is off");

    t[1].ok = 0;
    db_binding_classify(t, 2, 2, 0, allowed, &b);
    cr_assert_str_eq(b.status, "unknown");
#undef BIND
    th_free(t), th_free(allowed);
}

/* The command: 2 threads, close, cores -> verified, two distinct CPUs; and libgomp's own
 * OMP_DISPLAY_AFFINITY report names the same CPUs as the hwloc reading in the CSV. */
Test(threads, close_cores_verified_and_matches_libgomp) {
    if (allowed_cores() < 2 || allowed_pus() < 2) cr_skip_test("needs 2 cores");
    const char *path = "threads_close.csv";
    remove(path);
    const char *a[] = {"-w",  "sin",    "-s", "materialise,probe", "-n",   "1000,4000", "-j",
                       "fwd", "--reps", "1",  "--min-time",        "1e-4", "-q",        "--out",
                       path,  NULL};
    const char *env[] = {
        "OMP_NUM_THREADS=2",         "OMP_PROC_BIND=close",           "OMP_PLACES=cores",
        "OMP_DISPLAY_AFFINITY=true", "OMP_AFFINITY_FORMAT=AFF %n %A", NULL};
    int rc = th_run(a, env, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    char *text = th_slurp(path);
    cr_assert_not_null(text);
    struct table *t = th_alloc(sizeof *t);
    parse_csv(text, t);
    th_free(text);
    cr_assert_eq(t->rows, 4);
    /* libgomp's view: "AFF <thread> <cpu list>" lines on stderr. */
    char aff[2][64] = {"", ""};
    for (const char *p = err; (p = strstr(p, "AFF ")); p++) {
        int thr;
        char cpus[64];
        if (sscanf(p, "AFF %d %63s", &thr, cpus) == 2 && thr >= 0 && thr < 2)
            snprintf(aff[thr], sizeof aff[thr], "%s", cpus);
    }
    cr_assert(aff[0][0] && aff[1][0], "libgomp displayed no affinity: %s", err);
    char want[160];
    snprintf(want, sizeof want, "%s;%s", aff[0], aff[1]);
    int c_t = th_csv_column("threads"), c_pb = th_csv_column("proc_bind"),
        c_pl = th_csv_column("places"), c_b = th_csv_column("binding"),
        c_cpus = th_csv_column("bound_cpus"), c_st = th_csv_column("status");
    for (int r = 0; r < t->rows; r++) {
        char **f = t->f[r];
        cr_assert_str_eq(f[c_st], "ok");
        cr_assert_str_eq(f[c_t], "2");
        cr_assert_str_eq(f[c_pb], "close");
        cr_assert_str_eq(f[c_pl], "cores");
        cr_assert_str_eq(f[c_b], "verified");
        int a0, a1;
        cr_assert_eq(sscanf(f[c_cpus], "%d;%d", &a0, &a1), 2, "%s", f[c_cpus]);
        cr_assert_neq(a0, a1, "two distinct CPUs: %s", f[c_cpus]);
        cr_assert_str_eq(f[c_cpus], want, "hwloc (CSV) and libgomp (display) disagree");
    }
    th_free(t);
    remove(path);
}

/* ---- sweeps ---------------------------------------------------------------------------------- */

Test(threads, thread_sweep_one_row_per_count_per_cell) {
    const char *a[] = {
        "-w",     "sin", "-s", "materialise,probe", "-j",   "fwd", "-n", "10,300", "-t", "1,2",
        "--reps", "1",   "-q", "--min-time",        "1e-4", NULL};
    int rc = th_run(a, NULL, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    struct table *t = th_alloc(sizeof *t);
    parse_csv(out, t);
    cr_assert_eq(t->rows, 8, "2 thread counts x 4 cells");
    int c_t = th_csv_column("threads"), c_s = th_csv_column("strategy"), c_n = th_csv_column("n"),
        c_id = th_csv_column("run_id"), c_st = th_csv_column("status"),
        c_calls = th_csv_column("primitive_calls"), c_wp = th_csv_column("write_path");
    const char *strategies[] = {"materialise", "probe"}, *sizes[] = {"10", "300"},
               *counts[] = {"1", "2"};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            for (int k = 0; k < 2; k++) {
                int found = 0;
                for (int r = 0; r < t->rows; r++)
                    if (!strcmp(t->f[r][c_t], counts[k]) && !strcmp(t->f[r][c_s], strategies[i]) &&
                        !strcmp(t->f[r][c_n], sizes[j])) {
                        found++;
                        /* the calls of a cell are what its write path promises, whatever
                         * block width planning chose for this thread count: ceil(n / B)
                         * batched calls to materialise, one to probe */
                        size_t n = (size_t)atol(sizes[j]), want = 1;
                        struct db_write_path wp;
                        if (i == 0) {
                            cr_assert_eq(db_write_path_parse(t->f[r][c_wp], &wp), DB_OK, "'%s'",
                                         t->f[r][c_wp]);
                            want = (n + wp.block_cols - 1) / wp.block_cols;
                        } else {
                            cr_assert_str_eq(t->f[r][c_wp], "", "probe writes no matrix");
                        }
                        cr_assert_eq((size_t)atol(t->f[r][c_calls]), want, "t=%s %s n=%s",
                                     counts[k], strategies[i], sizes[j]);
                    }
                cr_assert_eq(found, 1, "t=%s %s n=%s", counts[k], strategies[i], sizes[j]);
            }
    for (int r = 0; r < t->rows; r++) {
        cr_assert_str_eq(t->f[r][c_id], t->f[0][c_id], "one run id for the whole sweep");
        cr_assert_str_eq(t->f[r][c_st], "ok");
    }
    th_free(t);
}

/* A sweep child must start with the affinity the parent started with, not with the parent's
 * binding to OpenMP place 0 (it would then see a single place and stack its threads on it). */
Test(threads, sweep_children_start_unbound) {
    if (allowed_cores() < 2 || allowed_pus() < 2) cr_skip_test("needs 2 cores");
    const char *a[] = {QUICK, "-t", "2,1", "-q", NULL};
    const char *env[] = {"OMP_PROC_BIND=close", "OMP_PLACES=cores", NULL};
    int rc = th_run(a, env, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    struct table *t = th_alloc(sizeof *t);
    parse_csv(out, t);
    cr_assert_eq(t->rows, 2);
    int c_t = th_csv_column("threads"), c_b = th_csv_column("binding"),
        c_cpus = th_csv_column("bound_cpus");
    cr_assert_str_eq(t->f[0][c_t], "2");
    cr_assert_str_eq(t->f[0][c_b], "verified", "%s", err);
    int a0, a1;
    cr_assert_eq(sscanf(t->f[0][c_cpus], "%d;%d", &a0, &a1), 2, "%s", t->f[0][c_cpus]);
    cr_assert_neq(a0, a1);
    cr_assert_str_eq(t->f[1][c_b], "verified");
    th_free(t);
}

Test(threads, bind_and_places_sweep_cross_product) {
    const char *a[] = {QUICK,           "-t", "1,2", "--bind", "close,spread", "--places",
                       "cores,threads", "-q", NULL};
    int rc = th_run(a, NULL, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    struct table *t = th_alloc(sizeof *t);
    parse_csv(out, t);
    cr_assert_eq(t->rows, 8, "2 x 2 x 2 configurations x 1 cell");
    int c_t = th_csv_column("threads"), c_pb = th_csv_column("proc_bind"),
        c_pl = th_csv_column("places"), c_b = th_csv_column("binding");
    const char *ts[] = {"1", "2"}, *bs[] = {"close", "spread"}, *ps[] = {"cores", "threads"};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            for (int k = 0; k < 2; k++) {
                int found = 0;
                for (int r = 0; r < t->rows; r++)
                    found += !strcmp(t->f[r][c_t], ts[i]) && !strcmp(t->f[r][c_pb], bs[j]) &&
                             !strcmp(t->f[r][c_pl], ps[k]);
                cr_assert_eq(found, 1, "t=%s bind=%s places=%s", ts[i], bs[j], ps[k]);
            }
    int pus = allowed_pus();
    for (int r = 0; r < t->rows; r++)
        if (atoi(t->f[r][c_t]) <= pus) cr_assert_str_eq(t->f[r][c_b], "verified", "row %d", r);
    th_free(t);
}

/* ---- invalid values -------------------------------------------------------------------------- */

/* Exit 2, our one "diagbench: " line last on stderr (libgomp may print its own notice first),
 * naming the variable and the value; nothing on stdout, no output file. */
static void expect_env_error(const char *var, const char *flag, const char *value) {
    const char *path = "threads_bad.csv";
    remove(path);
    const char *a[] = {QUICK, "--out", path, flag, value, NULL};
    const char *env[] = {var, NULL};
    int rc = th_run(a, env, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 2, "%s: exit %d (stderr: %s)", var, rc, err);
    char line[1024];
    last_line(err, line, sizeof line);
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(var, "="), var);
    cr_assert(strncmp(line, "diagbench: invalid ", 19) == 0, "%s: %s", var, err);
    cr_assert_not_null(strstr(line, name), "%s: %s", var, line);
    char quoted[128];
    snprintf(quoted, sizeof quoted, "'%s'", strchr(var, '=') + 1);
    cr_assert_not_null(strstr(line, quoted), "%s: %s", var, line);
    cr_assert_eq(strstr(err, "diagbench: "), strstr(err, line), "one diagbench line: %s", err);
    cr_assert_eq(out[0], 0, "nothing on stdout: %s", out);
    cr_assert(!exists(path) && !exists("threads_bad.csv.partial"));
}

Test(threads, invalid_environment_exits_2) {
    const char *bad[] = {"OMP_NUM_THREADS=0",       "OMP_NUM_THREADS=abc",
                         "OMP_NUM_THREADS=",        "OMP_NUM_THREADS=2,0",
                         "OMP_NUM_THREADS=-1",      "OMP_NUM_THREADS=99999",
                         "OMP_PROC_BIND=sideways",  "OMP_PROC_BIND=false,close",
                         "OMP_PROC_BIND=",          "OMP_PLACES=bogus",
                         "OMP_PLACES={}",           "OMP_PLACES={0,99999}",
                         "OMP_PLACES=cores(0)",     "OMP_PLACES={0},!{0}",
                         "OMP_WAIT_POLICY=lazy",    "OPENBLAS_NUM_THREADS=0",
                         "OPENBLAS_NUM_THREADS=two"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_env_error(bad[i], NULL, NULL);
    /* A sweeping parent rejects what its children would inherit, before any child runs. */
    expect_env_error("OMP_PROC_BIND=sideways", "-t", "1,2");
    expect_env_error("OMP_WAIT_POLICY=lazy", "--bind", "close,spread");
}

/* Bad sweep lists: one usage line, exit 2. */
Test(threads, invalid_sweep_flags_exit_2) {
    struct {
        const char *flag, *value, *needle;
    } bad[] = {
        {"-t", "0", "invalid value '0' in -t"},
        {"--bind", "sideways", "unknown binding 'sideways' in --bind"},
        {"--bind", "close,close", "--bind: close given twice"},
        {"--bind", "", "--bind: empty list"},
        {"--places", "{0,1}", "set OMP_PLACES in the environment"},
        {"--places", "bogus", "invalid places 'bogus' in --places"},
        {"--places", "cores,cores", "--places: cores given twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *a[] = {QUICK, bad[i].flag, bad[i].value, NULL};
        int rc = th_run(a, NULL, out, sizeof out, err, sizeof err);
        cr_assert_eq(rc, 2, "%s %s: %s", bad[i].flag, bad[i].value, err);
        cr_assert_eq(th_count_lines(err), 1, "%s", err);
        cr_assert_not_null(strstr(err, bad[i].needle), "%s", err);
        cr_assert_eq(out[0], 0);
    }
}

/* Documented fallbacks run, with a warning on stderr and the reason in every row's note. */
Test(threads, documented_fallbacks_warn_and_are_recorded) {
    int pus = allowed_pus();
    char over[32], places[32];
    snprintf(over, sizeof over, "OMP_NUM_THREADS=%d", pus + 1);
    snprintf(places, sizeof places, "OMP_PLACES=cores(%d)", allowed_cores() + 1);
    struct {
        const char *env[3];
        const char *note, *binding;
    } cases[] = {
        {{over, NULL}, "oversubscribed", "oversubscribed"},
        {{"OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=2"}, "OPENBLAS_NUM_THREADS=2 differs", NULL},
        {{places, NULL}, "asks for", NULL},
    };
    int c_note = th_csv_column("note"), c_b = th_csv_column("binding");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *a[] = {QUICK, "-q", NULL};
        int rc = th_run(a, cases[i].env, out, sizeof out, err, sizeof err);
        cr_assert_eq(rc, 0, "%s: %s", cases[i].env[0], err);
        cr_assert_not_null(strstr(err, "diagbench: warning: "), "%s: %s", cases[i].env[0], err);
        cr_assert_not_null(strstr(err, cases[i].note), "%s", err);
        struct table *t = th_alloc(sizeof *t);
        parse_csv(out, t);
        cr_assert_eq(t->rows, 1);
        cr_assert_not_null(strstr(t->f[0][c_note], cases[i].note), "%s", t->f[0][c_note]);
        if (cases[i].binding) cr_assert_str_eq(t->f[0][c_b], cases[i].binding);
        th_free(t);
    }
}

/* ---- parsers --------------------------------------------------------------------------------- */

static void expect_places(const char *value, const char *want) {
    struct db_places p;
    char e[512], got[512] = "";
    cr_assert_eq(db_omp_places_parse(value, &p, e, sizeof e), DB_OK, "%s: %s", value, e);
    for (size_t i = 0; i < p.nplaces; i++) {
        char s[64];
        hwloc_bitmap_list_snprintf(s, sizeof s, p.sets[i]);
        size_t used = strlen(got);
        snprintf(got + used, sizeof got - used, "%s{%s}", i ? "," : "", s);
    }
    db_omp_places_free(&p);
    cr_assert_str_eq(got, want, "OMP_PLACES=%s", value);
}

Test(parse, omp_places) {
    /* Interval and exclusion semantics as libgomp's own tests define them. */
    expect_places("{0}:8", "{0},{1},{2},{3},{4},{5},{6},{7}");
    expect_places("{7,6}:2:-3", "{6-7},{3-4}");
    expect_places("{6,7}:4:-2,!{2,3}", "{6-7},{4-5},{0-1}");
    expect_places("{0,1},{3,2,4},{6,5,!6},{6},{7:2:-1,!6}", "{0-1},{2-4},{5},{6},{7}");
    expect_places(" {0:4:2} , 1 ", "{0,2,4,6},{1}");
    expect_places("{0:2}:2:2", "{0-1},{2-3}");
    struct db_places p;
    char e[512];
    cr_assert_eq(db_omp_places_parse("Cores(2)", &p, e, sizeof e), DB_OK, "%s", e);
    cr_assert_str_eq(p.abstract, "cores");
    cr_assert_eq(p.count, 2);
    cr_assert_eq(db_omp_places_parse("ll_caches", &p, e, sizeof e), DB_OK, "%s", e);
    cr_assert_eq(p.count, 0);
    const char *bad[] = {"",         "  ",       "{",       "{}",      "{0,}",    "{0:0}",
                         "cores(0)", "cores(",   "cores(2", "cores x", "bogus",   "{-1}",
                         "{0}:2:-1", "{0},!{0}", "{0} {1}", "{0}:0",   "{70000}", "{0},,{1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(db_omp_places_parse(bad[i], &p, e, sizeof e), DB_E_INVALID, "'%s'", bad[i]);
        cr_assert_eq(p.nplaces, 0);
        cr_assert_not_null(strstr(e, "OMP_PLACES"), "%s", e);
    }
}

Test(parse, omp_scalars) {
    int n;
    char s[16], e[512];
    cr_assert_eq(db_omp_num_threads_parse(" 4 , 2 ", &n, e, sizeof e), DB_OK);
    cr_assert_eq(n, 4);
    const char *bad_n[] = {"", "0", "abc", "2,", ",2", "+2", "0x2", "2 3", "4097", "1e3"};
    for (size_t i = 0; i < sizeof bad_n / sizeof bad_n[0]; i++)
        cr_assert_eq(db_omp_num_threads_parse(bad_n[i], &n, e, sizeof e), DB_E_INVALID, "'%s'",
                     bad_n[i]);
    cr_assert_eq(db_omp_proc_bind_parse("SPREAD, close", s, sizeof s, e, sizeof e), DB_OK);
    cr_assert_str_eq(s, "spread");
    cr_assert_eq(db_omp_proc_bind_parse("true", s, sizeof s, e, sizeof e), DB_OK);
    cr_assert_eq(db_omp_proc_bind_parse("master", s, sizeof s, e, sizeof e), DB_OK);
    const char *bad_b[] = {"", "sideways", "true,close", "close,false", "close,", "1"};
    for (size_t i = 0; i < sizeof bad_b / sizeof bad_b[0]; i++)
        cr_assert_eq(db_omp_proc_bind_parse(bad_b[i], s, sizeof s, e, sizeof e), DB_E_INVALID,
                     "'%s'", bad_b[i]);
    cr_assert_eq(db_omp_wait_policy_parse(" PASSIVE ", s, sizeof s, e, sizeof e), DB_OK);
    cr_assert_str_eq(s, "passive");
    cr_assert_eq(db_omp_wait_policy_parse("lazy", s, sizeof s, e, sizeof e), DB_E_INVALID);
    cr_assert_eq(db_openblas_num_threads_parse("8", &n, e, sizeof e), DB_OK);
    cr_assert_eq(n, 8);
    cr_assert_eq(db_openblas_num_threads_parse("0", &n, e, sizeof e), DB_E_INVALID);
}

/* ---- --env ------------------------------------------------------------------------------------
 */

Test(threads, env_report) {
    const char *a[] = {"--env", NULL};
    cr_assert_eq(th_run(a, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    const char *want[] = {"NUMA nodes",       "OMP_PROC_BIND",   "OMP_PLACES",
                          "OMP_NUM_THREADS",  "OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS",
                          "hardware threads", "budget per cell", "governor",
                          "binding unbound"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert_not_null(strstr(out, want[i]), "'%s' missing from:\n%s", want[i], out);
    if (allowed_cores() >= 2) {
        const char *env[] = {"OMP_NUM_THREADS=2", "OMP_PROC_BIND=close", "OMP_PLACES=cores", NULL};
        cr_assert_eq(th_run(a, env, out, sizeof out, err, sizeof err), 0, "%s", err);
        cr_assert_not_null(strstr(out, "binding verified"), "%s", out);
    }
    const char *bad[] = {"OMP_PROC_BIND=sideways", NULL};
    cr_assert_eq(th_run(a, bad, out, sizeof out, err, sizeof err), 2);
}
