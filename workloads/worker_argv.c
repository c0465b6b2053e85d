#include "workloads/worker_argv.h"

#include <stdlib.h>
#include <string.h>

static int is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\n';
}

/* One pass that writes the unquoted words into out (NUL after each) when out is not NULL, and
 * returns the word count, or -1 on an unterminated quote or trailing backslash. */
static int split_pass(const char *s, char *out) {
    int words = 0;
    size_t o = 0;
    const char *p = s;
    for (;;) {
        while (is_blank(*p))
            p++;
        if (!*p) return words;
        while (*p && !is_blank(*p)) {
            if (*p == '\'') {
                const char *q = strchr(p + 1, '\'');
                if (!q) return -1;
                size_t len = (size_t)(q - p - 1);
                if (out) memcpy(out + o, p + 1, len);
                o += len;
                p = q + 1;
            } else if (*p == '"') {
                p++;
                while (*p != '"') {
                    if (!*p) return -1;
                    if (*p == '\\' && p[1] && strchr("\\\"$`\n", p[1])) p++;
                    if (out) out[o] = *p;
                    o++;
                    p++;
                }
                p++;
            } else {
                if (*p == '\\') {
                    if (!p[1]) return -1;
                    p++;
                }
                if (out) out[o] = *p;
                o++;
                p++;
            }
        }
        if (out) out[o] = '\0';
        o++;
        words++;
    }
}

int db_worker_split_argv(const char *s, char ***argv) {
    *argv = NULL;
    int words = split_pass(s, NULL);
    if (words < 0) return -1;
    if (words == 0) return -2;
    size_t slen = strlen(s) + 1;
    size_t ptrs = sizeof(char *) * ((size_t)words + 1);
    char **v = malloc(ptrs + slen);
    if (!v) return -3;
    char *text = (char *)v + ptrs;
    split_pass(s, text);
    for (int i = 0; i < words; i++) {
        v[i] = text;
        text += strlen(text) + 1;
    }
    v[words] = NULL;
    *argv = v;
    return words;
}
