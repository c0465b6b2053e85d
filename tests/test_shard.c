/* Sharding and merge: --shard K/N slices are deterministic, disjoint, cover the matrix and are
 * balanced by the cost model; `diagbench merge` of the shards gives exactly the unsharded cell
 * set (N = 1, 2, 3, 7), in the unsharded order, and refuses inputs that are not one complete
 * matrix, naming what is wrong. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/plan/cli.h"
#include "harness/plan/plan.h"
#include "harness/plan/shard.h"
#include "harness/io/csv_read.h"
#include "core/status.h"
#include "tests/helpers.h"

static char out[1 << 16], err[1 << 16];

static void destroy_plan(void *p) {
    db_plan_free(p);
    free(p);
}

/* A zeroed plan on the heap, released (db_plan_free) with the test arena. */
static struct db_plan *new_plan(void) {
    struct db_plan *p = th_own(calloc(1, sizeof *p), destroy_plan);
    cr_assert_not_null(p);
    return p;
}

/* db_plan_split_args's argv, released (db_plan_free_args) with the test arena. */
struct split {
    int argc;
    char **argv;
};
static void destroy_split(void *p) {
    struct split *s = p;
    db_plan_free_args(s->argc, s->argv);
    free(s);
}
static struct split *new_split(void) {
    struct split *s = th_own(calloc(1, sizeof *s), destroy_split);
    cr_assert_not_null(s);
    return s;
}

Test(shard, parse) {
    unsigned k, n;
    char e[256];
    cr_assert_eq(db_shard_parse("1/1", &k, &n, e, sizeof e), DB_OK);
    cr_assert_eq(db_shard_parse("3/7", &k, &n, e, sizeof e), DB_OK);
    cr_assert(k == 3 && n == 7);
    const char *bad[] = {
        "",     "1",    "0/3", "4/3",  "1/0",   "-1/3", "1/-3",    "+1/3",
        " 1/3", "1/3 ", "a/b", "1//3", "1/3/5", "1,3",  "1/10001", "99999999999999999999/1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(db_shard_parse(bad[i], &k, &n, e, sizeof e), DB_E_INVALID, "%s", bad[i]);
        cr_assert_not_null(strstr(e, "expected K/N"), "%s", e);
    }
}

/* Greedy LPT: every item gets a shard, and the loads differ by at most the largest cost. */
Test(shard, assignment_balances_cost_not_count) {
    /* One expensive item and many cheap ones: by count each shard would get 5 items. */
    unsigned long long cost[10] = {1000, 10, 10, 10, 10, 10, 10, 10, 10, 10};
    unsigned s[10];
    cr_assert_eq(db_shard_assign(cost, 10, 2, s), DB_OK);
    unsigned long long load[3] = {0};
    int count[3] = {0};
    for (int i = 0; i < 10; i++) {
        cr_assert(s[i] >= 1 && s[i] <= 2);
        load[s[i]] += cost[i];
        count[s[i]]++;
    }
    cr_assert_eq(count[s[0]], 1, "the expensive item has a shard to itself");
    cr_assert_eq(count[3 - s[0]], 9);

    /* Random costs: max - min load <= largest cost, and the result is deterministic. */
    unsigned long long c[200], big = 0;
    unsigned s1[200], s2[200];
    srand(7);
    for (int i = 0; i < 200; i++) {
        c[i] = (unsigned long long)(rand() % 100000) * (unsigned long long)(rand() % 100 + 1);
        big = c[i] > big ? c[i] : big;
    }
    for (unsigned n = 1; n <= 9; n++) {
        cr_assert_eq(db_shard_assign(c, 200, n, s1), DB_OK);
        cr_assert_eq(db_shard_assign(c, 200, n, s2), DB_OK);
        cr_assert_eq(memcmp(s1, s2, sizeof s1), 0);
        unsigned long long l[10] = {0}, mx = 0, mn = ~0ull;
        for (int i = 0; i < 200; i++)
            l[s1[i]] += c[i];
        for (unsigned k = 1; k <= n; k++) {
            mx = l[k] > mx ? l[k] : mx;
            mn = l[k] < mn ? l[k] : mn;
        }
        cr_assert(mx - mn <= big, "n=%u: loads %llu..%llu, largest item %llu", n, mn, mx, big);
    }
    cr_assert_eq(db_shard_assign(c, 200, 0, s1), DB_E_INVALID);
    cr_assert_eq(db_cost_mul(~0ull / 2, 3), ~0ull, "costs saturate");
    cr_assert_eq(db_cost_add(~0ull, 1), ~0ull);
}

static void parse(struct db_cli *cli, const char *const *args) {
    char *argv[64];
    int argc = 0;
    argv[argc++] = "diagbench";
    for (int i = 0; args[i]; i++)
        argv[argc++] = (char *)args[i];
    char e[512];
    cr_assert_eq(db_cli_parse(argc, argv, cli, e, sizeof e), DB_OK, "%s", e);
}

Test(plan, cost_model_orders_cells) {
    struct db_cell c = {.wl = db_workload_find("sin"),
                        .op_kind = "jacobian",
                        .jac = DB_JAC_FWD,
                        .strategy = db_strategy_find("materialise"),
                        .n = 1000};
    struct db_run_opts o = {.reps = 5, .min_time_s = 0.01, .call_cost_s = -1};
    unsigned long long m1000 = db_plan_cell_cost(&c, &o, 0);
    c.n = 4000;
    unsigned long long m4000 = db_plan_cell_cost(&c, &o, 0);
    c.strategy = db_strategy_find("probe");
    unsigned long long p4000 = db_plan_cell_cost(&c, &o, 0);
    cr_assert(m4000 > m1000 && m4000 > p4000, "%llu %llu %llu", m1000, m4000, p4000);
    /* seqsin materialise pays n calls of the per-call cost. */
    c.wl = db_workload_find("seqsin");
    c.strategy = db_strategy_find("materialise");
    c.n = 5000;
    unsigned long long seq = db_plan_cell_cost(&c, &o, 0);
    cr_assert(seq >= 6ull * 5000 * 10000, "%llu", seq);
    /* No batching rule: unsupported at once, cheap. */
    c.wl = db_workload_find("nobatch");
    cr_assert(db_plan_cell_cost(&c, &o, 0) < m1000);
    /* Untagged probe falls back to materialise. */
    c.wl = db_workload_find("sin");
    c.strategy = db_strategy_find("probe");
    o.untagged = 1;
    cr_assert_eq(db_plan_cell_cost(&c, &o, 0),
                 db_plan_cell_cost(&(struct db_cell){.wl = c.wl,
                                                     .op_kind = "jacobian",
                                                     .jac = DB_JAC_FWD,
                                                     .strategy = db_strategy_find("materialise"),
                                                     .n = 5000},
                                   &o, 0));
}

/* The matrix column is canonical: parsing it back gives the same string and the same cells;
 * Google Benchmark's flags are recorded as the options they map onto (--reps, --min-time). */
Test(plan, matrix_string_round_trips) {
    const char *args[] = {
        "-n",  "10,100",      "-t", "1,2",        "--benchmark_repetitions=3",   "--call-cost-us",
        "2.5", "--mem-limit", "1G", "--untagged", "--benchmark_min_time=0.002s", NULL};
    struct db_cli cli;
    parse(&cli, args);
    struct db_plan *p = new_plan();
    char e[512];
    cr_assert_eq(db_plan_build(&cli, p, e, sizeof e), DB_OK, "%s", e);
    cr_assert_str_eq(
        p->matrix,
        "-w sin,split,seqsin,nobatch,liar,tridiag,banded,stencil,randsparse,remote,remote-vec,"
        "remote-nobatch -p jacobian -j fwd,bwd -s materialise,probe,probe-checked,"
        "probe-tridiag,probe-banded,probe-coloured -n 10,100 -t 1,2 --reps 3 --min-time 0.002 "
        "--call-cost-us 2.5 --mem-limit 1073741824 --untagged");
    cr_assert_eq(p->nitems, 2 * p->ncells);
    struct split *sp = new_split();
    cr_assert_eq(db_plan_split_args(p->matrix, &sp->argc, &sp->argv), DB_OK);
    struct db_cli again;
    cr_assert_eq(db_cli_parse(sp->argc, sp->argv, &again, e, sizeof e), DB_OK, "%s", e);
    struct db_plan *q = new_plan();
    cr_assert_eq(db_plan_build(&again, q, e, sizeof e), DB_OK, "%s", e);
    cr_assert_str_eq(q->matrix, p->matrix);
    cr_assert_str_eq(q->matrix_id, p->matrix_id);
    cr_assert_eq(q->nitems, p->nitems);
    for (size_t i = 0; i < p->nitems; i++) {
        char a[256], b[256];
        db_plan_item_name(p, i, a, sizeof a);
        db_plan_item_name(q, i, b, sizeof b);
        cr_assert_str_eq(a, b);
        const struct db_cell *c = &p->cells[p->items[i].cell];
        char n[32], t[16];
        snprintf(n, sizeof n, "%zu", c->n);
        snprintf(t, sizeof t, "%d", p->items[i].t);
        cr_assert_eq(db_plan_find(p, c->wl->name, c->op_kind, db_jac_name(c->jac),
                                  c->strategy->name, n, t, "close", "cores"),
                     (long)i, "%s", a);
    }
    cr_assert_eq(db_plan_find(p, "sin", "jacobian", "fwd", "probe", "100", "2", "x", "y"),
                 (long)(p->ncells + 3));
    cr_assert_eq(db_plan_find(p, "sin", "jacobian", "fwd", "probe", "100", "3", "x", "y"), -1);
    th_free(sp), th_free(p), th_free(q);

    /* Quoting of odd --benchmark_ values survives the round trip. */
    sp = new_split();
    cr_assert_eq(db_plan_split_args("-n 1 --benchmark_x='a b' '' 'it'\\''s'", &sp->argc, &sp->argv),
                 DB_OK);
    cr_assert_eq(sp->argc, 6);
    cr_assert_str_eq(sp->argv[3], "--benchmark_x=a b");
    cr_assert_str_eq(sp->argv[4], "");
    cr_assert_str_eq(sp->argv[5], "it's");
    th_free(sp);
    sp = new_split();
    cr_assert_eq(db_plan_split_args("-n 'open", &sp->argc, &sp->argv), DB_E_INVALID);
    th_free(sp);
}

Test(plan, index_sets) {
    unsigned char sel[12] = {1, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1}, back[12];
    char *s;
    int rc = db_plan_format_indices(sel, 12, &s);
    th_own(rc == DB_OK ? s : NULL, free);
    cr_assert_eq(rc, DB_OK);
    cr_assert_str_eq(s, "0-2,4,7-8,11");
    cr_assert_eq(db_plan_parse_indices(s, back, 12), DB_OK);
    cr_assert_eq(memcmp(sel, back, 12), 0);
    th_free(s);
    const char *bad[] = {"12", "3-1",   "1,", ",1", "1-",
                         "a",  "1-2-3", "-1", "1 ", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(db_plan_parse_indices(bad[i], back, 12), DB_E_INVALID, "%s", bad[i]);
}

/* ---- the round trip through the binary ---------------------------------------------------- */

#define MATRIX                                                                                     \
    "-w", "sin,seqsin,nobatch", "-s", "materialise,probe", "-j", "fwd,bwd", "-n", "8,16,32",       \
        "--reps", "1", "--min-time", "1e-4", "--call-cost-us", "1", "-q"

/* Cell keys of a CSV in row order, one per line. */
static char *keys_of(const char *path) {
    struct db_table *t = th_table();
    char e[512];
    cr_assert_eq(db_table_read(path, t, e, sizeof e), DB_OK, "%s", e);
    cr_assert_eq(db_table_check_diagbench(t, e, sizeof e), DB_OK, "%s: %s", path, e);
    const char *names[] = {"workload", "operator", "jac",       "strategy",
                           "n",        "threads",  "proc_bind", "places"};
    size_t cap = 128 * t->nrec + 1, len = 0;
    char *k = th_alloc(cap);
    k[0] = 0;
    for (size_t r = 1; r < t->nrec; r++) {
        for (int c = 0; c < 8; c++)
            len += (size_t)snprintf(k + len, cap - len, "%s%s", c ? "/" : "",
                                    t->rec[r].field[db_table_column(t, names[c])]);
        len += (size_t)snprintf(k + len, cap - len, "\n");
    }
    th_free(t);
    return k;
}

/* Remove an output and the .partial a failed earlier run may have left (a run refuses to
 * overwrite one). */
static void remove_out(const char *path) {
    char p[512];
    if ((size_t)snprintf(p, sizeof p, "%s.partial", path) >= sizeof p) return;
    remove(path);
    remove(p);
}

static void run_ok(const char *const *args) {
    int rc = th_run(args, NULL, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every row of the files, as key and samples_s, sorted: merge must keep each row's samples. */
static char *samples_of(char paths[][64], unsigned nfiles) {
    size_t cap = 1, len = 0, count = 0;
    struct db_table *t[8];
    char e[512];
    for (unsigned i = 0; i < nfiles; i++) {
        t[i] = th_table();
        cr_assert_eq(db_table_read(paths[i], t[i], e, sizeof e), DB_OK, "%s", e);
        for (size_t r = 0; r < t[i]->nrec; r++)
            cap += t[i]->rec[r].length + 1, count++;
    }
    char **lines = th_calloc(count, sizeof *lines), *all = th_alloc(cap);
    size_t k = 0;
    for (unsigned i = 0; i < nfiles; i++) {
        int s = db_table_column(t[i], "samples_s"), st = db_table_column(t[i], "status");
        for (size_t r = 1; r < t[i]->nrec; r++) {
            char **f = t[i]->rec[r].field;
            cr_assert(strcmp(f[st], "ok") != 0 || f[s][0], "an ok row without samples");
            lines[k] = th_alloc(512);
            snprintf(lines[k++], 512, "%s/%s/%s/%s/%s/%s %s", f[2], f[3], f[4], f[5], f[6], f[7],
                     f[s]);
        }
    }
    qsort(lines, k, sizeof *lines, cmp_str);
    all[0] = 0;
    for (size_t i = 0; i < k; i++)
        len += (size_t)snprintf(all + len, cap - len, "%s\n", lines[i]);
    return all;
}

/* Run the N shards (files tag_K_of_N.csv), merge them, compare with the unsharded keys. */
static void round_trip(const char *tag, unsigned nshards, const char *const *extra,
                       const char *full_keys) {
    char paths[8][64], shard[16], merged[64];
    snprintf(merged, sizeof merged, "%s_merged.csv", tag);
    const char *merge[16] = {"merge"};
    int m = 1;
    size_t rows = 0;
    for (unsigned k = 1; k <= nshards; k++) {
        snprintf(paths[k - 1], sizeof paths[k - 1], "%s_%u_of_%u.csv", tag, k, nshards);
        snprintf(shard, sizeof shard, "%u/%u", k, nshards);
        remove_out(paths[k - 1]);
        const char *a[40];
        int n = 0;
        for (int i = 0; extra[i]; i++)
            a[n++] = extra[i];
        a[n++] = "--shard";
        a[n++] = shard;
        a[n++] = "--out";
        a[n++] = paths[k - 1];
        a[n] = NULL;
        run_ok(a);
        char *keys = keys_of(paths[k - 1]);
        rows += (size_t)th_count_lines(keys);
        th_free(keys);
        merge[m++] = paths[k - 1];
    }
    merge[m++] = "-o";
    merge[m++] = merged;
    merge[m] = NULL;
    remove_out(merged);
    run_ok(merge);
    char *keys = keys_of(merged);
    cr_assert_str_eq(keys, full_keys, "N=%u: the merged cells differ from the unsharded run",
                     nshards);
    char merged_path[1][64];
    snprintf(merged_path[0], sizeof merged_path[0], "%s", merged);
    cr_assert_str_eq(samples_of(merged_path, 1), samples_of(paths, nshards),
                     "N=%u: merge keeps every row's samples_s", nshards);
    cr_assert_eq(rows, (size_t)th_count_lines(full_keys), "N=%u: shards overlap", nshards);
    th_free(keys);
    for (unsigned k = 0; k < nshards; k++)
        remove_out(paths[k]);
    remove_out(merged);
}

Test(shard, round_trip_n_1_2_3_7) {
    static const char *const matrix[] = {MATRIX, NULL};
    const char *full[] = {MATRIX, "--out", "unsharded.csv", NULL};
    remove_out("unsharded.csv");
    run_ok(full);
    char *keys = keys_of("unsharded.csv");
    cr_assert_eq(th_count_lines(keys), 36);
    unsigned ns[] = {1, 2, 3, 7};
    for (int i = 0; i < 4; i++)
        round_trip("rt", ns[i], matrix, keys);
    th_free(keys);
    remove_out("unsharded.csv");
}

Test(shard, round_trip_with_thread_sweep) {
    static const char *const matrix[] = {
        "-w",  "sin",    "-s", "materialise,probe", "-j",   "fwd", "-n", "8,16", "-t",
        "1,2", "--reps", "1",  "--min-time",        "1e-4", "-q",  NULL};
    const char *full[] = {"-w",
                          "sin",
                          "-s",
                          "materialise,probe",
                          "-j",
                          "fwd",
                          "-n",
                          "8,16",
                          "-t",
                          "1,2",
                          "--reps",
                          "1",
                          "--min-time",
                          "1e-4",
                          "-q",
                          "--out",
                          "unsharded_t.csv",
                          NULL};
    remove_out("unsharded_t.csv");
    run_ok(full);
    char *keys = keys_of("unsharded_t.csv");
    cr_assert_eq(th_count_lines(keys), 8);
    round_trip("rt_sweep", 3, matrix, keys);
    th_free(keys);
    remove_out("unsharded_t.csv");
}

/* Downstream (solve:/newton:) and structured cells and a --bind sweep, sharded and merged. */
Test(shard, round_trip_downstream_structured_bind) {
#define MIXED                                                                                      \
    "-w", "sin,banded,solve:sin,newton:sin", "-s",                                                 \
        "probe,probe-banded,probe+diagonal,materialise+lu", "-j", "fwd", "-n", "8,16", "--reps",   \
        "1", "--min-time", "1e-4", "--bind", "close,spread", "--band", "1,1", "--lu-max-n", "8",   \
        "-q"
    static const char *const matrix[] = {MIXED, NULL};
    const char *full[] = {MIXED, "--out", "unsharded_mixed.csv", NULL};
#undef MIXED
    remove_out("unsharded_mixed.csv");
    run_ok(full);
    char *keys = keys_of("unsharded_mixed.csv");
    cr_assert_eq(th_count_lines(keys), 2 * (2 * 2 * 2 + 2 * 2 * 2));
    cr_assert_not_null(strstr(keys, "newton:sin/jacobian/fwd/materialise+lu/16/"));
    cr_assert_not_null(strstr(keys, "banded/jacobian/fwd/probe-banded/8/"));
    round_trip("rt_mixed", 3, matrix, keys);
    th_free(keys);
    remove_out("unsharded_mixed.csv");
}

/* ---- merge refuses what is not one complete matrix ---------------------------------------- */

static void expect_merge_error(const char *const *args, const char *needle) {
    int rc = th_run(args, NULL, out, sizeof out, err, sizeof err);
    cr_assert_eq(rc, 2, "exit %d (stderr: %s)", rc, err);
    cr_assert_eq(th_count_lines(err), 1, "one line: %s", err);
    cr_assert(strncmp(err, "diagbench: merge: ", 18) == 0, "%s", err);
    cr_assert_not_null(strstr(err, needle), "'%s' not in: %s", needle, err);
    cr_assert(access("bad_merge.csv", F_OK) != 0 && access("bad_merge.csv.partial", F_OK) != 0,
              "nothing may be written");
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

Test(shard, merge_errors_name_the_problem) {
    const char *s1[] = {"-w", "sin",     "-s",     "probe", "-j",         "fwd",
                        "-n", "8,16,32", "--reps", "1",     "--min-time", "1e-4",
                        "-q", "--shard", "1/2",    "--out", "m_1.csv",    NULL};
    const char *s2[] = {"-w", "sin",     "-s",     "probe", "-j",         "fwd",
                        "-n", "8,16,32", "--reps", "1",     "--min-time", "1e-4",
                        "-q", "--shard", "2/2",    "--out", "m_2.csv",    NULL};
    const char *other[] = {"-w", "sin",     "-s",     "probe", "-j",         "fwd",
                           "-n", "8,16,64", "--reps", "1",     "--min-time", "1e-4",
                           "-q", "--shard", "2/2",    "--out", "m_3.csv",    NULL};
    const char *whole[] = {"-w", "sin",     "-s",      "probe", "-j",         "fwd",
                           "-n", "8,16,32", "--reps",  "1",     "--min-time", "1e-4",
                           "-q", "--out",   "m_4.csv", NULL};
    remove_out("m_1.csv");
    remove_out("m_2.csv");
    remove_out("m_3.csv");
    remove_out("m_4.csv");
    remove_out("bad_merge.csv");
    run_ok(s1);
    run_ok(s2);
    run_ok(other);
    run_ok(whole);

    /* Which shard holds what is deterministic: name the missing cells of the absent shard. */
    char *k1 = keys_of("m_1.csv"), *k2 = keys_of("m_2.csv");
    const char *only1[] = {"merge", "m_1.csv", "-o", "bad_merge.csv", NULL};
    expect_merge_error(only1, "missing (from shard 2/2): sin/jacobian/fwd/probe/n=");
    const char *dup[] = {"merge", "m_1.csv", "m_2.csv", "m_1.csv", "-o", "bad_merge.csv", NULL};
    expect_merge_error(dup, "'m_1.csv' given twice");
    const char *mixed[] = {"merge", "m_1.csv", "m_3.csv", "-o", "bad_merge.csv", NULL};
    expect_merge_error(mixed, "is from another matrix");
    const char *splits[] = {"merge", "m_1.csv", "m_4.csv", "-o", "bad_merge.csv", NULL};
    expect_merge_error(splits, "all inputs must come from one --shard K/N split");
    /* A duplicated row inside the inputs. */
    char *t2 = th_slurp("m_2.csv");
    char *row = strchr(t2, '\n') + 1;
    char *dup_text = th_alloc(2 * strlen(t2) + 1);
    sprintf(dup_text, "%s%s", t2, row);
    write_file("m_dup.csv", dup_text);
    const char *dups[] = {"merge", "m_1.csv", "m_dup.csv", "-o", "bad_merge.csv", NULL};
    expect_merge_error(dups, "appears twice: 'm_dup.csv' line 2 and 'm_dup.csv' line");
    /* A torn input, a foreign CSV, a missing file, bad usage. */
    t2[strlen(t2) - 10] = 0;
    write_file("m_torn.csv", t2);
    const char *torn[] = {"merge", "m_1.csv", "m_torn.csv", "-o", "bad_merge.csv", NULL};
    expect_merge_error(torn, "'m_torn.csv' ends in an incomplete row");
    write_file("m_foreign.csv", "a,b,c\n1,2,3\n");
    const char *foreign[] = {"merge", "m_1.csv", "m_foreign.csv", "-o", "bad_merge.csv", NULL};
    expect_merge_error(foreign, "'m_foreign.csv': not a diagbench CSV of this version");
    const char *absent[] = {"merge", "m_1.csv", "no_such.csv", "-o", "bad_merge.csv", NULL};
    expect_merge_error(absent, "cannot read 'no_such.csv': No such file or directory");
    const char *no_out[] = {"merge", "m_1.csv", "m_2.csv", NULL};
    expect_merge_error(no_out, "-o OUT is required");
    const char *no_in[] = {"merge", "-o", "bad_merge.csv", NULL};
    expect_merge_error(no_in, "no input files");

    /* And the good merge, for contrast. */
    const char *good[] = {"merge", "m_2.csv", "m_1.csv", "-o", "good_merge.csv", "-q", NULL};
    run_ok(good);
    char *km = keys_of("good_merge.csv"), *kw = keys_of("m_4.csv");
    cr_assert_str_eq(km, kw, "merged rows come in the unsharded order");
    cr_assert_eq(th_count_lines(k1) + th_count_lines(k2), 3);
    th_free(k1), th_free(k2), th_free(km), th_free(kw), th_free(t2), th_free(dup_text);
    const char *files[] = {"m_1.csv",   "m_2.csv",    "m_3.csv",       "m_4.csv",
                           "m_dup.csv", "m_torn.csv", "m_foreign.csv", "good_merge.csv"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        remove(files[i]);
}

/* examples/slurm-array.sbatch in task mode (as each array task runs it), then the merge. */
Test(shard, slurm_script_tasks_then_merge) {
    const char *real = getenv("DIAGBENCH");
    char dbenv[512];
    snprintf(dbenv, sizeof dbenv, "DIAGBENCH=%s", real && *real ? real : "build/diagbench");
    const char *files[] = {"build/slurm_test/shard-1-of-2.csv", "build/slurm_test/shard-2-of-2.csv",
                           "build/slurm_test/all.csv"};
    for (int i = 0; i < 3; i++)
        remove(files[i]);
    for (int k = 1; k <= 2; k++) {
        char task[64];
        snprintf(task, sizeof task, "SLURM_ARRAY_TASK_ID=%d", k);
        const char *env[] = {dbenv,
                             task,
                             "SLURM_CPUS_PER_TASK=1",
                             "OMP_PROC_BIND=", /* empty: the script's default applies */
                             "OMP_PLACES=",
                             "SHARDS=2",
                             "OUTDIR=build/slurm_test",
                             "MATRIX=-w sin -s materialise,probe -j fwd -n 8,16 --reps 1 "
                             "--min-time 1e-4 -q",
                             NULL};
        const char *args[] = {"examples/slurm-array.sbatch", NULL};
        setenv("DIAGBENCH", "/bin/bash", 1);
        int rc = th_run(args, env, out, sizeof out, err, sizeof err);
        setenv("DIAGBENCH", dbenv + strlen("DIAGBENCH="), 1);
        cr_assert_eq(rc, 0, "task %d: %s", k, err);
    }
    const char *merge[] = {"merge", files[0], files[1], "-o", files[2], "-q", NULL};
    run_ok(merge);
    struct db_table *t = th_table();
    char e[512];
    cr_assert_eq(db_table_read(files[2], t, e, sizeof e), DB_OK, "%s", e);
    cr_assert_eq(t->nrec, 5, "4 cells");
    int c_t = db_table_column(t, "threads"), c_b = db_table_column(t, "proc_bind"),
        c_p = db_table_column(t, "places");
    for (size_t r = 1; r < t->nrec; r++) { /* the script's pinning reached the runs */
        cr_assert_str_eq(t->rec[r].field[c_t], "1");
        cr_assert_str_eq(t->rec[r].field[c_b], "close");
        cr_assert_str_eq(t->rec[r].field[c_p], "cores");
    }
    th_free(t);
    for (int i = 0; i < 3; i++)
        remove(files[i]);
}

/* Every kind of cell and every sweep dimension is part of the plan: downstream (solve:/newton:)
 * and structured cells, -t x --bind x --places configurations, and the flags that change rows
 * (--band, --on-mismatch, --lu-max-n) are in the canonical matrix string. */
Test(plan, downstream_structured_and_configurations) {
    const char *args[] = {"-w",
                          "banded,solve:sin,newton:tridiag",
                          "-s",
                          "probe-banded,probe+diagonal,probe-tridiag+tridiagonal,materialise+lu",
                          "-n",
                          "10,100",
                          "-t",
                          "1,2",
                          "--bind",
                          "close,master",
                          "--places",
                          "cores,threads(2)",
                          "--band",
                          "1,2",
                          "--on-mismatch",
                          "fallback",
                          "--lu-max-n",
                          "50",
                          NULL};
    struct db_cli cli;
    parse(&cli, args);
    struct db_plan *p = new_plan();
    char e[512];
    cr_assert_eq(db_plan_build(&cli, p, e, sizeof e), DB_OK, "%s", e);
    cr_assert_str_eq(p->matrix,
                     "-w banded,solve:sin,newton:tridiag -p jacobian -j fwd,bwd -s "
                     "probe-banded,probe+diagonal,probe-tridiag+tridiagonal,materialise+lu -n "
                     "10,100 -t 1,2 --bind close,master --places 'cores,threads(2)' --reps 5 "
                     "--min-time 0.01 --lu-max-n 50 --band 1,2 --on-mismatch fallback");
    cr_assert_eq(p->nconfigs, 8);
    /* banded x fwd,bwd x probe-banded x 2 sizes, then 2 tasks x fwd,bwd x 3 methods x 2 sizes */
    cr_assert_eq(p->ncells, 1 * 2 * 1 * 2 + 2 * 2 * 3 * 2);
    for (size_t i = 0; i < p->ncells; i++)
        cr_assert_eq(p->cells[i].kind, i < 4 ? DB_CELL_DIAGONAL
                                       : p->cells[i].wl == db_workload_find("sin")
                                           ? DB_CELL_SOLVE
                                           : DB_CELL_NEWTON);
    cr_assert_eq(p->nitems, 8 * p->ncells);
    /* Round trip: the same plan, item for item. */
    struct split *sp = new_split();
    cr_assert_eq(db_plan_split_args(p->matrix, &sp->argc, &sp->argv), DB_OK);
    struct db_cli again;
    cr_assert_eq(db_cli_parse(sp->argc, sp->argv, &again, e, sizeof e), DB_OK, "%s", e);
    struct db_plan *q = new_plan();
    cr_assert_eq(db_plan_build(&again, q, e, sizeof e), DB_OK, "%s", e);
    cr_assert_str_eq(q->matrix, p->matrix);
    cr_assert_eq(q->nitems, p->nitems);
    for (size_t i = 0; i < p->nitems; i++) {
        char a[256], b[256];
        db_plan_item_name(p, i, a, sizeof a);
        db_plan_item_name(q, i, b, sizeof b);
        cr_assert_str_eq(a, b);
        cr_assert_eq(p->items[i].cost, q->items[i].cost, "%s", a);
        cr_assert(p->items[i].cost > 0, "%s", a);
    }
    /* A row is found by its configuration: master is recorded as primary. */
    long it = db_plan_find(p, "newton:tridiag", "jacobian", "bwd", "probe-tridiag+tridiagonal",
                           "100", "2", "primary", "threads(2)");
    cr_assert_geq(it, 0);
    char name[256];
    db_plan_item_name(p, (size_t)it, name, sizeof name);
    cr_assert_str_eq(name, "newton:tridiag/jacobian/bwd/probe-tridiag+tridiagonal/n=100/t=2/"
                           "bind=primary/places=threads(2)");
    cr_assert_eq(db_plan_find(p, "newton:tridiag", "jacobian", "bwd", "probe-tridiag+tridiagonal",
                              "100", "2", "spread", "threads(2)"),
                 -1);
    cr_assert_eq(db_plan_config_find(p, "1", "close", "cores"), 0);
    cr_assert_eq(db_plan_config_find(p, "1", "close", "sockets"), -1);
    /* LU over --lu-max-n costs as skipped; LU is ~n^3 below it (once above the minimum time). */
    struct db_cell lu = {.kind = DB_CELL_SOLVE,
                         .wl = db_workload_find("sin"),
                         .op_kind = "jacobian",
                         .jac = DB_JAC_FWD,
                         .method = {NULL, DB_SOLVER_LU},
                         .n = 8000};
    unsigned long long big = db_plan_downstream_cost(&lu, &cli.run, 1);
    lu.n = 4000;
    cr_assert(big > 6 * db_plan_downstream_cost(&lu, &cli.run, 1));
    lu.n = 8000;
    lu.lu_max_n = 50;
    cr_assert(db_plan_downstream_cost(&lu, &cli.run, 1) < big / 10);
    th_free(sp), th_free(p), th_free(q);
}

/* An input that is also the file -o would be written through (x.csv.partial, often the rows of
 * an interrupted run): refused, the input untouched, and the advice it gives works. */
Test(shard, merge_of_the_output_partial_is_refused_and_the_advice_works) {
    const char *run[] = {"-w",     "sin", "-s",         "probe", "-j", "fwd",   "-n",     "8",
                         "--reps", "1",   "--min-time", "1e-4",  "-q", "--out", "mp.csv", NULL};
    remove("mp.csv"), remove("mp.csv.partial"), remove("mp_all.csv");
    cr_assert_eq(th_run(run, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert_eq(rename("mp.csv", "mp.csv.partial"), 0);
    char *before = th_slurp("mp.csv.partial");
    cr_assert_not_null(before);
    const char *bad[] = {"merge", "mp.csv.partial", "-o", "mp.csv", NULL};
    cr_assert_eq(th_run(bad, NULL, out, sizeof out, err, sizeof err), 2, "%s", err);
    cr_assert_eq(th_count_lines(err), 1, "%s", err);
    cr_assert_not_null(strstr(err, "is one of the inputs"), "%s", err);
    cr_assert_not_null(strstr(err, "give another -o"), "%s", err);
    char *after = th_slurp("mp.csv.partial");
    cr_assert_str_eq(after, before, "the input is untouched");
    cr_assert_eq(access("mp.csv", F_OK), -1, "nothing written");
    const char *good[] = {"merge", "mp.csv.partial", "-o", "mp_all.csv", "-q", NULL};
    cr_assert_eq(th_run(good, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    char *merged = th_slurp("mp_all.csv");
    cr_assert_str_eq(merged, before, "another -o gets the rows");
    remove("mp.csv.partial"), remove("mp_all.csv");
}
