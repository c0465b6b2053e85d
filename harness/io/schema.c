#include "harness/io/schema.h"

#include <math.h>
#include <string.h>

#include "core/status.h"

/* The C type of a struct db_row member, found by the compiler (a member of another type does
 * not compile), and the kind of column it makes. */
#define MEMBER(member) (((const struct db_row *)0)->member)
#define CTYPE_OF(member)                                                                           \
    _Generic(MEMBER(member),                                                                       \
        const char *: DB_CT_TEXT,                                                                  \
        size_t: DB_CT_SIZE,                                                                        \
        int: DB_CT_INT,                                                                            \
        long long: DB_CT_LLONG,                                                                    \
        unsigned long long: DB_CT_ULLONG,                                                          \
        double: DB_CT_DOUBLE)
#define KIND_OF(member)                                                                            \
    _Generic(MEMBER(member),                                                                       \
        const char *: DB_KIND_TEXT,                                                                \
        double: DB_KIND_NUMBER,                                                                    \
        default: DB_KIND_INTEGER)

/* One table entry from one DB_COLUMNS line (c: name, m: member, w: when, k: keep, d: text). */
#define DB_COLUMN_ENTRY(c, m, w, k, d)                                                             \
    {.name = #c,                                                                                   \
     .kind = KIND_OF(m),                                                                           \
     .description = d,                                                                             \
     .offset = offsetof(struct db_row, m),                                                         \
     .ctype = CTYPE_OF(m),                                                                         \
     .when = DB_ON_##w,                                                                            \
     .keep = DB_KEEP_##k},
const struct db_column db_schema[DB_NCOLUMNS] = {DB_COLUMNS(DB_COLUMN_ENTRY)};
#undef DB_COLUMN_ENTRY

const char *db_kind_name(enum db_kind kind) {
    switch (kind) {
    case DB_KIND_TEXT:
        return "text";
    case DB_KIND_INTEGER:
        return "integer";
    case DB_KIND_NUMBER:
        return "number";
    }
    return "?";
}

int db_schema_index(const char *name) {
    for (int c = 0; c < DB_NCOLUMNS; c++)
        if (strcmp(db_schema[c].name, name) == 0) return c;
    return -1;
}

/* Does row r have a value in a column of this when (enum db_when)? */
static int row_has_value(enum db_when when, const struct db_row *r) {
    if (when == DB_ON_EVERY_ROW) return 1;
    if (strcmp(r->status, "ok") != 0) return 0;
    switch (when) {
    case DB_ON_OK_SOLVE:
        return r->solver != NULL;
    case DB_ON_OK_WROTE:
        return r->write_path && *r->write_path;
    default:
        return 1;
    }
}

/* An integer as text, or "" when keep drops it. */
static const char *integer_text(enum db_keep keep, long long v, char *buf) {
    if ((keep == DB_KEEP_NONNEG && v < 0) || (keep == DB_KEEP_POSITIVE && v <= 0)) return "";
    snprintf(buf, DB_VALUE_MAX, "%lld", v);
    return buf;
}

/* A double as text (%.9g), or "" when keep drops it. */
static const char *double_text(enum db_keep keep, double v, char *buf) {
    int kept = keep == DB_KEEP_FINITE     ? isfinite(v)
               : keep == DB_KEEP_NONNEG   ? v >= 0 /* +inf is kept: "inf" */
               : keep == DB_KEEP_POSITIVE ? isfinite(v) && v > 0
                                          : 1;
    if (!kept) return "";
    snprintf(buf, DB_VALUE_MAX, "%.9g", v);
    return buf;
}

const char *db_column_value(const struct db_column *c, const struct db_row *r,
                            char buf[DB_VALUE_MAX]) {
    if (!row_has_value(c->when, r)) return "";
    const void *p = (const char *)r + c->offset; /* the member, of type c->ctype */
    switch (c->ctype) {
    case DB_CT_TEXT: {
        const char *s = *(const char *const *)p;
        return s ? s : "";
    }
    case DB_CT_SIZE:
        snprintf(buf, DB_VALUE_MAX, "%zu", *(const size_t *)p);
        return buf;
    case DB_CT_ULLONG:
        snprintf(buf, DB_VALUE_MAX, "%llu", *(const unsigned long long *)p);
        return buf;
    case DB_CT_INT:
        return integer_text(c->keep, *(const int *)p, buf);
    case DB_CT_LLONG:
        return integer_text(c->keep, *(const long long *)p, buf);
    case DB_CT_DOUBLE:
        return double_text(c->keep, *(const double *)p, buf);
    }
    return "";
}

int db_schema_print(FILE *f) {
    for (int c = 0; c < DB_NCOLUMNS; c++)
        fprintf(f, "%s\t%s\t%s\n", db_schema[c].name, db_kind_name(db_schema[c].kind),
                db_schema[c].description);
    return fflush(f) != 0 || ferror(f) ? DB_E_IO : DB_OK;
}
