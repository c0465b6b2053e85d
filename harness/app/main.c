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
#include "harness/bench/kinds.h"
#include "harness/io/merge.h"
#include "harness/plan/plan.h"
#include "harness/env/provenance.h"
#include "harness/io/resume.h"
#include "harness/app/signals.h"
#include "harness/app/sweep.h"
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
    "      --remote-transport T  how the remote workloads reach their worker process: unix\n"
    "                         (default; a socket in a private mkdtemp directory) or tcp\n"
    "                         (127.0.0.1, a port the kernel picks)\n"
    "      --remote-encoding E  binary (default; raw doubles) or json (jansson, base64\n"
    "                         arrays); see docs/PROTOCOL.md. CSV columns remote_transport,\n"
    "                         remote_encoding, round_trip_s (median ping-pong of the cell)\n"
    "      --remote-timeout-ms MS  a remote call not answered within MS ms (1..3600000,\n"
    "                         default 10000) makes the cell status=error; the worker is killed\n"
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
    "      --schema           list the CSV columns: name, kind, description (tab-separated)\n"
    "      --env              print the environment report: hwloc topology, NUMA nodes and\n"
    "                         their memory, binding of this process and of an OpenMP team,\n"
    "                         OMP_* and OpenBLAS settings in force, memory budget, governor,\n"
    "                         the wisdom file and its write-path plans for this machine\n"
    "      --version          print the git revision, the compiler and flags, and the versions\n"
    "                         of Google Benchmark, hwloc and OpenBLAS built against\n"
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

/* One progress line per cell: the cell, then its time and checks, or why it did not run. */
static void progress(size_t i, size_t count, const struct db_cell *c,
                     const struct db_cell_result *r, const char *config) {
    char w[64], m[64];
    fprintf(stderr, "[%*zu/%zu] %s %s %s %s %s n=%zu: ", count >= 100 ? 3 : 2, i + 1, count, config,
            db_cell_workload_name(c, w, sizeof w), c->op_kind, db_jac_name(c->jac),
            db_cell_strategy_name(c, m, sizeof m), c->n);
    if (strcmp(r->status, "ok") != 0) {
        fprintf(stderr, "%s: %s\n", r->status, r->note);
        return;
    }
    char t[32];
    db_format_seconds(r->t.median, t, sizeof t);
    if (c->kind == DB_CELL_DIAGONAL) {
        fprintf(stderr, "%s (cv %.1f%%) calls=%llu colours=%lld err=%.1e\n", t, 100 * r->t.cv,
                r->primitive_calls, r->colours, r->max_abs_err);
        return;
    }
    fprintf(stderr, "%s (cv %.1f%%) calls=%llu err=%.1e residual=%.1e", t, 100 * r->t.cv,
            r->primitive_calls, r->max_abs_err, r->residual);
    if (c->kind == DB_CELL_NEWTON)
        fprintf(stderr, " steps=%d converged=%d", r->newton_steps, r->converged);
    fputc('\n', stderr);
}

/* A cell's row: provenance, binding, the cell's names, status, times, counts and checks.
 * wname and sname (namelen bytes each) hold the composed workload and strategy names. */
static void fill_row(struct db_row *row, const char *run_id, const struct db_provenance *p,
                     const struct db_binding *b, const struct db_cell *c,
                     const struct db_cell_result *r, const char *note, char *ts, size_t tslen,
                     char *wname, char *sname, size_t namelen) {
    db_timestamp(ts, tslen);
    int downstream = c->kind == DB_CELL_SOLVE || c->kind == DB_CELL_NEWTON;
    *row = (struct db_row){
        .run_id = run_id,
        .timestamp = ts,
        .workload = db_cell_workload_name(c, wname, namelen),
        .operator_kind = db_cell_operator_name(c),
        .jac = db_jac_name(c->jac),
        .strategy = db_cell_strategy_name(c, sname, namelen),
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
        .note = note,
        .write_path = r->write_path,
        .write_ceiling_s = r->write_ceiling_s,
        .bound_cpus = b->bound_cpus,
        .binding = b->status,
        .omp_wait_policy = p->omp_wait_policy,
        .hwloc_version = p->hwloc_version,
        .openblas_config = p->openblas_config,
        .cpu_governor = p->cpu_governor,
        .solver = downstream ? db_solver_name(c->method.solver) : NULL,
        .residual = r->residual,
        .newton_steps = r->newton_steps,
        .converged = r->converged,
        .colours = r->colours,
        .colours_lower_bound = r->colours_lower_bound,
        .remote_transport = r->remote_transport,
        .remote_encoding = r->remote_encoding,
        .round_trip_s = r->round_trip_s,
    };
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

/* The run options with the memory budget in force now (--mem-limit, or what the machine has left:
 * read afresh by each step, as memory is freed between them). */
static struct db_run_opts budgeted(const struct db_cli *cli) {
    struct db_memory_limits lim;
    db_memory_limits_read(&lim, cli->run.mem_budget);
    struct db_run_opts opts = cli->run;
    opts.mem_budget = lim.budget;
    return opts;
}

/* Calibration rows (workload "_calibrate"): the machine's own limits, through the same harness. */
static int run_calibration(const struct db_cli *cli, const char *run_id, struct db_csv_file *out,
                           struct db_summary *sum, hwloc_topology_t topo,
                           const struct db_omp_env *env, const struct stamp *st,
                           const size_t *matrix_ns, size_t nsizes) {
    struct db_provenance prov;
    db_provenance_collect(&prov);
    struct db_run_opts opts = budgeted(cli);
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
        struct db_cell cell = {
            .kind = DB_CELL_CALIBRATION, .op_kind = "none", .kernel = c->kernel, .n = c->n};
        struct db_row row;
        char ts[32], note[4096], wname[64], sname[64];
        row_note(note, sizeof note, c->r.note, env->warnings, b.detail);
        fill_row(&row, run_id, &prov, &b, &cell, &c->r, note, ts, sizeof ts, wname, sname,
                 sizeof wname);
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
    struct db_run_opts opts = budgeted(cli);
    *matrix_ns = malloc((plan->ncells ? plan->ncells : 1) * sizeof **matrix_ns);
    if (!*matrix_ns) return 1;
    *nsizes = db_plan_matrix_sizes(plan, sel, &opts, *matrix_ns);
    struct db_wisdom_opts wo = {cli->wisdom, cli->no_wisdom, opts.mem_budget, cli->quiet};
    int rc = db_wisdom_plan_sizes(*matrix_ns, *nsizes, &wo, NULL);
    if (rc != DB_OK) fprintf(stderr, "diagbench: planning the write path: %s\n", db_strerror(rc));
    return rc != DB_OK;
}

/* Run the cells with sel[u] set (u: index into the plan's cells, of any kind) in this process,
 * appending rows to out. Each cell first checks with hwloc where the OpenMP team is bound (cheap:
 * one parallel region) and records it in the row. A signal abandons the cell in progress
 * (signals.h). */
static int run_cells(const struct db_cli *cli, const char *run_id, const struct db_plan *plan,
                     const unsigned char *sel, struct db_csv_file *out, struct db_summary *sum,
                     hwloc_topology_t topo, const struct db_omp_env *env, const struct stamp *st) {
    const struct db_cell *cells = plan->cells;
    size_t total = 0, done = 0;
    for (size_t i = 0; i < plan->ncells; i++)
        total += sel[i];
    struct db_provenance prov;
    db_provenance_collect(&prov);
    struct db_run_opts opts = budgeted(cli);
    opts.warn = !cli->quiet;
    char config[384];
    snprintf(config, sizeof config, "t=%d bind=%s places=%s", prov.threads, prov.proc_bind,
             prov.places);
    if (env->warnings[0]) fprintf(stderr, "diagbench: warning: [%s] %s\n", config, env->warnings);
    int requested = env->num_threads ? env->num_threads : prov.threads;
    struct db_binding b;
    char warned[sizeof b.detail] = "";
    for (size_t i = 0; i < plan->ncells; i++) {
        if (!sel[i]) continue;
        if (db_binding_check(topo, requested, &b) != DB_OK) {
            fprintf(stderr, "diagbench: out of memory checking the thread binding\n");
            return 1;
        }
        if (b.detail[0] && strcmp(b.detail, warned) != 0) {
            fprintf(stderr, "diagbench: warning: [%s] %s\n", config, b.detail);
            snprintf(warned, sizeof warned, "%s", b.detail);
        }
        /* The row points into r: it lives until the row is written. */
        struct db_row row;
        struct db_cell_result r;
        char ts[32], note[4096], wname[64], sname[64];
        db_cell_run(&cells[i], &opts, &r);
        if (!cli->quiet) progress(done, total, &cells[i], &r, config);
        row_note(note, sizeof note, r.note, env->warnings, b.detail);
        fill_row(&row, run_id, &prov, &b, &cells[i], &r, note, ts, sizeof ts, wname, sname,
                 sizeof wname);
        done++;
        if (emit_row(out, sum, &row, st) != DB_OK) {
            fprintf(stderr, "diagbench: writing a row failed: %s\n", strerror(errno));
            return 1;
        }
    }
    return 0;
}

static const char merge_usage[] =
    "usage: diagbench merge FILE... -o OUT [-q]\n"
    "\n"
    "Join the CSVs of one matrix's shards (diagbench --shard K/N) into OUT: every input must come\n"
    "from the same matrix, build and OpenMP environment, and together hold every cell once (one\n"
    "set of calibration rows per configuration is kept). OUT is written through OUT.partial and\n"
    "renamed when complete; - writes to stdout.\n"
    "  -o, --out OUT   the merged CSV (required)\n"
    "  -q, --quiet     no summary line on stderr\n"
    "  -h, --help      this text\n"
    "  --              every argument after it is a file name\n";

/* diagbench merge FILE... -o OUT */
static int merge_main(int argc, char **argv) {
    struct db_merge_args a;
    char err[1024];
    if (db_merge_parse(argc, argv, &a, err, sizeof err) != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        return EXIT_USAGE;
    }
    if (a.help) {
        fputs(merge_usage, stdout);
        return 0;
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

/* What one invocation works with, from the parsed command line to the committed CSV. */
struct run {
    struct db_cli cli;
    int argc;    /* the arguments a sweep hands its children (those of the partial file when */
    char **argv; /* --resume alone took them from it) */
    int sweeping;
    hwloc_topology_t topo;
    struct db_omp_env env;
    struct db_plan plan;
    /* sel marks what to run: plan items for a sweep parent, the cells of one configuration
     * otherwise (without a sweep there is one item per cell). done: items a resumed partial file
     * holds; calibrated: configurations whose calibration rows it holds. */
    unsigned char *sel, *done, *calibrated;
    size_t nsel;
    char run_id[64];
    struct db_csv_file out;
    long rows_before;
    struct stamp st;
};

/* The command line (and, for --resume alone, the flags of the partial file). Returns -1 to go
 * on, else the exit status. */
static int parse_command_line(struct run *x, int argc, char **argv) {
    char err[1024];
    x->argc = argc;
    x->argv = argv;
    if (db_cli_parse(argc, argv, &x->cli, err, sizeof err) != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        return EXIT_USAGE;
    }
    const struct db_cli *cli = &x->cli;
    if (!cli->flags_from_resume || cli->help || cli->version || cli->list || cli->env) return -1;
    int rc = db_resume_flags(cli->resume, argc, argv, cli->shard_n != 0, &resume_argc, &resume_argv,
                             err, sizeof err);
    if (rc == DB_OK && db_cli_parse(resume_argc, resume_argv, &x->cli, err, sizeof err) != DB_OK)
        rc = DB_E_INVALID;
    if (rc != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        return rc == DB_E_INVALID ? EXIT_USAGE : 1;
    }
    x->argc = resume_argc; /* a sweep hands these to its children */
    x->argv = resume_argv;
    return -1;
}

/* --help, --version, --list. Returns -1 when none was asked for, else the exit status. */
static int answer_questions(const struct db_cli *cli) {
    if (cli->help) {
        fputs(usage, stdout);
        return 0;
    }
    if (cli->version) {
        struct db_provenance p;
        db_provenance_collect(&p);
        printf("diagbench %s (%s)\nGoogle Benchmark %s, hwloc %s, %s\n", p.git_rev, p.compiler,
               p.gbench_version, p.hwloc_version, p.openblas_config);
        return 0;
    }
    if (cli->list) {
        list_all();
        return 0;
    }
    if (cli->schema) return db_schema_print(stdout) == DB_OK ? 0 : 1;
    return -1;
}

/* The OpenMP / OpenBLAS environment, validated before anything is written; --env; Google
 * Benchmark's own flags. Returns -1 to go on, else the exit status (x->topo is then closed). */
static int check_environment(struct run *x) {
    char err[1024];
    if (db_topology_open(&x->topo) != DB_OK) {
        fprintf(stderr, "diagbench: hwloc could not load the machine topology\n");
        return 1;
    }
    const struct db_cli *cli = &x->cli;
    x->sweeping = db_cli_sweeps(cli);
    struct env_mask mask = {x->sweeping && cli->nthreads, x->sweeping && cli->nbinds,
                            x->sweeping && cli->nplaces};
    int status = -1;
    if (db_omp_env_validate(masked_getenv, &mask, x->topo, &x->env, err, sizeof err) != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        status = EXIT_USAGE;
    } else if (cli->env) {
        int erc = db_env_report(stdout, x->topo, &x->env);
        db_wisdom_report(stdout, cli->wisdom);
        status = erc == DB_OK ? 0 : 1;
    } else if (db_gbench_init(x->cli.gb_argc, x->cli.gb_argv, err, sizeof err) != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        status = EXIT_USAGE;
    }
    if (status >= 0) hwloc_topology_destroy(x->topo);
    return status;
}

/* The plan, and what of it this process runs: a child the cells its parent lists; anyone else
 * this shard's items. Returns -1 to go on, else the exit status. */
static int select_cells(struct run *x) {
    char err[1024];
    int rc = db_plan_build(&x->cli, &x->plan, err, sizeof err);
    if (rc != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        return rc == DB_E_INVALID ? EXIT_USAGE : 1;
    }
    const struct db_plan *plan = &x->plan;
    x->nsel = x->sweeping ? plan->nitems : plan->ncells;
    x->sel = malloc(x->nsel ? x->nsel : 1);
    x->done = calloc(plan->nitems ? plan->nitems : 1, 1);
    x->calibrated = calloc(plan->nconfigs ? plan->nconfigs : 1, 1);
    if (!x->sel || !x->done || !x->calibrated) {
        fprintf(stderr, "diagbench: out of memory\n");
        return 1;
    }
    if (x->cli.child && x->cli.cells) {
        if (db_plan_parse_indices(x->cli.cells, x->sel, x->nsel) != DB_OK) {
            fprintf(stderr, "diagbench: invalid --_cells '%s'\n", x->cli.cells);
            return EXIT_USAGE;
        }
    } else {
        for (size_t i = 0; i < x->nsel; i++)
            x->sel[i] = x->cli.child || plan->items[i].shard == plan->shard_k;
    }
    return -1;
}

/* The output: a resumed partial file (less the items it holds), or a new one (stdout for a
 * child); then the signal handlers that keep finished rows. Returns -1 to go on, else the exit
 * status. */
static int open_output(struct run *x) {
    char err[1024];
    const struct db_cli *cli = &x->cli;
    if (cli->child)
        snprintf(x->run_id, sizeof x->run_id, "%s", cli->child);
    else
        db_make_run_id(x->run_id, sizeof x->run_id);
    if (cli->resume && !cli->child) {
        struct db_resume info;
        int rc = db_resume_open(cli->resume, &x->plan, x->done, x->calibrated, &x->out, &info, err,
                                sizeof err);
        if (rc != DB_OK) {
            fprintf(stderr, "diagbench: %s\n", err);
            return rc == DB_E_INVALID ? EXIT_USAGE : 1;
        }
        size_t left = 0;
        for (size_t i = 0; i < x->nsel; i++)
            left += x->sel[i] &= !x->done[i];
        if (info.run_id[0]) snprintf(x->run_id, sizeof x->run_id, "%s", info.run_id);
        x->rows_before = (long)info.rows;
        if (!cli->quiet)
            fprintf(stderr, "diagbench: resuming %s: %zu rows kept%s, %zu cell%s to run\n",
                    cli->resume, info.rows,
                    info.dropped_torn ? " (an incomplete last row was dropped)" : "", left,
                    left == 1 ? "" : "s");
    } else {
        const char *path = cli->child || !cli->out ? "-" : cli->out;
        if (db_csv_open(&x->out, path, !cli->child, err, sizeof err) != DB_OK) {
            fprintf(stderr, "diagbench: %s\n", err);
            return EXIT_USAGE;
        }
    }
    if (db_signals_install(x->out.partial, x->rows_before,
                           cli->child       ? DB_SIG_SILENT
                           : x->out.partial ? DB_SIG_RESUME_HINT
                                            : 0) != DB_OK) {
        fprintf(stderr, "diagbench: cannot install the SIGINT / SIGTERM handlers\n");
        db_csv_abandon(&x->out);
        return 1;
    }
    x->st.plan = &x->plan;
    snprintf(x->st.shard, sizeof x->st.shard, "%u/%u", x->plan.shard_k, x->plan.shard_n);
    return -1;
}

/* Plan the write paths, calibrate, run the cells (or the sweep's children) and print the
 * summary. Returns 0, or the exit status of a failed or interrupted run. */
static int execute(struct run *x) {
    const struct db_cli *cli = &x->cli;
    /* Once per invocation (a sweep's children link the same library). */
    const char *blas_warning = cli->child ? NULL : db_openblas_warning();
    if (blas_warning) fprintf(stderr, "diagbench: warning: %s\n", blas_warning);
    struct db_summary *sum = cli->child || cli->quiet ? NULL : db_summary_create(1000);
    int status = 0, any = 0;
    for (size_t i = 0; i < x->nsel && !any; i++)
        any = x->sel[i];
    size_t *matrix_ns = NULL, nsizes = 0;
    if (!x->sweeping && any) status = plan_write_paths(cli, &x->plan, x->sel, &matrix_ns, &nsizes);
    /* Calibrate in the process that runs the cells (each sweep child, each shard), unless this
     * configuration has nothing to run or a resumed file holds its calibration already: the
     * machine's memset / non-temporal fill bandwidth at the largest matrix size (each
     * materialise cell also times its own write ceiling, runner.c). */
    if (status == 0 && x->plan.calibrate && !x->sweeping && !cli->no_calibrate &&
        !x->calibrated[0] && (any || cli->calibrate))
        status = run_calibration(cli, x->run_id, &x->out, sum, x->topo, &x->env, &x->st,
                                 nsizes ? &matrix_ns[nsizes - 1] : NULL, nsizes ? 1 : 0);
    free(matrix_ns);
    if (status == 0 && !cli->calibrate)
        status = x->sweeping ? db_sweep(x->argc, x->argv, x->run_id, &x->plan, x->sel,
                                        x->calibrated, &x->out, sum)
                             : run_cells(cli, x->run_id, &x->plan, x->sel, &x->out, sum, x->topo,
                                         &x->env, &x->st);
    if (sum && status == 0) db_summary_print(sum, stderr);
    db_summary_destroy(sum);
    return status;
}

/* Keep the finished rows of a failed run, or rename the partial file to the CSV. Returns the
 * exit status. */
static int finish_output(struct run *x, int status) {
    char err[1024];
    if (status != 0) {
        if (x->out.partial && status == 1)
            fprintf(stderr, "diagbench: finished rows are kept in %s\n", x->out.partial);
        db_csv_abandon(&x->out);
        return status;
    }
    char *written = x->out.path ? strdup(x->out.path) : NULL;
    db_signals_finish();
    if (db_csv_commit(&x->out, err, sizeof err) != DB_OK) {
        fprintf(stderr, "diagbench: %s\n", err);
        free(written);
        return 1;
    }
    if (written && !x->cli.child && !x->cli.quiet)
        fprintf(stderr, "diagbench: wrote %s\n", written);
    free(written);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "merge") == 0) return merge_main(argc - 2, argv + 2);
    static struct run x; /* large (the cli's lists); zeroed */
    int rc = parse_command_line(&x, argc, argv);
    if (rc < 0) rc = answer_questions(&x.cli);
    if (rc < 0) rc = check_environment(&x);
    if (rc >= 0) return rc;
    rc = select_cells(&x);
    if (rc < 0) rc = open_output(&x);
    if (rc < 0) rc = finish_output(&x, execute(&x));
    free(x.sel);
    free(x.done);
    free(x.calibrated);
    db_plan_free(&x.plan);
    hwloc_topology_destroy(x.topo);
    return rc;
}
