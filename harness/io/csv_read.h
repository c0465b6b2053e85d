/* Reading diagbench CSVs back (for --resume and `diagbench merge`): an RFC 4180 parser that
 * keeps each record's raw text, tells a torn last record (a run killed mid-write) from a
 * malformed one, and checks the header against ours. */
#ifndef DB_CSV_READ_H
#define DB_CSV_READ_H

#include <stddef.h>

struct db_record {
    char **field; /* unquoted fields */
    size_t nfields;
    size_t offset; /* raw text: text + offset, length bytes, ending in '\n' */
    size_t length;
    size_t line; /* 1-based line number where the record starts */
};

struct db_table {
    char *text; /* the file as read */
    size_t len;
    struct db_record *rec; /* rec[0] is the header (when nrec > 0) */
    size_t nrec;
    size_t complete_len; /* bytes up to the end of the last complete record */
    int torn;            /* the text ended inside a record (no final newline): it was dropped */
    char *store;         /* storage of the unquoted fields */
};

/* Parse text (len bytes, copied). DB_E_INVALID with "line N: ..." in err for malformed quoting
 * or a NUL byte; a record cut off by the end of the text is dropped and flagged as torn. */
int db_table_parse(const char *text, size_t len, struct db_table *t, char *err, size_t errlen);

/* Read and parse a file; DB_E_IO when it cannot be read (err names the path and the reason). */
int db_table_read(const char *path, struct db_table *t, char *err, size_t errlen);

void db_table_free(struct db_table *t);

/* DB_OK when the header is exactly db_csv_header and every record has its column count; else
 * DB_E_INVALID with err naming what differs ("line 7: 12 fields, expected 31"). */
int db_table_check_diagbench(const struct db_table *t, char *err, size_t errlen);

/* Index of a header column, or -1. */
int db_table_column(const struct db_table *t, const char *name);

struct db_plan;

/* Where a data row of a checked table (its fields at the DB_COL_* ids) belongs in plan, for
 * --resume and merge: a calibration row (*calibration = 1) gives the index of its configuration,
 * -1 when the plan does not calibrate or has no such configuration; a cell (*calibration = 0)
 * gives its item, -1 when it is not one of the plan's. */
long db_table_row_in_plan(const struct db_plan *plan, char *const *field, int *calibration);

#endif
