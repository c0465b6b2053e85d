#include "core/parse.h"

#include "core/status.h"

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

int db_parse_whole(const char *s, const char **end, unsigned long long max,
                   unsigned long long *out) {
    if (end) *end = s;
    if (!s || !is_digit(*s)) return DB_E_INVALID;
    unsigned long long x = 0;
    const char *p = s;
    for (; is_digit(*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (d > max || x > (max - d) / 10) { /* x * 10 + d > max, without wrapping */
            if (end) *end = p;
            return DB_E_INVALID;
        }
        x = x * 10 + d;
    }
    if (end)
        *end = p;
    else if (*p)
        return DB_E_INVALID;
    *out = x;
    return DB_OK;
}
