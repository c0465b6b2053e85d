#include "core/format.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMES     "\xc3\x97" /* U+00D7 MULTIPLICATION SIGN */
#define MICRO     "\xc2\xb5" /* U+00B5 MICRO SIGN */
#define PLUSMINUS "\xc2\xb1"

/* A whole number (as %.0f rounds it) with ',' between groups of three digits. */
static void grouped(double v, char *buf, size_t len) {
    char digits[320];
    snprintf(digits, sizeof digits, "%.0f", v);
    size_t nd = strlen(digits), o = 0;
    for (size_t i = 0; i < nd && o + 1 < len; i++) {
        if (i > 0 && (nd - i) % 3 == 0) {
            buf[o++] = ',';
            if (o + 1 >= len) break;
        }
        buf[o++] = digits[i];
    }
    if (len) buf[o < len ? o : len - 1] = 0;
}

const char *db_fmt_number3(double x, char *buf, size_t len) {
    if (!isfinite(x) || x <= 0) {
        snprintf(buf, len, "-");
        return buf;
    }
    if (x >= 99.95) { /* at least 3 significant digits once rounded to a whole number */
        grouped(x, buf, len);
        return buf;
    }
    /* decimals = 2 - floor(log10 x): 3 significant digits (12.3, 8.00, 0.500, 0.000213); a
     * value that rounds up a decade (9.996 -> "10.00") keeps one digit too many, never fewer. */
    int decimals = 2 - (int)floor(log10(x));
    if (decimals < 0) decimals = 0;
    snprintf(buf, len, "%.*f", decimals, x);
    return buf;
}

const char *db_fmt_ratio(double r, char *buf, size_t len) {
    char num[400];
    if (!isfinite(r) || r <= 0) {
        snprintf(buf, len, "-");
        return buf;
    }
    snprintf(buf, len, "%s" TIMES, db_fmt_number3(r, num, sizeof num));
    return buf;
}

const char *db_fmt_count(unsigned long long k, const char *noun, char *buf, size_t len) {
    snprintf(buf, len, "%llu %s%s", k, noun, k == 1 ? "" : "s");
    return buf;
}

const char *db_fmt_time(double s, char *buf, size_t len) {
    static const struct {
        double scale;
        const char *unit;
    } units[] = {{1e9, "ns"}, {1e6, MICRO "s"}, {1e3, "ms"}, {1, "s"}};
    if (!isfinite(s) || s < 0) {
        snprintf(buf, len, "-");
        return buf;
    }
    size_t u = 0; /* the smallest unit, then up while 3 significant digits reach 1000 */
    while (u + 1 < sizeof units / sizeof units[0]) {
        char probe[64];
        snprintf(probe, sizeof probe, "%.3g", s * units[u].scale);
        if (strtod(probe, NULL) < 1000) break;
        u++;
    }
    double v = s * units[u].scale;
    snprintf(buf, len, v >= 1000 ? "%.0f %s" : "%.3g %s", v, units[u].unit);
    return buf;
}

const char *db_fmt_slope(double slope, double halfwidth, size_t sizes, char *buf, size_t len) {
    char count[64];
    db_fmt_count(sizes, "size", count, sizeof count);
    if (sizes < 2 || !isfinite(slope))
        snprintf(buf, len, "- (%s)", count);
    else if (sizes == 2)
        snprintf(buf, len, "%.2f (2 sizes, no CI)", slope);
    else if (isfinite(halfwidth))
        snprintf(buf, len, "%.2f " PLUSMINUS " %.2f (%s)", slope, halfwidth, count);
    else
        snprintf(buf, len, "%.2f (%s)", slope, count);
    return buf;
}

size_t db_fmt_width(const char *s) {
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80; /* count lead bytes, not continuations */
    return w;
}

const char *db_shell_word(const char *s, char *buf, size_t len) {
    if (!len) return buf;
    if (*s &&
        strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:=@%+,-") ==
            strlen(s)) {
        snprintf(buf, len, "%s", s);
        return buf;
    }
    size_t k = 0;
    buf[k++] = '\'';
    for (; *s && k + 5 < len; s++) {
        if (*s == '\'') {
            memcpy(buf + k, "'\\''", 4);
            k += 4;
        } else {
            buf[k++] = *s;
        }
    }
    if (k + 1 < len) buf[k++] = '\'';
    buf[k] = 0;
    return buf;
}
