/* diagbench: how fast can we get the diagonal of an operator, and what does it cost as n grows?
 * The only place that prints usage, exits, or spawns children. */
#include <errno.h>
#include <inttypes.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fail.h"
#include "core/format.h"
#include "core/outfile.h"
#include "harness/env/omp_env.h"
#include "harness/env/openblas.h"
#include "harness/env/memory.h"
#include "harness/bench/calibrate.h"
#include "harness/plan/cli.h"
#include "harness/io/csv_write.h"
#include "harness/io/csv_read.h"
#include "harness/bench/gbench.h"
#include "harness/bench/kinds.h"
#include "harness/io/merge.h"
#include "harness/analysis/compare.h"
#include "harness/plan/plan.h"
#include "harness/env/provenance.h"
#include "harness/io/resume.h"
#include "harness/app/signals.h"
#include "harness/app/sweep.h"
#include "harness/app/progress.h"
#include "harness/io/gbench_json.h"
#include "harness/analysis/summary.h"
#include "harness/bench/wisdom.h"
#include "harness/bench/runner.h"
#include "workloads/workload.h"

#define EXIT_USAGE  2
#define EXIT_OUTPUT 4 /* standard output could not be written (docs/cli.md, Exit statuses) */

static const char usage[] =
    "usage: diagbench --list | --env\n"
    "       diagbench --matrix quick|pr|full [options]\n"
    "       diagbench -n SIZES [-w WORKLOADS] [-s STRATEGIES] [-p OPERATORS] [-j fwd,bwd] "
    "[options]\n"
    "       diagbench --resume FILE.partial [options]\n"
    "       diagbench merge FILE... -o OUT\n"
    "       diagbench compare BASE.csv NEW.csv | --pair A:B FILE.csv [options] (compare --help)\n"
    "\n"
    "Measures diagonal extraction of linear operators: every cell is checked against an exact\n"
    "reference diagonal (max_abs_err) and its primitive calls counted, then timed with Google\n"
    "Benchmark (wall-clock, repetitions). One CSV row per cell; see README.md for the columns.\n"
    "\n"
    "Selection (comma-separated lists; defaults: all workloads, all strategies, jacobian,\n"
    "fwd,bwd; -n is required without --matrix):\n"
    "  -w, --workloads LIST   workloads (see --list); solve:W times a linear solve and\n"
    "                         newton:W a Newton multi-root find of workload W. Default:\n"
    "                         every plain workload (when -s names only solve methods,\n"
    "                         every solve:W and newton:W)\n"
    "  -s, --strategies LIST  strategies (see --list); for solve:/newton: workloads, solve\n"
    "                         methods S+diagonal (S a strategy), materialise+lu,\n"
    "                         probe-tridiag+tridiagonal or materialise+tridiagonal.\n"
    "                         Default: every strategy of the workloads' kind\n"
    "  -p, --operators LIST   operator kinds: jacobian, function, matrix, diagonal\n"
    "                         (default jacobian)\n"
    "  -j, --jac LIST         fwd and/or bwd (jacobian operators only; default both)\n"
    "  -n, --sizes LIST       sizes n, whole numbers from 1 to 100000000, and ranges:\n"
    "                         LO:HI:geom:K  K sizes from LO to HI, geometric (rounded,\n"
    "                                       repeats dropped): 10:40000:geom:8\n"
    "                         LO:HI:lin:K   K sizes from LO to HI, evenly spaced (rounded)\n"
    "                         LO:HI:+STEP   LO, LO+STEP, ... up to HI: 100:1000:+100\n"
    "                         LO:HI:*MULT   LO, LO*MULT, ... below HI, then HI: 8:8192:*8\n"
    "                         mixed freely (20,100:1000:geom:4), at most 64 sizes in all;\n"
    "                         the CSV's matrix column records the expanded list\n"
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
    "                         OMP_WAIT_POLICY, OMP_THREAD_LIMIT and OPENBLAS_NUM_THREADS are\n"
    "                         validated (bad values exit 2) and each team's binding is checked\n"
    "                         with hwloc (CSV columns bound_cpus, binding); OMP_THREAD_LIMIT\n"
    "                         caps the team (CSV column threads) and -t counts above it exit 2\n"
    "      --reps K           repetitions per cell, 1..1000 (default 5)\n"
    "      --min-time S       minimum seconds per repetition (default 0.01)\n"
    "      --call-cost-us US  per-call cost of workloads that have one (seqsin; default 10)\n"
    "      --plant-work-ns NS TEST ONLY: NS ns of real busy work in every primitive call, inside\n"
    "                         the timed region, in every workload (plants a known slowdown for\n"
    "                         scripts/ab_study.sh; recorded in the matrix column; default 0)\n"
    "      --plant-work-pct P TEST ONLY: after each timed extraction of a diagonal cell, busy\n"
    "                         work for P % of that extraction's time (two extra clock reads:\n"
    "                         exact to ~2% of P from 2.5 us per extraction; matrix column)\n"
    "      --mem-limit SIZE   memory budget per cell, e.g. 2G (default: 85% of the least of\n"
    "                         MemAvailable, the cgroup limit and the NUMA node memory when\n"
    "                         that is a real limit; see --env). Under ulimit -v / -d the budget\n"
    "                         is also capped per cell at 85% of the address space left;\n"
    "                         a limit below what OpenBLAS maps at start-up (128 MiB per\n"
    "                         thread, plus one) exits 2 at once\n"
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
    "      --worker 'PROG ARGS'  the program serving -w worker (split into words without a\n"
    "                         shell, quotes honoured; docs/workers.md). Verified before any\n"
    "                         timing; CSV columns worker, worker_checks, reference,\n"
    "                         worker_compute_s (its own compute time per extraction)\n"
    "      --worker-cpus LIST  pin the worker to these CPUs (e.g. 1 or 0-1; recorded)\n"
    "      --worker-threads N  the worker's threads (DIAGBENCH_WORKER_THREADS, OMP_NUM_THREADS;\n"
    "                         recorded)\n"
    "      --precision PCT    repeat each timed cell in further rounds of --reps repetitions\n"
    "                         until the distribution-free 95% CI of its median (order\n"
    "                         statistics, >= 6 samples) is within PCT% of the median, or\n"
    "                         --max-time-per-cell seconds were spent, or 1000 samples kept;\n"
    "                         a cell that misses PCT says so in its note and on the terminal\n"
    "      --max-time-per-cell S  the cap of --precision: seconds of timing per cell\n"
    "                         (default 10, checked between rounds)\n"
    "                         Every ok row has samples_s (each repetition), outliers (Tukey)\n"
    "                         and median_ci_pct. The first 2 cells with cv above 10% get a\n"
    "                         warning under their progress line; the rest are counted in one\n"
    "                         warning after the last cell\n"
    "      --benchmark_*      Google Benchmark's flags, for the whole run: --benchmark_out=FILE\n"
    "                         (= --json FILE), --benchmark_out_format=json,\n"
    "                         --benchmark_repetitions=K (= --reps K), --benchmark_min_time=S\n"
    "                         (= --min-time S), --benchmark_report_aggregates_only=BOOL (the\n"
    "                         JSON holds only the aggregates); any other is refused (exit 2)"
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
    "      --cells FILE       run only the cells FILE lists: a CSV whose header names at least\n"
    "                         workload, operator, jac, strategy and n (as `diagbench compare\n"
    "                         --open-cells` writes); a listed cell runs in every -t/--bind/\n"
    "                         --places configuration; not with --resume\n"
    "      --shard K/N        run the K-th of N slices of the matrix (cells x -t/--bind/--places\n"
    "                         configurations), balanced by expected cost; every shard of a\n"
    "                         --matrix run calibrates first; join the slices with:\n"
    "                         diagbench merge A.csv B.csv ... -o ALL.csv\n"
    "\n"
    "Output:\n"
    "  -o, --out FILE         write the CSV to FILE (via FILE.partial, renamed when the run\n"
    "                         completes; rows are flushed as cells finish); default stdout.\n"
    "                         A FILE that is a device, FIFO or socket (/dev/null, /dev/stdout)\n"
    "                         is written directly: no FILE.partial, no rename, no --resume; a\n"
    "                         symlink to a file is followed (the link stays); a full disk stops\n"
    "                         the run with the incomplete row removed\n"
    "  -q, --quiet            no progress lines or end-of-run summary on stderr (progress is\n"
    "                         numbered over the whole run, a sweep included, with an ETA from\n"
    "                         the plan's cost model corrected by the time taken so far)\n"
    "      --json FILE        also write every cell of the run (the whole sweep) in Google\n"
    "                         Benchmark's JSON format: one entry per repetition and the mean,\n"
    "                         median, stddev and cv aggregates, named\n"
    "                         workload/operator/jac/strategy/n:N/threads:T/bind:B/places:P,\n"
    "                         written when the run completes (temporary file, renamed); FILE\n"
    "                         must be a regular file; not with --resume\n"
    "      --fail-on-error    exit 3 when any row has status error (unsupported and skipped_*\n"
    "                         rows do not count); the CSV and JSON are written in full\n"
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
    "or a bad OMP_* / OPENBLAS_NUM_THREADS value or address-space limit, 3 with --fail-on-error:\n"
    "the run completed but a row has status error, 130 / 143 interrupted by SIGINT / SIGTERM\n"
    "(finished rows kept in FILE.partial). A FILE.partial that holds no finished row is\n"
    "removed: the message then says to re-run the same command.\n";

/* Print an error message as one line, every invisible character that it quotes from the command
 * line or a file escaped and named (core/fail.h). */
static void print_err(char *err, size_t cap) {
    db_visible(err, cap);
    fprintf(stderr, "diagbench: %s\n", err);
}

/* Before main, before any library's constructor: OpenBLAS maps a buffer per OpenMP thread as it
 * loads and spins forever when the address-space limit refuses it (harness/env/memory.h). An
 * executable's .preinit_array runs ahead of its libraries' initialisers (ELF gABI; glibc's
 * _dl_init), so an impossible `ulimit -v` gets one line and exit 2 here instead of a hang. */
static void check_address_space(int argc, char **argv, char **envp) {
    (void)argc, (void)argv;
    char err[512], line[600];
    if (db_memory_startup_check(db_memory_rlimit(), db_memory_threads_at_load(envp), err,
                                sizeof err) == DB_OK)
        return;
    int len = snprintf(line, sizeof line, "diagbench: %s\n", err);
    ssize_t w = write(STDERR_FILENO, line, len > 0 && (size_t)len < sizeof line ? (size_t)len : 0);
    (void)w;
    _exit(EXIT_USAGE);
}
__attribute__((used, section(".preinit_array"))) static void (*const preinit_check)(
    int, char **, char **) = check_address_space;

static void list_all(void) {
    printf("workloads:\n");
    for (size_t i = 0; i < db_workload_count; i++) {
        const struct db_workload *w = db_workloads[i];
        printf("  %-10s %s [batching: %s; structure: %s]\n", w->name, w->description,
               db_batch_name(w->batch), db_structure_name(w->structure));
    }
    printf("  %-10s %s [batching and tags: its hello's, verified]\n", db_workload_worker.name,
           db_workload_worker.description);
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

/* One progress line per cell: its number in the whole run, the cell, then its time and checks,
 * or why it did not run; then the ETA of the rest of the run (progress.h). */
static void progress(size_t i, size_t count, const struct db_cell *c,
                     const struct db_cell_result *r, const char *config, const char *eta,
                     struct db_noise_tally *noise) {
    char w[64], m[64];
    fprintf(stderr, "[%*zu/%zu] %s %s %s %s %s n=%zu: ", count >= 100 ? 3 : 2, i + 1, count, config,
            db_cell_workload_name(c, w, sizeof w), c->op_kind, db_jac_name(c->jac),
            db_cell_strategy_name(c, m, sizeof m), c->n);
    if (strcmp(r->status, "ok") != 0) {
        fprintf(stderr, "%s: %s  %s\n", r->status, r->note, eta);
        return;
    }
    char t[32];
    db_fmt_time(r->t.median, t, sizeof t);
    if (c->kind == DB_CELL_DIAGONAL) {
        fprintf(stderr, "%s (cv %.1f%%) calls=%llu colours=%lld err=%.1e  %s\n", t, 100 * r->t.cv,
                r->primitive_calls, r->colours, r->max_abs_err, eta);
    } else {
        fprintf(stderr, "%s (cv %.1f%%) calls=%llu err=%.1e residual=%.1e", t, 100 * r->t.cv,
                r->primitive_calls, r->max_abs_err, r->residual);
        if (c->kind == DB_CELL_NEWTON)
            fprintf(stderr, " steps=%d converged=%d", r->newton_steps, r->converged);
        fprintf(stderr, "  %s\n", eta);
    }
    if (r->precision_missed) fprintf(stderr, "  warning: %s\n", r->note);
    if (db_noise_count(noise, r->t.cv, DB_CV_WARN))
        fprintf(stderr,
                "  warning: cv %.1f%% > %.0f%% (%d of %d repetitions are Tukey outliers): the "
                "times are noisy; another load or frequency scaling? --precision PCT repeats "
                "until the median is known to PCT%%%s\n",
                100 * r->t.cv, 100 * DB_CV_WARN, r->outliers, r->reps,
                noise->noisy == DB_NOISE_SHOWN ? " (further noisy cells are counted, and "
                                                 "summarised after the last cell)"
                                               : "");
}

/* --precision not reached: say so in the row's note (and so on the terminal). */
static void note_precision(struct db_cell_result *r, const struct db_run_opts *o) {
    if (!r->precision_missed || strcmp(r->status, "ok") != 0) return;
    char ci[32] = "undefined (fewer than 6 samples)";
    if (r->median_ci_pct == r->median_ci_pct) snprintf(ci, sizeof ci, "+-%.2g%%", r->median_ci_pct);
    size_t used = strlen(r->note);
    snprintf(r->note + used, sizeof r->note - used,
             "%s--precision %g%% not reached: 95%% CI of the median %s after %d repetitions "
             "(cap %g s or %d samples)",
             used ? "; " : "", o->precision_pct, ci, r->reps, o->max_time_per_cell_s,
             DB_SAMPLES_MAX);
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
        .samples_s = r->samples,
        .outliers = r->outliers,
        .median_ci_pct = r->median_ci_pct,
        .remote_transport = r->remote_transport,
        .remote_encoding = r->remote_encoding,
        .round_trip_s = r->round_trip_s,
        .worker = r->worker,
        .worker_checks = r->worker_checks,
        .reference = r->reference,
        .worker_compute_s = r->worker_compute_s,
        .worker_cpus = r->worker_cpus,
        .worker_threads = r->worker_threads,
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

/* Rows this process wrote with status error (--fail-on-error). */
static size_t error_rows;

/* Write one row to out (and the summary), whole: one write(2), fsync'd, never torn by SIGINT /
 * SIGTERM (signals.h). DB_OK or DB_E_IO / DB_E_NOMEM. */
static int emit_row(struct db_csv_file *out, struct db_summary *sum, struct db_row *row,
                    const struct stamp *st) {
    row->shard = st->shard;
    row->matrix = st->plan->matrix;
    row->matrix_id = st->plan->matrix_id;
    if (row->status && strcmp(row->status, "error") == 0) error_rows++;
    char *line = db_csv_format_row(row);
    int rc = line ? DB_OK : DB_E_NOMEM;
    db_signals_row_begin();
    if (rc == DB_OK) rc = db_csv_append_line(out, line);
    db_signals_row_end(rc == DB_OK);
    if (rc == DB_E_IO) {
        char why[1400];
        fprintf(stderr, "diagbench: %s\n", db_csv_error(out, why, sizeof why));
    } else if (rc != DB_OK) {
        fprintf(stderr, "diagbench: out of memory formatting a row\n");
    }
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

/* Under ulimit -v / -d, what is left of the address space shrinks as a run maps thread stacks,
 * malloc arenas and buffers: each cell's budget is capped afresh (a cell that does not fit is
 * skipped_memory, never an out-of-memory error). */
static unsigned long long address_space_budget(unsigned long long budget) {
    unsigned long long left = db_memory_rlimit_left();
    unsigned long long cap = (unsigned long long)((double)left * DB_BUDGET_FRACTION);
    return left && (cap < budget || !budget) ? (cap ? cap : 1) : budget;
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
    int requested = db_omp_team_size(env);
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

/* What a process reports beyond its CSV rows: its place in the run's progress (a sweep child's
 * from --_position) and the JSON fragments its cells append to (json_fd 0: no --json). */
struct report {
    struct db_progress_position pos;
    unsigned long long ready_ns; /* when this process knew its position (set_report) */
    int json_fd;
    int aggregates_only;
};

/* Append a finished cell's Google Benchmark entries (gbench_json.h) to the JSON fragments. */
static int json_cell(const struct report *rep, const struct db_plan *plan, size_t cell,
                     const struct db_row *row, const struct db_binding *b,
                     const struct db_cell_result *r) {
    char name[512];
    int threads = b->team > 0 ? b->team : (int)row->threads;
    db_json_cell_name(name, sizeof name, row->workload, row->operator_kind, row->jac, row->strategy,
                      row->n, threads, row->proc_bind, row->places);
    struct db_json_cell jc = {name, rep->pos.config * plan->ncells + cell, threads, r,
                              rep->aggregates_only};
    return db_json_append_cell(rep->json_fd, &jc);
}

/* Run the cells with sel[u] set (u: index into the plan's cells, of any kind) in this process,
 * appending rows to out (and, with --json, their entries to the fragments). Each cell first checks
 * with hwloc where the OpenMP team is bound (cheap: one parallel region) and records it in the row.
 * A signal abandons the cell in progress (signals.h). */
static int run_cells(const struct db_cli *cli, const char *run_id, const struct db_plan *plan,
                     const unsigned char *sel, struct db_csv_file *out, struct db_summary *sum,
                     hwloc_topology_t topo, const struct db_omp_env *env, const struct stamp *st,
                     const struct report *rep) {
    const struct db_cell *cells = plan->cells;
    struct db_progress_position pos = rep->pos;
    /* This process's own write-path planning and calibration are not cells: the ETA's clock
     * leaves them out (a first cell would otherwise be charged minutes of planning and the
     * ETA read hundreds of hours). */
    unsigned long long prep_ns = db_progress_now_ns() - rep->ready_ns;
    pos.start_ns += prep_ns;
    struct db_provenance prov;
    db_provenance_collect(&prov);
    struct db_run_opts opts = budgeted(cli);
    unsigned long long budget = opts.mem_budget;
    opts.warn = !cli->quiet;
    char config[384];
    snprintf(config, sizeof config, "t=%d bind=%s places=%s", prov.threads, prov.proc_bind,
             prov.places);
    if (env->warnings[0]) fprintf(stderr, "diagbench: warning: [%s] %s\n", config, env->warnings);
    int requested = db_omp_team_size(env);
    struct db_binding b;
    char warned[sizeof b.detail] = "";
    struct db_eta eta_model;
    if (db_eta_init_plan(&eta_model, plan, pos.config, sel) != DB_OK) {
        fprintf(stderr, "diagbench: out of memory setting up the ETA\n");
        return 1;
    }
    /* each sweep child first plans the write path for its threads and calibrates, as this
     * process did: price that at what it cost here, for the children before and after it */
    eta_model.earlier_prep_s = (double)prep_ns * 1e-9 * (double)pos.config;
    if (pos.config + 1 < plan->nconfigs)
        eta_model.later_prep_s = (double)prep_ns * 1e-9 * (double)(plan->nconfigs - 1 - pos.config);
    struct db_noise_tally noise = {0};
    unsigned long long last_ns = db_progress_now_ns();
    int failed = 0; /* the reason is said where it happens */
    for (size_t i = 0; i < plan->ncells; i++) {
        if (!sel[i]) continue;
        if (db_binding_check(topo, requested, &b) != DB_OK) {
            fprintf(stderr, "diagbench: out of memory checking the thread binding\n");
            failed = 1;
            break;
        }
        if (b.detail[0] && strcmp(b.detail, warned) != 0) {
            fprintf(stderr, "diagbench: warning: [%s] %s\n", config, b.detail);
            snprintf(warned, sizeof warned, "%s", b.detail);
        }
        /* The row points into r: it lives until the row is written. */
        struct db_row row;
        static struct db_cell_result r; /* large (its samples): not on the stack */
        char ts[32], note[4096], wname[64], sname[64];
        opts.mem_budget = address_space_budget(budget);
        db_cell_run(&cells[i], &opts, &r);
        note_precision(&r, &opts);
        size_t item = pos.config * plan->ncells + i;
        unsigned long long cost = item < plan->nitems ? plan->items[item].cost : 0,
                           now = db_progress_now_ns();
        pos.done++;
        pos.cost_done += cost;
        db_eta_add(&eta_model, i, (double)cost, (double)(now - last_ns) * 1e-9);
        last_ns = now;
        if (!cli->quiet) {
            char eta[32];
            db_progress_format_eta(db_eta_left_s(&eta_model, &pos, now), eta, sizeof eta);
            progress(pos.done - 1, pos.total, &cells[i], &r, config, eta, &noise);
        }
        row_note(note, sizeof note, r.note, env->warnings, b.detail);
        fill_row(&row, run_id, &prov, &b, &cells[i], &r, note, ts, sizeof ts, wname, sname,
                 sizeof wname);
        if (emit_row(out, sum, &row, st) != DB_OK) { /* emit_row said why */
            failed = 1;
            break;
        }
        if (rep->json_fd && json_cell(rep, plan, i, &row, &b, &r) != DB_OK) {
            fprintf(stderr, "diagbench: writing the JSON entries failed: %s\n", strerror(errno));
            failed = 1;
            break;
        }
    }
    db_eta_free(&eta_model);
    if (failed) return 1;
    char noisy[512];
    db_noise_summary(&noise, DB_CV_WARN, noisy, sizeof noisy);
    if (noisy[0] && !cli->quiet) fprintf(stderr, "diagbench: warning: [%s] %s\n", config, noisy);
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
        print_err(err, sizeof err);
        return EXIT_USAGE;
    }
    if (a.help) {
        fputs(merge_usage, stdout);
        return 0;
    }
    size_t rows;
    int rc = db_merge_run(&a, &rows, err, sizeof err);
    if (rc != DB_OK) {
        print_err(err, sizeof err);
        return rc == DB_E_INVALID ? EXIT_USAGE : 1;
    }
    if (!a.quiet && strcmp(a.out, "-") != 0)
        fprintf(stderr, "diagbench: merged %d file%s, %zu rows: wrote %s\n", a.nfiles,
                a.nfiles == 1 ? "" : "s", rows, a.out);
    return 0;
}

static const char compare_usage[] =
    "usage: diagbench compare BASE.csv NEW.csv [options]\n"
    "       diagbench compare --base B1.csv B2.csv... --new N1.csv N2.csv... [options]\n"
    "       diagbench compare --pair A:B FILE.csv... [options]\n"
    "\n"
    "Decide, cell by cell, whether NEW is faster or slower than BASE. Cells are matched on\n"
    "(workload, operator, jac, strategy, n, threads, proc_bind, places); cells found on only one\n"
    "side are listed, and so are the run parameters that differ between the sides (matrix,\n"
    "git_rev, compiler, host, cpu_model, hwloc_version, openblas_config, cpu_governor,\n"
    "omp_wait_policy, call_cost_s, binding).\n"
    "\n"
    "The samples: with one file per side, the repetitions of the cell in that run (samples_s),\n"
    "as Google Benchmark's compare.py does; they do not see what differs between two runs of\n"
    "the same command. With two files or more per side (--base/--new, each file one run of the\n"
    "same command, best interleaved: base, new, base, new, ...), the cell's median in each run,\n"
    "so that run-to-run differences are part of the noise (README: Comparing runs). Per cell:\n"
    "  ratio    median(NEW) / median(BASE) (> 1: NEW is slower), with a 95% percentile\n"
    "           bootstrap interval (2000 resamples of each side, seeded by the cell)\n"
    "  p        two-sided Mann-Whitney U p-value, as scipy.stats.mannwhitneyu computes it by\n"
    "           default (Google Benchmark's compare.py): exact without ties when a side has at\n"
    "           most 8 samples, else normal with tie and continuity corrections\n"
    "  p_adj    Benjamini-Hochberg adjusted p over the cells tested (false discovery rate)\n"
    "  verdict  slower / faster: p_adj < alpha and |ratio - 1| >= --min-effect;\n"
    "           no change: otherwise;\n"
    "           undecided: a row not ok (in any run), no samples (one file per side from\n"
    "           before samples_s: medians only; several runs use their medians), or too few\n"
    "           samples or runs: the smallest p the exact test can give, 2 / C(m+n, m), is\n"
    "           above alpha (with alpha 0.05: fewer than 4 per side when m = n)\n"
    "\n"
    "  --base FILE...           the base side's runs: every file up to the next option\n"
    "  --new FILE...            the new side's runs (as many as --base, or not: at least two)\n"
    "  --pair A:B               compare within the FILEs: rows whose strategy is A (base) with\n"
    "                           rows whose strategy is B (new), matched on the other key columns\n"
    "                           (several FILEs: runs, as with --base/--new). A and B are\n"
    "                           strategy column values: a strategy (materialise:probe) or, on\n"
    "                           solve:/newton: rows, a solve method strategy+solver\n"
    "                           (materialise+diagonal:probe+diagonal)\n"
    "  --alpha A                significance level, 0 < A <= 0.5 (default 0.05)\n"
    "  --min-effect PCT         smaller differences are no change even when significant\n"
    "                           (default 0)\n"
    "  --format md|csv|json     md (default): a table to paste into a pull request; csv: one row\n"
    "                           per cell; json: the whole report (README.md, Comparing runs)\n"
    "  --fail-on-regression PCT exit 1 when a cell is slower (verdict) by at least PCT %\n"
    "  --sequential MIN:MAX     the adaptive rule of scripts/ab.sh --adaptive: each side's files\n"
    "                           are its runs in the order they ran (one per round); a cell is\n"
    "                           tested after each of its runs from MIN per side (3 <= MIN <=\n"
    "                           MAX <= 100), Yuen's trimmed t on log run medians (3-5 runs) or\n"
    "                           Mann-Whitney U (6 and more), alpha spent over\n"
    "                           the looks (Lan-DeMets, Pocock type; Bonferroni over the looks)\n"
    "                           and Benjamini-Hochberg across the cells of a look: slower /\n"
    "                           faster (significant, outside +-min effect) or no change (the CI\n"
    "                           lies inside +-min effect, TOST) settle a cell; --min-effect\n"
    "                           defaults to 3 here. Per cell: runs, verdict, CI, rule\n"
    "  --open-cells FILE        with --sequential: write the cells still open (undecided and\n"
    "                           below MAX runs per side) to FILE, a CSV that diagbench --cells\n"
    "                           reads (replaced through a temporary file in its directory)\n"
    "  --check-args             check the arguments only (exit 0 or 2), read no file: what\n"
    "                           scripts/ab.sh does with -c before the first run\n"
    "  -h, --help               this text\n"
    "  --                       every argument after it is a file name\n"
    "\n"
    "The report goes to stdout. Exit status: 0 compared (no regression), 1 a regression under\n"
    "--fail-on-regression, 2 bad usage or an input that is not a diagbench CSV, 4 the report\n"
    "could not be written to stdout (a full disk, a closed pipe).\n";

/* diagbench compare BASE.csv NEW.csv | --base B.csv... --new N.csv... | --pair A:B FILE.csv... */
static int compare_main(int argc, char **argv) {
    struct db_compare_args a;
    char err[1024];
    if (db_compare_parse(argc, argv, &a, err, sizeof err) != DB_OK) {
        print_err(err, sizeof err);
        return EXIT_USAGE;
    }
    if (a.help) {
        fputs(compare_usage, stdout);
        return 0;
    }
    if (a.check_args) return 0; /* valid arguments; no file is read */
    int regressed = 0;
    int rc = db_compare_run(&a, stdout, &regressed, err, sizeof err);
    if (rc != DB_OK) {
        print_err(err, sizeof err);
        return rc == DB_E_INVALID ? EXIT_USAGE : 1;
    }
    return regressed; /* main checks that the report reached stdout (EXIT_OUTPUT) */
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
    struct db_json_out json; /* --json: the file and its fragments (fd -1 without) */
    struct report rep;       /* progress position and JSON fragments of this process's cells */
    int child_error_rows;    /* a sweep child had rows with status error (--fail-on-error) */
};

/* What an output path names: its device and inode when it exists (links followed), else the real
 * path of its folder and its name. 0 when it cannot tell (a folder that does not exist: the
 * output's own check says so) or the path is a character device (/dev/null twice is harmless). */
static int output_id(const char *path, char *id, size_t len) {
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISCHR(st.st_mode)) return 0;
        snprintf(id, len, "inode %ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
        return 1;
    }
    char *dir = db_outfile_dir(path), real[4096];
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    int ok = dir && realpath(dir, real) != NULL;
    if (ok) snprintf(id, len, "path %s/%s", real, base);
    free(dir);
    return ok;
}

/* -o (and its .partial), --json and --wisdom must be four different files, whatever their
 * spelling (./x, an absolute path, ../dir/x, a link): else exit 2 before any cell. */
static int check_output_collisions(const struct db_cli *cli) {
    char partial[4200] = "", wisdom[4096] = "";
    struct output {
        const char *flag, *path;
    } outs[4];
    size_t k = 0;
    if (cli->out && strcmp(cli->out, "-") != 0) {
        outs[k++] = (struct output){"--out", cli->out};
        snprintf(partial, sizeof partial, "%s.partial", cli->out);
        outs[k++] = (struct output){"--out's partial file", partial};
    }
    if (cli->json)
        outs[k++] = (struct output){cli->gb_out ? "--benchmark_out" : "--json", cli->json};
    if (cli->wisdom && db_wisdom_file(cli->wisdom, wisdom, sizeof wisdom) == DB_OK)
        outs[k++] = (struct output){"--wisdom", wisdom};
    for (size_t i = 0; i < k; i++)
        for (size_t j = i + 1; j < k; j++) {
            char a[4200], b[4200];
            if (outs[i].path == partial && outs[j].path == cli->out) continue;
            if (!output_id(outs[i].path, a, sizeof a) || !output_id(outs[j].path, b, sizeof b) ||
                strcmp(a, b) != 0)
                continue;
            fprintf(stderr,
                    "diagbench: %s '%s' is the same file as %s '%s': give each output its own "
                    "file\n",
                    outs[j].flag, outs[j].path, outs[i].flag, outs[i].path);
            return EXIT_USAGE;
        }
    return -1;
}

/* The command line (and, for --resume alone, the flags of the partial file). Returns -1 to go
 * on, else the exit status. */
static int parse_command_line(struct run *x, int argc, char **argv) {
    char err[1024];
    x->argc = argc;
    x->argv = argv;
    if (db_cli_parse(argc, argv, &x->cli, err, sizeof err) != DB_OK) {
        print_err(err, sizeof err);
        return EXIT_USAGE;
    }
    const struct db_cli *cli = &x->cli;
    if (!cli->help && !cli->version && !cli->list && !cli->env && !cli->schema &&
        check_output_collisions(cli) >= 0)
        return EXIT_USAGE;
    if (!cli->flags_from_resume || cli->help || cli->version || cli->list || cli->env) return -1;
    int rc = db_resume_flags(cli->resume, argc, argv, cli->shard_n != 0, &resume_argc, &resume_argv,
                             err, sizeof err);
    if (rc == DB_OK && db_cli_parse(resume_argc, resume_argv, &x->cli, err, sizeof err) != DB_OK)
        rc = DB_E_INVALID;
    if (rc != DB_OK) {
        print_err(err, sizeof err);
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

/* A -t count above OMP_THREAD_LIMIT could not run a team of that size: its rows would claim
 * threads that never ran (and duplicate another count's). */
static int check_thread_limit(const struct db_cli *cli, const struct db_omp_env *env, char *err,
                              size_t errlen) {
    for (size_t i = 0; env->thread_limit && i < cli->nthreads; i++)
        if (cli->threads[i] > env->thread_limit)
            return db_fail(err, errlen,
                           "-t %d exceeds OMP_THREAD_LIMIT=%d: a team of %d threads cannot run "
                           "(raise OMP_THREAD_LIMIT or leave that count out)",
                           cli->threads[i], env->thread_limit, cli->threads[i]);
    /* Each -t child loads OpenBLAS with its own thread count: check them all before the first
     * (check_address_space checked this process). */
    for (size_t i = 0; i < cli->nthreads; i++)
        DB_CHECK(db_memory_startup_check(db_memory_rlimit(), cli->threads[i], err, errlen));
    return DB_OK;
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
    if (db_omp_env_validate(masked_getenv, &mask, x->topo, &x->env, err, sizeof err) != DB_OK ||
        check_thread_limit(cli, &x->env, err, sizeof err) != DB_OK) {
        print_err(err, sizeof err);
        status = EXIT_USAGE;
    } else if (cli->env) {
        int erc = db_env_report(stdout, x->topo, &x->env);
        db_wisdom_report(stdout, cli->wisdom);
        status = erc == DB_OK ? 0 : 1;
    } else if (db_gbench_init(x->cli.gb_argc, x->cli.gb_argv, err, sizeof err) != DB_OK) {
        print_err(err, sizeof err);
        status = EXIT_USAGE;
    }
    if (status >= 0) hwloc_topology_destroy(x->topo);
    return status;
}

/* A process that runs cells maps OpenBLAS's buffer for its calls now, while an address-space
 * limit can still be reported (harness/env/openblas.h). Returns -1 to go on, else the exit
 * status. */
static int reserve_openblas(struct run *x) {
    char err[512];
    if (x->sweeping || db_openblas_reserve(err, sizeof err) == DB_OK) return -1;
    print_err(err, sizeof err);
    return EXIT_USAGE;
}

/* --cells FILE: listed[c] = 1 for each plan cell whose (workload, operator, jac, strategy, n) is a
 * row of FILE. The cell's threads, proc_bind and places are not matched: a listed cell runs in
 * every configuration of a sweep (it may run where it is not needed, never skipped where it is).
 * FILE must be a regular file of at most 16 MiB with those five columns. */
#define CELLS_FILE_MAX (16u << 20)
static int cells_listed(const char *path, const struct db_plan *plan, unsigned char *listed,
                        char *err, size_t errlen) {
    static const char *const cols[5] = {"workload", "operator", "jac", "strategy", "n"};
    struct stat st;
    if (stat(path, &st) != 0)
        return db_fail(err, errlen, "invalid --cells '%s': %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)CELLS_FILE_MAX)
        return db_fail(err, errlen,
                       "invalid --cells '%s': expected a regular file of at most 16 MiB (a CSV "
                       "with columns workload, operator, jac, strategy, n)",
                       path);
    struct db_table t;
    char why[512];
    if (db_table_read(path, &t, why, sizeof why) != DB_OK)
        return db_fail(err, errlen, "invalid --cells: %s", why);
    int col[5], rc = t.nrec ? DB_OK : DB_E_INVALID;
    for (int k = 0; k < 5 && rc == DB_OK; k++)
        if ((col[k] = db_table_column(&t, cols[k])) < 0) rc = DB_E_INVALID;
    for (size_t r = 1; r < t.nrec && rc == DB_OK; r++)
        if (t.rec[r].nfields != t.rec[0].nfields) rc = DB_E_INVALID;
    if (rc != DB_OK) {
        db_table_free(&t);
        return db_fail(err, errlen,
                       "invalid --cells '%s': expected a CSV whose header names workload, "
                       "operator, jac, strategy and n, every row with the header's fields",
                       path);
    }
    for (size_t c = 0; c < plan->ncells; c++) {
        const struct db_cell *cell = &plan->cells[c];
        char wname[64], sname[64], n[32];
        const char *key[5] = {db_cell_workload_name(cell, wname, sizeof wname),
                              db_cell_operator_name(cell), db_jac_name(cell->jac),
                              db_cell_strategy_name(cell, sname, sizeof sname), n};
        snprintf(n, sizeof n, "%zu", cell->n);
        listed[c] = 0;
        for (size_t r = 1; r < t.nrec && !listed[c]; r++) {
            int k = 0;
            while (k < 5 && strcmp(t.rec[r].field[col[k]], key[k]) == 0)
                k++;
            listed[c] = k == 5;
        }
    }
    db_table_free(&t);
    return DB_OK;
}

/* The plan, and what of it this process runs: a child the cells its parent lists; anyone else
 * this shard's items (and, with --cells, the listed cells among them). Returns -1 to go on, else
 * the exit status. */
static int select_cells(struct run *x) {
    char err[1024];
    int rc = db_plan_build(&x->cli, &x->plan, err, sizeof err);
    if (rc != DB_OK) {
        print_err(err, sizeof err);
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
    if (x->cli.cells_file && !x->cli.child) {
        unsigned char *listed = malloc(plan->ncells ? plan->ncells : 1);
        if (!listed) {
            fprintf(stderr, "diagbench: out of memory\n");
            return 1;
        }
        if (cells_listed(x->cli.cells_file, plan, listed, err, sizeof err) != DB_OK) {
            free(listed);
            print_err(err, sizeof err);
            return EXIT_USAGE;
        }
        for (size_t i = 0; i < x->nsel; i++)
            x->sel[i] &= listed[x->sweeping ? plan->items[i].cell : i];
        free(listed);
    }
    return -1;
}

/* This process's place in the run's progress: a sweep child's from its parent, else the start of
 * the run, counting the cells (plan items) this process selected; and where JSON entries go. */
static void set_report(struct run *x) {
    const struct db_cli *cli = &x->cli;
    x->rep.json_fd = cli->child ? cli->json_fd : x->json.path ? x->json.fd : 0;
    x->rep.aggregates_only = cli->json_aggregates_only;
    x->rep.ready_ns = db_progress_now_ns();
    if (cli->have_position) {
        x->rep.pos = cli->position;
        return;
    }
    struct db_progress_position *p = &x->rep.pos;
    *p = (struct db_progress_position){.start_ns = db_progress_now_ns()};
    for (size_t i = 0; i < x->nsel && i < x->plan.nitems; i++)
        if (x->sel[i]) p->total++, p->cost_total += x->plan.items[i].cost;
}

static int open_file(struct run *x);
static int install_handlers(struct run *x);

/* The output: a resumed partial file (less the items it holds), or a new one (stdout for a
 * child); then the signal handlers that keep finished rows. Returns -1 to go on, else the exit
 * status. */
static int open_output(struct run *x) {
    if (x->cli.child)
        snprintf(x->run_id, sizeof x->run_id, "%s", x->cli.child);
    else
        db_make_run_id(x->run_id, sizeof x->run_id);
    /* SIGINT / SIGTERM wait until the handlers know the file: a signal between its creation and
     * the handlers' installation would leave a header-only partial file behind. */
    sigset_t block, was;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &was);
    int rc = open_file(x);
    if (rc < 0 && install_handlers(x) != DB_OK) rc = 1;
    sigprocmask(SIG_SETMASK, &was, NULL);
    if (rc < 0) {
        x->st.plan = &x->plan;
        snprintf(x->st.shard, sizeof x->st.shard, "%u/%u", x->plan.shard_k, x->plan.shard_n);
        set_report(x);
    }
    return rc;
}

/* open_output's file: a resumed partial file or a new one. Returns -1 to go on, else the exit
 * status. */
static int open_file(struct run *x) {
    char err[1024];
    const struct db_cli *cli = &x->cli;
    if (cli->resume && !cli->child) {
        struct db_resume info;
        int rc = db_resume_open(cli->resume, &x->plan, x->done, x->calibrated, &x->out, &info, err,
                                sizeof err);
        if (rc != DB_OK) {
            print_err(err, sizeof err);
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
        if (cli->json && !cli->child &&
            db_json_open(&x->json, cli->json, err, sizeof err) != DB_OK) {
            print_err(err, sizeof err);
            return EXIT_USAGE;
        }
        if (db_csv_open(&x->out, path, !cli->child, err, sizeof err) != DB_OK) {
            print_err(err, sizeof err);
            return EXIT_USAGE;
        }
    }
    return -1;
}

/* The SIGINT / SIGTERM handlers that keep finished rows (signals.h). */
static int install_handlers(struct run *x) {
    const struct db_cli *cli = &x->cli;
    int created = x->out.resumed ? 0 : DB_SIG_CREATED;
    if (db_signals_install(x->out.partial ? x->out.partial : x->out.path, x->rows_before,
                           cli->child       ? DB_SIG_SILENT
                           : x->out.partial ? DB_SIG_RESUME_HINT | created
                                            : 0) != DB_OK) {
        fprintf(stderr, "diagbench: cannot install the SIGINT / SIGTERM handlers\n");
        if (x->out.partial && !x->out.resumed) remove(x->out.partial);
        db_csv_abandon(&x->out);
        return DB_E_INTERNAL;
    }
    return DB_OK;
}

/* The rows a resumed file already holds enter the summary, so that it covers the whole file
 * (slopes fitted on every size, series finished before the interruption included). */
static void summarise_kept_rows(struct db_summary *sum, const char *partial) {
    struct db_table t;
    char why[512];
    if (db_table_read(partial, &t, why, sizeof why) != DB_OK) {
        fprintf(stderr, "diagbench: warning: the summary leaves out the kept rows: %s\n", why);
        return;
    }
    for (size_t r = 1; r < t.nrec; r++) {
        char *line = strndup(t.text + t.rec[r].offset, t.rec[r].length);
        if (line) db_summary_add_csv(sum, line);
        free(line);
    }
    db_table_free(&t);
}

/* Plan the write paths, calibrate, run the cells (or the sweep's children) and print the
 * summary. Returns 0, or the exit status of a failed or interrupted run. */
static int execute(struct run *x) {
    const struct db_cli *cli = &x->cli;
    /* Once per invocation (a sweep's children link the same library). */
    const char *blas_warning = cli->child ? NULL : db_openblas_warning();
    if (blas_warning) fprintf(stderr, "diagbench: warning: %s\n", blas_warning);
    struct db_summary *sum = cli->child || cli->quiet ? NULL : db_summary_create(1000);
    if (sum && x->out.resumed) summarise_kept_rows(sum, x->out.partial);
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
    if (status == 0 && !cli->calibrate && x->sweeping) {
        struct db_sweep_report sr = {x->rep.json_fd, x->rep.pos.start_ns, 0};
        status = db_sweep(x->argc, x->argv, x->run_id, &x->plan, x->sel, x->calibrated, &x->out,
                          sum, &sr);
        x->child_error_rows = sr.error_rows;
    } else if (status == 0 && !cli->calibrate)
        status = run_cells(cli, x->run_id, &x->plan, x->sel, &x->out, sum, x->topo, &x->env, &x->st,
                           &x->rep);
    if (sum && status == 0) db_summary_print(sum, stderr);
    db_summary_destroy(sum);
    return status;
}

/* After a failed run: what its partial file holds and what to do next (each advice is followed
 * by a test, tests/test_hostile.c). A file this run created that holds no row is removed (the
 * same command then starts afresh; --resume alone could not take the flags from it). */
static void advise(struct run *x) {
    const char *partial = x->out.partial;
    const char *when = x->out.failed ? "once the disk has room, " : "";
    char word[4200];
    if (db_signals_rows() > 0)
        fprintf(stderr, "diagbench: finished rows are kept in %s: %scontinue with --resume %s\n",
                partial, when, db_shell_word(partial, word, sizeof word));
    else if (x->out.resumed)
        fprintf(stderr, "diagbench: %s holds no finished row: %srun the same command again\n",
                partial, when);
    else if (remove(partial) == 0)
        fprintf(stderr, "diagbench: no row was finished; %s removed: %sre-run the same command\n",
                partial, when);
    else
        fprintf(stderr, "diagbench: no row was finished; remove %s, then re-run the command\n",
                partial);
}

/* Keep the finished rows of a failed run, or rename the partial file to the CSV. Returns the
 * exit status. */
static int finish_output(struct run *x, int status) {
    char err[1024];
    if (status != 0) {
        if (x->out.partial && status == 1) advise(x);
        db_csv_abandon(&x->out);
        db_json_close(&x->json);
        return status;
    }
    char *written = x->out.path ? strdup(x->out.path) : NULL;
    db_signals_finish();
    if (db_csv_commit(&x->out, err, sizeof err) != DB_OK) {
        print_err(err, sizeof err);
        free(written);
        return 1;
    }
    if (written && !x->cli.child && !x->cli.quiet)
        fprintf(stderr, "diagbench: wrote %s\n", written);
    free(written);
    if (x->json.path) {
        struct db_provenance prov;
        db_provenance_collect(&prov);
        struct db_json_context ctx = {&prov, &x->plan, x->run_id};
        char *json = strdup(x->json.path);
        if (db_json_commit(&x->json, &ctx, err, sizeof err) != DB_OK) {
            print_err(err, sizeof err);
            free(json);
            return 1;
        }
        if (json && !x->cli.quiet) fprintf(stderr, "diagbench: wrote %s\n", json);
        free(json);
    }
    if (x->cli.fail_on_error && (error_rows || x->child_error_rows)) {
        if (!x->cli.child)
            fprintf(stderr, "diagbench: rows with status error (--fail-on-error): exit %d\n",
                    DB_EXIT_ERROR_ROWS);
        return DB_EXIT_ERROR_ROWS;
    }
    return 0;
}

/* Whatever went to standard output must have been written: a full disk or a closed pipe is an
 * error of its own (EXIT_OUTPUT), never status 1, which compare gives a regression. */
static int stdout_written(int status) {
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout)) return status;
    fprintf(stderr, "diagbench: cannot write to standard output: %s\n",
            errno ? strerror(errno) : "write error");
    return EXIT_OUTPUT;
}

int main(int argc, char **argv) {
    /* merge -o - and a run's -o - report their own write failures (exit 1, the partial kept) */
    if (argc > 1 && strcmp(argv[1], "merge") == 0) return merge_main(argc - 2, argv + 2);
    if (argc > 1 && strcmp(argv[1], "compare") == 0)
        return stdout_written(compare_main(argc - 2, argv + 2));
    static struct run x; /* large (the cli's lists); zeroed */
    x.json.fd = -1;
    int rc = parse_command_line(&x, argc, argv);
    if (rc < 0) rc = answer_questions(&x.cli);
    if (rc < 0) rc = check_environment(&x);
    if (rc >= 0) return stdout_written(rc); /* --help, --list, --schema, --env, --version */
    rc = reserve_openblas(&x);
    if (rc < 0) rc = select_cells(&x);
    db_set_plant_work(x.cli.run.plant_work_s);
    db_set_plant_work_pct(x.cli.run.plant_work_pct);
    if (rc < 0) rc = open_output(&x);
    if (rc < 0) rc = finish_output(&x, execute(&x));
    free(x.sel);
    free(x.done);
    free(x.calibrated);
    db_plan_free(&x.plan);
    hwloc_topology_destroy(x.topo);
    return rc;
}
