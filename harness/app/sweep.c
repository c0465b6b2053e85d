/* Sweeps: one child process per configuration of -t x --bind x --places, each a re-execution
 * of this binary with the OpenMP environment set (OpenMP reads it once, at start-up). */
#include "harness/app/sweep.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/status.h"
#include "harness/app/signals.h"
#include "harness/env/omp_env.h"

/* One configuration of a sweep: NULL / 0 fields inherit the environment in force. */
struct sweep_config {
    int threads;
    const char *bind, *places;
};

static void config_label(const struct sweep_config *c, char *buf, size_t len) {
    int used = 0;
    buf[0] = 0;
    if (c->threads) used = snprintf(buf, len, "%d threads", c->threads);
    if (c->bind && used >= 0 && (size_t)used < len)
        used += snprintf(buf + used, len - (size_t)used, "%sOMP_PROC_BIND=%s", used ? ", " : "",
                         c->bind);
    if (c->places && used >= 0 && (size_t)used < len)
        snprintf(buf + used, len - (size_t)used, "%sOMP_PLACES=%s", used ? ", " : "", c->places);
}

/* Run one configuration in a child process (a re-execution of this binary with the environment
 * set: OpenMP reads it once, at start-up), appending the child's rows to out. SIGINT / SIGTERM
 * are forwarded to the child, whose finished rows are still collected; only whole lines are
 * rows, so a child killed mid-write leaves no torn row behind. */
static int run_child(char **args, const struct db_plan_config *c, struct db_csv_file *out,
                     struct db_summary *sum, int *error_rows) {
    char label[256];
    config_label(&(struct sweep_config){c->threads, c->env_bind[0] ? c->env_bind : NULL,
                                        c->places[0] ? c->places : NULL},
                 label, sizeof label);
    int fds[2];
    if (pipe(fds) != 0) {
        perror("diagbench: pipe");
        return 1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("diagbench: fork");
        close(fds[0]);
        close(fds[1]);
        return 1;
    }
    if (pid == 0) {
        db_signals_reset();
        char t[16];
        if (c->threads) {
            snprintf(t, sizeof t, "%d", c->threads);
            setenv("OMP_NUM_THREADS", t, 1);
            setenv("OPENBLAS_NUM_THREADS", t, 1);
        }
        if (c->env_bind[0]) setenv("OMP_PROC_BIND", c->env_bind, 1);
        if (c->places[0]) setenv("OMP_PLACES", c->places, 1);
        db_affinity_restore_initial(); /* not our binding to OpenMP place 0 */
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv("/proc/self/exe", args);
        perror("diagbench: exec");
        _exit(127);
    }
    db_signals_forward_to(pid);
    close(fds[1]);
    int status = 0;
    FILE *in = fdopen(fds[0], "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    while (in && (got = getline(&line, &cap, in)) > 0) {
        if (line[got - 1] != '\n') continue;
        db_signals_row_begin();
        int rc = db_csv_append_line(out, line);
        db_signals_row_end(rc == DB_OK);
        if (rc != DB_OK) { /* a full disk: the child's further rows would be lost; stop it */
            char why[1400];
            fprintf(stderr, "diagbench: %s\n", db_csv_error(out, why, sizeof why));
            kill(pid, SIGTERM);
            status = 1;
            break;
        }
        if (sum) db_summary_add_csv(sum, line);
    }
    free(line);
    if (in)
        fclose(in);
    else
        close(fds[0]);
    int ws;
    pid_t w;
    while ((w = waitpid(pid, &ws, 0)) < 0 && errno == EINTR)
        ;
    db_signals_forward_to(0);
    if (db_signals_caught() || status != 0) return status;
    if (w >= 0 && WIFEXITED(ws) && WEXITSTATUS(ws) == DB_EXIT_ERROR_ROWS) {
        *error_rows = 1; /* completed, with error rows (--fail-on-error) */
        return status;
    }
    if (w < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
        fprintf(stderr, "diagbench: the run with %s failed\n", label);
        status = 1;
    }
    return status;
}

/* Re-execute ourselves once per configuration of the cross product -t x --bind x --places
 * (plan->configs), collecting the children's rows into out. sel marks the plan items to run;
 * each child gets its cells as --_cells (configurations with none are skipped), and --_nocal
 * when calibrated[config] (a resumed file holds its calibration rows). */
int db_sweep(int argc, char **argv, const char *run_id, const struct db_plan *plan,
             const unsigned char *sel, const unsigned char *calibrated, struct db_csv_file *out,
             struct db_summary *sum, struct db_sweep_report *rep) {
    char **args = calloc((size_t)argc + 10, sizeof *args);
    if (!args) return 1;
    for (int i = 0; i < argc; i++)
        args[i] = argv[i];
    args[argc] = "--_child";
    args[argc + 1] = (char *)run_id;
    args[argc + 2] = "--_position";
    args[argc + 4] = "--_cells";
    /* One numbering and one ETA over the whole sweep: what every child runs, and its cost. */
    struct db_progress_position pos = {.start_ns = rep->start_ns};
    for (size_t i = 0; i < plan->nitems; i++)
        if (sel[i]) pos.total++, pos.cost_total += plan->items[i].cost;
    char position[160], fd[16];
    int extra = argc + 6;
    if (rep->json_fd) {
        snprintf(fd, sizeof fd, "%d", rep->json_fd);
        args[extra++] = "--_json-fd";
        args[extra++] = fd;
    }
    int status = 0;
    db_signals_forward_to(0);
    for (size_t k = 0; k < plan->nconfigs && status == 0 && !db_signals_caught(); k++) {
        const unsigned char *cell_sel = sel + k * plan->ncells;
        if (plan->ncells && !memchr(cell_sel, 1, plan->ncells)) continue; /* nothing left */
        char *cells_arg = NULL;
        if (db_plan_format_indices(cell_sel, plan->ncells, &cells_arg) != DB_OK) {
            status = 1;
            break;
        }
        pos.config = k;
        snprintf(position, sizeof position, "%zu,%zu,%zu,%llu,%llu,%llu", pos.config, pos.done,
                 pos.total, pos.start_ns, pos.cost_done, pos.cost_total);
        args[argc + 3] = position;
        args[argc + 5] = cells_arg;
        args[extra] = calibrated[k] ? "--_nocal" : NULL;
        status = run_child(args, &plan->configs[k], out, sum, &rep->error_rows);
        free(cells_arg);
        for (size_t c = 0; c < plan->ncells; c++)
            if (cell_sel[c]) pos.done++, pos.cost_done += plan->items[k * plan->ncells + c].cost;
    }
    free(args);
    if (status == 0 && db_signals_caught()) status = db_signals_report(db_signals_caught());
    return status;
}
