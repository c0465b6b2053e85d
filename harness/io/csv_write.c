#include "harness/io/csv_write.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fail.h"
#include "core/format.h"
#include "core/outfile.h"
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

/* Where the next row starts: the file's size once the header (or the last row) is in it. */
static void mark_complete(struct db_csv_file *out) {
    struct stat st;
    out->regular = fstat(fileno(out->f), &st) == 0 && S_ISREG(st.st_mode);
    out->complete = out->regular ? st.st_size : 0;
}

/* Whether the folder of path exists (out of memory: said to exist, so the message stays the
 * plain one). */
static int folder_exists(const char *path) {
    char *dir = db_outfile_dir(path);
    struct stat st;
    int yes = !dir || (stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
    free(dir);
    return yes;
}

/* Create target.partial for writing, never over an existing one (the rows of an unfinished run).
 * path is what the user gave (for messages), target where it resolves to (core/outfile.h). */
static int create_partial(struct db_csv_file *out, const char *path, const char *target,
                          char *errbuf, size_t errlen) {
    size_t len = strlen(target);
    out->path = strdup(target);
    out->partial = malloc(len + sizeof ".partial");
    if (!out->path || !out->partial) {
        release(out);
        snprintf(errbuf, errlen, "out of memory");
        return DB_E_NOMEM;
    }
    memcpy(out->partial, target, len);
    memcpy(out->partial + len, ".partial", sizeof ".partial");
    out->f = fopen(out->partial, "wx");
    if (out->f) return DB_OK;
    char word[4200];
    if (errno == EEXIST)
        snprintf(errbuf, errlen,
                 "'%s' exists (rows of an unfinished run): continue it by adding --resume %s to "
                 "this command, or remove it",
                 out->partial, db_shell_word(out->partial, word, sizeof word));
    else if (errno == ENOENT && !folder_exists(out->partial))
        snprintf(errbuf, errlen, "cannot write --out '%s': %s", path, strerror(errno));
    else /* name the file that could not be created: for -o /proc/version the file exists and
          * it is the .partial beside it that the folder refuses */
        snprintf(errbuf, errlen,
                 "cannot write --out '%s': cannot create '%s' beside it (the rows go there until "
                 "the run ends): %s",
                 path, out->partial, strerror(errno));
    release(out);
    return DB_E_IO;
}

/* Open path (not "-") as core/outfile.h decides: through path.partial, or directly. */
static int open_path(struct db_csv_file *out, const char *path, char *errbuf, size_t errlen) {
    char *target, why[512];
    enum db_out_mode mode;
    int rc = db_outfile_resolve(path, &target, &mode, why, sizeof why);
    if (rc == DB_E_NOMEM) snprintf(errbuf, errlen, "out of memory");
    if (rc != DB_OK) {
        if (rc != DB_E_NOMEM) snprintf(errbuf, errlen, "cannot write --out %s", why);
        return rc == DB_E_NOMEM ? rc : DB_E_IO;
    }
    if (mode == DB_OUT_ATOMIC) {
        rc = create_partial(out, path, target, errbuf, errlen);
        free(target);
        return rc;
    }
    out->path = target;
    out->f = db_outfile_open_through(target, 1);
    if (out->f) return DB_OK;
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
        DB_CHECK(open_path(out, path, errbuf, errlen));
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
    mark_complete(out);
    return DB_OK;
}

int db_csv_open_append(struct db_csv_file *out, const char *partial, int header, char *errbuf,
                       size_t errlen) {
    memset(out, 0, sizeof *out);
    size_t len = strlen(partial) - strlen(".partial");
    out->partial = strdup(partial);
    out->path = strndup(partial, len);
    if (!out->partial || !out->path) {
        release(out);
        snprintf(errbuf, errlen, "out of memory");
        return DB_E_NOMEM;
    }
    out->f = fopen(partial, "a");
    int rc = out->f ? DB_OK : DB_E_IO;
    if (rc == DB_OK) {
        setvbuf(out->f, NULL, _IOFBF, 1 << 16);
        if (header) fprintf(out->f, "%s\n", db_csv_header);
        if (fflush(out->f) != 0) rc = DB_E_IO;
    }
    if (rc != DB_OK) {
        snprintf(errbuf, errlen, "cannot append to '%s': %s", partial, strerror(errno));
        db_csv_abandon(out);
        return rc;
    }
    mark_complete(out);
    out->resumed = 1;
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

/* A row that could not be written whole is cut off again (ftruncate to where it started), so
 * nothing is ever appended after a fragment and --resume can continue the file; nothing more is
 * written to out after a failure. */
static int row_failed(struct db_csv_file *out) {
    out->err = errno ? errno : EIO;
    out->failed = 1;
    if (out->regular && out->partial) {
        int fd = fileno(out->f);
        if (ftruncate(fd, out->complete) == 0) lseek(fd, out->complete, SEEK_SET);
    }
    return DB_E_IO;
}

int db_csv_append_line(struct db_csv_file *out, const char *line) {
    if (out->failed) return DB_E_IO;
    errno = 0;
    if (fflush(out->f) != 0) return row_failed(out);
    int fd = fileno(out->f);
    size_t len = strlen(line);
    for (const char *p = line; len > 0;) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return row_failed(out);
        p += w;
        len -= (size_t)w;
    }
    /* A finished row survives SIGKILL and a power cut (fsync on a pipe, terminal or device fails
     * with EINVAL: nothing to do there). */
    if (fsync(fd) != 0 && errno != EINVAL) return row_failed(out);
    if (out->regular) out->complete = lseek(fd, 0, SEEK_CUR);
    return DB_OK;
}

const char *db_csv_error(const struct db_csv_file *out, char *buf, size_t len) {
    const char *name = out->partial ? out->partial : out->path ? out->path : "stdout";
    snprintf(buf, len, "cannot write '%s': %s%s", name, strerror(out->err ? out->err : EIO),
             out->regular && out->partial ? " (the incomplete row was removed)" : "");
    db_visible(buf, len);
    return buf;
}

int db_csv_commit(struct db_csv_file *out, char *errbuf, size_t errlen) {
    int rc = DB_OK;
    if (out->f && out->f != stdout) {
        if (fflush(out->f) != 0 || (fsync(fileno(out->f)) != 0 && errno != EINVAL)) rc = DB_E_IO;
        if (fclose(out->f) != 0) rc = DB_E_IO;
        out->f = NULL;
        if (rc == DB_OK && out->partial && rename(out->partial, out->path) != 0) rc = DB_E_IO;
        if (rc != DB_OK)
            snprintf(errbuf, errlen, "cannot finish '%s': %s", out->path, strerror(errno));
    } else if (out->f) {
        if (fflush(out->f) != 0) {
            rc = DB_E_IO;
            snprintf(errbuf, errlen, "cannot write to stdout: %s", strerror(errno));
        }
    }
    release(out);
    return rc;
}

void db_csv_abandon(struct db_csv_file *out) {
    if (out->f && out->f != stdout) fclose(out->f);
    release(out);
}
