#include "harness/env/provenance.h"

#include <cblas.h>
#include <ctype.h>
#include <hwloc.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness/env/openblas.h"

#ifndef DB_GIT_REV
#define DB_GIT_REV "unknown"
#endif
#ifndef DB_GBENCH_VERSION
#define DB_GBENCH_VERSION "unknown"
#endif
#ifndef DB_CFLAGS
#define DB_CFLAGS ""
#endif

static void cpu_model(char *buf, size_t len) {
    snprintf(buf, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        char *c = strchr(line, ':');
        if (!c) continue;
        c++;
        while (*c == ' ' || *c == '\t')
            c++;
        c[strcspn(c, "\n")] = 0;
        snprintf(buf, len, "%s", c);
        break;
    }
    fclose(f);
}

const char *db_omp_proc_bind_name(int b) {
    switch ((omp_proc_bind_t)b) {
    case omp_proc_bind_false:
        return "false";
    case omp_proc_bind_true:
        return "true";
    case omp_proc_bind_master:
        return "primary";
    case omp_proc_bind_close:
        return "close";
    case omp_proc_bind_spread:
        return "spread";
    }
    return "unknown";
}

/* Is tok one of the ';'-separated items of list? */
static int has_item(const char *list, const char *tok) {
    size_t n = strlen(tok);
    for (const char *q = list; *q;) {
        size_t l = strcspn(q, ";");
        if (l == n && strncmp(q, tok, n) == 0) return 1;
        q += l;
        if (*q) q++;
    }
    return 0;
}

void db_cpu_governor(char *buf, unsigned long len) {
    buf[0] = 0;
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    for (long c = 0; c < ncpu; c++) {
        char path[96], g[64];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%ld/cpufreq/scaling_governor", c);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        int got = fgets(g, sizeof g, f) != NULL;
        fclose(f);
        if (!got) continue;
        g[strcspn(g, "\n")] = 0;
        if (!g[0] || has_item(buf, g)) continue;
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", used ? ";" : "", g);
    }
}

/* Copy s without surrounding blanks, lower-cased when lower is set. */
static void clean(const char *s, char *buf, size_t len, int lower) {
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= len) n = len - 1;
    for (size_t i = 0; i < n; i++)
        buf[i] = lower ? (char)tolower((unsigned char)s[i]) : s[i];
    buf[n] = 0;
}

void db_provenance_collect(struct db_provenance *p) {
    memset(p, 0, sizeof *p);
    if (gethostname(p->host, sizeof p->host - 1) != 0) snprintf(p->host, sizeof p->host, "?");
    cpu_model(p->cpu_model, sizeof p->cpu_model);
    snprintf(p->compiler, sizeof p->compiler, "gcc %s %s", __VERSION__, DB_CFLAGS);
    snprintf(p->gbench_version, sizeof p->gbench_version, "%s", DB_GBENCH_VERSION);
    snprintf(p->git_rev, sizeof p->git_rev, "%s", DB_GIT_REV);
    snprintf(p->proc_bind, sizeof p->proc_bind, "%s", db_omp_proc_bind_name(omp_get_proc_bind()));
    const char *pl = getenv("OMP_PLACES");
    clean(pl ? pl : "", p->places, sizeof p->places, 0);
    if (!p->places[0]) snprintf(p->places, sizeof p->places, "unset");
    /* The team that runs: OMP_THREAD_LIMIT caps omp_get_max_threads() (libgomp reports the
     * uncapped figure). */
    p->threads = omp_get_max_threads();
    if (omp_get_thread_limit() < p->threads) p->threads = omp_get_thread_limit();
    const char *wp = getenv("OMP_WAIT_POLICY");
    clean(wp ? wp : "", p->omp_wait_policy, sizeof p->omp_wait_policy, 1);
    if (!p->omp_wait_policy[0]) snprintf(p->omp_wait_policy, sizeof p->omp_wait_policy, "unset");
    unsigned api = hwloc_get_api_version();
    if (api >> 16 == HWLOC_API_VERSION >> 16)
        snprintf(p->hwloc_version, sizeof p->hwloc_version, "%s", HWLOC_VERSION);
    else
        snprintf(p->hwloc_version, sizeof p->hwloc_version, "%s (runtime API 0x%x)", HWLOC_VERSION,
                 api);
    const char *cfg = openblas_get_config();
    snprintf(p->openblas_config, sizeof p->openblas_config, "%s parallel=%s", cfg ? cfg : "?",
             db_openblas_parallel_name(db_openblas_parallel()));
    db_cpu_governor(p->cpu_governor, sizeof p->cpu_governor);
}

void db_make_run_id(char *buf, unsigned long len) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(buf, len, "%s-%ld", ts, (long)getpid());
}

void db_timestamp(char *buf, unsigned long len) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
