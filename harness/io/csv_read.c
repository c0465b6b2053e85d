#include "harness/io/csv_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"
#include "core/fail.h"
#include "harness/io/schema.h"
#include "harness/plan/plan.h"

void db_table_free(struct db_table *t) {
    for (size_t i = 0; i < t->nrec; i++)
        free(t->rec[i].field);
    free(t->rec);
    free(t->text);
    free(t->store);
    memset(t, 0, sizeof *t);
}

static int push_field(char ***fields, size_t *n, size_t *cap, char *f) {
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 32;
        char **grown = realloc(*fields, c * sizeof *grown);
        if (!grown) return DB_E_NOMEM;
        *fields = grown;
        *cap = c;
    }
    (*fields)[(*n)++] = f;
    return DB_OK;
}

static int push_record(struct db_table *t, size_t *cap, struct db_record r) {
    if (t->nrec == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        struct db_record *grown = realloc(t->rec, c * sizeof *grown);
        if (!grown) return DB_E_NOMEM;
        t->rec = grown;
        *cap = c;
    }
    t->rec[t->nrec++] = r;
    return DB_OK;
}

#define TORN (-1) /* distinct from every DB_E_* code */

/* Parse one record at *pos. Returns DB_OK (a whole record), TORN (the text ended inside it),
 * DB_E_INVALID or DB_E_NOMEM. */
static int parse_record(const char *s, size_t len, size_t *pos, size_t *line, char **out,
                        char ***fields, size_t *nf, char *err, size_t errlen) {
    size_t p = *pos, cap = 0;
    int rc;
    *fields = NULL;
    *nf = 0;
    for (;;) {
        char *f = *out;
        if (p < len && s[p] == '"') {
            size_t qline = *line;
            p++;
            for (;;) {
                if (p >= len) return TORN;
                if (s[p] == '"') {
                    if (p + 1 < len && s[p + 1] == '"') {
                        *(*out)++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                if (s[p] == '\n') (*line)++;
                *(*out)++ = s[p++];
            }
            if (p >= len) return TORN;
            if (s[p] == '\r' && p + 1 < len && s[p + 1] == '\n') p++;
            if (s[p] != ',' && s[p] != '\n')
                return db_fail(err, errlen,
                               "line %zu: malformed quoting (text after a closing quote)", qline);
        } else {
            while (p < len && s[p] != ',' && s[p] != '\n') {
                if (s[p] == '"')
                    return db_fail(err, errlen,
                                   "line %zu: malformed quoting (a quote inside an "
                                   "unquoted field)",
                                   *line);
                *(*out)++ = s[p++];
            }
            if (p >= len) return TORN;
            if (s[p] == '\n' && *out > f && (*out)[-1] == '\r') (*out)--;
        }
        *(*out)++ = 0;
        if ((rc = push_field(fields, nf, &cap, f)) != DB_OK) return rc;
        if (s[p++] == ',') continue;
        (*line)++;
        *pos = p;
        return DB_OK;
    }
}

int db_table_parse(const char *text, size_t len, struct db_table *t, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    t->text = malloc(len + 1);
    t->store = malloc(len + 1);
    if (!t->text || !t->store) {
        db_table_free(t);
        snprintf(err, errlen, "out of memory");
        return DB_E_NOMEM;
    }
    if (len) memcpy(t->text, text, len);
    t->text[len] = 0;
    t->len = len;
    const char *nul = memchr(t->text, 0, len);
    if (nul) {
        size_t line = 1;
        for (const char *c = t->text; c < nul; c++)
            line += *c == '\n';
        db_table_free(t);
        return db_fail(err, errlen, "line %zu: a NUL byte (not a text file)", line);
    }
    size_t pos = 0, line = 1, cap = 0;
    char *out = t->store;
    while (pos < len) {
        size_t start = pos, start_line = line;
        char **fields;
        size_t nf;
        int rc = parse_record(t->text, len, &pos, &line, &out, &fields, &nf, err, errlen);
        if (rc == TORN) {
            free(fields);
            t->torn = 1;
            break;
        }
        if (rc == DB_OK)
            rc = push_record(t, &cap,
                             (struct db_record){fields, nf, start, pos - start, start_line});
        if (rc != DB_OK) {
            free(fields);
            if (rc == DB_E_NOMEM) snprintf(err, errlen, "out of memory");
            db_table_free(t);
            return rc;
        }
        t->complete_len = pos;
    }
    return DB_OK;
}

int db_table_read(const char *path, struct db_table *t, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    /* Opened without waiting (a FIFO without a writer would block forever) and read only when it
     * is a regular file: a CSV from a device, a FIFO or a directory is refused, never half read. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return DB_E_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "cannot read '%s': not a regular file (a %s): expected a CSV file",
                 path,
                 S_ISFIFO(st.st_mode)  ? "FIFO"
                 : S_ISDIR(st.st_mode) ? "directory"
                 : S_ISCHR(st.st_mode) ? "character device"
                                       : "special file");
        close(fd);
        return DB_E_INVALID;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        close(fd);
        return DB_E_IO;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = DB_OK;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 1 << 16;
            char *grown = realloc(buf, cap);
            if (!grown) {
                rc = DB_E_NOMEM;
                break;
            }
            buf = grown;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    if (rc == DB_OK && ferror(f)) rc = DB_E_IO;
    fclose(f);
    if (rc != DB_OK) {
        free(buf);
        snprintf(err, errlen, "cannot read '%s': %s", path,
                 rc == DB_E_IO ? strerror(errno) : "out of memory");
        return rc;
    }
    char perr[256];
    rc = db_table_parse(buf ? buf : "", len, t, perr, sizeof perr);
    free(buf);
    if (rc != DB_OK) snprintf(err, errlen, "'%s' %s", path, perr);
    return rc;
}

int db_table_check_diagbench(const struct db_table *t, char *err, size_t errlen) {
    if (t->nrec == 0) return db_fail(err, errlen, "no header line (empty file)");
    const struct db_record *h = &t->rec[0];
    for (size_t c = 0; c < DB_NCOLUMNS; c++) {
        const char *name = db_schema[c].name;
        if (c >= h->nfields)
            return db_fail(err, errlen,
                           "not a diagbench CSV of this version: the header ends before "
                           "column %zu '%s'",
                           c + 1, name);
        if (strcmp(h->field[c], name) != 0)
            return db_fail(err, errlen,
                           "not a diagbench CSV of this version: header column %zu is '%.40s', "
                           "expected '%s'",
                           c + 1, h->field[c], name);
    }
    if (h->nfields != DB_NCOLUMNS)
        return db_fail(
            err, errlen,
            "not a diagbench CSV of this version: the header has %zu columns, expected %zu",
            h->nfields, (size_t)DB_NCOLUMNS);
    for (size_t i = 1; i < t->nrec; i++)
        if (t->rec[i].nfields != DB_NCOLUMNS)
            return db_fail(err, errlen, "line %zu: %zu fields, expected %zu", t->rec[i].line,
                           t->rec[i].nfields, (size_t)DB_NCOLUMNS);
    return DB_OK;
}

int db_table_column(const struct db_table *t, const char *name) {
    if (t->nrec == 0) return -1;
    for (size_t i = 0; i < t->rec[0].nfields; i++)
        if (strcmp(t->rec[0].field[i], name) == 0) return (int)i;
    return -1;
}

long db_table_row_in_plan(const struct db_plan *plan, char *const *f, int *calibration) {
    *calibration = db_plan_is_calibration(f[DB_COL_workload]);
    if (*calibration)
        return plan->calibrate ? db_plan_config_find(plan, f[DB_COL_threads], f[DB_COL_proc_bind],
                                                     f[DB_COL_places])
                               : -1;
    return db_plan_find(plan, f[DB_COL_workload], f[DB_COL_operator], f[DB_COL_jac],
                        f[DB_COL_strategy], f[DB_COL_n], f[DB_COL_threads], f[DB_COL_proc_bind],
                        f[DB_COL_places]);
}
