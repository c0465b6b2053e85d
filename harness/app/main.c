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

#include "harness/env/omp_env.h"
#include "harness/env/openblas.h"
#include "harness/env/memory.h"
#include "harness/bench/calibrate.h"
#include "harness/plan/cli.h"
#include "harness/io/csv_write.h"
#include "harness/bench/gbench.h"
#include "harness/io/merge.h"
#include "harness/plan/plan.h"
#include "harness/env/provenance.h"
#include "harness/io/resume.h"
#include "harness/app/signals.h"
#include "harness/io/summary.h"
#include "harness/bench/wisdom.h"

#define EXIT_USAGE 2

static const char usage[] =
    "usage: diagbench --list | --env\n"
    "       diagbench --matrix quick|pr|full [options]\n"
    "       diagbench -n SIZES [-w WORKLOADS] [-s STRATEGIES] [-p OPERATORS] [-j fwd,bwd] "
    "[options]\n"
    "       diagbench --resume FILE.partial [options]\n"
    "       diagbench merge FILE... -o OUT\n"
    "\n"
    "Measures diagonal extraction of linear operators: every cell is checked against an exact\n"
    "reference diagonal (max_abs_err) and its primitive calls counted, then timed with Google\n"
    "Benchmark (wall-clock, repetitions). One CSV row per cell; see README.md for the columns.\n"
    "\n"
    "Selection (comma-separated lists; defaults: all workloads, all strategies, jacobian,\n"
    "fwd,bwd; -n is required without --matrix):\n"
    "  -w, --workloads LIST   workloads (see --list); solve:W times a linear solve and\n"
    "                         newton:W a Newton multi-root find of workload W\n"
    "  -s, --strategies LIST  strategies (see --list); for solve:/newton: workloads, solve\n"
    "                         methods S+diagonal (S a strategy), materialise+lu,\n"
    "                         probe-tridiag+tridiagonal or materialise+tridiagonal\n"
    "  -p, --operators LIST   operator kinds: jacobian, function, matrix, diagonal\n"
    "  -j, --jac LIST         fwd and/or bwd (jacobian operators only)\n"
    "  -n, --sizes LIST       sizes n, whole numbers from 1 to 100000000\n"
    "      --matrix NAME      a preset matrix instead of the lists above (see --list)\n"
    "\n"
    "Timing and threads:\n"
    "  -t, --threads LIST     re-run every cell in a child process per thread count, with\n"
    "                         OMP_NUM_THREADS and OPENBLAS_NUM_THREADS set (1..4096)\n"
    "      --bind LIST        the same per OMP_PROC_BIND value: false, true, close, spread,\n"
    "                         primary, master\n"
    "      --places LIST      the same per OMP_PLACES value: threads, cores, ll_caches,\n"
    "                         numa_domains, sockets, each optionally with (count); explicit\n"
    "                         place lists go in OMP_PLACES\n"
    "                         -t, --bind and --places combine as a cross product, one child\n"
    "                         per configuration; without them the OMP_* environment in force\n"
    "                         is used as is. OMP_NUM_THREADS, OMP_PROC_BIND, OMP_PLACES,\n"
    "                         OMP_WAIT_POLICY and OPENBLAS_NUM_THREADS are validated (bad\n"
    "                         values exit 2) and each team's binding is checked with hwloc\n"
    "                         (CSV columns bound_cpus, binding)\n"
    "      --reps K           repetitions per cell, 1..1000 (default 5)\n"
    "      --min-time S       minimum seconds per repetition (default 0.01)\n"
    "      --call-cost-us US  per-call cost of workloads that have one (seqsin; default 10)\n"
    "      --mem-limit SIZE   memory budget per cell, e.g. 2G (default: 85% of the least of\n"
    "                         MemAvailable, the cgroup limit and the NUMA node memory when\n"
    "                         that is a real limit; see --env)\n"
    "      --untagged         create operators without structural tags (probe then falls back\n"
    "                         to materialise; the diagonal and tridiagonal solvers become\n"
    "                         unsupported)\n"
    "      --lu-max-n N       write materialise+lu cells with n > N as skipped_budget (LU is\n"
    "                         O(n^3)); default: no cap, or the preset's own caps\n"
    "      --band L,U         lower and upper bandwidth of the banded workload, 0..256 each\n"
    "                         (default 2,3)\n"
    "      --on-mismatch WHAT what probe-checked does when its check finds the diagonal tag\n"
    "                         wrong: error (default; the row is status=error, tag mismatch)\n"
    "                         or fallback (warn on stderr and materialise)\n"
    "      --benchmark_*      passed to Google Benchmark\n"
    "\n"
    "Materialise's write path (how the n x n matrix is written: plain or non-temporal stores,\n"
    "and the columns per batched call) is planned before any cell runs: for each matrix size\n"
    "of the run and the thread count in force, every candidate is timed on this machine and\n"
    "the fastest is used (CSV column write_path). Plans are cached in a wisdom file keyed by\n"
    "CPU model, threads, OMP_PROC_BIND, OMP_PLACES and build: $DIAGBENCH_WISDOM, else\n"
    "$XDG_CACHE_HOME/diagbench/wisdom.tsv, else ~/.cache/diagbench/wisdom.tsv (--env lists it).\n"
    "      --wisdom FILE      use FILE as the wisdom file\n"
    "      --no-wisdom        ignore the file's plans: time every size again (and save them)\n"
    "\n"
    "Interrupted runs and clusters:\n"
    "      --resume F.partial run only the cells missing from F.partial (left by an interrupted\n"
    "                         run), append them and finish F; alone, it takes that run's\n"
    "                         flags from F.partial, else give the same flags again\n"
    "      --shard K/N        run the K-th of N slices of the matrix (cells x -t/--bind/--places\n"
    "                         configurations), balanced by expected cost; every shard of a\n"
    "                         --matrix run calibrates first; join the slices with:\n"
    "                         diagbench merge A.csv B.csv ... -o ALL.csv\n"
    "\n"
    "Output:\n"
    "  -o, --out FILE         write the CSV to FILE (via FILE.partial, renamed when the run\n"
    "                         completes; rows are flushed as cells finish); default stdout\n"
    "  -q, --quiet            no progress lines or end-of-run summary on stderr\n"
    "      --calibrate        measure this machine's limits (bare sin/cos loop, memset, a\n"
    "                         non-temporal fill and copy of an n x n matrix, wrapper overhead)\n"
    "                         as rows with workload=_calibrate; every --matrix run does this\n"
    "                         first, at its largest matrix size (alone: n=4000). Each cell that\n"
    "                         writes an n x n matrix also times its own write ceiling\n"
    "                         (CSV column write_ceiling_s)\n"
    "      --list             list workloads, operators, strategies and matrices\n"
    "      --env              print the environment report: hwloc topology, NUMA nodes and\n"
    "                         their memory, binding of this process and of an OpenMP team,\n"
    "                         OMP_* and OpenBLAS settings in force, memory budget, governor,\n"
    "                         the wisdom file and its write-path plans for this machine\n"
    "      --version          print the version and build\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 success, 1 a run failed (finished rows kept in FILE.partial), 2 bad usage\n"
    "or a bad OMP_* / OPENBLAS_NUM_THREADS value, 130 / 143 interrupted by SIGINT / SIGTERM\n"
    "(finished rows kept in FILE.partial).\n";

static void list_all(void) {
    printf("workloads:\n");
    for (size_t i = 0; i < db_workload_count; i++) {
        const struct db_workload *w = db_workloads[i];
        printf("  %-10s %s [batching: %s; structure: %s]\n", w->name, w->description,
               db_batch_name(w->batch), db_structure_name(w->structure));
    }
    printf("operators:\n");
    for (size_t i = 0; i < db_operator_kind_count; i++)
        printf("  %-10s %s\n", db_operator_kind_table[i]->name,
               db_operator_kind_table[i]->describe);
    printf("strategies:\n");
    for (size_t i = 0; i < db_strategy_count; i++)
        printf("  %-12s %s\n", db_strategies[i]->name, db_strategies[i]->describe);
    printf("solve methods (for solve:W and newton:W workloads):\n");
    struct db_solve_method m[DB_MAX_LIST];
    size_t nm = db_solve_methods_all(m, DB_MAX_LIST);
    for (size_t i = 0; i < nm && i < DB_MAX_LIST; i++) {
        char name[64];
        db_solve_method_name(&m[i], name, sizeof name);
        if (m[i].solver == DB_SOLVER_LU)
            printf("  %-26s materialise J, then LU with partial pivoting (LAPACK dgesv, "
                   "OpenBLAS)\n",
                   name);
        else if (m[i].solver == DB_SOLVER_TRIDIAGONAL && db_strategy_products(m[i].diag, 1, 1))
            printf("  %-26s the three bands of J by %s (%llu products), then LAPACK dgtsv; needs "
                   "the tridiagonal (or diagonal) tag\n",
                   name, m[i].diag->name, db_strategy_products(m[i].diag, 1, 1));
        else if (m[i].solver == DB_SOLVER_TRIDIAGONAL)
            printf("  %-26s the three bands of J by %s (read from J), then LAPACK dgtsv; needs "
                   "the tridiagonal (or diagonal) tag\n",
                   name, m[i].diag->name);
        else
            printf("  %-26s diagonal of J by the %s strategy, then x = b / d; needs the "
                   "diagonal tag\n",
                   name, m[i].diag->name);
    }
    printf("downstream workloads:\n");
    printf("  solve:W    one linear solve J x = b, b = J x_true for a known x_true (W: a "
           "diagonal workload, or tridiag / liar)\n");
    printf("  newton:W   (W diagonal) Newton root find of f = W from linspace(-10, 10, 20) "
           "repeated to n; "
           "rtol = atol = 1e-8, max 8 steps\n");
    printf("matrices:\n");
    for (size_t i = 0; i < db_preset_count; i++)
        printf("  %-10s %s\n", db_presets[i].name, db_presets[i].describe);
}

static void progress(size_t i, size_t count, const struct db_cell *c,
                     const struct db_cell_result *r, const char *config) {
    fprintf(stderr, "[%*zu/%zu] %s %s %s %s %s n=%zu: ", count >= 100 ? 3 : 2, i + 1, count, config,
            c->wl->name, c->op_kind, db_jac_name(c->jac), c->strategy->name, c->n);
    if (strcmp(r->status, "ok") == 0) {
        char t[32];
        db_format_seconds(r->t.median, t, sizeof t);
        fprintf(stderr, "%s (cv %.1f%%) calls=%llu colours=%lld err=%.1e\n", t, 100 * r->t.cv,
                r->primitive_calls, r->colours, r->max_abs_err);
    } else {
        fprintf(stderr, "%s: %s\n", r->status, r->note);
    }
}

/* The fields every row shares: provenance, binding, status, times, counts, error. */
static void fill_common(struct db_row *row, const char *run_id, const struct db_provenance *p,
                        const struct db_binding *b, const struct db_cell_result *r,
                        const char *note, char *ts, size_t tslen) {
    db_timestamp(ts, tslen);
    *row = (struct db_row){
        .run_id = run_id,
        .timestamp = ts,
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
        .note = note,
        .write_path = r->write_path,
        .write_ceiling_s = r->write_ceiling_s,
        .bound_cpus = b->bound_cpus,
        .binding = b->status,
        .omp_wait_policy = p->omp_wait_policy,
        .hwloc_version = p->hwloc_version,
        .openblas_config = p->openblas_config,
        .cpu_governor = p->cpu_governor,
        .colours = r->colours,
        .colours_lower_bound = r->colours_lower_bound,
    };
}

static void fill_row(struct db_row *row, const char *run_id, const struct db_provenance *p,
                     const struct db_binding *b, const struct db_cell *c,
                     const struct db_cell_result *r, const char *note, char *ts, size_t tslen) {
    fill_common(row, run_id, p, b, r, note, ts, tslen);
    row->workload = c->wl->name;
    row->operator_kind = c->op_kind;
    row->jac = db_jac_name(c->jac);
    row->strategy = c->strategy->name;
    row->n = c->n;
}

static void progress_downstream(size_t i, size_t count, const struct db_downstream_cell *c,
                                const struct db_downstream_result *r, const char *config) {
    char w[48], m[48];
    fprintf(stderr, "[%*zu/%zu] %s %s %s %s %s n=%zu: ", count >= 100 ? 3 : 2, i + 1, count, config,
            db_downstream_workload_name(c, w, sizeof w), c->op_kind, db_jac_name(c->jac),
            db_solve_method_name(&c->method, m, sizeof m), c->n);
    if (strcmp(r->base.status, "ok") == 0) {
        char t[32];
        db_format_seconds(r->base.t.median, t, sizeof t);
        fprintf(stderr, "%s (cv %.1f%%) calls=%llu err=%.1e residual=%.1e", t, 100 * r->base.t.cv,
                r->base.primitive_calls, r->base.max_abs_err, r->residual);
        if (c->task == DB_TASK_NEWTON)
            fprintf(stderr, " steps=%d converged=%d", r->newton_steps, r->converged);
        fputc('\n', stderr);
    } else {
        fprintf(stderr, "%s: %s\n", r->base.status, r->base.note);
    }
}

/* wname and mname (namelen bytes each) hold the composed workload and strategy names. */
static void fill_downstream_row(struct db_row *row, const char *run_id,
                                const struct db_provenance *p, const struct db_binding *b,
                                const struct db_downstream_cell *c,
                                const struct db_downstream_result *r, const char *note, char *ts,
                                size_t tslen, char *wname, char *mname, size_t namelen) {
    fill_common(row, run_id, p, b, &r->base, note, ts, tslen);
    row->workload = db_downstream_workload_name(c, wname, namelen);
    row->operator_kind = c->op_kind;
    row->jac = db_jac_name(c->jac);
    row->strategy = db_solve_method_name(&c->method, mname, namelen);
    row->n = c->n;
    row->solver = db_solver_name(c->method.solver);
    row->residual = r->residual;
    row->newton_steps = r->newton_steps;
    row->converged = r->converged;
}

/* The row's note: the cell's reason, then the configuration's warnings and binding remark. */
static void row_note(char *buf, size_t len, const char *cell, const char *warnings,
                     const char *binding) {
    const char *parts[] = {cell, warnings, binding};
    buf[0] = 0;
    for (int i = 0; i < 3; i++) {
        if (!parts[i][0]) continue;
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", used ? "; " : "", parts[i]);
    }
}

/* The plan's columns of every row: shard, matrix, matrix_id (harness/plan.h). */
struct stamp {
    const struct db_plan *plan;
    char shard[32];
};

/* Write one row to out (and the summary), whole: one write(2), fsync'd, never torn by SIGINT /
 * SIGTERM (signals.h). DB_OK or DB_E_IO / DB_E_NOMEM. */
static int emit_row(struct db_csv_file *out, struct db_summary *sum, struct db_row *row,
                    const struct stamp *st) {
    row->shard = st->shard;
    row->matrix = st->plan->matrix;
    row->matrix_id = st->plan->matrix_id;
    char *line = db_csv_format_row(row);
    int rc = line ? DB_OK : DB_E_NOMEM;
    db_signals_row_begin();
    if (rc == DB_OK) rc = db_csv_append_line(out, line);
    db_signals_row_end();
    if (rc == DB_OK && sum) db_summary_add_csv(sum, line);
    free(line);
    return rc;
}

/* Calibration rows (workload "_calibrate"): the machine's own limits, through the same harness. */
static int run_calibration(const struct db_cli *cli, const char *run_id, struct db_csv_file *out,
                           struct db_summary *sum, hwloc_topology_t topo,
                           const struct db_omp_env *env, const struct stamp *st,
                           const size_t *matrix_ns, size_t nsizes) {
    struct db_provenance prov;
    db_provenance_collect(&prov);
    struct db_memory_limits lim;
    db_memory_limits_read(&lim, cli->run.mem_budget);
    struct db_run_opts opts = cli->run;
    opts.mem_budget = lim.budget;
    static const size_t default_n = DB_CALIBRATION_DEFAULT_N; /* --calibrate alone */
    if (!nsizes) matrix_ns = &default_n, nsizes = 1;
    struct db_calibration *cal = calloc(db_calibration_count(nsizes), sizeof *cal);
    size_t count = 0;
    int requested = env->num_threads ? env->num_threads : prov.threads;
    struct db_binding b;
    if (!cal || db_binding_check(topo, requested, &b) != DB_OK) {
        free(cal);
        return 1;
    }
    db_calibrate(&opts, 1000000, matrix_ns, nsizes, cal, &count);
    if (!cli->quiet) fprintf(stderr, "calibration (%d threads):\n", prov.threads);
    for (size_t i = 0; i < count; i++) {
        const struct db_calibration *c = &cal[i];
        struct db_cell cell = {.op_kind = "none", .n = c->n};
        struct db_workload fake = {.name = "_calibrate"};
        struct db_strategy kernel = {.name = c->kernel};
        cell.wl = &fake;
        cell.strategy = &kernel;
        struct db_row row;
        char ts[32], note[4096];
        row_note(note, sizeof note, c->r.note, env->warnings, b.detail);
        fill_row(&row, run_id, &prov, &b, &cell, &c->r, note, ts, sizeof ts);
        if (emit_row(out, sum, &row, st) != DB_OK) {
            free(cal);
            return 1;
        }
        if (cli->quiet) continue;
        if (strcmp(c->r.status, "ok") != 0)
            fprintf(stderr, "  %-16s %s: %s\n", c->kernel, c->r.status, c->r.note);
        else if (c->bytes > 0)
            fprintf(stderr, "  %-16s n=%-9zu %8.2f GB/s, best %.2f  (err %.1e)\n", c->kernel, c->n,
                    db_gbytes_per_s(c->bytes, c->r.t.median), db_gbytes_per_s(c->bytes, c->r.t.min),
                    c->r.max_abs_err);
        else
            fprintf(stderr, "  %-16s n=%-9zu %8.3f ns/element  (err %.1e)\n", c->kernel, c->n,
                    c->r.ns_per_element, c->r.max_abs_err);
    }
    free(cal);
    return 0;
}

/* Plan materialise's write path for every matrix size this process will write (harness/wisdom.h)
 * before anything is timed; the sizes go to *matrix_ns (malloc'd) for the calibration's
 * ceilings. Returns 0, or 1 when out of memory. */
static int plan_write_paths(const struct db_cli *cli, const struct db_plan *plan,
                            const unsigned char *sel, size_t **matrix_ns, size_t *nsizes) {
    struct db_memory_limits lim;
    db_memory_limits_read(&lim, cli->run.mem_budget);
    struct db_run_opts opts = cli->run;
    opts.mem_budget = lim.budget;
    *matrix_ns = malloc((plan->nunits ? plan->nunits : 1) * sizeof **matrix_ns);
    if (!*matrix_ns) return 1;
    *nsizes = db_plan_matrix_sizes(plan, sel, &opts, *matrix_ns);
    struct db_wisdom_opts wo = {cli->wisdom, cli->no_wisdom, lim.budget, cli->quiet};
    int rc = db_wisdom_plan_sizes(*matrix_ns, *nsizes, &wo, NULL);
    if (rc != DB_OK) fprintf(stderr, "diagbench: planning the write path: %s\n", db_strerror(rc));
    return rc != DB_OK;
}

/* Run the cells with sel[u] set (u: unit index of the plan, plain cells then downstream ones) in
 * this process, appending rows to out. Each cell first checks with hwloc where the OpenMP team
 * is bound (cheap: one parallel region) and records it in the row. A signal abandons the cell
 * in progress (signals.h). */
static int run_cells(const struct db_cli *cli, const char *run_id, const struct db_plan *plan,
                     const unsigned char *sel, struct db_csv_file *out, struct db_summary *sum,
                     hwloc_topology_t topo, const struct db_omp_env *env, const struct stamp *st) {
    const struct db_cell *cells = plan->cells;
    const struct db_downstream_cell *dcells = plan->dcells;
    size_t count = plan->ncells, total = 0, done = 0;
    for (size_t i = 0; i < plan->nunits; i++)
        total += sel[i];
    struct db_provenance prov;
    db_provenance_collect(&prov);
    struct db_memory_limits lim;
    db_memory_limits_read(&lim, cli->run.mem_budget);
    struct db_run_opts opts = cli->run;
    opts.mem_budget = lim.budget;
    opts.warn = !cli->quiet;
    char config[384];
    snprintf(config, sizeof config, "t=%d bind=%s places=%s", prov.threads, prov.proc_bind,
             prov.places);
    if (env->warnings[0]) fprintf(stderr, "diagbench: warning: [%s] %s\n", config, env->warnings);
    int requested = env->num_threads ? env->num_threads : prov.threads;
    struct db_binding b;
    char warned[sizeof b.detail] = "";
    for (size_t i = 0; i < plan->nunits; i++) {
        if (!sel[i]) continue;
        if (db_binding_check(topo, requested, &b) != DB_OK) {
            fprintf(stderr, "diagbench: out of memory checking the thread binding\n");
            return 1;
        }
        if (b.detail[0] && strcmp(b.detail, warned) != 0) {
            fprintf(stderr, "diagbench: warning: [%s] %s\n", config, b.detail);
            snprintf(warned, sizeof warned, "%s", b.detail);
        }
        /* The row points into r / dr: they live until it is written. */
        struct db_row row;
        struct db_cell_result r;
        struct db_downstream_result dr;
        char ts[32], note[4096], wname[64], mname[64];
        if (i < count) {
            db_cell_run(&cells[i], &opts, &r);
            if (!cli->quiet) progress(done, total, &cells[i], &r, config);
            row_note(note, sizeof note, r.note, env->warnings, b.detail);
            fill_row(&row, run_id, &prov, &b, &cells[i], &r, note, ts, sizeof ts);
        } else {
            const struct db_downstream_cell *dc = &dcells[i - count];
            db_downstream_run(dc, &opts, &dr);
            if (!cli->quiet) progress_downstream(done, total, dc, &dr, config);
            row_note(note, sizeof note, dr.base.note, env->warnings, b.detail);
            fill_downstream_row(&row, run_id, &prov, &b, dc, &dr, note, ts, sizeof ts, wname, mname,
                                sizeof wname);
        }
        done++;
        if (emit_row(out, sum, &row, st) != DB_OK) {
            fprintf(stderr, "diagbench: writing a row failed: %s\n", strerror(errno));
            return 1;
        }
    }
    return 0;
}

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
                     struct db_summary *sum) {
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
        if (db_csv_append_line(out, line) != DB_OK) status = 1;
        db_signals_row_end();
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
    if (db_signals_caught()) return status;
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
static int sweep(int argc, char **argv, const char *run_id, const struct db_plan *plan,
                 const unsigned char *sel, const unsigned char *calibrated, struct db_csv_file *out,
                 struct db_summary *sum) {
    char **args = calloc((size_t)argc + 6, sizeof *args);
    if (!args) return 1;
    for (int i = 0; i < argc; i++)
        args[i] = argv[i];
    args[argc] = "--_child";
    args[argc + 1] = (char *)run_id;
    args[argc + 2] = "--_cells";
    int status = 0;
    db_signals_forward_to(0);
    for (size_t k = 0; k < plan->nconfigs && status == 0 && !db_signals_caught(); k++) {
        const unsigned char *cell_sel = sel + k * plan->nunits;
        if (plan->nunits && !memchr(cell_sel, 1, plan->nunits)) continue; /* nothing left */
        char *cells_arg = NULL;
        if (db_plan_format_indices(cell_sel, plan->nunits, &cells_arg) != DB_OK) {
            status = 1;
            break;
        }
        args[argc + 3] = cells_arg;
        args[argc + 4] = calibrated[k] ? "--_nocal" : NULL;
        status = run_child(args, &plan->configs[k], out, sum);
        free(cells_arg);
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

/* Environment lookup for validation: a sweeping parent hides the variables it sets per child
 * (their values come from the validated -t / --bind / --places lists). */
struct env_mask {
    int threads, bind, places;
};

static const char *masked_getenv(const char *name, void *ctx) {
    const struct env_mask *m = ctx;
    if (m->threads &&
        (strcmp(name, "OMP_NUM_THREADS") == 0 || strcmp(name, "OPENBLAS_NUM_THREADS") == 0))
        return NULL;
    if (m->bind && strcmp(name, "OMP_PROC_BIND") == 0) return NULL;
    if (m->places && strcmp(name, "OMP_PLACES") == 0) return NULL;
    return getenv(name);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "merge") == 0) return merge_main(argc - 2, argv + 2);
    struct db_cli cli;
    char err[1024];
    if (db_cli_parse(argc, argv, &cli, err, sizeof err) != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        return EXIT_USAGE;
    }
    if (cli.flags_from_resume && !cli.help && !cli.version && !cli.list && !cli.env) {
        int rc = db_resume_flags(cli.resume, argc, argv, cli.shard_n != 0, &resume_argc,
                                 &resume_argv, err, sizeof err);
        if (rc == DB_OK && db_cli_parse(resume_argc, resume_argv, &cli, err, sizeof err) != DB_OK)
            rc = DB_E_INVALID;
        if (rc != DB_OK) {
            fprintf(stderr, "diagbench: %s\n", err);
            return rc == DB_E_INVALID ? EXIT_USAGE : 1;
        }
        argc = resume_argc; /* a sweep hands these to its children */
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

    /* The OpenMP / OpenBLAS environment: reject invalid values before anything is written. */
    hwloc_topology_t topo;
    if (db_topology_open(&topo) != DB_OK) {
        fprintf(stderr, "diagbench: hwloc could not load the machine topology\n");
        return 1;
    }
    int sweeping = db_cli_sweeps(&cli);
    struct env_mask mask = {sweeping && cli.nthreads, sweeping && cli.nbinds,
                            sweeping && cli.nplaces};
    struct db_omp_env env;
    if (db_omp_env_validate(masked_getenv, &mask, topo, &env, err, sizeof err) != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        hwloc_topology_destroy(topo);
        return EXIT_USAGE;
    }
    if (cli.env) {
        int erc = db_env_report(stdout, topo, &env);
        db_wisdom_report(stdout, cli.wisdom);
        hwloc_topology_destroy(topo);
        return erc == DB_OK ? 0 : 1;
    }
    if (db_gbench_init(cli.gb_argc, cli.gb_argv, err, sizeof err) != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        hwloc_topology_destroy(topo);
        return EXIT_USAGE;
    }

    struct db_plan plan;
    int rc = db_plan_build(&cli, &plan, err, sizeof err);
    if (rc != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        hwloc_topology_destroy(topo);
        return rc == DB_E_INVALID ? EXIT_USAGE : 1;
    }
    /* sel marks what to run: plan items for a sweep parent, the cells (units) of one
     * configuration otherwise (without a sweep there is one item per unit). A child runs the
     * cells its parent lists; anyone else this shard's items, less those a resumed partial file
     * already holds (below). calibrated: configurations whose calibration rows it holds. */
    size_t nsel = sweeping ? plan.nitems : plan.nunits;
    unsigned char *sel = malloc(nsel ? nsel : 1), *done = calloc(plan.nitems ? plan.nitems : 1, 1),
                  *calibrated = calloc(plan.nconfigs ? plan.nconfigs : 1, 1);
    if (!sel || !done || !calibrated) {
        fprintf(stderr, "diagbench: out of memory\n");
        rc = 1;
        goto out_plan;
    }
    if (cli.child && cli.cells) {
        if (db_plan_parse_indices(cli.cells, sel, nsel) != DB_OK) {
            fprintf(stderr, "diagbench: invalid --_cells '%s'\n", cli.cells);
            rc = EXIT_USAGE;
            goto out_plan;
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
        rc = db_resume_open(cli.resume, &plan, done, calibrated, &out, &info, err, sizeof err);
        if (rc != DB_OK) {
            fprintf(stderr, "diagbench: %s\n", err);
            rc = rc == DB_E_INVALID ? EXIT_USAGE : 1;
            goto out_plan;
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
            rc = EXIT_USAGE;
            goto out_plan;
        }
    }
    if (db_signals_install(out.partial, rows_before,
                           cli.child     ? DB_SIG_SILENT
                           : out.partial ? DB_SIG_RESUME_HINT
                                         : 0) != DB_OK) {
        fprintf(stderr, "diagbench: cannot install the SIGINT / SIGTERM handlers\n");
        db_csv_abandon(&out);
        rc = 1;
        goto out_plan;
    }

    /* Once per invocation (a sweep's children link the same library). */
    const char *blas_warning = cli.child ? NULL : db_openblas_warning();
    if (blas_warning) fprintf(stderr, "diagbench: warning: %s\n", blas_warning);
    struct db_summary *sum = cli.child || cli.quiet ? NULL : db_summary_create(1000);
    struct stamp st = {.plan = &plan};
    snprintf(st.shard, sizeof st.shard, "%u/%u", plan.shard_k, plan.shard_n);
    int status = 0;
    /* Calibrate in the process that runs the cells (each sweep child, each shard), unless this
     * configuration has nothing to run or a resumed file holds its calibration already. */
    int any = 0;
    for (size_t i = 0; i < nsel && !any; i++)
        any = sel[i];
    size_t *matrix_ns = NULL, nsizes = 0;
    if (!sweeping && any) status = plan_write_paths(&cli, &plan, sel, &matrix_ns, &nsizes);
    /* the machine's memset / non-temporal fill bandwidth at the largest matrix size (each
     * materialise cell also times its own write ceiling, runner.c) */
    if (status == 0 && plan.calibrate && !sweeping && !cli.no_calibrate && !calibrated[0] &&
        (any || cli.calibrate))
        status = run_calibration(&cli, run_id, &out, sum, topo, &env, &st,
                                 nsizes ? &matrix_ns[nsizes - 1] : NULL, nsizes ? 1 : 0);
    free(matrix_ns);
    if (status == 0 && !cli.calibrate)
        status = sweeping ? sweep(argc, argv, run_id, &plan, sel, calibrated, &out, sum)
                          : run_cells(&cli, run_id, &plan, sel, &out, sum, topo, &env, &st);
    if (sum && status == 0) db_summary_print(sum, stderr);
    db_summary_destroy(sum);
    if (status != 0) {
        if (out.partial && status == 1)
            fprintf(stderr, "diagbench: finished rows are kept in %s\n", out.partial);
        db_csv_abandon(&out);
        rc = status;
        goto out_plan;
    }
    char *written = out.path ? strdup(out.path) : NULL;
    db_signals_finish();
    if (db_csv_commit(&out, err, sizeof err) != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        free(written);
        rc = 1;
        goto out_plan;
    }
    if (written && !cli.child && !cli.quiet) fprintf(stderr, "diagbench: wrote %s\n", written);
    free(written);
    rc = 0;
out_plan:
    free(sel);
    free(done);
    free(calibrated);
    db_plan_free(&plan);
    hwloc_topology_destroy(topo);
    return rc;
}
