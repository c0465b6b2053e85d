#include "core/fail.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

int db_fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    db_visible(err, errlen);
    return DB_E_INVALID;
}

/* The invisible code points that a message names: C0 and C1 controls, DEL, and the Unicode
 * characters that render as nothing or as a space, or that reorder the text around them (the
 * bidirectional controls of "Trojan Source"). */
static const char *invisible_name(unsigned long c) {
    static const char *const c0[32] = {
        "NUL",  "SOH",       "STX", "ETX",       "EOT",          "ENQ",       "ACK",
        "bell", "backspace", "tab", "line feed", "vertical tab", "form feed", "carriage return",
        "SO",   "SI",        "DLE", "DC1",       "DC2",          "DC3",       "DC4",
        "NAK",  "SYN",       "ETB", "CAN",       "EM",           "SUB",       "escape",
        "FS",   "GS",        "RS",  "US"};
    static const struct {
        unsigned long lo, hi;
        const char *name;
    } uni[] = {{0x7f, 0x7f, "delete"},
               {0x80, 0x9f, "C1 control"},
               {0xa0, 0xa0, "no-break space"},
               {0xad, 0xad, "soft hyphen"},
               {0x200b, 0x200b, "zero-width space"},
               {0x200c, 0x200d, "zero-width joiner"},
               {0x200e, 0x200f, "direction mark"},
               {0x2028, 0x2029, "line or paragraph separator"},
               {0x202a, 0x202e, "bidirectional override"},
               {0x2060, 0x2060, "word joiner"},
               {0x2066, 0x2069, "bidirectional isolate"},
               {0xfeff, 0xfeff, "byte order mark"}};
    if (c < 0x20) return c0[c];
    for (size_t i = 0; i < sizeof uni / sizeof uni[0]; i++)
        if (c >= uni[i].lo && c <= uni[i].hi) return uni[i].name;
    return NULL;
}

/* Decode one UTF-8 character at s; returns its length, or 0 for a byte that starts no valid
 * sequence (overlong forms, surrogates and values above U+10FFFF are invalid). */
static size_t utf8_decode(const unsigned char *s, unsigned long *c) {
    size_t n;
    unsigned long min;
    if (s[0] < 0x80) {
        *c = s[0];
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0)
        n = 2, min = 0x80, *c = s[0] & 0x1f;
    else if ((s[0] & 0xf0) == 0xe0)
        n = 3, min = 0x800, *c = s[0] & 0x0f;
    else if ((s[0] & 0xf8) == 0xf0)
        n = 4, min = 0x10000, *c = s[0] & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0; /* also stops at the terminating NUL */
        *c = *c << 6 | (s[i] & 0x3f);
    }
    if (*c < min || *c > 0x10ffff || (*c >= 0xd800 && *c <= 0xdfff)) return 0;
    return n;
}

/* The character at s: its length in bytes, and for an invisible one its name and its escape
 * (\xNN for a byte, \u{NNNN} for a code point above ASCII). */
static size_t next_char(const unsigned char *s, const char **name, char esc[12]) {
    unsigned long c;
    size_t n = utf8_decode(s, &c);
    *name = n ? invisible_name(c) : "not UTF-8";
    if (!n)
        snprintf(esc, 12, "\\x%02x", s[0]);
    else if (c < 0x80)
        snprintf(esc, 12, "\\x%02lx", c);
    else
        snprintf(esc, 12, "\\u{%04lX}", c);
    return n ? n : 1;
}

enum { MAX_NAMED = 4 };

void db_visible(char *s, size_t cap) {
    if (!cap) return;
    const unsigned char *in = (const unsigned char *)s;
    size_t len = strnlen(s, cap - 1);
    s[len] = 0;
    /* Pass 1: the distinct invisible characters, named in a suffix. */
    char escapes[MAX_NAMED][12], suffix[320];
    const char *names[MAX_NAMED], *name;
    size_t nnamed = 0, more = 0, any = 0;
    for (size_t i = 0; i < len;) {
        char esc[12];
        i += next_char(in + i, &name, esc);
        if (!name) continue;
        any = 1;
        size_t k = 0;
        while (k < nnamed && strcmp(escapes[k], esc))
            k++;
        if (k < nnamed) continue;
        if (nnamed == MAX_NAMED) {
            more = 1;
            continue;
        }
        memcpy(escapes[nnamed], esc, sizeof esc);
        names[nnamed++] = name;
    }
    if (!any) return;
    int w = snprintf(suffix, sizeof suffix, " [shown escaped:");
    for (size_t k = 0; k < nnamed; k++)
        w += snprintf(suffix + w, sizeof suffix - (size_t)w, "%s %s is %s", k ? "," : "",
                      escapes[k], names[k]);
    snprintf(suffix + w, sizeof suffix - (size_t)w, "%s]", more ? ", and others" : "");
    char *out = malloc(cap);
    if (!out) { /* no memory for the escaped copy: still one line, with '?' */
        for (char *p = s; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
        return;
    }
    size_t budget = cap - 1, slen = strlen(suffix), o = 0;
    if (slen + 16 <= budget)
        budget -= slen;
    else
        suffix[0] = 0;
    /* Pass 2: copy, escaping each invisible character, never splitting an escape or a UTF-8
     * character at the end of the buffer. */
    for (size_t i = 0; i < len;) {
        char esc[12];
        size_t n = next_char(in + i, &name, esc), tlen = name ? strlen(esc) : n;
        if (o + tlen > budget) break;
        memcpy(out + o, name ? esc : s + i, tlen);
        o += tlen;
        i += n;
    }
    out[o] = 0;
    snprintf(s, cap, "%s%s", out, suffix);
    free(out);
}
