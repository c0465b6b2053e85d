/* Hostile conditions (issue 15): outputs that are devices, FIFOs or symlinks; a full disk during a
 * sweep; address-space limits; a signal before the first row; OMP_THREAD_LIMIT; the summary after
 * --resume. Every "what to do next" message a failure prints is followed here and must work, and
 * every failure is checked for what it leaves behind. tests/hostile/run.sh runs the wider pass. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/status.h"
#include "harness/io/csv_read.h"
#include "harness/io/csv_write.h"
#include "tests/helpers.h"

static char dir[128]; /* this test's own directory: the suite's tests run side by side */

/* dir/name, owned by the test's arena. */
static const char *P(const char *name) {
    char *p = th_alloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static char out[1 << 16], err[1 << 16];

/* The small run of the repros. */
#define SMALL                                                                                      \
    "-w", "sin", "-s", "probe", "-j", "fwd", "-n", "100,200", "--reps", "1", "--min-time", "1e-4"

static void fresh_dir(const char *name) {
    mkdir("build", 0755);
    mkdir("build/hostile", 0755);
    snprintf(dir, sizeof dir, "build/hostile/%s", name);
    char cmd[192];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(mkdir(dir, 0755), 0, "%s", strerror(errno));
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Run diagbench with args under a resource limit (resource < 0: none), SIGXFSZ ignored (so a
 * file-size limit gives EFBIG, as a full disk gives ENOSPC), stdout and stderr into files (read
 * back into out / err). A run that has not ended after `timeout` s is killed and fails the test:
 * a hang is a failure, never a stuck suite. Returns the exit code (128 + signal if killed). */
static int run_limited(const char *const *args, int resource, rlim_t limit, double timeout) {
    const char *argv[64];
    th_argv(args, argv, 64);
    const char *so = P("stdout"), *se = P("stderr");
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        if (resource >= 0) {
            struct rlimit r = {limit, limit};
            if (setrlimit(resource, &r) != 0) _exit(126);
        }
        int fo = open(so, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(se, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0) _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int ws;
    double t0 = now();
    for (;;) {
        pid_t w = waitpid(pid, &ws, WNOHANG);
        if (w == pid) break;
        if (now() - t0 > timeout) {
            kill(pid, SIGKILL);
            waitpid(pid, &ws, 0);
            cr_assert_fail("diagbench hung: no exit within %.0f s", timeout);
        }
        usleep(10000);
    }
    char *o = th_slurp(so), *e = th_slurp(se);
    snprintf(out, sizeof out, "%s", o ? o : "");
    snprintf(err, sizeof err, "%s", e ? e : "");
    th_free(o), th_free(e);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static int run(const char *const *args) {
    return run_limited(args, -1, 0, 120);
}

/* The file at path is still what it was: a character device (major, minor), a FIFO, a link. */
static void assert_char_device(const char *path, unsigned maj, unsigned min) {
    struct stat st;
    cr_assert_eq(lstat(path, &st), 0, "%s is gone", path);
    cr_assert(S_ISCHR(st.st_mode) && major(st.st_rdev) == maj && minor(st.st_rdev) == min,
              "%s is no longer the character device %u,%u", path, maj, min);
}

static void assert_symlink_to(const char *path, const char *target) {
    char buf[512];
    ssize_t len = readlink(path, buf, sizeof buf - 1);
    cr_assert(len > 0, "%s is no longer a symlink", path);
    buf[len] = 0;
    cr_assert_str_eq(buf, target, "%s now points elsewhere", path);
}

/* Every data row of a checked diagbench CSV is whole; returns the rows. */
static size_t whole_rows(const char *path) {
    struct db_table *t = th_table();
    char e[512];
    cr_assert_eq(db_table_read(path, t, e, sizeof e), DB_OK, "%s", e);
    cr_assert(!t->torn, "%s ends in a torn row", path);
    cr_assert_eq(db_table_check_diagbench(t, e, sizeof e), DB_OK, "%s: %s", path, e);
    size_t rows = t->nrec - 1;
    th_free(t);
    return rows;
}

/* A partial file as a run leaves it before its first row: the header line alone. */
static void write_header_only(const char *path) {
    char text[8192];
    cr_assert_lt(snprintf(text, sizeof text, "%s\n", db_csv_header), (int)sizeof text);
    th_write_file(path, text);
}

static int lines_with(const char *text, const char *needle) {
    int k = 0;
    for (const char *p = text; (p = strstr(p, needle)); p++)
        k++;
    return k;
}

/* Devices (null, full: needs CAP_MKNOD), a symlink to one, a FIFO with a reader, a symlink to a
 * regular file and one to nothing: no node or link is ever replaced. */
Test(hostile, outputs_that_are_not_regular_files_are_never_replaced) {
    fresh_dir("devices");
    int have_mknod = mknod(P("null"), S_IFCHR | 0666, makedev(1, 3)) == 0 &&
                     mknod(P("full"), S_IFCHR | 0666, makedev(1, 7)) == 0;
    if (have_mknod) {
        const char *a[] = {SMALL, "-q", "-o", P("null"), NULL};
        cr_assert_eq(run(a), 0, "%s", err);
        assert_char_device(P("null"), 1, 3);
        cr_assert(access(P("null.partial"), F_OK) != 0, "no partial file beside a device");
        const char *b[] = {SMALL, "-q", "-o", P("full"), NULL};
        cr_assert_neq(run(b), 0, "writing into a full device must fail");
        cr_assert_not_null(strstr(err, "No space left on device"), "%s", err);
        cr_assert_eq(th_count_lines(err), 1, "one line: %s", err);
        assert_char_device(P("full"), 1, 7);
        cr_assert_eq(symlink("null", P("to_null")), 0);
        const char *c[] = {SMALL, "-q", "-o", P("to_null"), NULL};
        cr_assert_eq(run(c), 0, "%s", err);
        assert_symlink_to(P("to_null"), "null");
        assert_char_device(P("null"), 1, 3);
        /* merge -o and --wisdom follow the same rule. */
        const char *ok[] = {SMALL, "-q", "-o", P("ok.csv"), NULL};
        cr_assert_eq(run(ok), 0, "%s", err);
        const char *m[] = {"merge", P("ok.csv"), "-o", P("null"), NULL};
        cr_assert_eq(run(m), 0, "%s", err);
        assert_char_device(P("null"), 1, 3);
        const char *w[] = {"-w",       "sin",     "-s", "materialise", "-j",   "fwd", "-n",
                           "64",       "--reps",  "1",  "--min-time",  "1e-4", "-q",  "--no-wisdom",
                           "--wisdom", P("null"), "-o", P("null"),     NULL};
        cr_assert_eq(run(w), 0, "%s", err);
        assert_char_device(P("null"), 1, 3);
        cr_assert(access(P("null.lock"), F_OK) != 0, "no lock file beside a device");
    } else {
        cr_log_warn("mknod not permitted here: the device cases are skipped (CI runs as root)");
    }
    /* /dev/stdout of a pipe or file: written through (here stdout is a file). */
    const char *s[] = {SMALL, "-q", "-o", "/dev/stdout", NULL};
    cr_assert_eq(run(s), 0, "%s", err);
    cr_assert_eq(th_count_lines(out), 3, "header and two rows on stdout: %s", out);

    /* A FIFO with a reader gets the CSV; it stays a FIFO. */
    cr_assert_eq(mkfifo(P("fifo"), 0644), 0);
    pid_t reader = fork();
    if (reader == 0) {
        int in = open(P("fifo"), O_RDONLY), o = open(P("fifo.read"), O_WRONLY | O_CREAT, 0644);
        char buf[4096];
        ssize_t got;
        while (in >= 0 && o >= 0 && (got = read(in, buf, sizeof buf)) > 0)
            if (write(o, buf, (size_t)got) != got) _exit(1);
        _exit(0);
    }
    const char *f[] = {SMALL, "-q", "-o", P("fifo"), NULL};
    cr_assert_eq(run(f), 0, "%s", err);
    waitpid(reader, NULL, 0);
    struct stat st;
    cr_assert(lstat(P("fifo"), &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO was replaced");
    cr_assert_eq(whole_rows(P("fifo.read")), 2);

    /* A symlink to a regular file: followed; the link stays, the file gets the CSV. */
    th_write_file(P("real.csv"), "old\n");
    cr_assert_eq(symlink("real.csv", P("link.csv")), 0);
    const char *l[] = {SMALL, "-q", "-o", P("link.csv"), NULL};
    cr_assert_eq(run(l), 0, "%s", err);
    assert_symlink_to(P("link.csv"), "real.csv");
    cr_assert_eq(whole_rows(P("real.csv")), 2);
    cr_assert(access(P("link.csv.partial"), F_OK) != 0 && access(P("real.csv.partial"), F_OK) != 0);

    /* A symlink to nothing: refused, left as it is. */
    cr_assert_eq(symlink("nowhere.csv", P("dangling")), 0);
    const char *g[] = {SMALL, "-q", "-o", P("dangling"), NULL};
    cr_assert_eq(run(g), 2, "%s", err);
    cr_assert_not_null(strstr(err, "a symlink to a missing file"), "%s", err);
    assert_symlink_to(P("dangling"), "nowhere.csv");
    cr_assert(access(P("nowhere.csv"), F_OK) != 0 && access(P("dangling.partial"), F_OK) != 0);
}

/* A full disk in a -t sweep (the parent writes the children's rows): a file-size limit makes
 * the parent's writes fail as ENOSPC would (EFBIG). The failure is reported, no row is torn or
 * lost silently, the child is stopped, and the advice printed (--resume) completes the run. */
Test(hostile, full_disk_in_a_sweep_is_reported_and_resumable) {
    fresh_dir("sweep_full");
    const char *a[] = {"-w",         "sin,split",      "-s", "probe",    "-j",     "fwd,bwd",
                       "-n",         "10,20,30,40,50", "-t", "1,2",      "--reps", "1",
                       "--min-time", "1e-4",           "-o", P("r.csv"), NULL};
    /* Room for the header (about 0.5 KiB) and a few rows (about 0.7 KiB each) of the 40. */
    int rc = run_limited(a, RLIMIT_FSIZE, 6000, 120);
    cr_assert_eq(rc, 1, "exit %d: %s", rc, err);
    char want[512];
    snprintf(want, sizeof want, "cannot write '%s': File too large", P("r.csv.partial"));
    cr_assert_not_null(strstr(err, want), "%s", err);
    cr_assert_not_null(strstr(err, "(the incomplete row was removed)"), "%s", err);
    snprintf(want, sizeof want, "continue with --resume %s", P("r.csv.partial"));
    cr_assert_not_null(strstr(err, want), "%s", err);
    cr_assert_eq(lines_with(err, "the run with"), 0, "a child stopped by us is no failure: %s",
                 err);
    size_t kept = whole_rows(P("r.csv.partial"));
    cr_assert(kept > 0 && kept < 40, "%zu rows kept", kept);
    cr_assert(access(P("r.csv"), F_OK) != 0);
    /* The advice, as printed. */
    const char *b[] = {"--resume", P("r.csv.partial"), "-q", NULL};
    cr_assert_eq(run(b), 0, "%s", err);
    cr_assert_eq(whole_rows(P("r.csv")), 40);
    cr_assert(access(P("r.csv.partial"), F_OK) != 0);
}

/* No room for even one row: the header-only partial file is removed (--resume alone could not
 * take the flags from it) and the advice is to re-run the same command, which works. */
Test(hostile, full_disk_before_the_first_row_leaves_nothing) {
    fresh_dir("full_first");
    const char *a[] = {SMALL, "-o", P("r.csv"), NULL};
    int rc = run_limited(a, RLIMIT_FSIZE, strlen(db_csv_header) + 8, 120); /* the header only */
    cr_assert_eq(rc, 1, "exit %d: %s", rc, err);
    cr_assert_not_null(strstr(err, "File too large"), "%s", err);
    cr_assert_not_null(strstr(err, "re-run the same command"), "%s", err);
    cr_assert(access(P("r.csv.partial"), F_OK) != 0, "a partial file without rows is left");
    cr_assert_eq(run(a), 0, "the same command: %s", err);
    cr_assert_eq(whole_rows(P("r.csv")), 2);
}

/* SIGINT before the first row is finished: nothing is left, and re-running the same command (the
 * advice) works. */
Test(hostile, sigint_before_the_first_row_advice_works) {
    fresh_dir("sigint_first");
    /* One slow cell: seqsin materialise at n = 150, 150 calls of 2 ms per extraction. */
    const char *a[] = {
        "-w", "seqsin",     "-s",   "materialise",    "-j",   "fwd", "-n",       "150", "--reps",
        "1",  "--min-time", "1e-4", "--call-cost-us", "2000", "-o",  P("r.csv"), NULL};
    const char *argv[32];
    th_argv(a, argv, 32);
    pid_t pid = fork();
    if (pid == 0) {
        int fe = open(P("stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fe, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    double t0 = now();
    while (access(P("r.csv.partial"), F_OK) != 0) { /* the header is written: the run is on */
        cr_assert(now() - t0 < 60, "no partial file after 60 s");
        usleep(5000);
    }
    kill(pid, SIGINT);
    int ws;
    waitpid(pid, &ws, 0);
    cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 130, "exit status %d", ws);
    char *e = th_slurp(P("stderr"));
    char want[512];
    snprintf(want, sizeof want, "0 finished rows; %s removed: re-run the same command",
             P("r.csv.partial"));
    cr_assert_not_null(strstr(e, want), "%s", e);
    th_free(e);
    cr_assert(access(P("r.csv.partial"), F_OK) != 0, "the header-only partial file is left");
    cr_assert_eq(run(a), 0, "the same command: %s", err);
    cr_assert_eq(whole_rows(P("r.csv")), 1);
}

/* A header-only partial file given to --resume with the run's flags (the advice of the "exists"
 * message: add --resume to this command) completes the run. */
Test(hostile, exists_advice_works_for_a_header_only_partial) {
    fresh_dir("exists_header");
    write_header_only(P("r.csv.partial"));
    const char *a[] = {SMALL, "-q", "-o", P("r.csv"), NULL};
    cr_assert_eq(run(a), 2, "%s", err);
    char want[512];
    snprintf(want, sizeof want, "continue it by adding --resume %s to this command",
             P("r.csv.partial"));
    cr_assert_not_null(strstr(err, want), "%s", err);
    const char *b[] = {SMALL, "-q", "-o", P("r.csv"), "--resume", P("r.csv.partial"), NULL};
    cr_assert_eq(run(b), 0, "%s", err);
    cr_assert_eq(whole_rows(P("r.csv")), 2);
}

/* A resumed header-only partial file whose first row cannot be written: the file (not ours to
 * remove) is kept, and the advice -- run the same command again -- works. */
Test(hostile, resumed_file_without_rows_advice_works) {
    fresh_dir("resumed_empty");
    write_header_only(P("r.csv.partial"));
    const char *a[] = {SMALL, "-o", P("r.csv"), "--resume", P("r.csv.partial"), NULL};
    int rc = run_limited(a, RLIMIT_FSIZE, strlen(db_csv_header) + 8, 120);
    cr_assert_eq(rc, 1, "exit %d: %s", rc, err);
    char want[512];
    snprintf(want, sizeof want,
             "%s holds no finished row: once the disk has room, run the same "
             "command again",
             P("r.csv.partial"));
    cr_assert_not_null(strstr(err, want), "%s", err);
    cr_assert_eq(whole_rows(P("r.csv.partial")), 0, "the header stays, nothing torn");
    cr_assert_eq(run(a), 0, "the same command: %s", err);
    cr_assert_eq(whole_rows(P("r.csv")), 2);
}

/* --resume of a file saved with CR line endings is refused (its rows would be dropped as one torn
 * line), untouched; the advice -- convert to LF -- works. */
Test(hostile, cr_line_endings_refused_then_converted) {
    fresh_dir("cr");
    const char *a[] = {SMALL, "-q", "-o", P("all.csv"), NULL};
    cr_assert_eq(run(a), 0, "%s", err);
    char *text = th_slurp(P("all.csv"));
    size_t len = strlen(text);
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n') text[i] = '\r';
    th_write_file(P("r.csv.partial"), text);
    const char *b[] = {SMALL, "-q", "--resume", P("r.csv.partial"), NULL};
    cr_assert_eq(run(b), 2, "%s", err);
    cr_assert_not_null(strstr(err, "convert it to LF line endings first"), "%s", err);
    char *after = th_slurp(P("r.csv.partial"));
    cr_assert_str_eq(after, text, "a refused --resume must not touch the file");
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\r') text[i] = '\n';
    th_write_file(P("r.csv.partial"), text);
    cr_assert_eq(run(b), 0, "after converting: %s", err);
    cr_assert_eq(whole_rows(P("r.csv")), 2);
}

/* An interrupted merge's partial file: the advice (remove it) lets the merge run. */
Test(hostile, merge_partial_advice_works) {
    fresh_dir("merge_busy");
    const char *a[] = {SMALL, "-q", "-o", P("ok.csv"), NULL};
    cr_assert_eq(run(a), 0, "%s", err);
    th_write_file(P("m.csv.partial"), "half a merge\n");
    const char *m[] = {"merge", P("ok.csv"), "-o", P("m.csv"), NULL};
    cr_assert_eq(run(m), 2, "%s", err);
    cr_assert_not_null(strstr(err, "remove it"), "%s", err);
    cr_assert_eq(remove(P("m.csv.partial")), 0);
    cr_assert_eq(run(m), 0, "%s", err);
    cr_assert_eq(whole_rows(P("m.csv")), 2);
}

/* After --resume the summary covers every row of the file: series finished before the
 * interruption appear, and slopes use the kept sizes too. */
Test(hostile, summary_after_resume_covers_the_whole_file) {
    fresh_dir("summary_resume");
    const char *a[] = {"-w", "sin",         "-s",         "probe", "-j",         "fwd,bwd",
                       "-n", "100,200,300", "--reps",     "1",     "--min-time", "1e-4",
                       "-q", "-o",          P("all.csv"), NULL};
    cr_assert_eq(run(a), 0, "%s", err);
    /* The partial file: every bwd row, and fwd at n = 100 and 200; fwd n = 300 is left to run. */
    struct db_table *t = th_table();
    char e[512];
    cr_assert_eq(db_table_read(P("all.csv"), t, e, sizeof e), DB_OK, "%s", e);
    int c_jac = db_table_column(t, "jac"), c_n = db_table_column(t, "n");
    FILE *p = fopen(P("r.csv.partial"), "w");
    fprintf(p, "%s\n", db_csv_header);
    for (size_t r = 1; r < t->nrec; r++)
        if (strcmp(t->rec[r].field[c_jac], "bwd") == 0 || strcmp(t->rec[r].field[c_n], "300") != 0)
            fwrite(t->text + t->rec[r].offset, 1, t->rec[r].length, p);
    fclose(p);
    th_free(t);
    const char *b[] = {"--resume", P("r.csv.partial"), NULL};
    cr_assert_eq(run(b), 0, "%s", err);
    cr_assert_not_null(strstr(err, "1 cell to run"), "%s", err);
    const char *sum = strstr(err, "summary:");
    cr_assert_not_null(sum, "no summary: %s", err);
    /* One line per series, both present; each reaches n_max 300 over three sizes, so neither
     * slope is missing ("-" in the slope column would follow the thread count). */
    cr_assert_eq(lines_with(sum, " bwd "), 1, "%s", sum);
    cr_assert_eq(lines_with(sum, " fwd "), 1, "%s", sum);
    cr_assert_eq(lines_with(sum, " 300 "), 2, "both series end at n = 300: %s", sum);
}

/* OMP_THREAD_LIMIT caps the team: the threads column is the team that ran. */
Test(hostile, omp_thread_limit_sets_the_threads_column) {
    fresh_dir("thread_limit");
    setenv("OMP_NUM_THREADS", "2", 1);
    setenv("OMP_THREAD_LIMIT", "1", 1);
    const char *a[] = {SMALL, "-q", NULL};
    int rc = run(a);
    unsetenv("OMP_THREAD_LIMIT");
    unsetenv("OMP_NUM_THREADS");
    cr_assert_eq(rc, 0, "%s", err);
    char *line = strchr(out, '\n') + 1, fields_buf[1 << 14], *f[128];
    line[strcspn(line, "\n")] = 0;
    int nf = th_csv_split(line, fields_buf, f, 128);
    cr_assert(nf > th_csv_column("threads"));
    cr_assert_str_eq(f[th_csv_column("threads")], "1", "threads column of: %s", line);
    cr_assert_not_null(strstr(f[th_csv_column("note")], "OMP_THREAD_LIMIT=1"), "%s", line);
    /* -t above the limit is refused; its advice (leave that count out) works. */
    setenv("OMP_THREAD_LIMIT", "1", 1);
    const char *t[] = {SMALL, "-q", "-t", "1,2", NULL};
    int refused = run(t);
    const char *u[] = {SMALL, "-q", "-t", "1", NULL};
    int left_out = run(u);
    unsetenv("OMP_THREAD_LIMIT");
    cr_assert_eq(refused, 2);
    cr_assert_eq(left_out, 0, "%s", err);
}

/* An address-space limit: too small for OpenBLAS's start-up buffers gives one line and exit 2
 * at once (OpenBLAS would spin forever); a limit a run fits in gives skipped_memory rows for the
 * cells that do not fit, never a hang or an out-of-memory error. ASan reserves terabytes of
 * address space, so a sanitized build cannot run under ulimit -v at all. */
Test(hostile, address_space_limits_never_hang) {
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("ASan cannot run under an address-space limit");
#else
    fresh_dir("ulimit");
    const char *v[] = {"--version", NULL};
    int rc = run_limited(v, RLIMIT_AS, 300ull << 20, 60);
    cr_assert_eq(rc, 2, "exit %d: %s", rc, err);
    cr_assert_eq(th_count_lines(err), 1, "%s", err);
    cr_assert_not_null(strstr(err, "address-space limit (ulimit -v / -d) of 300 MiB"), "%s", err);
    rc = run_limited(v, RLIMIT_DATA, 300ull << 20, 60);
    cr_assert_eq(rc, 2, "RLIMIT_DATA: exit %d: %s", rc, err);
    /* The advice "or use fewer threads": at 350 MiB two threads' buffers do not fit, one's do
     * (56 MiB + 2 x 128 MiB, harness/env/memory.h). */
    setenv("OMP_NUM_THREADS", "2", 1);
    rc = run_limited(v, RLIMIT_AS, 350ull << 20, 60);
    cr_assert_eq(rc, 2, "two threads at 350 MiB: exit %d: %s", rc, err);
    cr_assert_not_null(strstr(err, "use fewer threads"), "%s", err);
    setenv("OMP_NUM_THREADS", "1", 1);
    rc = run_limited(v, RLIMIT_AS, 350ull << 20, 60);
    unsetenv("OMP_NUM_THREADS");
    cr_assert_eq(rc, 0, "one thread at 350 MiB: exit %d: %s", rc, err);
    const char *a[] = {"-w",         "sin,solve:sin",
                       "-p",         "jacobian,matrix",
                       "-s",         "materialise,probe+diagonal,materialise+lu",
                       "-j",         "fwd",
                       "-n",         "100,8000",
                       "--reps",     "1",
                       "--min-time", "1e-4",
                       "-q",         "-t",
                       "1",          NULL};
    /* 700 MiB: room for OpenBLAS's buffers (2 of 128 MiB with one thread) but not for an
     * 8000 x 8000 matrix (488 MiB). */
    rc = run_limited(a, RLIMIT_AS, 700ull << 20, 120);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
    cr_assert_eq(lines_with(out, ",error,"), 0, "%s", out);
    cr_assert_geq(lines_with(out, ",skipped_memory,"), 1, "%s", out);
    cr_assert_geq(lines_with(out, ",ok,"), 3, "%s", out);
    /* A -t count whose children could not start is refused before any child runs. */
    const char *t[] = {SMALL, "-q", "-t", "1,64", NULL};
    rc = run_limited(t, RLIMIT_AS, 700ull << 20, 60);
    cr_assert_eq(rc, 2, "exit %d: %s", rc, err);
    cr_assert_not_null(strstr(err, "with 64 OpenMP threads"), "%s", err);
    cr_assert_eq(out[0], 0, "nothing on stdout: %s", out);
#endif
}
