#include "harness/io/csv_write.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"

const char db_csv_header[] =
    "run_id,timestamp,workload,operator,jac,strategy,n,threads,proc_bind,places,status,reps,"
    "iterations,time_median_s,time_mean_s,time_min_s,time_max_s,time_stddev_s,time_cv,"
    "ns_per_element,primitive_calls,max_abs_err,host,cpu_model,compiler,git_rev,call_cost_s,note,"
    "bound_cpus,binding,omp_wait_policy,hwloc_version,openblas_config,cpu_governor,"
    "solver,residual,newton_steps,converged,colours,colours_lower_bound,"
    "shard,matrix,matrix_id,write_path,write_ceiling_s";

size_t db_csv_column_count(void) {
    size_t c = 1;
    for (const char *p = db_csv_header; *p; p++)
        c += *p == ',';
    return c;
}

void db_csv_field(FILE *f, const char *s) {
    if (!s) s = "";
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void num(FILE *f, double v) {
    fputc(',', f);
    if (isfinite(v)) fprintf(f, "%.9g", v);
}

static void str(FILE *f, const char *s) {
    fputc(',', f);
    db_csv_field(f, s);
}

int db_csv_write_row(FILE *f, const struct db_row *r) {
    int ok = strcmp(r->status, "ok") == 0;
    db_csv_field(f, r->run_id);
    str(f, r->timestamp);
    str(f, r->workload);
    str(f, r->operator_kind);
    str(f, r->jac);
    str(f, r->strategy);
    fprintf(f, ",%zu,%d", r->n, r->threads);
    str(f, r->proc_bind);
    str(f, r->places);
    str(f, r->status);
    if (ok) {
        fprintf(f, ",%d,%lld", r->reps, r->iterations);
        num(f, r->time_median_s);
        num(f, r->time_mean_s);
        num(f, r->time_min_s);
        num(f, r->time_max_s);
        num(f, r->time_stddev_s);
        num(f, r->time_cv);
        num(f, r->ns_per_element);
        fprintf(f, ",%llu", r->primitive_calls);
        num(f, r->max_abs_err);
    } else {
        fputs(",,,,,,,,,,,", f);
    }
    str(f, r->host);
    str(f, r->cpu_model);
    str(f, r->compiler);
    str(f, r->git_rev);
    fputc(',', f);
    if (r->call_cost_s >= 0) fprintf(f, "%.9g", r->call_cost_s);
    str(f, r->note);
    str(f, r->bound_cpus);
    str(f, r->binding);
    str(f, r->omp_wait_policy);
    str(f, r->hwloc_version);
    str(f, r->openblas_config);
    str(f, r->cpu_governor);
    str(f, r->solver);
    int downstream = ok && r->solver;
    fputc(',', f);
    if (downstream && isfinite(r->residual)) fprintf(f, "%.9g", r->residual);
    fputc(',', f);
    if (downstream && r->newton_steps >= 0) fprintf(f, "%d", r->newton_steps);
    fputc(',', f);
    if (downstream && r->converged >= 0) fprintf(f, "%d", r->converged);
    fputc(',', f);
    if (ok && r->colours >= 0) fprintf(f, "%lld", r->colours);
    fputc(',', f);
    if (ok && r->colours_lower_bound >= 0) fprintf(f, "%lld", r->colours_lower_bound);
    str(f, r->shard);
    str(f, r->matrix);
    str(f, r->matrix_id);
    int wrote = ok && r->write_path && *r->write_path;
    str(f, wrote ? r->write_path : "");
    if (wrote && r->write_ceiling_s > 0)
        num(f, r->write_ceiling_s);
    else
        fputc(',', f);
    fputc('\n', f);
    return ferror(f) ? DB_E_IO : DB_OK;
}

int db_csv_open(struct db_csv_file *out, const char *path, int header, char *errbuf,
                size_t errlen) {
    memset(out, 0, sizeof *out);
    if (strcmp(path, "-") == 0) {
        out->f = stdout;
    } else {
        size_t len = strlen(path);
        out->path = strdup(path);
        out->partial = malloc(len + sizeof ".partial");
        if (!out->path || !out->partial) {
            free(out->path);
            free(out->partial);
            snprintf(errbuf, errlen, "out of memory");
            return DB_E_NOMEM;
        }
        memcpy(out->partial, path, len);
        memcpy(out->partial + len, ".partial", sizeof ".partial");
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) { /* the final rename would fail */
            snprintf(errbuf, errlen, "cannot write --out '%s': it is a directory", path);
            free(out->path);
            free(out->partial);
            memset(out, 0, sizeof *out);
            return DB_E_IO;
        }
        out->f = fopen(out->partial, "wx");
        if (!out->f) {
            if (errno == EEXIST)
                snprintf(errbuf, errlen,
                         "'%s' exists (rows of an unfinished run): continue it with --resume %s, "
                         "or remove it",
                         out->partial, out->partial);
            else
                snprintf(errbuf, errlen, "cannot write --out '%s': %s", path, strerror(errno));
            free(out->path);
            free(out->partial);
            memset(out, 0, sizeof *out);
            return DB_E_IO;
        }
    }
    /* One buffer holds a whole row, so each row reaches the file in one write(2). */
    setvbuf(out->f, NULL, _IOFBF, 1 << 16);
    if (header) {
        fprintf(out->f, "%s\n", db_csv_header);
        if (fflush(out->f) != 0) {
            snprintf(errbuf, errlen, "cannot write --out '%s': %s", path, strerror(errno));
            if (out->partial) remove(out->partial);
            db_csv_abandon(out);
            return DB_E_IO;
        }
    }
    return DB_OK;
}

/* Push the row to the kernel and, for a file, to the disk: a finished row survives SIGKILL and
 * a power cut. (fsync on a pipe or terminal fails with EINVAL: nothing to do there.) */
static int flush_row(FILE *f) {
    if (fflush(f) != 0 || ferror(f)) return DB_E_IO;
    if (fsync(fileno(f)) != 0 && errno != EINVAL) return DB_E_IO;
    return DB_OK;
}

char *db_csv_format_row(const struct db_row *r) {
    char *line = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&line, &len);
    if (!mem) return NULL;
    int rc = db_csv_write_row(mem, r);
    if (fclose(mem) != 0 || rc != DB_OK) {
        free(line);
        return NULL;
    }
    return line;
}

int db_csv_append_line(struct db_csv_file *out, const char *line) {
    fputs(line, out->f);
    return flush_row(out->f);
}

int db_csv_commit(struct db_csv_file *out, char *errbuf, size_t errlen) {
    int rc = DB_OK;
    if (out->f && out->f != stdout) {
        if (fflush(out->f) != 0 || fsync(fileno(out->f)) != 0) rc = DB_E_IO;
        if (fclose(out->f) != 0) rc = DB_E_IO;
        out->f = NULL;
        if (rc == DB_OK && rename(out->partial, out->path) != 0) rc = DB_E_IO;
        if (rc != DB_OK)
            snprintf(errbuf, errlen, "cannot finish '%s': %s", out->path, strerror(errno));
    } else if (out->f) {
        fflush(out->f);
    }
    free(out->path);
    free(out->partial);
    memset(out, 0, sizeof *out);
    return rc;
}

void db_csv_abandon(struct db_csv_file *out) {
    if (out->f && out->f != stdout) fclose(out->f);
    free(out->path);
    free(out->partial);
    memset(out, 0, sizeof *out);
}
