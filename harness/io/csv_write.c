#include "harness/io/csv_write.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"

/* ",run_id,timestamp,...": each name with a comma before it; the header starts after the first. */
#define DB_COMMA_NAME(name, member, when, keep, description) "," #name
static const char comma_names[] = DB_COLUMNS(DB_COMMA_NAME);
#undef DB_COMMA_NAME
const char *const db_csv_header = comma_names + 1;

size_t db_csv_column_count(void) {
    return DB_NCOLUMNS;
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

int db_csv_write_row(FILE *f, const struct db_row *r) {
    char buf[DB_VALUE_MAX];
    for (int c = 0; c < DB_NCOLUMNS; c++) {
        if (c) fputc(',', f);
        db_csv_field(f, db_column_value(&db_schema[c], r, buf));
    }
    fputc('\n', f);
    return ferror(f) ? DB_E_IO : DB_OK;
}

/* Free the file names and forget the file (closed, or stdout). */
static void release(struct db_csv_file *out) {
    free(out->path);
    free(out->partial);
    memset(out, 0, sizeof *out);
}

/* Create path.partial for writing, never over an existing one (the rows of an unfinished run)
 * nor for a path that is a directory (the final rename would fail). */
static int create_partial(struct db_csv_file *out, const char *path, char *errbuf, size_t errlen) {
    size_t len = strlen(path);
    out->path = strdup(path);
    out->partial = malloc(len + sizeof ".partial");
    if (!out->path || !out->partial) {
        release(out);
        snprintf(errbuf, errlen, "out of memory");
        return DB_E_NOMEM;
    }
    memcpy(out->partial, path, len);
    memcpy(out->partial + len, ".partial", sizeof ".partial");
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(errbuf, errlen, "cannot write --out '%s': it is a directory", path);
        release(out);
        return DB_E_IO;
    }
    out->f = fopen(out->partial, "wx");
    if (out->f) return DB_OK;
    if (errno == EEXIST)
        snprintf(errbuf, errlen,
                 "'%s' exists (rows of an unfinished run): continue it with --resume %s, or "
                 "remove it",
                 out->partial, out->partial);
    else
        snprintf(errbuf, errlen, "cannot write --out '%s': %s", path, strerror(errno));
    release(out);
    return DB_E_IO;
}

int db_csv_open(struct db_csv_file *out, const char *path, int header, char *errbuf,
                size_t errlen) {
    memset(out, 0, sizeof *out);
    if (strcmp(path, "-") == 0)
        out->f = stdout;
    else
        DB_CHECK(create_partial(out, path, errbuf, errlen));
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
    release(out);
    return rc;
}

void db_csv_abandon(struct db_csv_file *out) {
    if (out->f && out->f != stdout) fclose(out->f);
    release(out);
}
