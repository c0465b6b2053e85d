/* Interrupted runs lose nothing: SIGINT, SIGTERM and SIGKILL mid-run leave every finished row
 * intact and parseable in OUT.partial, and --resume completes the run to exactly the matrix's
 * cells, keeping the finished rows byte for byte. The cells are slow on purpose (seqsin with a
 * per-call cost) and the test polls the partial file for rows instead of sleeping fixed times. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/io/csv_write.h"
#include "harness/io/csv_read.h"
#include "core/status.h"
#include "tests/helpers.h"

extern char **environ;

static const char *binary(void) {
    const char *b = getenv("DIAGBENCH");
    return b && *b ? b : "build/diagbench";
}

/* Start diagbench with args (NULL-terminated), stdout and stderr to files. */
static pid_t start(const char *const *args, const char *out_path, const char *err_path) {
    const char *argv[64];
    int n = 0;
    argv[n++] = binary();
    for (int i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(rc, 0, "spawn %s: %s", argv[0], strerror(rc));
    return pid;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Exit code, or 128 + signal when killed by one. A run that has not ended after 120 s is killed
 * and fails the test (Criterion's .timeout leaks in its runner, see tests/sanitizers). */
static int finish(pid_t pid) {
    int ws;
    double t0 = now();
    for (;;) {
        pid_t w = waitpid(pid, &ws, WNOHANG);
        if (w == pid) break;
        cr_assert(w == 0 || errno == EINTR, "waitpid: %s", strerror(errno));
        if (now() - t0 > 120) {
            kill(pid, SIGKILL);
            waitpid(pid, &ws, 0);
            cr_assert_fail("diagbench did not end within 120 s");
        }
        usleep(10000);
    }
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Wait until path holds at least rows complete rows (after the header). */
static void wait_rows(const char *path, int rows, pid_t pid) {
    double t0 = now();
    for (;;) {
        char *text = th_slurp(path);
        int lines = th_count_lines(text);
        th_free(text);
        if (lines >= rows + 1) return;
        int ws;
        cr_assert_eq(waitpid(pid, &ws, WNOHANG), 0, "diagbench ended before %d rows", rows);
        cr_assert(now() - t0 < 120, "no %d rows in %s after 120 s", rows, path);
        usleep(20000);
    }
}

/* 8 slow cells: about 0.1 s each (seqsin materialise, 20..23 calls of 2 ms, twice). */
#define SLOW_ARGS                                                                                  \
    "-w", "seqsin", "-s", "materialise", "-j", "fwd,bwd", "-n", "20,21,22,23", "--reps", "1",      \
        "--min-time", "1e-4", "--call-cost-us", "2000"
#define SLOW_CELLS 8

static void remove_all(const char *base) {
    char p[256];
    remove(base);
    snprintf(p, sizeof p, "%s.partial", base);
    remove(p);
    snprintf(p, sizeof p, "%s.stdout", base);
    remove(p);
    snprintf(p, sizeof p, "%s.stderr", base);
    remove(p);
}

/* Every record is whole: the header is ours and each row has all columns. Returns the rows. */
static size_t check_table(const char *path, int allow_torn, struct db_table *t) {
    char err[512];
    cr_assert_eq(db_table_read(path, t, err, sizeof err), DB_OK, "%s", err);
    cr_assert(allow_torn || !t->torn, "%s ends in a torn row", path);
    cr_assert_eq(db_table_check_diagbench(t, err, sizeof err), DB_OK, "%s: %s", path, err);
    int c_status = db_table_column(t, "status");
    for (size_t i = 1; i < t->nrec; i++)
        cr_assert_str_eq(t->rec[i].field[c_status], "ok", "%s line %zu", path, t->rec[i].line);
    return t->nrec - 1;
}

/* Keys workload/strategy/jac/n/threads/proc_bind of every row are distinct and there are
 * `cells` of them. */
static void check_cells(const struct db_table *t, size_t cells) {
    cr_assert_eq(t->nrec - 1, cells, "%zu rows, expected %zu", t->nrec - 1, cells);
    int c[6] = {db_table_column(t, "workload"), db_table_column(t, "jac"),
                db_table_column(t, "n"),        db_table_column(t, "threads"),
                db_table_column(t, "strategy"), db_table_column(t, "proc_bind")};
    for (size_t i = 1; i < t->nrec; i++)
        for (size_t j = 1; j < i; j++) {
            int same = 1;
            for (int k = 0; k < 6; k++)
                same &= strcmp(t->rec[i].field[c[k]], t->rec[j].field[c[k]]) == 0;
            cr_assert(!same, "lines %zu and %zu are the same cell", t->rec[j].line, t->rec[i].line);
        }
}

/* Interrupt a run after `after` rows with sig, check what is left, resume (with the same flags,
 * or bare: `--resume F.partial` alone takes them from the file), check the result. */
static void interrupt_and_resume(int sig, const char *base, const char *const *extra, size_t cells,
                                 int after, int bare) {
    char partial[256], so[256], se[256];
    snprintf(partial, sizeof partial, "%s.partial", base);
    snprintf(so, sizeof so, "%s.stdout", base);
    snprintf(se, sizeof se, "%s.stderr", base);
    remove_all(base);

    const char *args[48];
    int n = 0;
    for (int i = 0; extra[i]; i++)
        args[n++] = extra[i];
    args[n++] = "--out";
    args[n++] = base;
    args[n] = NULL;
    pid_t pid = start(args, so, se);
    wait_rows(partial, after, pid);
    kill(pid, sig);
    int rc = finish(pid);
    cr_assert_eq(rc, 128 + sig, "exit %d after signal %d", rc, sig);
    cr_assert(access(base, F_OK) != 0, "an interrupted run must not produce %s", base);

    struct db_table *t = th_table();
    size_t kept = check_table(partial, sig == SIGKILL, t);
    cr_assert(kept >= (size_t)after && kept < cells, "%zu rows kept", kept);
    char *before = th_own(strndup(t->text, t->complete_len), free);
    th_free(t);
    if (sig != SIGKILL) {
        char *msg = th_slurp(se);
        char want[600];
        snprintf(want, sizeof want, "interrupted by %s: %zu finished rows kept in %s",
                 sig == SIGINT ? "SIGINT" : "SIGTERM", kept, partial);
        cr_assert_not_null(strstr(msg, want), "'%s' not in: %s", want, msg);
        th_free(msg);
    }

    /* Resume: only the missing cells run, the kept rows stay as they were. */
    if (bare) n = 0;
    args[n++] = "--resume";
    args[n++] = partial;
    args[n++] = "-q";
    args[n] = NULL;
    pid = start(args, so, se);
    rc = finish(pid);
    char *msg = th_slurp(se);
    cr_assert_eq(rc, 0, "resume failed: %s", msg);
    th_free(msg);
    cr_assert(access(partial, F_OK) != 0, "the partial file is renamed on success");
    t = th_table();
    check_table(base, 0, t);
    check_cells(t, cells);
    cr_assert(strncmp(t->text, before, strlen(before)) == 0, "the finished rows changed");
    /* One run: the resumed rows keep the interrupted run's run_id. */
    int c_run = db_table_column(t, "run_id");
    for (size_t i = 2; i < t->nrec; i++)
        cr_assert_str_eq(t->rec[i].field[c_run], t->rec[1].field[c_run]);
    th_free(t), th_free(before);
    remove_all(base);
}

static const char *const slow[] = {SLOW_ARGS, NULL};

Test(interrupt, sigint_keeps_rows_and_resume_completes) {
    interrupt_and_resume(SIGINT, "int_sigint.csv", slow, SLOW_CELLS, 2, 0);
}

Test(interrupt, sigterm_keeps_rows_and_resume_completes) {
    interrupt_and_resume(SIGTERM, "int_sigterm.csv", slow, SLOW_CELLS, 3, 1);
}

Test(interrupt, sigkill_keeps_rows_and_resume_completes) {
    interrupt_and_resume(SIGKILL, "int_sigkill.csv", slow, SLOW_CELLS, 2, 0);
}

/* -t sweep: the parent forwards the signal to the child and keeps the rows the child wrote. */
Test(interrupt, sweep_parent_forwards_and_keeps_child_rows) {
    static const char *const sweep[] = {
        "-w",     "seqsin", "-s",         "materialise", "-j",
        "fwd",    "-n",     "20,21,22",   "-t",          "1,2",
        "--reps", "1",      "--min-time", "1e-4",        "--call-cost-us",
        "2000",   NULL};
    interrupt_and_resume(SIGTERM, "int_sweep.csv", sweep, 6, 4, 1);
}

/* Downstream and structured cells, swept over --bind: the configuration is part of a cell's
 * identity, so resume runs exactly the missing (cell, configuration) pairs. */
Test(interrupt, downstream_structured_bind_sweep_resumes) {
    static const char *const mixed[] = {"-w",
                                        "seqsin,tridiag,solve:seqsin",
                                        "-s",
                                        "materialise,probe-tridiag,materialise+lu",
                                        "-j",
                                        "fwd",
                                        "-n",
                                        "20,21",
                                        "--reps",
                                        "1",
                                        "--min-time",
                                        "1e-4",
                                        "--call-cost-us",
                                        "2000",
                                        "--bind",
                                        "close,spread",
                                        NULL};
    interrupt_and_resume(SIGINT, "int_mixed.csv", mixed, 20, 5, 1);
}

/* A row torn by SIGKILL mid-write is dropped by --resume and re-run. */
Test(interrupt, resume_drops_a_torn_last_row) {
    const char *base = "int_torn.csv", *partial = "int_torn.csv.partial";
    remove_all(base);
    const char *quick[] = {"-w",     "sin", "-s",         "probe", "-j", "fwd",   "-n", "10,20,30",
                           "--reps", "1",   "--min-time", "1e-4",  "-q", "--out", base, NULL};
    char out[4096], err[4096];
    cr_assert_eq(th_run(quick, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    /* Make it look like a run killed while writing its third row. */
    char *text = th_slurp(base);
    char *third = text;
    for (int i = 0; i < 3; i++)
        third = strchr(third, '\n') + 1;
    size_t cut = (size_t)(third - text) + 25;
    FILE *f = fopen(partial, "w");
    fwrite(text, 1, cut, f);
    fclose(f);
    remove(base);
    const char *resume[] = {"-w",         "sin",  "-s",       "probe",  "-j",
                            "fwd",        "-n",   "10,20,30", "--reps", "1",
                            "--min-time", "1e-4", "--resume", partial,  NULL};
    cr_assert_eq(th_run(resume, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert_not_null(
        strstr(err, "2 rows kept (an incomplete last row was dropped), 1 cell to run"), "%s", err);
    struct db_table *t = th_table();
    check_table(base, 0, t);
    cr_assert_eq(t->nrec, 4);
    cr_assert(strncmp(t->text, text, (size_t)(third - text)) == 0);
    th_free(t), th_free(text);
    remove_all(base);
}

/* A partial file of another matrix or other parameters is refused; nothing is touched. */
Test(interrupt, resume_refuses_another_matrix) {
    const char *base = "int_other.csv", *partial = "int_other.csv.partial";
    remove_all(base);
    const char *first[] = {"-w",     "sin", "-s",         "probe", "-j", "fwd",   "-n", "10,20",
                           "--reps", "1",   "--min-time", "1e-4",  "-q", "--out", base, NULL};
    char out[4096], err[4096];
    cr_assert_eq(th_run(first, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    rename(base, partial);
    char *before = th_slurp(partial);
    const char *other_n[] = {"-w",         "sin",  "-s",       "probe",  "-j",
                             "fwd",        "-n",   "10,30",    "--reps", "1",
                             "--min-time", "1e-4", "--resume", partial,  NULL};
    cr_assert_eq(th_run(other_n, NULL, out, sizeof out, err, sizeof err), 2, "%s", err);
    cr_assert_not_null(strstr(err, "is from another matrix"), "%s", err);
    cr_assert_eq(th_count_lines(err), 1, "%s", err);
    const char *other_reps[] = {"-w",         "sin",  "-s",       "probe",  "-j",
                                "fwd",        "-n",   "10,20",    "--reps", "2",
                                "--min-time", "1e-4", "--resume", partial,  NULL};
    cr_assert_eq(th_run(other_reps, NULL, out, sizeof out, err, sizeof err), 2, "%s", err);
    cr_assert_not_null(strstr(err, "--reps 2"), "%s", err);
    const char *other_env[] = {"OMP_PLACES=cores", NULL};
    const char *same[] = {"-w",         "sin",  "-s",       "probe",  "-j",
                          "fwd",        "-n",   "10,20",    "--reps", "1",
                          "--min-time", "1e-4", "--resume", partial,  NULL};
    cr_assert_eq(th_run(same, other_env, out, sizeof out, err, sizeof err), 2, "%s", err);
    cr_assert_not_null(strstr(err, "another OpenMP environment"), "%s", err);
    const char *sharded[] = {"-w",      "sin",   "-s",       "probe", "-j",         "fwd",
                             "-n",      "10,20", "--reps",   "1",     "--min-time", "1e-4",
                             "--shard", "1/2",   "--resume", partial, NULL};
    cr_assert_eq(th_run(sharded, NULL, out, sizeof out, err, sizeof err), 2, "%s", err);
    cr_assert_not_null(strstr(err, "holds shard 1/1"), "%s", err);
    char *after = th_slurp(partial);
    cr_assert_str_eq(after, before, "a refused --resume must not touch the file");
    /* Same flags: nothing is missing, so it only finishes the file. */
    cr_assert_eq(th_run(same, NULL, out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_assert_not_null(strstr(err, "0 cells to run"), "%s", err);
    char *done = th_slurp(base);
    cr_assert_str_eq(done, before);
    th_free(before), th_free(after), th_free(done);
    remove_all(base);
}

/* An unfinished run's partial file is never overwritten by a new run. */
Test(interrupt, new_run_never_overwrites_a_partial_file) {
    const char *base = "int_keep.csv", *partial = "int_keep.csv.partial";
    remove_all(base);
    th_write_file(partial, "precious\n");
    const char *a[] = {"-w", "sin", "-s", "probe", "-n", "10", "--out", base, NULL};
    char out[4096], err[4096];
    cr_assert_eq(th_run(a, NULL, out, sizeof out, err, sizeof err), 2, "%s", err);
    cr_assert_not_null(
        strstr(err, "continue it by adding --resume int_keep.csv.partial to this command"), "%s",
        err);
    char *text = th_slurp(partial);
    cr_assert_str_eq(text, "precious\n");
    th_free(text);
    remove_all(base);
}
