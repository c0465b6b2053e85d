/* Thin C wrapper over Google Benchmark 1.7.1 (harness/bench/gbench.cc is the only C++ in
 * diagbench). Every entry point catches all exceptions and returns a status code. */
#ifndef DB_GBENCH_H
#define DB_GBENCH_H

#ifdef __cplusplus
extern "C" {
#endif

/* One timed operation. A non-zero status stops the benchmark and is reported back. */
typedef int (*db_bench_body)(void *arg);

struct db_bench_config {
    int reps;             /* repetitions (>= 1) */
    double min_time_s;    /* minimum time per repetition (> 0) when iterations == 0 */
    double warmup_s;      /* warm-up time before the first repetition (>= 0) */
    long long iterations; /* fixed iterations per repetition; 0 = let Google Benchmark choose */
    long long batch;      /* > 1: body calls per timer check (KeepRunningBatch), for tiny bodies */
};

struct db_bench_result {
    int status;              /* DB_OK, the body's status, or DB_E_INTERNAL */
    char message[256];       /* why, when status != DB_OK */
    int reps;                /* repetitions reported */
    double *rep_seconds;     /* reps entries: wall-clock seconds per iteration in each repetition */
    double *rep_cpu_seconds; /* reps entries: CPU seconds per iteration (Google Benchmark's
                                cpu_time: the timing thread's CPU time) */
    long long iterations;    /* iterations per repetition (of the first repetition) */
};

/* Hand Google Benchmark its own --benchmark_* flags (argv must hold only those after argv[0]);
 * argv is left as it is (Initialize works on a copy).
 * Returns DB_E_INVALID, with a message in msg, when it rejects one. */
int db_gbench_init(int argc, char **argv, char *msg, unsigned long msg_len);

/* Time body(arg) with UseRealTime, the configured repetitions and minimum time. The caller frees
 * res->rep_seconds with db_bench_result_free. */
int db_gbench_run(const char *name, db_bench_body body, void *arg,
                  const struct db_bench_config *cfg, struct db_bench_result *res);
void db_bench_result_free(struct db_bench_result *res);

/* Per-iteration wall-clock seconds of Google Benchmark's own loop around an empty inline body
 * (the native floor the wrapper is compared with); reps repetitions, the median is returned. */
int db_gbench_native_empty(int reps, double min_time_s, double *seconds_per_iteration);

/* The members of Google Benchmark's JSON "context" object as its own JSON reporter writes them
 * (date, host_name, executable, num_cpus, mhz_per_cpu, cpu_scaling_enabled, caches, load_avg,
 * library_build_type), one per line, without the braces: malloc'd, or NULL on failure. */
char *db_gbench_context_json(void);

/* Google Benchmark's optimisation barriers for C callers. */
void db_gbench_do_not_optimize(const void *p);
void db_gbench_clobber_memory(void);

#ifdef __cplusplus
}
#endif

#endif
