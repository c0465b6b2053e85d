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

static int keep_integer(enum db_keep keep, long long v) {
    if (keep == DB_KEEP_NONNEG) return v >= 0;
    if (keep == DB_KEEP_POSITIVE) return v > 0;
    return 1;
}

static int keep_double(enum db_keep keep, double v) {
    switch (keep) {
    case DB_KEEP_FINITE:
        return isfinite(v);
    case DB_KEEP_NONNEG:
        return v >= 0; /* +inf is written as "inf": a cost, not a measurement */
    case DB_KEEP_POSITIVE:
        return isfinite(v) && v > 0;
    default:
        return 1;
    }
}

/* Format the number at p (of the column's C type) into buf, or return "" when it is not kept. */
static const char *format_number(const struct db_column *c, const void *p, char *buf) {
    long long i;
    switch (c->ctype) {
    case DB_CT_DOUBLE: {
        double v;
        memcpy(&v, p, sizeof v);
        if (!keep_double(c->keep, v)) return "";
        snprintf(buf, DB_VALUE_MAX, "%.9g", v);
        return buf;
    }
    case DB_CT_SIZE: {
        size_t v;
        memcpy(&v, p, sizeof v);
        snprintf(buf, DB_VALUE_MAX, "%zu", v);
        return buf;
    }
    case DB_CT_ULLONG: {
        unsigned long long v;
        memcpy(&v, p, sizeof v);
        snprintf(buf, DB_VALUE_MAX, "%llu", v);
        return buf;
    }
    case DB_CT_INT: {
        int v;
        memcpy(&v, p, sizeof v);
        i = v;
        break;
    }
    case DB_CT_LLONG:
        memcpy(&i, p, sizeof i);
        break;
    default:
        return "";
    }
    if (!keep_integer(c->keep, i)) return "";
    snprintf(buf, DB_VALUE_MAX, "%lld", i);
    return buf;
}

const char *db_column_value(const struct db_column *c, const struct db_row *r,
                            char buf[DB_VALUE_MAX]) {
    if (!row_has_value(c->when, r)) return "";
    const void *p = (const char *)r + c->offset;
    if (c->ctype != DB_CT_TEXT) return format_number(c, p, buf);
    const char *s;
    memcpy(&s, p, sizeof s);
    return s ? s : "";
}

int db_schema_print(FILE *f) {
    for (int c = 0; c < DB_NCOLUMNS; c++)
        fprintf(f, "%s\t%s\t%s\n", db_schema[c].name, db_kind_name(db_schema[c].kind),
                db_schema[c].description);
    return fflush(f) != 0 || ferror(f) ? DB_E_IO : DB_OK;
}
