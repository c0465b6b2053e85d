/* Threads under control: results do not depend on the thread count; the recorded binding is what
 * hwloc reports; the OMP_* parsers accept what the specification allows and nothing else. */
#include <criterion/criterion.h>
#include <hwloc.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/affinity.h"
#include "../operators/strategy.h"

/* ---- results do not depend on the thread count ---------------------------------------------- */

static double *extract(const char *wl, const char *kind, enum db_jac jac, unsigned tags,
                       const struct db_strategy *st, size_t n, int threads) {
    omp_set_num_threads(threads);
    struct db_instance *in;
    struct db_operator *op;
    cr_assert_eq(db_instance_create(db_workload_find(wl), n, 0, &in), DB_OK);
    cr_assert_eq(db_operator_create(kind, jac, in, tags, &op), DB_OK);
    struct db_strategy_ctx ctx = {0};
    double *d = malloc(n * sizeof *d);
    cr_assert_not_null(d);
    cr_assert_eq(st->run(op, d, &ctx), DB_OK, "%s %s %s n=%zu t=%d", wl, kind, st->name, n,
                 threads);
    db_strategy_ctx_free(&ctx);
    db_operator_destroy(op);
    db_instance_destroy(in);
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
                    free(d);
                }
                free(ref);
            }
}

/* ---- the binding check reads what hwloc reports --------------------------------------------- */

/* Bind each thread of a 2-thread team with hwloc (CPU i of the allowed set, or the whole set),
 * then check that db_binding_check records exactly those cpusets. OMP_PROC_BIND is false in the
 * test process, so distinct per-thread bindings are reported as a mismatch (pinned by something
 * other than OpenMP) and the whole set as unbound. */
Test(threads, recorded_binding_matches_hwloc) {
    hwloc_topology_t topo;
    cr_assert_eq(db_topology_open(&topo), DB_OK);
    hwloc_const_bitmap_t allowed = hwloc_topology_get_allowed_cpuset(topo);
    if (hwloc_bitmap_weight(allowed) < 2 || omp_get_proc_bind() != omp_proc_bind_false) {
        hwloc_topology_destroy(topo);
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
    hwloc_topology_destroy(topo);
}

/* Synthetic teams through the classifier: every verdict and its reason. */
Test(threads, classification) {
    hwloc_bitmap_t allowed = hwloc_bitmap_alloc();
    hwloc_bitmap_set_range(allowed, 0, 1); /* two hardware threads: 0 and 1 */
    struct db_thread_binding *t;
    cr_assert_eq(db_thread_bindings_alloc(&t, 3), DB_OK);
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
    db_thread_bindings_free(t, 3);
    hwloc_bitmap_free(allowed);
}

/* The command: 2 threads, close, cores -> verified, two distinct CPUs; and libgomp's own
 * OMP_DISPLAY_AFFINITY report names the same CPUs as the hwloc reading in the CSV. */
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
