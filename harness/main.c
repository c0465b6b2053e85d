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
#include "merge.h"
#include "plan.h"
#include "provenance.h"
#include "resume.h"
#include "signals.h"

#define EXIT_USAGE 2

static const char usage[] =
    "usage: diagbench --list\n"
    "       diagbench --matrix quick|pr|full [options]\n"
    "       diagbench -n SIZES [-w WORKLOADS] [-s STRATEGIES] [-p OPERATORS] [-j fwd,bwd] "
    "[options]\n"
    "       diagbench merge FILE... -o OUT\n"
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
    "      --benchmark_*      passed to Google Benchmark\n"
    "\n"
    "Interrupted runs and clusters:\n"
    "      --resume F.partial run only the cells missing from F.partial (left by an interrupted\n"
    "                         run), append them and finish F; alone, it takes that run's\n"
    "                         flags from F.partial, else give the same flags again\n"
    "      --shard K/N        run the K-th of N slices of the matrix, balanced by expected cost;\n"
    "                         join the slices with: diagbench merge A.csv B.csv ... -o ALL.csv\n"
    "\n"
    "Output:\n"
    "  -o, --out FILE         write the CSV to FILE (via FILE.partial, renamed when the run\n"
    "                         completes; rows are flushed as cells finish); default stdout\n"
    "  -q, --quiet            no progress lines on stderr\n"
    "      --list             list workloads, operators, strategies and matrices\n"
    "      --version          print the version and build\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 success, 1 a run failed (finished rows kept in FILE.partial), 2 bad usage,\n"
    "130 / 143 interrupted by SIGINT / SIGTERM (finished rows kept in FILE.partial).\n";

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
        fprintf(stderr, "%s (cv %.1f%%) calls=%llu err=%.1e\n", t, 100 * r->t.cv,
                r->primitive_calls, r->max_abs_err);
    } else {
        fprintf(stderr, "%s: %s\n", r->status, r->note);
    }
}

static void fill_row(struct db_row *row, const char *run_id, const struct db_provenance *p,
                     const struct db_cell *c, const struct db_cell_result *r, char *ts,
                     size_t tslen, const struct db_plan *plan, const char *shard) {
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
        .shard = shard,
        .matrix = plan->matrix,
        .matrix_id = plan->matrix_id,
    };
}

/* Run the cells with sel[i] set in this process, appending rows to out. A signal abandons the
 * cell in progress (signals.h); rows are written whole. */
static int run_cells(const struct db_cli *cli, const char *run_id, const struct db_plan *plan,
                     const unsigned char *sel, struct db_csv_file *out) {
    const struct db_cell *cells = plan->cells;
    size_t count = 0, done = 0;
    for (size_t i = 0; i < plan->ncells; i++)
        count += sel[i];
    char shard[32];
    snprintf(shard, sizeof shard, "%u/%u", plan->shard_k, plan->shard_n);
    struct db_provenance prov;
    db_provenance_collect(&prov);
    struct db_memory_limits lim;
    db_memory_limits_read(&lim, cli->run.mem_budget);
    struct db_run_opts opts = cli->run;
    opts.mem_budget = lim.budget;
    for (size_t i = 0; i < plan->ncells; i++) {
        if (!sel[i]) continue;
        struct db_cell_result r;
        db_cell_run(&cells[i], &opts, &r);
        if (!cli->quiet) progress(done++, count, &cells[i], &r, prov.threads);
        struct db_row row;
        char ts[32];
        fill_row(&row, run_id, &prov, &cells[i], &r, ts, sizeof ts, plan, shard);
        db_signals_row_begin();
        int rc = db_csv_append(out, &row);
        db_signals_row_end();
        if (rc != DB_OK) {
            fprintf(stderr, "diagbench: writing a row failed: %s\n", strerror(errno));
            return 1;
        }
    }
    return 0;
}

/* Re-execute ourselves once per thread count with OMP_NUM_THREADS set (OpenMP reads its
 * environment once, at start-up), collecting the children's rows into out. sel marks the plan
 * items to run; each child gets its cells as --_cells. SIGINT / SIGTERM are forwarded to the
 * running child, whose finished rows are still collected. */
static int sweep_threads(int argc, char **argv, const struct db_cli *cli, const char *run_id,
                         const struct db_plan *plan, const unsigned char *sel,
                         struct db_csv_file *out) {
    char **args = calloc((size_t)argc + 5, sizeof *args);
    if (!args) return 1;
    for (int i = 0; i < argc; i++)
        args[i] = argv[i];
    args[argc] = "--_child";
    args[argc + 1] = (char *)run_id;
    args[argc + 2] = "--_cells";
    int status = 0;
    db_signals_forward_to(0);
    for (size_t k = 0; k < cli->nthreads && status == 0 && !db_signals_caught(); k++) {
        const unsigned char *cell_sel = sel + k * plan->ncells;
        if (!memchr(cell_sel, 1, plan->ncells)) continue; /* nothing left for this count */
        char *cells_arg = NULL;
        if (db_plan_format_indices(cell_sel, plan->ncells, &cells_arg) != DB_OK) {
            status = 1;
            break;
        }
        args[argc + 3] = cells_arg;
        int fds[2];
        if (pipe(fds) != 0) {
            perror("diagbench: pipe");
            free(cells_arg);
            status = 1;
            break;
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            perror("diagbench: fork");
            close(fds[0]);
            close(fds[1]);
            free(cells_arg);
            status = 1;
            break;
        }
        if (pid == 0) {
            db_signals_reset();
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
        db_signals_forward_to(pid);
        free(cells_arg);
        close(fds[1]);
        FILE *in = fdopen(fds[0], "r");
        char *line = NULL;
        size_t cap = 0;
        ssize_t got;
        /* Only whole lines are rows: a child killed mid-write leaves no torn row behind. */
        while (in && (got = getline(&line, &cap, in)) > 0) {
            if (line[got - 1] != '\n') continue;
            db_signals_row_begin();
            if (db_csv_append_line(out, line) != DB_OK) status = 1;
            db_signals_row_end();
        }
        free(line);
        if (in) fclose(in);
        int ws;
        pid_t w;
        while ((w = waitpid(pid, &ws, 0)) < 0 && errno == EINTR)
            ;
        db_signals_forward_to(0);
        if (db_signals_caught()) break;
        if (w < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
            fprintf(stderr, "diagbench: the run with %d threads failed\n", cli->threads[k]);
            status = 1;
        }
    }
    free(args);
    if (status == 0 && db_signals_caught()) status = db_signals_report(db_signals_caught());
    return status;
}

/* diagbench merge FILE... -o OUT */
static int merge_main(int argc, char **argv) {
    struct db_merge_args a;
    char err[1024];
    if (db_merge_parse(argc, argv, &a, err, sizeof err) != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        return EXIT_USAGE;
    }
    size_t rows;
    int rc = db_merge_run(&a, &rows, err, sizeof err);
    if (rc != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        return rc == DB_E_INVALID ? EXIT_USAGE : 1;
    }
    if (!a.quiet && strcmp(a.out, "-") != 0)
        fprintf(stderr, "diagbench: merged %d file%s, %zu rows: wrote %s\n", a.nfiles,
                a.nfiles == 1 ? "" : "s", rows, a.out);
    return 0;
}

/* `diagbench --resume F.partial` alone: the flags come from F.partial. They live as long as the
 * process (cli points into them), so they are kept here. */
static int resume_argc;
static char **resume_argv;

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "merge") == 0) return merge_main(argc - 2, argv + 2);
    struct db_cli cli;
    char err[1024];
    if (db_cli_parse(argc, argv, &cli, err, sizeof err) != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        return EXIT_USAGE;
    }
    if (cli.flags_from_resume && !cli.help && !cli.version && !cli.list) {
        int rc = db_resume_flags(cli.resume, argc, argv, cli.shard_n != 0, &resume_argc,
                                 &resume_argv, err, sizeof err);
        if (rc == DB_OK && db_cli_parse(resume_argc, resume_argv, &cli, err, sizeof err) != DB_OK)
            rc = DB_E_INVALID;
        if (rc != DB_OK) {
            fprintf(stderr, "diagbench: %s\n", err);
            return rc == DB_E_INVALID ? EXIT_USAGE : 1;
        }
        argc = resume_argc; /* a -t sweep hands these to its children */
        argv = resume_argv;
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

    struct db_plan plan;
    int rc = db_plan_build(&cli, &plan, err, sizeof err);
    if (rc != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        return rc == DB_E_INVALID ? EXIT_USAGE : 1;
    }
    int sweep = cli.nthreads && !cli.child;
    /* sel marks what to run: plan items for a sweep parent, cells otherwise (there is one item
     * per cell without -t). A child runs the cells its parent lists; anyone else this shard's
     * items, less those a resumed partial file already holds (below). */
    size_t nsel = sweep ? plan.nitems : plan.ncells;
    unsigned char *sel = malloc(nsel ? nsel : 1), *done = calloc(plan.nitems ? plan.nitems : 1, 1);
    if (!sel || !done) {
        fprintf(stderr, "diagbench: out of memory\n");
        free(sel);
        free(done);
        db_plan_free(&plan);
        return 1;
    }
    if (cli.child && cli.cells) {
        if (db_plan_parse_indices(cli.cells, sel, nsel) != DB_OK) {
            fprintf(stderr, "diagbench: invalid --_cells '%s'\n", cli.cells);
            free(sel);
            free(done);
            db_plan_free(&plan);
            return EXIT_USAGE;
        }
    } else {
        for (size_t i = 0; i < nsel; i++)
            sel[i] = cli.child || plan.items[i].shard == plan.shard_k;
    }

    char run_id[64];
    if (cli.child)
        snprintf(run_id, sizeof run_id, "%s", cli.child);
    else
        db_make_run_id(run_id, sizeof run_id);

    struct db_csv_file out;
    long rows_before = 0;
    if (cli.resume && !cli.child) {
        struct db_resume info;
        rc = db_resume_open(cli.resume, &plan, done, &out, &info, err, sizeof err);
        if (rc != DB_OK) {
            fprintf(stderr, "diagbench: %s\n", err);
            free(sel);
            free(done);
            db_plan_free(&plan);
            return rc == DB_E_INVALID ? EXIT_USAGE : 1;
        }
        size_t left = 0;
        for (size_t i = 0; i < nsel; i++)
            left += sel[i] &= !done[i];
        if (info.run_id[0]) snprintf(run_id, sizeof run_id, "%s", info.run_id);
        rows_before = (long)info.rows;
        if (!cli.quiet)
            fprintf(stderr, "diagbench: resuming %s: %zu rows kept%s, %zu cell%s to run\n",
                    cli.resume, info.rows,
                    info.dropped_torn ? " (an incomplete last row was dropped)" : "", left,
                    left == 1 ? "" : "s");
    } else {
        const char *path = cli.child || !cli.out ? "-" : cli.out;
        if (db_csv_open(&out, path, !cli.child, err, sizeof err) != DB_OK) {
            fprintf(stderr, "diagbench: %s\n", err);
            free(sel);
            free(done);
            db_plan_free(&plan);
            return EXIT_USAGE;
        }
    }
    if (db_signals_install(out.partial, rows_before,
                           cli.child     ? DB_SIG_SILENT
                           : out.partial ? DB_SIG_RESUME_HINT
                                         : 0) != DB_OK) {
        fprintf(stderr, "diagbench: cannot install the SIGINT / SIGTERM handlers\n");
        db_csv_abandon(&out);
        free(sel);
        free(done);
        db_plan_free(&plan);
        return 1;
    }

    int status = sweep ? sweep_threads(argc, argv, &cli, run_id, &plan, sel, &out)
                       : run_cells(&cli, run_id, &plan, sel, &out);
    free(sel);
    free(done);
    db_plan_free(&plan);
    if (status != 0) {
        if (out.partial && status == 1)
            fprintf(stderr, "diagbench: finished rows are kept in %s\n", out.partial);
        db_csv_abandon(&out);
        return status;
    }
    char *written = out.path ? strdup(out.path) : NULL;
    db_signals_finish();
    if (db_csv_commit(&out, err, sizeof err) != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        free(written);
        return 1;
    }
    if (written && !cli.child && !cli.quiet) fprintf(stderr, "diagbench: wrote %s\n", written);
    free(written);
    return 0;
}
