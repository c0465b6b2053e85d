/* Tidy CSV output (RFC 4180, one header line, '.' decimal) of the rows and columns of
 * harness/io/schema.h, and a crash-safe file writer (OUT.partial, flushed per row, renamed to OUT
 * on success). */
#ifndef DB_CSV_WRITE_H
#define DB_CSV_WRITE_H

#include <stddef.h>
#include <stdio.h>

#include "harness/io/schema.h"

/* The header line (without newline): the names of the schema's columns, comma-separated. */
extern const char *const db_csv_header;

/* Number of columns in the header (DB_NCOLUMNS). */
size_t db_csv_column_count(void);

/* Write one field with RFC 4180 quoting (quotes only when needed). */
void db_csv_field(FILE *f, const char *s);

/* Write one row (with trailing newline): each column's value (db_column_value), quoted. */
int db_csv_write_row(FILE *f, const struct db_row *r);

/* An output file written as path.partial and renamed on success, or written through directly
 * (partial NULL) when path is a device, FIFO or the like (core/outfile.h). */
struct db_csv_file {
    FILE *f;
    char *path, *partial;
    long long complete; /* regular files: the offset where the next row starts */
    int regular;        /* the file is a regular file (can be cut back to `complete`) */
    int resumed;        /* opened by --resume (a file this run did not create) */
    int failed, err;    /* a row could not be written (errno err): nothing more is */
};

/* Open path.partial for writing and write the header. On failure (DB_E_IO), errbuf names the
 * path and the reason; nothing is left behind. An existing path.partial (the rows of an
 * unfinished run) is never overwritten: DB_E_IO, continue it with --resume or remove it. path
 * "-" writes to stdout (no rename); a path that is a device, FIFO or socket (or a symlink to
 * one) is written through directly, a symlink to a regular file is followed
 * (core/outfile.h). */
int db_csv_open(struct db_csv_file *out, const char *path, int header, char *errbuf, size_t errlen);
/* One row as a malloc'd line with its newline (NULL when out of memory): what is appended to
 * the file and handed to the summary, written whole. */
char *db_csv_format_row(const struct db_row *r);
/* Open partial (a name ending in .partial) for appending, writing the header first when
 * header; the rename on commit goes to the name without .partial. */
int db_csv_open_append(struct db_csv_file *out, const char *partial, int header, char *errbuf,
                       size_t errlen);
/* Append a formatted line (ours or a child process's) with write(2), and fsync it. DB_E_IO when
 * it could not be written whole: a regular partial file is cut back to its last complete row,
 * out->err holds the errno, and every later append fails at once (db_csv_error says why). */
int db_csv_append_line(struct db_csv_file *out, const char *line);
/* "cannot write 'F.partial': No space left on device (the incomplete row was removed)". */
const char *db_csv_error(const struct db_csv_file *out, char *buf, size_t len);
/* fsync and rename path.partial to path. */
int db_csv_commit(struct db_csv_file *out, char *errbuf, size_t errlen);
/* Close without renaming: the finished rows stay readable in path.partial. */
void db_csv_abandon(struct db_csv_file *out);

#endif
