#include "core/fail.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/status.h"

int db_fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    if (errlen) db_one_line(err);
    return DB_E_INVALID;
}

void db_one_line(char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = '?';
}
