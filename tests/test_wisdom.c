/* Materialise's write path: the candidates, the plan table, planning by measurement, the
 * wisdom file (saved, reused, re-planned, read but never trusted), the write_path column, and
 * the summary's write ceiling per size. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/io/csv_write.h"
#include "harness/analysis/summary.h"
#include "harness/bench/wisdom.h"
#include "tests/helpers.h"

static int same_path(struct db_write_path a, struct db_write_path b) {
    return a.store == b.store && a.block_cols == b.block_cols;
}

/* A fresh wisdom file name under build/ (removed first). */
static void temp_wisdom(char *path, size_t len, const char *tag) {
    snprintf(path, len, "build/test-wisdom-%s-%ld.tsv", tag, (long)getpid());
    unlink(path);
}

Test(write_path, format_and_parse_round_trip) {
    const char *good[] = {"plain/16", "stream/64", "plain/1", "stream/512"};
    for (size_t i = 0; i < 4; i++) {
        struct db_write_path wp;
        char back[DB_WRITE_PATH_LEN];
        cr_assert_eq(db_write_path_parse(good[i], &wp), DB_OK, "%s", good[i]);
        cr_assert_str_eq(db_write_path_format(wp, back, sizeof back), good[i]);
    }
    const char *bad[] = {"",         "plain",     "plain/",   "plain/0",  "plain/016",
                         "plain/-1", "plain/16x", "fast/16",  "Plain/16", "stream/ 16",
                         "plain16",  "/16",       "plain//16"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct db_write_path wp;
        cr_assert_eq(db_write_path_parse(bad[i], &wp), DB_E_INVALID, "'%s'", bad[i]);
    }
    struct db_write_path wp;
    cr_assert_eq(db_write_path_parse(NULL, &wp), DB_E_INVALID);
}

Test(write_path, candidates_cover_both_stores_and_fit_n) {
    size_t ns[] = {1, 10, 15, 16, 100, 1000, 100000}, want[] = {2, 2, 2, 2, 6, 12, 12};
    for (size_t k = 0; k < 7; k++) {
        struct db_write_path c[32];
        size_t nc = db_write_path_candidates(ns[k], c, 32);
        cr_assert_eq(nc, want[k], "n=%zu: %zu candidates", ns[k], nc);
        size_t stream = 0;
        for (size_t i = 0; i < nc; i++) {
            cr_assert(c[i].block_cols >= 1 && c[i].block_cols <= ns[k]);
            stream += c[i].store == DB_STORE_STREAM;
            for (size_t j = 0; j < i; j++)
                cr_assert(!same_path(c[i], c[j]), "n=%zu: a candidate twice", ns[k]);
        }
        cr_assert_eq(2 * stream, nc, "as many streaming as plain candidates");
    }
}

Test(write_path, plans_are_per_size_and_thread_count) {
    db_write_path_forget();
    int planned = -1, t = omp_get_max_threads();
    struct db_write_path def = db_write_path_for(300, &planned);
    cr_assert_eq(planned, 0);
    cr_assert(same_path(def, db_write_path_default(300)));
    cr_assert_eq(def.store, DB_STORE_PLAIN);
    struct db_write_path s32 = {DB_STORE_STREAM, 32};
    cr_assert_eq(db_write_path_plan(300, t + 1, s32), DB_OK);
    cr_assert(same_path(db_write_path_for(300, &planned), def), "another thread count's plan");
    cr_assert_eq(planned, 0);
    cr_assert_eq(db_write_path_plan(300, t, s32), DB_OK);
    cr_assert(same_path(db_write_path_for(300, &planned), s32));
    cr_assert_eq(planned, 1);
    cr_assert_eq(db_block_columns(300), 32);
    cr_assert(same_path(db_write_path_for(301, NULL), db_write_path_default(301)));
    struct db_write_path p64 = {DB_STORE_PLAIN, 64};
    db_write_path_force(&p64);
    cr_assert(same_path(db_write_path_for(300, NULL), p64), "a forced path wins");
    cr_assert_eq(db_write_path_for(10, NULL).block_cols, 10, "clamped to n");
    db_write_path_force(NULL);
    cr_assert(same_path(db_write_path_for(300, NULL), s32));
    struct db_write_path zero = {DB_STORE_PLAIN, 0};
    cr_assert_eq(db_write_path_plan(300, t, zero), DB_E_INVALID);
    db_write_path_forget();
    cr_assert(same_path(db_write_path_for(300, NULL), def));
}

Test(wisdom, timing_picks_a_checked_candidate) {
    struct db_wisdom_plan p;
    cr_assert_eq(db_wisdom_time_candidates(200, &p), DB_OK);
    struct db_write_path c[32];
    size_t nc = db_write_path_candidates(200, c, 32), hit = 0;
    for (size_t i = 0; i < nc; i++)
        hit += same_path(c[i], p.wp);
    cr_assert_eq(hit, 1, "the choice is one of the candidates");
    cr_assert_eq(p.n, 200);
    cr_assert_eq(p.threads, omp_get_max_threads());
    cr_assert(p.gbytes_per_s > 0 && isfinite(p.gbytes_per_s));
    cr_assert(p.runner_up > 0, "the best path of the other store was timed too");
    cr_assert_eq(p.from_wisdom, 0);
}

/* Lines of the file that are plans (not comments). */
static int plan_lines(const char *path) {
    char *text = th_slurp(path);
    cr_assert_not_null(text, "%s", path);
    int k = 0;
    for (char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
        k += *l != '#' && *l != '\n';
    th_free(text);
    return k;
}

Test(wisdom, plans_are_saved_reused_and_replanned) {
    char path[128];
    temp_wisdom(path, sizeof path, "save");
    size_t sizes[] = {50, 200};
    struct db_wisdom_plan a[2], b[2], c[2];
    struct db_wisdom_opts o = {.path = path, .quiet = 1};
    db_write_path_forget();
    cr_assert_eq(db_wisdom_plan_sizes(sizes, 2, &o, a), DB_OK);
    cr_assert(!a[0].from_wisdom && !a[1].from_wisdom);
    cr_assert(same_path(db_write_path_for(200, NULL), a[1].wp), "the plan is in force");
    cr_assert_eq(plan_lines(path), 2);
    db_write_path_forget();
    cr_assert_eq(db_wisdom_plan_sizes(sizes, 2, &o, b), DB_OK);
    for (int i = 0; i < 2; i++) {
        cr_assert(b[i].from_wisdom, "n=%zu read back", sizes[i]);
        cr_assert(same_path(a[i].wp, b[i].wp));
    }
    cr_assert(same_path(db_write_path_for(50, NULL), a[0].wp));
    o.replan = 1;
    cr_assert_eq(db_wisdom_plan_sizes(sizes, 2, &o, c), DB_OK);
    cr_assert(!c[0].from_wisdom && !c[1].from_wisdom, "--no-wisdom times again");
    cr_assert_eq(plan_lines(path), 2, "re-planned sizes replace their lines");
    db_write_path_forget();
    unlink(path);
}

Test(wisdom, the_file_is_read_but_never_trusted) {
    char path[128];
    temp_wisdom(path, sizeof path, "foreign");
    struct db_wisdom_key k;
    db_wisdom_key_current(&k);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "# diagbench wisdom v1: written by hand\n# a comment\n");
    fprintf(f, "%s\t%d\t%s\t%s\t%s\t200\tplain/16\t0\tthen\n", k.cpu_model, k.threads, k.proc_bind,
            k.places, k.build); /* 0 GB/s: not a measurement */
    fprintf(f, "%s\t%d\t%s\t%s\t%s\t200\tplain/16\t20000\tthen\n", k.cpu_model, k.threads,
            k.proc_bind, k.places, k.build); /* 20 TB/s: above any memory */
    fprintf(f, "Other CPU\t%d\t%s\t%s\t%s\t200\tplain/16\t1.000\tthen\n", k.threads, k.proc_bind,
            k.places, k.build); /* another machine's: kept, not used */
    fprintf(f, "%s\t%d\t%s\t%s\t%s\t200\tplain/7\t1.000\tthen\n", k.cpu_model, k.threads,
            k.proc_bind, k.places, k.build); /* not a candidate for 200 */
    fprintf(f, "%s\t%d\t%s\t%s\t%s\t300\tstream/32\t1.000\n", k.cpu_model, k.threads, k.proc_bind,
            k.places, k.build); /* 8 fields */
    fprintf(f, "%s\t%d\t%s\t%s\t%s\t100\tstream/32\t2.500\tthen\r\n", k.cpu_model, k.threads,
            k.proc_bind, k.places, k.build); /* ours, saved with CRLF */
    fprintf(f, "garbage\n");
    fclose(f);
    size_t sizes[] = {100, 200};
    struct db_wisdom_plan p[2];
    struct db_wisdom_opts o = {.path = path, .quiet = 1};
    db_write_path_forget();
    cr_assert_eq(db_wisdom_plan_sizes(sizes, 2, &o, p), DB_OK);
    cr_assert(p[0].from_wisdom, "our valid line is used");
    cr_assert(same_path(p[0].wp, (struct db_write_path){DB_STORE_STREAM, 32}));
    cr_assert_eq(p[0].gbytes_per_s, 2.5);
    cr_assert(!p[1].from_wisdom, "a foreign or invalid line is never used");
    char *text = th_slurp(path);
    cr_assert_not_null(strstr(text, "Other CPU\t"), "another machine's plans are kept");
    cr_assert_null(strstr(text, "plain/7"), "invalid lines are dropped when the file is rewritten");
    cr_assert_null(strstr(text, "garbage"));
    cr_assert_null(strstr(text, "\t20000\t"), "an implausible bandwidth is not kept either");
    th_free(text);
    db_write_path_forget();
    unlink(path);
}

Test(wisdom, an_unwritable_file_costs_a_warning_not_the_plan) {
    size_t sizes[] = {64};
    struct db_wisdom_plan p;
    struct db_wisdom_opts o = {.path = "/proc/diagbench-no-such-dir/wisdom.tsv", .quiet = 1};
    db_write_path_forget();
    cr_assert_eq(db_wisdom_plan_sizes(sizes, 1, &o, &p), DB_OK);
    cr_assert(same_path(db_write_path_for(64, NULL), p.wp));
    db_write_path_forget();
}

Test(wisdom, sizes_over_the_memory_budget_are_not_planned) {
    size_t sizes[] = {2000};
    struct db_wisdom_plan p = {0};
    char path[128];
    temp_wisdom(path, sizeof path, "budget");
    struct db_wisdom_opts o = {.path = path, .quiet = 1, .mem_budget = 1 << 20};
    db_write_path_forget();
    cr_assert_eq(db_wisdom_plan_sizes(sizes, 1, &o, &p), DB_OK);
    int planned = 1;
    db_write_path_for(2000, &planned);
    cr_assert_eq(planned, 0, "a 32 MB matrix over a 1 MiB budget is skipped_memory anyway");
    cr_assert_eq(access(path, F_OK), -1, "nothing was planned, nothing saved");
}

Test(wisdom, lines_parse_strictly) {
    const char *bad[] = {
        "c\t2\tclose\tcores\tb\t200\tplain/16\t1.0",           /* 8 fields */
        "c\t2\tclose\tcores\tb\t200\tplain/16\t1.0\tt\textra", /* 10 */
        "c\t0\tclose\tcores\tb\t200\tplain/16\t1.0\tt",        /* 0 threads */
        "c\t02\tclose\tcores\tb\t200\tplain/16\t1.0\tt",       /* leading zero */
        "c\t2\tclose\tcores\tb\t0\tplain/16\t1.0\tt",          /* n = 0 */
        "c\t2\tclose\tcores\tb\t+200\tplain/16\t1.0\tt",       /* a sign */
        "c\t2\tclose\tcores\tb\t200\tplain/1024\t1.0\tt",      /* not a candidate */
        "c\t2\tclose\tcores\tb\t10\tplain/16\t1.0\tt",         /* wider than n */
        "c\t2\tclose\tcores\tb\t200\tplain/16\tfast\tt",       /* GB/s */
        "c\t2\tclose\tcores\tb\t200\tplain/16\t-1\tt",         /* negative GB/s */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char line[256];
        snprintf(line, sizeof line, "%s", bad[i]);
        struct db_wisdom_line l;
        cr_assert_eq(db_wisdom_parse_line(line, &l), 0, "line %zu accepted", i);
    }
    char longcpu[400];
    memset(longcpu, 'x', 300);
    snprintf(longcpu + 300, 100, "\t2\tclose\tcores\tb\t200\tplain/16\t1.0\tt");
    struct db_wisdom_line l;
    cr_assert_eq(db_wisdom_parse_line(longcpu, &l), 0, "a field that would be truncated");
    char ok[] = "c\t2\tclose\tcores\tb\t10\tstream/10\t1.5\tt";
    cr_assert_eq(db_wisdom_parse_line(ok, &l), 1);
    cr_assert_eq(l.n, 10);
    cr_assert_eq(l.wp.block_cols, 10);
}

/* The write_path column of every materialise row of out (n=300) and of the probe rows. */
static void check_rows(const char *csv, const char *want_300) {
    int c_s = th_csv_column("strategy"), c_n = th_csv_column("n"),
        c_wp = th_csv_column("write_path"), c_ceil = th_csv_column("write_ceiling_s"), rows = 0;
    const char *line = strchr(csv, '\n') + 1;
    while (*line) {
        const char *end = strchr(line, '\n');
        char rec[8192], buf[8192], *f[64];
        snprintf(rec, sizeof rec, "%.*s", (int)(end - line), line);
        cr_assert_eq(th_csv_split(rec, buf, f, 64), (int)db_csv_column_count());
        if (!strcmp(f[c_s], "probe"))
            cr_assert_str_eq(f[c_wp], "");
        else if (!strcmp(f[c_n], "300"))
            cr_assert_str_eq(f[c_wp], want_300);
        /* the write ceiling, timed on the cell's own buffer, exactly where a matrix was written */
        cr_assert_eq(f[c_wp][0] != '\0', f[c_ceil][0] != '\0', "%s", rec);
        if (f[c_ceil][0]) cr_assert(atof(f[c_ceil]) > 0, "%s", rec);
        rows++;
        line = end + 1;
    }
    cr_assert_eq(rows, 4);
}

Test(wisdom, the_cli_plans_saves_reuses_and_replans) {
    char path[128], out[1 << 16], err[1 << 14];
    temp_wisdom(path, sizeof path, "cli");
    const char *a[] = {"-w",     "sin",    "-s", "materialise,probe", "-j",   "fwd",      "-n",
                       "64,300", "--reps", "1",  "--min-time",        "1e-4", "--wisdom", path,
                       NULL};
    cr_assert_eq(th_run(a, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert_not_null(strstr(err, "planning materialise's write path"), "%s", err);
    cr_assert_null(strstr(err, "(wisdom)"), "%s", err);
    /* the rows ran the path the file now holds */
    char *text = th_slurp(path);
    cr_assert_not_null(text);
    const char *l300 = strstr(text, "\t300\t");
    cr_assert_not_null(l300, "%s", text);
    char want[DB_WRITE_PATH_LEN];
    snprintf(want, sizeof want, "%.*s", (int)strcspn(l300 + 5, "\t"), l300 + 5);
    th_free(text);
    check_rows(out, want);
    cr_assert_eq(th_run(a, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert_not_null(strstr(err, "(wisdom)"), "a repeated run does not re-plan: %s", err);
    check_rows(out, want);
    const char *b[] = {"-w",          "sin",    "-s", "materialise,probe", "-j",   "fwd",      "-n",
                       "64,300",      "--reps", "1",  "--min-time",        "1e-4", "--wisdom", path,
                       "--no-wisdom", NULL};
    cr_assert_eq(th_run(b, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert_null(strstr(err, "(wisdom)"), "--no-wisdom re-plans: %s", err);
    cr_assert_eq(plan_lines(path), 2);
    const char *e[] = {"--env", "--wisdom", path, NULL};
    cr_assert_eq(th_run(e, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert_not_null(strstr(out, "wisdom: "), "%s", out);
    cr_assert_not_null(strstr(out, "n=300"), "--env lists the plans: %s", out);
    unlink(path);
}

Test(wisdom, a_run_without_materialise_plans_nothing) {
    char path[128], out[1 << 14], err[1 << 14];
    temp_wisdom(path, sizeof path, "none");
    const char *a[] = {"-w",     "sin", "-s",         "probe", "-j",       "fwd", "-n", "300",
                       "--reps", "1",   "--min-time", "1e-4",  "--wisdom", path,  NULL};
    cr_assert_eq(th_run(a, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert_null(strstr(err, "planning"), "%s", err);
    cr_assert_eq(access(path, F_OK), -1);
}

static void destroy_summary(void *s) {
    db_summary_destroy(s);
}

/* A row for the summary. */
static void add(struct db_summary *s, const char *workload, size_t n, double min, const char *path,
                double ceiling) {
    struct db_row r = {
        .run_id = "r",
        .timestamp = "t",
        .workload = workload,
        .operator_kind = "jacobian",
        .jac = "fwd",
        .strategy = "materialise",
        .n = n,
        .threads = 2,
        .proc_bind = "false",
        .places = "unset",
        .status = "ok",
        .reps = 3,
        .iterations = 1,
        .time_median_s = 1.0,
        .time_mean_s = 1.0,
        .time_min_s = min,
        .time_max_s = 1.0,
        .host = "h",
        .cpu_model = "c",
        .compiler = "g",
        .git_rev = "x",
        .call_cost_s = -1,
        .note = "",
        .write_path = path,
        .write_ceiling_s = ceiling,
    };
    char *line = th_own(db_csv_format_row(&r), free);
    cr_assert_not_null(line);
    cr_assert_eq(db_summary_add_csv(s, line), DB_OK, "%s", line);
    th_free(line);
}

Test(ceiling, materialise_is_judged_against_its_own_write_ceiling) {
    struct db_summary *s = th_own(db_summary_create(1000), destroy_summary);
    cr_assert_not_null(s);
    /* 8 n^2 bytes at n = 4000: 128 MB; the ceiling wrote them at 16 GB/s */
    double bytes = 8.0 * 4000 * 4000;
    add(s, "sin", 4000, bytes / 8e9, "stream/32", bytes / 16e9);    /* best: 0.500 */
    add(s, "split", 4000, bytes / 20e9, "stream/64", bytes / 16e9); /* best: 1.25 */
    add(s, "sin", 100, 1e-6, "plain/32", 1e-7); /* below the fitted sizes: not shown */
    add(s, "sin", 2000, 1e-3, "", 0);           /* wrote no matrix: no ceiling */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    db_summary_print(s, f);
    fclose(f);
    th_own(text, free);
    cr_assert_not_null(strstr(text, "n=4000 0.500\xc3\x97 (stream/32, ceiling 16.0 GB/s)"), "%s",
                       text);
    cr_assert_not_null(strstr(text, "n=4000 1.25\xc3\x97 (stream/64, ceiling 16.0 GB/s) [!]"), "%s",
                       text);
    cr_assert_not_null(strstr(text, "[!] split jacobian fwd thr=2: materialise above its write "
                                    "ceiling at 1 size"),
                       "%s", text);
    cr_assert_null(strstr(text, "[!] sin"), "%s", text);
    cr_assert_null(strstr(text, "n=100 "), "%s", text);
    cr_assert_null(strstr(text, "n=2000 "), "%s", text);
}

/* ---- a shared machine (issue 24 items 1-3) ------------------------------------------------- */

/* Plan one size into the wisdom file at path (a fresh plan: it is saved). */
static void plan_into(const char *path) {
    size_t sizes[] = {64};
    struct db_wisdom_plan p;
    struct db_wisdom_opts o = {.path = path, .quiet = 1, .replan = 1};
    db_write_path_forget();
    cr_assert_eq(db_wisdom_plan_sizes(sizes, 1, &o, &p), DB_OK);
    db_write_path_forget();
}

/* Every name in dir that starts with prefix. */
static int count_prefixed(const char *dir, const char *prefix) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -c '^%s'", dir, prefix);
    FILE *p = popen(cmd, "r");
    int n = 0;
    cr_assert_eq(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

Test(wisdom, planted_links_are_never_written_through, .timeout = 60) {
    char dir[] = "/tmp/db-wisdom-links-XXXXXX", path[256], lock[300], victim[300], tmp[300];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/wisdom.tsv", dir);
    snprintf(lock, sizeof lock, "%s.lock", path);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    FILE *v = fopen(victim, "w");
    fputs("precious\n", v);
    fclose(v);
    /* the old predictable temporary names, for this pid and a few others: all links */
    for (int d = 0; d < 4; d++) {
        snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid() + d);
        cr_assert_eq(symlink(victim, tmp), 0);
    }
    plan_into(path);
    char *text = th_slurp(victim);
    cr_assert_str_eq(text, "precious\n", "the link's target is untouched");
    th_free(text);
    struct stat st;
    cr_assert(lstat(path, &st) == 0 && S_ISREG(st.st_mode), "the wisdom file is a file");
    cr_assert_eq(count_prefixed(dir, "wisdom.tsv.tmp."), 4, "no temporary file left");
    /* a planted lock link: the lock is not taken through it, nothing created at its target */
    char elsewhere[300];
    snprintf(elsewhere, sizeof elsewhere, "%s/created-through-the-lock", dir);
    unlink(lock);
    cr_assert_eq(symlink(elsewhere, lock), 0);
    plan_into(path);
    cr_assert_neq(access(elsewhere, F_OK), 0, "no file created through the lock's link");
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(wisdom, a_held_lock_is_waited_for_a_bounded_time, .timeout = 60) {
    char path[128], lock[160];
    temp_wisdom(path, sizeof path, "held");
    plan_into(path);
    snprintf(lock, sizeof lock, "%s.lock", path);
    int fd = open(lock, O_RDWR);
    cr_assert(fd >= 0 && flock(fd, LOCK_EX) == 0, "the test holds the lock");
    setenv("DIAGBENCH_WISDOM_LOCK_WAIT_MS", "300", 1);
    char *before = th_slurp(path);
    plan_into(path); /* returns: the plan is in force, the file is not rewritten */
    char *after = th_slurp(path);
    cr_assert_str_eq(before, after, "not saved while another run holds the lock");
    unsetenv("DIAGBENCH_WISDOM_LOCK_WAIT_MS");
    close(fd);
    th_free(before);
    th_free(after);
    unlink(path);
    unlink(lock);
}

Test(wisdom, devices_fifos_and_huge_files_are_not_read, .timeout = 60) {
    char dir[] = "/tmp/db-wisdom-odd-XXXXXX", fifo[256], huge[256], plain[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(huge, sizeof huge, "%s/huge.tsv", dir);
    snprintf(plain, sizeof plain, "%s/plain.tsv", dir);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    FILE *h = fopen(huge, "w");
    fputs("# diagbench wisdom v1\n", h);
    for (int i = 0; i < 40000; i++) /* 2.4 MB of comments */
        fputs("# padding padding padding padding padding padding padding\n", h);
    fclose(h);
    FILE *pl = fopen(plain, "w");
    fputs("cpu\t1\tfalse\tunset\tgcc\t64\tplain/16\t5.0\tthen\n", pl); /* no header */
    fclose(pl);
    const char *paths[] = {"/dev/zero", fifo, huge, plain};
    for (int i = 0; i < 4; i++) {
        size_t sizes[] = {64};
        struct db_wisdom_plan p;
        struct db_wisdom_opts o = {.path = paths[i], .quiet = 1};
        db_write_path_forget();
        /* returns (no endless read of /dev/zero, no wait for a FIFO's writer), plans afresh */
        cr_assert_eq(db_wisdom_plan_sizes(sizes, 1, &o, &p), DB_OK, "%s", paths[i]);
        cr_assert(!p.from_wisdom, "%s", paths[i]);
        db_write_path_forget();
    }
    struct stat st;
    cr_assert(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO stays a FIFO");
    cr_assert(stat(huge, &st) == 0 && st.st_size > 2000000, "a huge file is not replaced");
    char *text = th_slurp(plain);
    cr_assert_not_null(strstr(text, "plain/16\t5.0"), "a file without the header is not ours");
    th_free(text);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
