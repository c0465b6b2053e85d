#include "harness/io/gbench_json.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fail.h"
#include "core/outfile.h"
#include "core/status.h"
#include "harness/bench/gbench.h"

/* A JSON string: quotes, backslashes and control characters escaped. */
static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* A JSON number (JSON has no NaN or infinity: null). */
static void json_number(FILE *f, double x) {
    if (isfinite(x))
        fprintf(f, "%.17g", x);
    else
        fputs("null", f);
}

void db_json_cell_name(char *buf, size_t len, const char *workload, const char *op, const char *jac,
                       const char *strategy, size_t n, int threads, const char *bind,
                       const char *places) {
    snprintf(buf, len, "%s/%s/%s/%s/n:%zu/threads:%d/bind:%s/places:%s", workload, op, jac,
             strategy, n, threads, bind, places);
}

/* The members every entry of a cell starts with. */
static void entry_head(FILE *f, const struct db_json_cell *c, const char *suffix,
                       const char *run_type, int reps) {
    fputs("{\"name\": ", f);
    char name[512];
    snprintf(name, sizeof name, "%s%s", c->name, suffix);
    json_string(f, name);
    fprintf(f, ", \"family_index\": %zu, \"per_family_instance_index\": 0, \"run_name\": ",
            c->family_index);
    json_string(f, c->name);
    fprintf(f, ", \"run_type\": \"%s\", \"repetitions\": %d", run_type, reps);
}

static void entry_times(FILE *f, long long iterations, double real, double cpu, double scale) {
    fprintf(f, ", \"iterations\": %lld, \"real_time\": ", iterations);
    json_number(f, real * scale);
    fputs(", \"cpu_time\": ", f);
    json_number(f, cpu * scale);
    fputs(", \"time_unit\": \"ns\"}\n", f);
}

static void cell_entries(FILE *f, const struct db_json_cell *c) {
    const struct db_cell_result *r = c->r;
    if (strcmp(r->status, "ok") != 0) {
        entry_head(f, c, "", "iteration", 0);
        fprintf(f, ", \"threads\": %d, \"error_occurred\": true, \"error_message\": ", c->threads);
        char msg[sizeof r->status + sizeof r->note + 4];
        snprintf(msg, sizeof msg, "%s%s%s", r->status, r->note[0] ? ": " : "", r->note);
        json_string(f, msg);
        fputs(", \"status\": ", f);
        json_string(f, r->status);
        fputs("}\n", f);
        return;
    }
    int reps = r->reps < DB_MAX_REPS ? r->reps : DB_MAX_REPS;
    for (int i = 0; i < reps && !c->aggregates_only; i++) {
        entry_head(f, c, "", "iteration", reps);
        fprintf(f, ", \"repetition_index\": %d, \"threads\": %d", i, c->threads);
        entry_times(f, r->iterations, r->rep_s[i], r->rep_cpu_s[i], 1e9);
    }
    if (reps < 2) return; /* Google Benchmark reports aggregates of two repetitions or more */
    struct db_time_stats real, cpu;
    db_time_stats_compute(r->rep_s, reps, &real);
    db_time_stats_compute(r->rep_cpu_s, reps, &cpu);
    const struct {
        const char *name, *unit;
        double real, cpu, scale;
    } agg[] = {
        {"mean", "time", real.mean, cpu.mean, 1e9},
        {"median", "time", real.median, cpu.median, 1e9},
        {"stddev", "time", real.stddev, cpu.stddev, 1e9},
        {"cv", "percentage", real.stddev / real.mean, cpu.stddev / cpu.mean, 1},
    };
    for (size_t k = 0; k < sizeof agg / sizeof agg[0]; k++) {
        char suffix[16];
        snprintf(suffix, sizeof suffix, "_%s", agg[k].name);
        entry_head(f, c, suffix, "aggregate", reps);
        fprintf(f, ", \"threads\": %d, \"aggregate_name\": \"%s\", \"aggregate_unit\": \"%s\"",
                c->threads, agg[k].name, agg[k].unit);
        entry_times(f, reps, agg[k].real, agg[k].cpu, agg[k].scale);
    }
}

/* Write all of buf to fd. */
static int write_all(int fd, const char *buf, size_t len) {
    while (len) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return DB_E_IO;
        buf += w;
        len -= (size_t)w;
    }
    return DB_OK;
}

int db_json_append_cell(int fd, const struct db_json_cell *c) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return DB_E_NOMEM;
    cell_entries(f, c);
    int rc = fclose(f) == 0 && buf ? write_all(fd, buf, len) : DB_E_NOMEM;
    free(buf);
    return rc;
}

int db_json_open(struct db_json_out *j, const char *path, char *err, size_t errlen) {
    j->path = NULL;
    j->fd = -1;
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return db_fail(err, errlen,
                       "cannot write --json '%s': not a regular file (the JSON is written to a "
                       "temporary file renamed over it)",
                       path);
    /* A symlink to a file: the rename lands on the file, the link stays (core/outfile.h). */
    char *target = NULL, why[256];
    enum db_out_mode mode;
    if (db_outfile_resolve(path, &target, &mode, why, sizeof why) != DB_OK)
        return db_fail(err, errlen, "cannot write --json %s", why);
    char *dir = db_outfile_dir(target);
    if (!dir) {
        free(target);
        return db_fail(err, errlen, "out of memory");
    }
    const char *base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
    long name_max = pathconf(dir, _PC_NAME_MAX);
    if (name_max > 0 && strlen(base) > (size_t)name_max) {
        db_fail(err, errlen,
                "cannot write --json '%.60s...': its name is %zu bytes, above the %ld "
                "its folder allows",
                path, strlen(base), name_max);
        free(dir);
        free(target);
        return DB_E_INVALID;
    }
    int e = db_outfile_probe_dir(dir);
    if (e) {
        db_fail(err, errlen, "cannot write --json '%s': no file can be created in '%s': %s", path,
                dir, strerror(e));
        free(dir);
        free(target);
        return DB_E_INVALID;
    }
    free(dir);
    FILE *t = tmpfile();
    if (!t) {
        free(target);
        return db_fail(err, errlen, "cannot create a temporary file: %s", strerror(errno));
    }
    j->fd = dup(fileno(t)); /* not close-on-exec: a sweep's children append to it */
    fclose(t);
    j->path = target;
    if (j->fd < 0 || !j->path) {
        db_json_close(j);
        return db_fail(err, errlen, "cannot create a temporary file");
    }
    return DB_OK;
}

void db_json_close(struct db_json_out *j) {
    if (j->fd >= 0) close(j->fd);
    j->fd = -1;
    free(j->path);
    j->path = NULL;
}

/* "key": "value" in the context, after Google Benchmark's members. */
static void context_string(FILE *f, const char *key, const char *value) {
    fprintf(f, ",\n    \"%s\": ", key);
    json_string(f, value);
}

static void context(FILE *f, const struct db_json_context *ctx) {
    const struct db_provenance *p = ctx->prov;
    char *gb = db_gbench_context_json();
    fputs("{\n  \"context\": {\n", f);
    fputs(gb ? gb : "    \"library_build_type\": \"unknown\"", f);
    free(gb);
    context_string(f, "git_rev", p->git_rev);
    context_string(f, "run_id", ctx->run_id);
    context_string(f, "matrix_id", ctx->plan->matrix_id);
    context_string(f, "matrix", ctx->plan->matrix);
    context_string(f, "cpu_model", p->cpu_model);
    context_string(f, "compiler", p->compiler);
    context_string(f, "gbench_version", p->gbench_version);
    context_string(f, "hwloc_version", p->hwloc_version);
    context_string(f, "openblas_config", p->openblas_config);
    context_string(f, "cpu_governor", p->cpu_governor);
    static const char *const vars[] = {"OMP_NUM_THREADS", "OMP_PROC_BIND", "OMP_PLACES",
                                       "OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        context_string(f, vars[i], v ? v : "unset");
    }
    fputs(",\n    \"configurations\": [", f);
    for (size_t k = 0; k < ctx->plan->nconfigs; k++) {
        if (k) fputs(", ", f);
        json_string(f, ctx->plan->configs[k].name);
    }
    fputs("]\n  },\n  \"benchmarks\": [", f);
}

/* Copy the fragments (one entry per line) into f as the benchmarks array. */
static int benchmarks(FILE *f, int fd) {
    int in = dup(fd);
    FILE *g = in >= 0 ? fdopen(in, "r") : NULL;
    if (!g) {
        if (in >= 0) close(in);
        return DB_E_IO;
    }
    rewind(g);
    char *line = NULL;
    size_t cap = 0, count = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, g)) > 0) {
        if (line[got - 1] == '\n') line[got - 1] = 0;
        fprintf(f, "%s\n    %s", count++ ? "," : "", line);
    }
    free(line);
    int rc = ferror(g) ? DB_E_IO : DB_OK;
    fclose(g);
    fputs(count ? "\n  ]\n}\n" : "]\n}\n", f);
    return rc;
}

int db_json_commit(struct db_json_out *j, const struct db_json_context *ctx, char *err,
                   size_t errlen) {
    size_t len = strlen(j->path);
    char *tmp = malloc(len + sizeof ".XXXXXX");
    if (!tmp) {
        db_json_close(j);
        snprintf(err, errlen, "out of memory");
        return DB_E_NOMEM;
    }
    memcpy(tmp, j->path, len);
    memcpy(tmp + len, ".XXXXXX", sizeof ".XXXXXX");
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int rc = f ? DB_OK : DB_E_IO;
    if (rc == DB_OK) {
        mode_t mask = umask(0); /* mkstemp made it 0600: give it what fopen would */
        umask(mask);
        fchmod(fd, 0666 & ~mask);
        context(f, ctx);
        rc = benchmarks(f, j->fd);
        if (fflush(f) != 0 || fsync(fd) != 0) rc = DB_E_IO;
        if (fclose(f) != 0) rc = DB_E_IO;
    } else if (fd >= 0) {
        close(fd);
    }
    if (rc == DB_OK && rename(tmp, j->path) != 0) rc = DB_E_IO;
    if (rc != DB_OK) {
        snprintf(err, errlen, "cannot write --json '%s': %s", j->path, strerror(errno));
        if (fd >= 0) unlink(tmp);
    }
    free(tmp);
    db_json_close(j);
    return rc;
}
