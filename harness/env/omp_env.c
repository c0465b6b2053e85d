#include "harness/env/omp_env.h"

#include <cblas.h>
#include <ctype.h>
#include <omp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "harness/env/memory.h"
#include "core/fail.h"
#include "core/parse.h"
#include "core/status.h"
#include "core/limits.h"
#include "harness/env/openblas.h"
#include "harness/env/provenance.h"

#define MAX_CPU    65535 /* largest CPU number accepted in an explicit OMP_PLACES list */
#define MAX_PLACES 4096  /* most places an explicit OMP_PLACES list may expand to */

/* Append "; "-separated text to buf (truncating, never overflowing). */
static void append(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t len, const char *fmt, ...) {
    size_t used = strlen(buf);
    if (used + 3 >= len) return;
    if (used) {
        memcpy(buf + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

static const char *skip_blanks(const char *p) {
    while (isspace((unsigned char)*p))
        p++;
    return p;
}

/* Copy s without leading and trailing blanks into buf. */
static void trimmed(const char *s, char *buf, size_t len) {
    s = skip_blanks(s);
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= len) n = len - 1;
    memcpy(buf, s, n);
    buf[n] = 0;
}

/* A whole number at *p (at most max) into v. *p moves past its digits, or on DB_E_INVALID to
 * where it went wrong (the messages quote the text from there). */
static int digits(const char **p, long max, long *v) {
    unsigned long long x;
    int rc = db_parse_whole(*p, p, (unsigned long long)max, &x);
    if (rc == DB_OK) *v = (long)x;
    return rc;
}

/* ---- the CPU affinity this process started with -------------------------------------------- */

#define INITIAL_MASK_CPUS 8192
static unsigned long initial_mask[INITIAL_MASK_CPUS / (8 * sizeof(unsigned long))];
static int initial_mask_ok;

static void record_initial_mask(int argc, char **argv, char **envp) {
    (void)argc, (void)argv, (void)envp;
    initial_mask_ok = sched_getaffinity(0, sizeof initial_mask, (cpu_set_t *)initial_mask) == 0;
}

/* Functions in .preinit_array run before any shared library's initialiser, hence before the
 * OpenMP runtime reads OMP_PROC_BIND / OMP_PLACES and binds the initial thread to place 0. */
__attribute__((section(".preinit_array"),
               used)) static void (*const db_preinit)(int, char **, char **) = record_initial_mask;

int db_usable_cpuset(hwloc_topology_t topo, hwloc_bitmap_t set) {
    if (hwloc_bitmap_copy(set, hwloc_topology_get_allowed_cpuset(topo)) != 0) return DB_E_NOMEM;
    if (!initial_mask_ok) return DB_OK;
    hwloc_bitmap_t m = hwloc_bitmap_alloc();
    if (!m) return DB_E_NOMEM;
    for (unsigned c = 0; c < INITIAL_MASK_CPUS; c++)
        if (CPU_ISSET_S(c, sizeof initial_mask, (cpu_set_t *)initial_mask)) hwloc_bitmap_set(m, c);
    hwloc_bitmap_and(set, set, m);
    hwloc_bitmap_free(m);
    return DB_OK;
}

int db_affinity_restore_initial(void) {
    if (!initial_mask_ok) return DB_E_UNSUPPORTED;
    return sched_setaffinity(0, sizeof initial_mask, (cpu_set_t *)initial_mask) == 0
               ? DB_OK
               : DB_E_INTERNAL;
}

/* ---- single variables ---------------------------------------------------------------------- */

int db_omp_num_threads_parse(const char *value, int *first, char *err, size_t errlen) {
    const char *p = value;
    int k = 0;
    for (;;) {
        p = skip_blanks(p);
        long v;
        if (digits(&p, DB_MAX_THREADS, &v) != DB_OK || v < 1) break;
        if (k++ == 0) *first = (int)v;
        p = skip_blanks(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (!*p) return DB_OK;
        break;
    }
    return db_fail(err, errlen,
                   "invalid OMP_NUM_THREADS '%s': expected whole numbers from 1 to %d, one per "
                   "nesting level (e.g. 2 or 4,2)",
                   value, DB_MAX_THREADS);
}

const char *const db_omp_bind_names[] = {"false", "true", "close", "spread", "primary", "master"};
const size_t db_omp_bind_name_count = sizeof db_omp_bind_names / sizeof db_omp_bind_names[0];

int db_omp_proc_bind_parse(const char *value, char *first, size_t len, char *err, size_t errlen) {
    const char *p = value;
    int k = 0, single = 0;
    for (;;) {
        p = skip_blanks(p);
        size_t n = strcspn(p, ", \t\n");
        char item[16];
        if (n == 0 || n >= sizeof item) break;
        memcpy(item, p, n);
        item[n] = 0;
        size_t i;
        for (i = 0; i < db_omp_bind_name_count; i++)
            if (strcasecmp(item, db_omp_bind_names[i]) == 0) break;
        if (i == db_omp_bind_name_count) break;
        if (i < 2) single = 1; /* false and true stand alone */
        if (k++ == 0) snprintf(first, len, "%s", db_omp_bind_names[i]);
        p = skip_blanks(p + n);
        if (*p == ',') {
            p++;
            continue;
        }
        if (!*p && (!single || k == 1)) return DB_OK;
        break;
    }
    return db_fail(
        err, errlen,
        "invalid OMP_PROC_BIND '%s': expected false or true, or a comma-separated list of "
        "primary, master, close, spread (one per nesting level)",
        value);
}

int db_omp_wait_policy_parse(const char *value, char *out, size_t len, char *err, size_t errlen) {
    char v[16];
    trimmed(value, v, sizeof v);
    if (strcasecmp(v, "active") == 0 || strcasecmp(v, "passive") == 0) {
        for (char *c = v; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        snprintf(out, len, "%s", v);
        return DB_OK;
    }
    return db_fail(err, errlen, "invalid OMP_WAIT_POLICY '%s': expected active or passive", value);
}

/* A variable holding one thread count, 1..DB_MAX_THREADS. */
static int thread_count_parse(const char *name, const char *value, int *n, char *err,
                              size_t errlen) {
    const char *p = skip_blanks(value);
    long v;
    if (digits(&p, DB_MAX_THREADS, &v) == DB_OK && v >= 1 && !*skip_blanks(p)) {
        *n = (int)v;
        return DB_OK;
    }
    return db_fail(err, errlen, "invalid %s '%s': expected a whole number from 1 to %d", name,
                   value, DB_MAX_THREADS);
}

int db_openblas_num_threads_parse(const char *value, int *n, char *err, size_t errlen) {
    return thread_count_parse("OPENBLAS_NUM_THREADS", value, n, err, errlen);
}

/* libgomp takes any positive number (and ignores what it cannot read, silently running with no
 * limit); a limit above DB_MAX_THREADS limits nothing diagbench can ask for. */
int db_omp_thread_limit_parse(const char *value, int *n, char *err, size_t errlen) {
    return thread_count_parse("OMP_THREAD_LIMIT", value, n, err, errlen);
}

int db_omp_team_size(const struct db_omp_env *env) {
    int team = env->num_threads ? env->num_threads : omp_get_max_threads();
    return env->thread_limit && team > env->thread_limit ? env->thread_limit : team;
}

/* ---- OMP_PLACES ------------------------------------------------------------------------------ */

const char *const db_omp_place_names[] = {"threads", "cores", "ll_caches", "numa_domains",
                                          "sockets"};
const size_t db_omp_place_name_count = sizeof db_omp_place_names / sizeof db_omp_place_names[0];

struct pp {
    const char *value, *p;
    char *err;
    size_t errlen;
};

static int place_fail(struct pp *c, const char *what) {
    return db_fail(
        c->err, c->errlen,
        "invalid OMP_PLACES '%s': %s at '%s'; expected threads, cores, ll_caches, "
        "numa_domains or sockets (optionally with (count)), or places such as {0,1},{2,3} "
        "or {0:4}:2:4",
        c->value, what, *c->p ? c->p : "the end");
}

/* A signed integer (stride). */
static int signed_num(struct pp *c, long *v) {
    int neg = 0;
    if (*c->p == '-' || *c->p == '+') neg = *c->p++ == '-';
    if (digits(&c->p, MAX_CPU, v) != DB_OK) return place_fail(c, "expected a number");
    if (neg) *v = -*v;
    return DB_OK;
}

static int cpu_in_range(struct pp *c, long cpu) {
    if (cpu < 0 || cpu > MAX_CPU) return place_fail(c, "CPU number out of range");
    return DB_OK;
}

/* One place, "{res-list}" or a single CPU number, into set. */
static int parse_place(struct pp *c, hwloc_bitmap_t set) {
    hwloc_bitmap_zero(set);
    c->p = skip_blanks(c->p);
    if (isdigit((unsigned char)*c->p)) {
        long r;
        if (digits(&c->p, MAX_CPU, &r) != DB_OK) return place_fail(c, "CPU number out of range");
        hwloc_bitmap_set(set, (unsigned)r);
        return DB_OK;
    }
    if (*c->p != '{') return place_fail(c, "expected '{' or a CPU number");
    c->p++;
    for (;;) {
        c->p = skip_blanks(c->p);
        int neg = *c->p == '!';
        if (neg) c->p = skip_blanks(c->p + 1);
        long r, count = 1, stride = 1;
        if (digits(&c->p, MAX_CPU, &r) != DB_OK) return place_fail(c, "expected a CPU number");
        c->p = skip_blanks(c->p);
        if (!neg && *c->p == ':') {
            c->p = skip_blanks(c->p + 1);
            if (digits(&c->p, MAX_CPU + 1, &count) != DB_OK || count < 1)
                return place_fail(c, "expected a positive count");
            c->p = skip_blanks(c->p);
            if (*c->p == ':') {
                c->p = skip_blanks(c->p + 1);
                DB_CHECK(signed_num(c, &stride));
                c->p = skip_blanks(c->p);
            }
        }
        for (long i = 0; i < count; i++) {
            long cpu = r + i * stride;
            DB_CHECK(cpu_in_range(c, cpu));
            if (neg)
                hwloc_bitmap_clr(set, (unsigned)cpu);
            else
                hwloc_bitmap_set(set, (unsigned)cpu);
        }
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == '}') {
            c->p++;
            break;
        }
        return place_fail(c, "expected ',' or '}'");
    }
    if (hwloc_bitmap_iszero(set)) return place_fail(c, "empty place");
    return DB_OK;
}

static int add_place(struct pp *c, struct db_places *p, hwloc_const_bitmap_t set) {
    if (p->nplaces == MAX_PLACES) return place_fail(c, "more than 4096 places");
    hwloc_bitmap_t *grown = realloc(p->sets, (p->nplaces + 1) * sizeof *grown);
    if (!grown) return DB_E_NOMEM;
    p->sets = grown;
    grown[p->nplaces] = hwloc_bitmap_dup(set);
    if (!grown[p->nplaces]) return DB_E_NOMEM;
    p->nplaces++;
    return DB_OK;
}

static int parse_abstract(struct pp *c, struct db_places *p) {
    size_t n = 0;
    while (isalpha((unsigned char)c->p[n]) || c->p[n] == '_')
        n++;
    size_t i;
    for (i = 0; i < db_omp_place_name_count; i++)
        if (strlen(db_omp_place_names[i]) == n && strncasecmp(c->p, db_omp_place_names[i], n) == 0)
            break;
    if (i == db_omp_place_name_count) return place_fail(c, "unknown place name");
    snprintf(p->abstract, sizeof p->abstract, "%s", db_omp_place_names[i]);
    c->p = skip_blanks(c->p + n);
    if (*c->p == '(') {
        c->p = skip_blanks(c->p + 1);
        long k;
        if (digits(&c->p, MAX_PLACES, &k) != DB_OK || k < 1)
            return place_fail(c, "expected a count from 1 to 4096");
        c->p = skip_blanks(c->p);
        if (*c->p != ')') return place_fail(c, "expected ')'");
        c->p = skip_blanks(c->p + 1);
        p->count = (int)k;
    }
    if (*c->p) return place_fail(c, "unexpected text");
    return DB_OK;
}

static int parse_list(struct pp *c, struct db_places *p, hwloc_bitmap_t set, hwloc_bitmap_t tmp) {
    for (;;) {
        c->p = skip_blanks(c->p);
        if (*c->p == '!') { /* exclude every place equal to the next one */
            c->p++;
            DB_CHECK(parse_place(c, set));
            size_t k = 0;
            for (size_t i = 0; i < p->nplaces; i++) {
                if (hwloc_bitmap_isequal(p->sets[i], set))
                    hwloc_bitmap_free(p->sets[i]);
                else
                    p->sets[k++] = p->sets[i];
            }
            p->nplaces = k;
        } else {
            DB_CHECK(parse_place(c, set));
            long len = 1, stride = 1;
            c->p = skip_blanks(c->p);
            if (*c->p == ':') {
                c->p = skip_blanks(c->p + 1);
                if (digits(&c->p, MAX_PLACES, &len) != DB_OK || len < 1)
                    return place_fail(c, "expected a positive length");
                c->p = skip_blanks(c->p);
                if (*c->p == ':') {
                    c->p = skip_blanks(c->p + 1);
                    DB_CHECK(signed_num(c, &stride));
                }
            }
            for (long i = 0; i < len; i++) {
                hwloc_bitmap_zero(tmp);
                int cpu;
                hwloc_bitmap_foreach_begin(cpu, set) {
                    long s = cpu + i * stride;
                    if (s < 0 || s > MAX_CPU) return place_fail(c, "CPU number out of range");
                    hwloc_bitmap_set(tmp, (unsigned)s);
                }
                hwloc_bitmap_foreach_end();
                DB_CHECK(add_place(c, p, tmp));
            }
        }
        c->p = skip_blanks(c->p);
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (!*c->p) break;
        return place_fail(c, "expected ','");
    }
    if (!p->nplaces) return place_fail(c, "every place was excluded");
    return DB_OK;
}

int db_omp_places_parse(const char *value, struct db_places *p, char *err, size_t errlen) {
    memset(p, 0, sizeof *p);
    struct pp c = {value, skip_blanks(value), err, errlen};
    if (!*c.p) return place_fail(&c, "empty value");
    if (isalpha((unsigned char)*c.p)) return parse_abstract(&c, p);
    hwloc_bitmap_t set = hwloc_bitmap_alloc(), tmp = hwloc_bitmap_alloc();
    int rc = set && tmp ? parse_list(&c, p, set, tmp) : DB_E_NOMEM;
    hwloc_bitmap_free(set);
    hwloc_bitmap_free(tmp);
    if (rc != DB_OK) db_omp_places_free(p);
    if (rc == DB_E_NOMEM) snprintf(err, errlen, "out of memory parsing OMP_PLACES");
    return rc;
}

void db_omp_places_free(struct db_places *p) {
    for (size_t i = 0; i < p->nplaces; i++)
        hwloc_bitmap_free(p->sets[i]);
    free(p->sets);
    p->sets = NULL;
    p->nplaces = 0;
}

/* hwloc object type of an abstract place name, and how many the allowed cpuset holds. */
static int abstract_count(hwloc_topology_t topo, const char *name) {
    hwloc_obj_type_t type;
    if (strcmp(name, "threads") == 0)
        type = HWLOC_OBJ_PU;
    else if (strcmp(name, "cores") == 0)
        type = HWLOC_OBJ_CORE;
    else if (strcmp(name, "sockets") == 0)
        type = HWLOC_OBJ_PACKAGE;
    else if (strcmp(name, "numa_domains") == 0)
        type = HWLOC_OBJ_NUMANODE;
    else { /* ll_caches: the outermost cache level present */
        const hwloc_obj_type_t caches[] = {HWLOC_OBJ_L5CACHE, HWLOC_OBJ_L4CACHE, HWLOC_OBJ_L3CACHE,
                                           HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L1CACHE};
        for (size_t i = 0; i < sizeof caches / sizeof caches[0]; i++) {
            int k = hwloc_get_nbobjs_by_type(topo, caches[i]);
            if (k > 0) return k;
        }
        return 0;
    }
    int k = hwloc_get_nbobjs_by_type(topo, type);
    return k > 0 ? k : 0;
}

/* The places of this process's OpenMP runtime as bitmaps; 0 when it has none. */
static size_t runtime_places(hwloc_bitmap_t **out) {
    int n = omp_get_num_places();
    *out = NULL;
    if (n <= 0) return 0;
    hwloc_bitmap_t *sets = calloc((size_t)n, sizeof *sets);
    if (!sets) return 0;
    for (int i = 0; i < n; i++) {
        int k = omp_get_place_num_procs(i);
        int *ids = malloc((size_t)(k > 0 ? k : 1) * sizeof *ids);
        sets[i] = hwloc_bitmap_alloc();
        if (ids && sets[i] && k > 0) {
            omp_get_place_proc_ids(i, ids);
            for (int j = 0; j < k; j++)
                if (ids[j] >= 0) hwloc_bitmap_set(sets[i], (unsigned)ids[j]);
        }
        free(ids);
    }
    *out = sets;
    return (size_t)n;
}

/* "{0},{1,2},..." (the first 16 places) into buf. */
static void places_string(const hwloc_bitmap_t *sets, size_t n, char *buf, size_t len) {
    buf[0] = 0;
    for (size_t i = 0; i < n && i < 16; i++) {
        char s[64];
        hwloc_bitmap_list_snprintf(s, sizeof s, sets[i]);
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s{%s}", i ? "," : "", s);
    }
    if (n > 16) strncat(buf, ",...", len - strlen(buf) - 1);
}

static void free_sets(hwloc_bitmap_t *sets, size_t n) {
    for (size_t i = 0; sets && i < n; i++)
        hwloc_bitmap_free(sets[i]);
    free(sets);
}

/* Check parsed places against the machine and the runtime. */
static int check_places(const char *value, const struct db_places *p, hwloc_topology_t topo,
                        int runtime_is_ours, struct db_omp_env *env, char *err, size_t errlen) {
    hwloc_bitmap_t allowed = hwloc_bitmap_alloc();
    if (!allowed || db_usable_cpuset(topo, allowed) != DB_OK) {
        hwloc_bitmap_free(allowed);
        snprintf(err, errlen, "out of memory checking OMP_PLACES");
        return DB_E_NOMEM;
    }
    char list[256];
    hwloc_bitmap_list_snprintf(list, sizeof list, allowed);
    hwloc_bitmap_t *rt = NULL;
    size_t nrt = runtime_is_ours ? runtime_places(&rt) : 0;
    int rc = DB_OK;
    /* Binding is on unless OMP_PROC_BIND=false, so a runtime without places rejected the list
     * (libgomp: "None of the places contain usable logical CPUs") and runs unbound instead. */
    const char *pb = getenv("OMP_PROC_BIND");
    char first[16] = "", e[8];
    if (pb) db_omp_proc_bind_parse(pb, first, sizeof first, e, sizeof e);
    if (runtime_is_ours && nrt == 0 && strcmp(first, "false") != 0)
        rc = db_fail(err, errlen,
                     "invalid OMP_PLACES '%s': the OpenMP runtime made no places from it (are its "
                     "CPUs outside this process's affinity mask: taskset or cgroup?); usable CPUs: "
                     "%s",
                     value, list);
    else if (p->abstract[0]) {
        int avail = abstract_count(topo, p->abstract);
        if (avail == 0)
            rc = db_fail(err, errlen, "invalid OMP_PLACES '%s': this machine has no %s (hwloc)",
                         value, p->abstract);
        else if (p->count > avail)
            append(env->warnings, sizeof env->warnings,
                   "OMP_PLACES=%s asks for %d places but only %d %s exist: the runtime uses %d",
                   value, p->count, avail, p->abstract, nrt ? (int)nrt : avail);
    } else {
        for (size_t i = 0; i < p->nplaces && rc == DB_OK; i++) {
            if (hwloc_bitmap_isincluded(p->sets[i], allowed)) continue;
            hwloc_bitmap_t bad = hwloc_bitmap_alloc();
            if (bad) hwloc_bitmap_andnot(bad, p->sets[i], allowed);
            rc = db_fail(err, errlen,
                         "invalid OMP_PLACES '%s': CPU %d does not exist or is not usable by this "
                         "process (usable CPUs: %s)",
                         value, bad ? hwloc_bitmap_first(bad) : -1, list);
            hwloc_bitmap_free(bad);
        }
        int same = nrt == p->nplaces;
        for (size_t i = 0; same && i < nrt; i++)
            same = hwloc_bitmap_isequal(rt[i], p->sets[i]);
        if (rc == DB_OK && nrt && !same) {
            char got[192], want[192];
            places_string(rt, nrt, got, sizeof got);
            places_string(p->sets, p->nplaces, want, sizeof want);
            rc = db_fail(
                err, errlen,
                "invalid OMP_PLACES '%s': the OpenMP runtime made the places %s, not %s (are "
                "some CPUs outside this process's affinity mask: taskset or cgroup?)",
                value, got, want);
        }
    }
    free_sets(rt, nrt);
    hwloc_bitmap_free(allowed);
    return rc;
}

int db_omp_env_validate(db_env_get_fn get, void *ctx, hwloc_topology_t topo, struct db_omp_env *env,
                        char *err, size_t errlen) {
    memset(env, 0, sizeof *env);
    const char *v;
    if ((v = get("OMP_NUM_THREADS", ctx)))
        DB_CHECK(db_omp_num_threads_parse(v, &env->num_threads, err, errlen));
    if ((v = get("OMP_PROC_BIND", ctx)))
        DB_CHECK(db_omp_proc_bind_parse(v, env->proc_bind, sizeof env->proc_bind, err, errlen));
    if ((v = get("OMP_WAIT_POLICY", ctx)))
        DB_CHECK(
            db_omp_wait_policy_parse(v, env->wait_policy, sizeof env->wait_policy, err, errlen));
    if ((v = get("OMP_PLACES", ctx))) {
        struct db_places p;
        DB_CHECK(db_omp_places_parse(v, &p, err, errlen));
        trimmed(v, env->places, sizeof env->places);
        /* The runtime's places come from the real OMP_PLACES: compare only with that one. */
        const char *real = getenv("OMP_PLACES");
        int ours = real && strcmp(real, v) == 0;
        int rc = check_places(v, &p, topo, ours, env, err, errlen);
        db_omp_places_free(&p);
        DB_CHECK(rc);
    }
    if ((v = get("OMP_THREAD_LIMIT", ctx))) {
        DB_CHECK(db_omp_thread_limit_parse(v, &env->thread_limit, err, errlen));
        int threads = env->num_threads ? env->num_threads : omp_get_max_threads();
        if (threads > env->thread_limit)
            append(env->warnings, sizeof env->warnings,
                   "OMP_THREAD_LIMIT=%d caps the %d threads asked for: a team has %d (the "
                   "threads column)",
                   env->thread_limit, threads, env->thread_limit);
    }
    if ((v = get("OPENBLAS_NUM_THREADS", ctx))) {
        DB_CHECK(db_openblas_num_threads_parse(v, &env->openblas_threads, err, errlen));
        int threads = env->num_threads ? env->num_threads : omp_get_max_threads();
        if (env->openblas_threads != threads)
            append(env->warnings, sizeof env->warnings,
                   "OPENBLAS_NUM_THREADS=%d differs from the %d OpenMP threads: BLAS calls (the "
                   "matrix operator) may run with a different thread count",
                   env->openblas_threads, threads);
    }
    return DB_OK;
}

/* ---- binding verification ------------------------------------------------------------------- */

int db_thread_bindings_alloc(struct db_thread_binding **t, int n) {
    *t = calloc((size_t)(n > 0 ? n : 1), sizeof **t);
    if (!*t) return DB_E_NOMEM;
    for (int i = 0; i < n; i++) {
        (*t)[i].cpuset = hwloc_bitmap_alloc();
        (*t)[i].place_cpus = hwloc_bitmap_alloc();
        (*t)[i].place = -1;
        (*t)[i].last_cpu = -1;
        if (!(*t)[i].cpuset || !(*t)[i].place_cpus) {
            db_thread_bindings_free(*t, n);
            *t = NULL;
            return DB_E_NOMEM;
        }
    }
    return DB_OK;
}

void db_thread_bindings_free(struct db_thread_binding *t, int n) {
    for (int i = 0; t && i < n; i++) {
        hwloc_bitmap_free(t[i].cpuset);
        hwloc_bitmap_free(t[i].place_cpus);
    }
    free(t);
}

void db_binding_classify(const struct db_thread_binding *t, int team, int requested, int bind,
                         hwloc_const_bitmap_t allowed, struct db_binding *b) {
    memset(b, 0, sizeof *b);
    b->requested = requested;
    b->team = team;
    b->bind = bind;
    b->hw_threads = hwloc_bitmap_weight(allowed);
    hwloc_bitmap_t all = hwloc_bitmap_alloc();
    int unknown = -1, mismatch = 0;
    char why[1024] = "";
    if (team != requested) {
        mismatch = 1;
        snprintf(why, sizeof why, "a team of %d threads ran, %d were asked for", team, requested);
    }
    for (int i = 0; i < team; i++) {
        if (!t[i].ok) {
            if (unknown < 0) unknown = i;
            continue;
        }
        char s[256], p[256];
        hwloc_bitmap_list_snprintf(s, sizeof s, t[i].cpuset);
        if (all) hwloc_bitmap_or(all, all, t[i].cpuset);
        /* Distinct cpusets, in thread order. */
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = t[j].ok && hwloc_bitmap_isequal(t[j].cpuset, t[i].cpuset);
        if (!seen) {
            size_t used = strlen(b->bound_cpus);
            snprintf(b->bound_cpus + used, sizeof b->bound_cpus - used, "%s%s", used ? ";" : "", s);
        }
        if (mismatch) continue;
        if (bind && t[i].place < 0) {
            mismatch = 1;
            snprintf(why, sizeof why, "thread %d has no place although binding is on", i);
        } else if (bind && !hwloc_bitmap_isequal(t[i].cpuset, t[i].place_cpus)) {
            mismatch = 1;
            hwloc_bitmap_list_snprintf(p, sizeof p, t[i].place_cpus);
            snprintf(why, sizeof why, "thread %d is bound to CPUs %s but its place %d is %s", i, s,
                     t[i].place, p);
        } else if (!bind && i > 0 && t[0].ok && !hwloc_bitmap_isequal(t[i].cpuset, t[0].cpuset)) {
            mismatch = 1;
            hwloc_bitmap_list_snprintf(p, sizeof p, t[0].cpuset);
            snprintf(why, sizeof why,
                     "OpenMP binding is off but thread %d is bound to CPUs %s and thread 0 to %s "
                     "(pinned by something else)",
                     i, s, p);
        } else if (t[i].last_cpu >= 0 &&
                   !hwloc_bitmap_isset(t[i].cpuset, (unsigned)t[i].last_cpu)) {
            mismatch = 1;
            snprintf(why, sizeof why, "thread %d last ran on CPU %d, outside its binding %s", i,
                     t[i].last_cpu, s);
        }
    }
    b->team_cpus = all ? hwloc_bitmap_weight(all) : 0;
    char cpus[256] = "";
    if (all) hwloc_bitmap_list_snprintf(cpus, sizeof cpus, all);
    hwloc_bitmap_free(all);
    const char *base = bind ? "verified" : "unbound";
    if (unknown >= 0) {
        snprintf(b->status, sizeof b->status, "unknown");
        snprintf(b->detail, sizeof b->detail, "hwloc could not read the binding of thread %d",
                 unknown);
    } else if (mismatch) {
        snprintf(b->status, sizeof b->status, "mismatch");
        snprintf(b->detail, sizeof b->detail, "binding mismatch: %s", why);
    } else if (team > b->hw_threads) {
        snprintf(b->status, sizeof b->status, "oversubscribed");
        snprintf(b->detail, sizeof b->detail,
                 "oversubscribed: %d threads on %d hardware thread%s (binding %s)", team,
                 b->hw_threads, b->hw_threads == 1 ? "" : "s", base);
    } else if (team > b->team_cpus) {
        snprintf(b->status, sizeof b->status, "oversubscribed");
        snprintf(b->detail, sizeof b->detail,
                 "oversubscribed: %d threads share %d CPU%s (%s) (binding %s)", team, b->team_cpus,
                 b->team_cpus == 1 ? "" : "s", cpus, base);
    } else {
        snprintf(b->status, sizeof b->status, "%s", base);
    }
}

/* Each thread of a default-size team records its binding; *team gets the team size. */
static int read_team(hwloc_topology_t topo, struct db_thread_binding **out, int *nrec, int *team) {
    int max = omp_get_max_threads();
    struct db_thread_binding *t;
    DB_CHECK(db_thread_bindings_alloc(&t, max));
    int size = 0;
#pragma omp parallel
    {
        int tid = omp_get_thread_num();
#pragma omp single
        size = omp_get_num_threads();
        if (tid < max) {
            struct db_thread_binding *r = &t[tid];
            r->ok = hwloc_get_cpubind(topo, r->cpuset, HWLOC_CPUBIND_THREAD) == 0;
            hwloc_bitmap_t last = hwloc_bitmap_alloc();
            if (last && hwloc_get_last_cpu_location(topo, last, HWLOC_CPUBIND_THREAD) == 0)
                r->last_cpu = hwloc_bitmap_first(last);
            hwloc_bitmap_free(last);
            r->place = omp_get_place_num();
            int k = r->place >= 0 ? omp_get_place_num_procs(r->place) : 0;
            int *ids = k > 0 ? malloc((size_t)k * sizeof *ids) : NULL;
            if (ids) {
                omp_get_place_proc_ids(r->place, ids);
                for (int j = 0; j < k; j++)
                    if (ids[j] >= 0) hwloc_bitmap_set(r->place_cpus, (unsigned)ids[j]);
                free(ids);
            }
        }
    }
    *out = t;
    *nrec = max;
    *team = size;
    return DB_OK;
}

int db_binding_check(hwloc_topology_t topo, int requested, struct db_binding *b) {
    struct db_thread_binding *t;
    int nrec, team;
    DB_CHECK(read_team(topo, &t, &nrec, &team));
    int bind = omp_get_proc_bind() != omp_proc_bind_false;
    if (team > nrec) { /* cannot happen with a default team; never classify unread records */
        memset(b, 0, sizeof *b);
        b->requested = requested;
        b->team = team;
        snprintf(b->status, sizeof b->status, "mismatch");
        snprintf(b->detail, sizeof b->detail,
                 "binding mismatch: a team of %d threads ran, %d "
                 "were expected",
                 team, nrec);
    } else {
        hwloc_bitmap_t usable = hwloc_bitmap_alloc();
        if (!usable || db_usable_cpuset(topo, usable) != DB_OK) {
            hwloc_bitmap_free(usable);
            db_thread_bindings_free(t, nrec);
            return DB_E_NOMEM;
        }
        db_binding_classify(t, team, requested, bind, usable, b);
        hwloc_bitmap_free(usable);
    }
    db_thread_bindings_free(t, nrec);
    return DB_OK;
}

int db_topology_open(hwloc_topology_t *topo) {
    if (hwloc_topology_init(topo) != 0) return DB_E_INTERNAL;
    if (hwloc_topology_load(*topo) != 0) {
        hwloc_topology_destroy(*topo);
        return DB_E_INTERNAL;
    }
    return DB_OK;
}

/* ---- --env report --------------------------------------------------------------------------- */

static void report_var(FILE *out, const char *name, const char *effective) {
    const char *v = getenv(name);
    fprintf(out, "  %-22s %-14s %s\n", name, v ? v : "unset", effective);
}

static void report_topology(FILE *out, hwloc_topology_t topo) {
    char buf[256], b2[32];
    fprintf(out, "Topology (hwloc %s)\n", HWLOC_VERSION);
    fprintf(out, "  packages %d, cores %d, hardware threads (PUs) %d\n",
            hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE),
            hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE),
            hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU));
    hwloc_bitmap_list_snprintf(buf, sizeof buf, hwloc_topology_get_allowed_cpuset(topo));
    fprintf(out, "  allowed CPUs %s\n", buf);
    fprintf(out, "  caches:");
    const hwloc_obj_type_t caches[] = {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L1ICACHE, HWLOC_OBJ_L2CACHE,
                                       HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L4CACHE,  HWLOC_OBJ_L5CACHE};
    const char *names[] = {"L1d", "L1i", "L2", "L3", "L4", "L5"};
    int any = 0;
    for (size_t i = 0; i < sizeof caches / sizeof caches[0]; i++) {
        int k = hwloc_get_nbobjs_by_type(topo, caches[i]);
        if (k <= 0) continue;
        hwloc_obj_t o = hwloc_get_obj_by_type(topo, caches[i], 0);
        fprintf(out, "%s %s %s x%d", any ? "," : "", names[i],
                db_format_bytes(o->attr->cache.size, b2, sizeof b2), k);
        any = 1;
    }
    fprintf(out, "%s\n", any ? "" : " none reported");
    int nn = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
    fprintf(out, "  NUMA nodes: %d\n", nn);
    for (int i = 0; i < nn; i++) {
        hwloc_obj_t o = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)i);
        hwloc_bitmap_list_snprintf(buf, sizeof buf, o->cpuset);
        fprintf(out, "    node %u: %s, CPUs %s\n", o->os_index,
                db_format_bytes(o->attr->numanode.local_memory, b2, sizeof b2), buf);
    }
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    fprintf(out, "Binding of this process\n");
    if (set && db_usable_cpuset(topo, set) == DB_OK) {
        hwloc_bitmap_list_snprintf(buf, sizeof buf, set);
        fprintf(out, "  started with CPUs %s (affinity mask at exec, within the allowed CPUs)\n",
                buf);
    }
    if (set && hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_PROCESS) == 0) {
        hwloc_bitmap_list_snprintf(buf, sizeof buf, set);
        fprintf(out, "  process (all its threads now) may run on CPUs %s\n", buf);
    }
    if (set && hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_THREAD) == 0) {
        hwloc_bitmap_list_snprintf(buf, sizeof buf, set);
        fprintf(out, "  calling thread bound to CPUs %s%s\n", buf,
                omp_get_proc_bind() != omp_proc_bind_false
                    ? " (the OpenMP runtime bound it to place 0)"
                    : "");
    }
    hwloc_bitmap_free(set);
}

static void report_openmp(FILE *out, hwloc_topology_t topo, const struct db_omp_env *env) {
    char eff[512];
    fprintf(out, "OpenMP (runtime spec version %d)\n", _OPENMP);
    snprintf(eff, sizeof eff, "-> %d threads (omp_get_max_threads)", omp_get_max_threads());
    report_var(out, "OMP_NUM_THREADS", eff);
    snprintf(eff, sizeof eff, "-> %s (omp_get_proc_bind)",
             db_omp_proc_bind_name(omp_get_proc_bind()));
    report_var(out, "OMP_PROC_BIND", eff);
    hwloc_bitmap_t *rt;
    size_t nrt = runtime_places(&rt);
    char list[192];
    places_string(rt, nrt, list, sizeof list);
    snprintf(eff, sizeof eff, "-> %zu places%s%s", nrt, nrt ? ": " : "", list);
    free_sets(rt, nrt);
    report_var(out, "OMP_PLACES", eff);
    report_var(out, "OMP_WAIT_POLICY",
               env->wait_policy[0] ? "" : "-> runtime default (libgomp: spin briefly, then sleep)");
    const char *extra[] = {"OMP_DYNAMIC",       "OMP_THREAD_LIMIT", "OMP_MAX_ACTIVE_LEVELS",
                           "GOMP_CPU_AFFINITY", "GOMP_SPINCOUNT",   "OMP_DISPLAY_AFFINITY"};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        if (getenv(extra[i])) report_var(out, extra[i], "");

    struct db_thread_binding *t;
    int nrec, team;
    if (read_team(topo, &t, &nrec, &team) == DB_OK) {
        fprintf(out, "  team check (one parallel region, as the strategies run):\n");
        for (int i = 0; i < team && i < nrec; i++) {
            char s[128] = "?", p[128] = "-";
            if (t[i].ok) hwloc_bitmap_list_snprintf(s, sizeof s, t[i].cpuset);
            if (t[i].place >= 0) hwloc_bitmap_list_snprintf(p, sizeof p, t[i].place_cpus);
            fprintf(out, "    thread %d: bound to CPUs %s, place %d (%s), last ran on CPU %d\n", i,
                    s, t[i].place, p, t[i].last_cpu);
        }
        db_thread_bindings_free(t, nrec);
    }
    struct db_binding b;
    if (db_binding_check(topo, db_omp_team_size(env), &b) == DB_OK)
        fprintf(out, "  binding %s, bound_cpus %s%s%s\n", b.status, b.bound_cpus,
                b.detail[0] ? ": " : "", b.detail);
}

int db_env_report(FILE *out, hwloc_topology_t topo, const struct db_omp_env *env) {
    struct db_provenance p;
    db_provenance_collect(&p);
    fprintf(out, "diagbench environment report\n");
    fprintf(out, "  host          %s\n  cpu model     %s\n  compiler      %s\n  git revision  %s\n",
            p.host, p.cpu_model, p.compiler, p.git_rev);
    report_topology(out, topo);
    report_openmp(out, topo, env);
    int par = db_openblas_parallel();
    fprintf(out, "OpenBLAS\n  config        %s\n  parallel      %d (%s)\n", p.openblas_config, par,
            db_openblas_parallel_name(par));
    char eff[64];
    snprintf(eff, sizeof eff, "-> openblas_get_num_threads() = %d", openblas_get_num_threads());
    report_var(out, "OPENBLAS_NUM_THREADS", eff);
    struct db_memory_limits lim;
    db_memory_limits_read(&lim, 0);
    char a[32], c[32], n[32], bgt[32];
    fprintf(out,
            "Memory\n  MemAvailable %s, cgroup headroom %s, NUMA memory %s%s -> budget per "
            "cell %s\n",
            lim.mem_available ? db_format_bytes(lim.mem_available, a, sizeof a) : "unknown",
            lim.cgroup_limit ? db_format_bytes(lim.cgroup_limit, c, sizeof c) : "no limit",
            lim.numa_memory ? db_format_bytes(lim.numa_memory, n, sizeof n) : "unknown",
            lim.numa_is_limit ? ""
                              : " (less than MemTotal on every node: stale, memory is "
                                "hot-plugged on demand; not used as a limit)",
            db_format_bytes(lim.budget, bgt, sizeof bgt));
    if (lim.rlimit_headroom)
        fprintf(out, "  ulimit -v / -d headroom %s (less one OpenBLAS buffer), in the budget\n",
                db_format_bytes(lim.rlimit_headroom, a, sizeof a));
    fprintf(out, "CPU frequency governor\n  %s\n",
            p.cpu_governor[0] ? p.cpu_governor
                              : "unreadable (no /sys/devices/system/cpu/cpu*/cpufreq/"
                                "scaling_governor: virtual machine or container?)");
    const char *ow = db_openblas_warning();
    if (env->warnings[0] || ow) {
        fprintf(out, "Warnings\n");
        if (ow) fprintf(out, "  %s\n", ow);
        if (env->warnings[0]) fprintf(out, "  %s\n", env->warnings);
    }
    return ferror(out) ? DB_E_IO : DB_OK;
}
