/* diagbench: how fast can we get the diagonal of an operator, and what does it cost as n grows?
 * The only place that prints usage, exits, or spawns children. */
#include <errno.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "budget.h"
#include "cli.h"
#include "csv.h"
#include "gbench.h"
#include "provenance.h"

#define EXIT_USAGE 2

static const char usage[] =
    "usage: diagbench --list\n"
    "       diagbench --matrix quick|pr|full [options]\n"
    "       diagbench -n SIZES [-w WORKLOADS] [-s STRATEGIES] [-p OPERATORS] [-j fwd,bwd] "
    "[options]\n"
    "\n"
    "Measures diagonal extraction of linear operators: every cell is checked against an exact\n"
    "reference diagonal (max_abs_err) and its primitive calls counted, then timed with Google\n"
    "Benchmark (wall-clock, repetitions). One CSV row per cell; see README.md for the columns.\n"
    "\n"
    "Selection (comma-separated lists; defaults: all workloads, all strategies, jacobian,\n"
    "fwd,bwd; -n is required without --matrix):\n"
    "  -w, --workloads LIST   workloads (see --list)\n"
    "  -s, --strategies LIST  strategies (see --list)\n"
    "  -p, --operators LIST   operator kinds: jacobian, function, matrix, diagonal\n"
    "  -j, --jac LIST         fwd and/or bwd (jacobian operators only)\n"
    "  -n, --sizes LIST       sizes n, whole numbers from 1 to 100000000\n"
    "      --matrix NAME      a preset matrix instead of the lists above (see --list)\n"
    "\n"
    "Timing and threads:\n"
    "  -t, --threads LIST     re-run every cell in a child process per thread count, with\n"
    "                         OMP_NUM_THREADS (and OPENBLAS_NUM_THREADS) set; without -t the\n"
    "                         OMP_* environment in force is used as is\n"
    "      --reps K           repetitions per cell, 1..1000 (default 5)\n"
    "      --min-time S       minimum seconds per repetition (default 0.01)\n"
    "      --call-cost-us US  per-call cost of workloads that have one (seqsin; default 10)\n"
    "      --mem-limit SIZE   memory budget per cell, e.g. 2G (default: 85% of the least of\n"
    "                         MemAvailable, the cgroup limit and the NUMA node memory)\n"
    "      --untagged         create operators without structural tags (probe then falls back\n"
    "                         to materialise)\n"
    "      --band L,U         lower and upper bandwidth of the banded workload, 0..256 each\n"
    "                         (default 2,3)\n"
    "      --on-mismatch WHAT what probe-checked does when its check finds the diagonal tag\n"
    "                         wrong: error (default; the row is status=error, tag mismatch)\n"
    "                         or fallback (warn on stderr and materialise)\n"
    "      --benchmark_*      passed to Google Benchmark\n"
    "\n"
    "Output:\n"
    "  -o, --out FILE         write the CSV to FILE (via FILE.partial, renamed when the run\n"
    "                         completes; rows are flushed as cells finish); default stdout\n"
    "  -q, --quiet            no progress lines on stderr\n"
    "      --list             list workloads, operators, strategies and matrices\n"
    "      --version          print the version and build\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 success, 1 a run failed (finished rows kept in FILE.partial), 2 bad usage.\n";

static void list_all(void) {
    printf("workloads:\n");
    for (size_t i = 0; i < db_workload_count; i++) {
        const struct db_workload *w = db_workloads[i];
        printf("  %-10s %s [batching: %s; structure: %s]\n", w->name, w->description,
               db_batch_name(w->batch), db_structure_name(w->structure));
    }
    printf("operators:\n");
    for (size_t i = 0; i < db_operator_kind_count; i++)
        printf("  %-10s %s\n", db_operator_kinds[i], db_operator_kind_descriptions[i]);
    printf("strategies:\n");
    for (size_t i = 0; i < db_strategy_count; i++)
        printf("  %-12s %s\n", db_strategies[i]->name, db_strategies[i]->describe);
    printf("matrices:\n");
    for (size_t i = 0; i < db_preset_count; i++)
        printf("  %-10s %s\n", db_presets[i].name, db_presets[i].describe);
}

static void format_time(double s, char *buf, size_t len) {
    if (s < 1e-6)
        snprintf(buf, len, "%.1f ns", s * 1e9);
    else if (s < 1e-3)
        snprintf(buf, len, "%.2f us", s * 1e6);
    else if (s < 1)
        snprintf(buf, len, "%.2f ms", s * 1e3);
    else
        snprintf(buf, len, "%.3f s", s);
}

static void progress(size_t i, size_t count, const struct db_cell *c,
                     const struct db_cell_result *r, int threads) {
    fprintf(stderr, "[%*zu/%zu] t=%d %s %s %s %s n=%zu: ", count >= 100 ? 3 : 2, i + 1, count,
            threads, c->wl->name, c->op_kind, db_jac_name(c->jac), c->strategy->name, c->n);
    if (strcmp(r->status, "ok") == 0) {
        char t[32];
        format_time(r->t.median, t, sizeof t);
        fprintf(stderr, "%s (cv %.1f%%) calls=%llu colours=%lld err=%.1e\n", t, 100 * r->t.cv,
                r->primitive_calls, r->colours, r->max_abs_err);
    } else {
        fprintf(stderr, "%s: %s\n", r->status, r->note);
    }
}

static void fill_row(struct db_row *row, const char *run_id, const struct db_provenance *p,
                     const struct db_cell *c, const struct db_cell_result *r, char *ts,
                     size_t tslen) {
    db_timestamp(ts, tslen);
    *row = (struct db_row){
        .run_id = run_id,
        .timestamp = ts,
        .workload = c->wl->name,
        .operator_kind = c->op_kind,
        .jac = db_jac_name(c->jac),
        .strategy = c->strategy->name,
        .n = c->n,
        .threads = p->threads,
        .proc_bind = p->proc_bind,
        .places = p->places,
        .status = r->status,
        .reps = r->reps,
        .iterations = r->iterations,
        .time_median_s = r->t.median,
        .time_mean_s = r->t.mean,
        .time_min_s = r->t.min,
        .time_max_s = r->t.max,
        .time_stddev_s = r->t.stddev,
        .time_cv = r->t.cv,
        .ns_per_element = r->ns_per_element,
        .primitive_calls = r->primitive_calls,
        .max_abs_err = r->max_abs_err,
        .host = p->host,
        .cpu_model = p->cpu_model,
        .compiler = p->compiler,
        .git_rev = p->git_rev,
        .call_cost_s = r->call_cost_s,
        .note = r->note,
        .colours = r->colours,
        .colours_lower_bound = r->colours_lower_bound,
    };
}

/* Run every cell in this process, appending rows to out. */
static int run_cells(const struct db_cli *cli, const char *run_id, const struct db_cell *cells,
                     size_t count, struct db_csv_file *out) {
    struct db_provenance prov;
    db_provenance_collect(&prov);
    struct db_memory_limits lim;
    db_memory_limits_read(&lim, cli->run.mem_budget);
    struct db_run_opts opts = cli->run;
    opts.mem_budget = lim.budget;
    opts.warn = !cli->quiet;
    for (size_t i = 0; i < count; i++) {
        struct db_cell_result r;
        db_cell_run(&cells[i], &opts, &r);
        if (!cli->quiet) progress(i, count, &cells[i], &r, prov.threads);
        struct db_row row;
        char ts[32];
        fill_row(&row, run_id, &prov, &cells[i], &r, ts, sizeof ts);
        if (db_csv_append(out, &row) != DB_OK) {
            fprintf(stderr, "diagbench: writing a row failed: %s\n", strerror(errno));
            return 1;
        }
    }
    return 0;
}

/* Re-execute ourselves once per thread count with OMP_NUM_THREADS set (OpenMP reads its
 * environment once, at start-up), collecting the children's rows into out. */
static int sweep_threads(int argc, char **argv, const struct db_cli *cli, const char *run_id,
                         struct db_csv_file *out) {
    char **args = calloc((size_t)argc + 3, sizeof *args);
    if (!args) return 1;
    for (int i = 0; i < argc; i++)
        args[i] = argv[i];
    args[argc] = "--_child";
    args[argc + 1] = (char *)run_id;
    int status = 0;
    for (size_t k = 0; k < cli->nthreads && status == 0; k++) {
        int fds[2];
        if (pipe(fds) != 0) {
            perror("diagbench: pipe");
            status = 1;
            break;
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            perror("diagbench: fork");
            close(fds[0]);
            close(fds[1]);
            status = 1;
            break;
        }
        if (pid == 0) {
            char t[16];
            snprintf(t, sizeof t, "%d", cli->threads[k]);
            setenv("OMP_NUM_THREADS", t, 1);
            setenv("OPENBLAS_NUM_THREADS", t, 1);
            dup2(fds[1], STDOUT_FILENO);
            close(fds[0]);
            close(fds[1]);
            execv("/proc/self/exe", args);
            perror("diagbench: exec");
            _exit(127);
        }
        close(fds[1]);
        FILE *in = fdopen(fds[0], "r");
        char *line = NULL;
        size_t cap = 0;
        while (in && getline(&line, &cap, in) > 0)
            if (db_csv_append_line(out, line) != DB_OK) status = 1;
        free(line);
        if (in) fclose(in);
        int ws;
        if (waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
            fprintf(stderr, "diagbench: the run with %d threads failed\n", cli->threads[k]);
            status = 1;
        }
    }
    free(args);
    return status;
}

int main(int argc, char **argv) {
    struct db_cli cli;
    char err[512];
    if (db_cli_parse(argc, argv, &cli, err, sizeof err) != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        return EXIT_USAGE;
    }
    if (cli.help) {
        fputs(usage, stdout);
        return 0;
    }
    if (cli.version) {
        struct db_provenance p;
        db_provenance_collect(&p);
        printf("diagbench %s (%s)\n", p.git_rev, p.compiler);
        return 0;
    }
    if (cli.list) {
        list_all();
        return 0;
    }
    if (db_gbench_init(cli.gb_argc, cli.gb_argv, err, sizeof err) != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        return EXIT_USAGE;
    }

    struct db_cell *cells = NULL;
    size_t count = 0;
    int rc = cli.matrix
                 ? db_preset_cells(db_preset_find(cli.matrix), &cells, &count, err, sizeof err)
                 : db_selection_cells(&cli.sel, &cells, &count);
    if (rc != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", rc == DB_E_INVALID ? err : db_strerror(rc));
        free(cells);
        return rc == DB_E_INVALID ? EXIT_USAGE : 1;
    }

    char run_id[64];
    if (cli.child)
        snprintf(run_id, sizeof run_id, "%s", cli.child);
    else
        db_make_run_id(run_id, sizeof run_id);

    struct db_csv_file out;
    const char *path = cli.child || !cli.out ? "-" : cli.out;
    if (db_csv_open(&out, path, !cli.child, err, sizeof err) != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        free(cells);
        return EXIT_USAGE;
    }

    int status = cli.nthreads && !cli.child ? sweep_threads(argc, argv, &cli, run_id, &out)
                                            : run_cells(&cli, run_id, cells, count, &out);
    free(cells);
    if (status != 0) {
        if (out.partial) fprintf(stderr, "diagbench: finished rows are kept in %s\n", out.partial);
        db_csv_abandon(&out);
        return status;
    }
    if (db_csv_commit(&out, err, sizeof err) != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        return 1;
    }
    if (cli.out && !cli.child && !cli.quiet) fprintf(stderr, "diagbench: wrote %s\n", cli.out);
    return 0;
}
