#include "provenance.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef DB_GIT_REV
#define DB_GIT_REV "unknown"
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

static const char *bind_name(omp_proc_bind_t b) {
    switch (b) {
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

void db_provenance_collect(struct db_provenance *p) {
    memset(p, 0, sizeof *p);
    if (gethostname(p->host, sizeof p->host - 1) != 0) snprintf(p->host, sizeof p->host, "?");
    cpu_model(p->cpu_model, sizeof p->cpu_model);
    snprintf(p->compiler, sizeof p->compiler, "gcc %s %s", __VERSION__, DB_CFLAGS);
    snprintf(p->git_rev, sizeof p->git_rev, "%s", DB_GIT_REV);
    snprintf(p->proc_bind, sizeof p->proc_bind, "%s", bind_name(omp_get_proc_bind()));
    const char *pl = getenv("OMP_PLACES");
    snprintf(p->places, sizeof p->places, "%s", pl && *pl ? pl : "unset");
    p->threads = omp_get_max_threads();
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
