/* Threads under control: validation of the OpenMP and OpenBLAS environment (OMP_NUM_THREADS,
 * OMP_PROC_BIND, OMP_PLACES, OMP_WAIT_POLICY, OPENBLAS_NUM_THREADS), verification with hwloc of
 * where each OpenMP thread is really bound, and the human-readable environment report (--env).
 *
 * The OpenMP specification leaves invalid values implementation-defined (libgomp prints a notice
 * and silently runs its default instead), so diagbench rejects them up front: never a silently
 * different configuration. */
#ifndef DB_OMP_ENV_H
#define DB_OMP_ENV_H

#include <hwloc.h>
#include <stddef.h>
#include <stdio.h>

/* Looks an environment variable up: getenv, or a stand-in (a sweeping parent hides the variables
 * it sets per child). Returns NULL when unset. */
typedef const char *(*db_env_get_fn)(const char *name, void *ctx);

/* What the OMP_* / OPENBLAS_* environment asks for, after validation. */
struct db_omp_env {
    int num_threads;      /* first level of OMP_NUM_THREADS; 0 when unset */
    char proc_bind[16];   /* first level of OMP_PROC_BIND in lower case; "" when unset */
    char places[256];     /* OMP_PLACES without surrounding blanks; "" when unset */
    char wait_policy[16]; /* "active" or "passive"; "" when unset */
    int openblas_threads; /* OPENBLAS_NUM_THREADS; 0 when unset */
    char warnings[1024];  /* documented fallbacks in force, "; "-separated; "" when none */
    int thread_limit;     /* OMP_THREAD_LIMIT; 0 when unset */
};

/* Parsers of one variable's value. DB_E_INVALID with one line in err naming the variable, the
 * value and what is allowed. Blanks around items are accepted, as libgomp does. */
int db_omp_num_threads_parse(const char *value, int *first, char *err, size_t errlen);
int db_omp_proc_bind_parse(const char *value, char *first, size_t len, char *err, size_t errlen);
int db_omp_wait_policy_parse(const char *value, char *out, size_t len, char *err, size_t errlen);
int db_openblas_num_threads_parse(const char *value, int *n, char *err, size_t errlen);
int db_omp_thread_limit_parse(const char *value, int *n, char *err, size_t errlen);

/* The size of the team a parallel region gets: OMP_NUM_THREADS (else omp_get_max_threads()),
 * capped by OMP_THREAD_LIMIT. */
int db_omp_team_size(const struct db_omp_env *env);

/* OMP_PLACES: an abstract name (threads, cores, ll_caches, numa_domains, sockets, optionally
 * with "(count)") or an explicit list of places in the OpenMP interval syntax, e.g.
 * "{0,1},{2,3}", "{0:4}:2:4", "{0:8},!{4:4}". */
struct db_places {
    char abstract[16];    /* the abstract name in lower case; "" for an explicit list */
    int count;            /* abstract: the (count) given; 0 = all */
    size_t nplaces;       /* explicit: number of places */
    hwloc_bitmap_t *sets; /* explicit: the CPUs (OS indices) of each place */
};
int db_omp_places_parse(const char *value, struct db_places *p, char *err, size_t errlen);
void db_omp_places_free(struct db_places *p);

/* The abstract place names, in the order the specification lists them. */
extern const char *const db_omp_place_names[];
extern const size_t db_omp_place_name_count;

/* The OMP_PROC_BIND values accepted as one sweep item (--bind). */
extern const char *const db_omp_bind_names[];
extern const size_t db_omp_bind_name_count;

/* Validate the whole environment as seen through get. Explicit places must name usable CPUs
 * (db_usable_cpuset) and, when the OpenMP runtime of this process has places, match them (libgomp
 * drops unusable CPUs silently). Fills env; documented fallbacks become env->warnings. */
int db_omp_env_validate(db_env_get_fn get, void *ctx, hwloc_topology_t topo, struct db_omp_env *env,
                        char *err, size_t errlen);

/* Binding of one OpenMP thread as the runtime and hwloc see it. */
struct db_thread_binding {
    int ok;                    /* hwloc answered hwloc_get_cpubind for this thread */
    int place;                 /* omp_get_place_num(); -1 when the thread has no place */
    hwloc_bitmap_t cpuset;     /* hwloc_get_cpubind(HWLOC_CPUBIND_THREAD) */
    hwloc_bitmap_t place_cpus; /* CPUs of its place (omp_get_place_proc_ids); empty if none */
    int last_cpu;              /* hwloc_get_last_cpu_location; -1 when unknown */
};

/* The verdict for one team, as recorded in every CSV row. */
struct db_binding {
    int requested;         /* threads asked for: OMP_NUM_THREADS, else omp_get_max_threads() */
    int team;              /* threads in the checked team */
    int bind;              /* omp_get_proc_bind() is not false */
    int hw_threads;        /* hardware threads usable by this process (db_usable_cpuset) */
    int team_cpus;         /* distinct CPUs the team may run on (union of thread cpusets) */
    char bound_cpus[1024]; /* distinct per-thread cpusets in thread order, ';'-joined: "0;1" */
    char status[16];       /* verified, unbound, mismatch, oversubscribed or unknown */
    char detail[1280];     /* why, when the status is not verified or unbound; else "" */
};

/* Allocate / free the bitmaps of n thread records. */
int db_thread_bindings_alloc(struct db_thread_binding **t, int n);
void db_thread_bindings_free(struct db_thread_binding *t, int n);

/* Classify a team (exposed for tests): mismatch when the team size differs from the request, a
 * bound thread's cpuset is not exactly its place's CPUs, threads have different cpusets although
 * OpenMP binding is off (pinned by something else), or a thread last ran outside its cpuset;
 * otherwise oversubscribed when the team has more threads than hardware threads or than CPUs it
 * may run on; otherwise verified (binding on) or unbound (OMP_PROC_BIND false). unknown when
 * hwloc could not read a thread's binding. */
void db_binding_classify(const struct db_thread_binding *t, int team, int requested, int bind,
                         hwloc_const_bitmap_t allowed, struct db_binding *b);

/* Run an OpenMP parallel region of the default team size (as the strategies do); each thread
 * asks hwloc for its binding and last CPU and OpenMP for its place; then classify. */
int db_binding_check(hwloc_topology_t topo, int requested, struct db_binding *b);

/* CPUs this process may use: hwloc's allowed cpuset within the affinity mask the process started
 * with (recorded before the OpenMP runtime bound the initial thread, so taskset is honoured). */
int db_usable_cpuset(hwloc_topology_t topo, hwloc_bitmap_t set);

/* Give the calling thread the affinity mask the process started with. A sweep child calls it
 * between fork and exec; otherwise it would inherit the parent's binding to OpenMP place 0. */
int db_affinity_restore_initial(void);

/* Load the topology of this machine (restricted to the allowed resources). */
int db_topology_open(hwloc_topology_t *topo);

/* Print the environment report (diagbench --env): topology, NUMA nodes and their memory, the
 * binding of this process and of an OpenMP team, the OMP_* and OpenBLAS settings in force, the
 * memory budget and the CPU frequency governor. */
int db_env_report(FILE *out, hwloc_topology_t topo, const struct db_omp_env *env);

#endif
