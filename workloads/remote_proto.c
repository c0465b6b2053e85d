/* The remote workload's wire protocol: frames, binary and JSON payloads (docs/PROTOCOL.md). */
#include "workloads/remote_proto.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fail.h"
#include "core/status.h"

static const char *const transport_names[] = {"unix", "tcp"};
static const char *const encoding_names[] = {"binary", "json"};
static const char *const op_names[DB_REMOTE_NOPS] = {"ping",   "eval",  "jvp",   "vjp",
                                                     "result", "error", "hello", "reference"};

const char *db_remote_transport_name(int t) {
    return t == DB_REMOTE_TCP ? transport_names[1] : transport_names[0];
}

const char *db_remote_encoding_name(int e) {
    return e == DB_REMOTE_JSON ? encoding_names[1] : encoding_names[0];
}

const char *db_remote_op_name(int op) {
    return op >= 0 && op < DB_REMOTE_NOPS ? op_names[op] : "?";
}

static int name_index(const char *s, const char *const *names, int count, int *out) {
    for (int i = 0; s && i < count; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return DB_OK;
        }
    return DB_E_INVALID;
}

int db_remote_transport_parse(const char *s, int *out) {
    return name_index(s, transport_names, 2, out);
}

int db_remote_encoding_parse(const char *s, int *out) {
    return name_index(s, encoding_names, 2, out);
}

/* ---- message rules ----------------------------------------------------------------------- */

static int has_x(enum db_remote_op op) {
    return op == DB_REMOTE_EVAL || op == DB_REMOTE_JVP || op == DB_REMOTE_VJP ||
           op == DB_REMOTE_REFERENCE;
}

static int has_v(enum db_remote_op op) {
    return op == DB_REMOTE_JVP || op == DB_REMOTE_VJP || op == DB_REMOTE_RESULT;
}

/* Doubles a message carries; 0 when n, k break the op's rules or the frame maximum. */
static int shape_ok(enum db_remote_op op, size_t n, size_t k, size_t *doubles) {
    const size_t cap = DB_REMOTE_FRAME_MAX / sizeof(double);
    if (op >= DB_REMOTE_NOPS || n > cap || k > cap) return 0;
    if (op == DB_REMOTE_PING || op == DB_REMOTE_ERROR || op == DB_REMOTE_HELLO) {
        *doubles = 0;
        return op == DB_REMOTE_HELLO || (n == 0 && k == 0);
    }
    if ((op == DB_REMOTE_EVAL || op == DB_REMOTE_REFERENCE) && (n == 0 || k != 0)) return 0;
    if ((op == DB_REMOTE_JVP || op == DB_REMOTE_VJP) && (n == 0 || k == 0)) return 0;
    if (op == DB_REMOTE_RESULT && k > 0 && n == 0) return 0;
    if (k && n > cap / k) return 0;
    size_t d = (has_x(op) ? n : 0) + k * n;
    if (d > cap) return 0;
    *doubles = d;
    return 1;
}

/* ---- base64 (RFC 4648, with padding) ------------------------------------------------------ */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_encode(const unsigned char *in, size_t len, char *out) {
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64[w >> 18];
        out[o++] = b64[(w >> 12) & 63];
        out[o++] = b64[(w >> 6) & 63];
        out[o++] = b64[w & 63];
    }
    if (i < len) {
        uint32_t w = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = b64[w >> 18];
        out[o++] = b64[(w >> 12) & 63];
        out[o++] = i + 1 < len ? b64[(w >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = 0;
}

static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decode exactly want bytes from s (length len); DB_E_INVALID unless s is canonical base64 of
 * exactly that many bytes. */
static int b64_decode(const char *s, size_t len, unsigned char *out, size_t want) {
    if (len != (want + 2) / 3 * 4) return DB_E_INVALID;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int pad = (i + 4 == len) ? (s[i + 3] == '=') + (s[i + 2] == '=' && s[i + 3] == '=') : 0;
        uint32_t w = 0;
        for (int j = 0; j < 4; j++) {
            int v = j >= 4 - pad ? 0 : b64_value((unsigned char)s[i + j]);
            if (v < 0) return DB_E_INVALID;
            w = w << 6 | (uint32_t)v;
        }
        unsigned char b[3] = {(unsigned char)(w >> 16), (unsigned char)(w >> 8), (unsigned char)w};
        for (int j = 0; j < 3 - pad; j++) {
            if (o >= want) return DB_E_INVALID;
            out[o++] = b[j];
        }
        if (pad && (b[3 - pad] != 0 || (pad == 2 && b[2] != 0))) return DB_E_INVALID;
    }
    return o == want ? DB_OK : DB_E_INVALID;
}

/* ---- encoding ------------------------------------------------------------------------------ */

static void put_u32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8), p[2] = (unsigned char)(v >> 16),
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

enum { BIN_HEAD = 16 }; /* "DB1" op, n, k, reserved (0) */

/* Copy the message's doubles (x then the k columns of v) contiguously into dst. */
static void gather(const struct db_remote_msg *m, unsigned char *dst) {
    size_t ld = m->ldv ? m->ldv : m->n;
    if (has_x(m->op)) {
        memcpy(dst, m->x, m->n * sizeof(double));
        dst += m->n * sizeof(double);
    }
    if (has_v(m->op))
        for (size_t j = 0; j < m->k; j++, dst += m->n * sizeof(double))
            memcpy(dst, m->v + j * ld, m->n * sizeof(double));
}

static int encode_binary(const struct db_remote_msg *m, size_t doubles, unsigned char **buf,
                         size_t *len) {
    size_t msg = m->op == DB_REMOTE_ERROR ? strnlen(m->message, sizeof m->message - 1) : 0;
    const char *text = m->op == DB_REMOTE_HELLO ? m->text : m->message;
    if (m->op == DB_REMOTE_HELLO) msg = m->text_len;
    int extra = m->op == DB_REMOTE_RESULT && m->has_compute;
    size_t payload = BIN_HEAD + (doubles + (size_t)extra) * sizeof(double) + msg;
    if (payload > DB_REMOTE_FRAME_MAX) return DB_E_INVALID;
    unsigned char *b = malloc(DB_REMOTE_HEADER + payload);
    if (!b) return DB_E_NOMEM;
    unsigned char *p = b + DB_REMOTE_HEADER;
    put_u32(b, (uint32_t)payload);
    p[0] = 'D', p[1] = 'B', p[2] = '1', p[3] = (unsigned char)m->op;
    put_u32(p + 4, (uint32_t)(m->op == DB_REMOTE_ERROR || m->op == DB_REMOTE_HELLO ? msg : m->n));
    put_u32(p + 8, (uint32_t)m->k);
    put_u32(p + 12, 0);
    gather(m, p + BIN_HEAD);
    if (extra) memcpy(p + BIN_HEAD + doubles * sizeof(double), &m->compute_s, sizeof(double));
    if (msg) memcpy(p + BIN_HEAD + doubles * sizeof(double), text, msg);
    *buf = b;
    *len = DB_REMOTE_HEADER + payload;
    return DB_OK;
}

/* A base64 string of count doubles taken from src. */
static json_t *b64_doubles(const unsigned char *src, size_t count) {
    size_t bytes = count * sizeof(double);
    char *s = malloc((bytes + 2) / 3 * 4 + 1);
    if (!s) return NULL;
    b64_encode(src, bytes, s);
    json_t *j = json_stringn_nocheck(s, (bytes + 2) / 3 * 4);
    free(s);
    return j;
}

/* A hello key: [a-z0-9_], 1 to 32 bytes, not "op" or "protocol" (JSON members of their own). */
static int hello_key_ok(const char *k, size_t len) {
    if (len < 1 || len > 32) return 0;
    for (size_t i = 0; i < len; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
            return 0;
    return !(len == 2 && !memcmp(k, "op", 2)) && !(len == 8 && !memcmp(k, "protocol", 8));
}

/* Printable ASCII without '=' (a hello value). */
static int hello_value_ok(const char *v, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (v[i] < 0x20 || v[i] > 0x7e) return 0;
    return 1;
}

/* The hello text's `key=value` lines as JSON members (digits only: an integer). */
static int hello_members(json_t *o, const char *text, size_t len) {
    size_t i = 0;
    while (i < len) {
        const char *line = text + i, *nl = memchr(line, '\n', len - i);
        if (!nl) return DB_E_INVALID;
        const char *eq = memchr(line, '=', (size_t)(nl - line));
        if (!eq || !hello_key_ok(line, (size_t)(eq - line))) return DB_E_INVALID;
        const char *v = eq + 1;
        size_t vl = (size_t)(nl - v), digits = 0; /* the text is not NUL-terminated */
        while (digits < vl && v[digits] >= '0' && v[digits] <= '9')
            digits++;
        char key[33];
        memcpy(key, line, (size_t)(eq - line));
        key[eq - line] = 0;
        if (!hello_value_ok(v, vl) || json_object_get(o, key)) return DB_E_INVALID;
        char num[16];
        if (vl && vl <= 15 && digits == vl) memcpy(num, v, vl), num[vl] = 0;
        json_t *j = vl && vl <= 15 && digits == vl ? json_integer(strtoll(num, NULL, 10))
                                                   : json_stringn(v, vl);
        if (!j || json_object_set_new(o, key, j)) return DB_E_INVALID;
        i = (size_t)(nl - text) + 1;
    }
    return DB_OK;
}

static int encode_json(const struct db_remote_msg *m, size_t doubles, unsigned char **buf,
                       size_t *len) {
    int rc = DB_E_NOMEM;
    unsigned char *raw = doubles ? malloc(doubles * sizeof(double)) : NULL;
    json_t *o = json_object();
    char *text = NULL;
    if ((doubles && !raw) || !o) goto out;
    if (doubles) gather(m, raw);
    if (json_object_set_new(o, "op", json_string(op_names[m->op]))) goto out;
    if (m->op == DB_REMOTE_ERROR) {
        char msg[sizeof m->message];
        snprintf(msg, sizeof msg, "%s", m->message);
        json_t *s = json_stringn(msg, strlen(msg));
        if (!s) { /* not UTF-8: say so rather than fail to answer */
            s = json_string("error message was not UTF-8");
        }
        if (json_object_set_new(o, "message", s)) goto out;
    } else if (m->op == DB_REMOTE_HELLO) {
        if (json_object_set_new(o, "protocol", json_integer((json_int_t)m->k))) goto out;
        if (hello_members(o, m->text, m->text_len) != DB_OK) {
            rc = DB_E_INVALID;
            goto out;
        }
    } else if (m->op != DB_REMOTE_PING) {
        if (json_object_set_new(o, "n", json_integer((json_int_t)m->n)) ||
            (m->op != DB_REMOTE_EVAL && m->op != DB_REMOTE_REFERENCE &&
             json_object_set_new(o, "k", json_integer((json_int_t)m->k))))
            goto out;
        size_t nx = has_x(m->op) ? m->n : 0;
        if (nx && json_object_set_new(o, "x", b64_doubles(raw, nx))) goto out;
        if (has_v(m->op) && m->k &&
            json_object_set_new(o, "v", b64_doubles(raw + nx * sizeof(double), m->k * m->n)))
            goto out;
        if (m->op == DB_REMOTE_RESULT && m->has_compute &&
            json_object_set_new(o, "compute_s", json_real(m->compute_s)))
            goto out;
    }
    text = json_dumps(o, JSON_COMPACT);
    if (!text) goto out;
    size_t payload = strlen(text);
    rc = DB_E_INVALID;
    if (payload > DB_REMOTE_FRAME_MAX) goto out;
    rc = DB_E_NOMEM;
    unsigned char *b = malloc(DB_REMOTE_HEADER + payload);
    if (!b) goto out;
    put_u32(b, (uint32_t)payload);
    memcpy(b + DB_REMOTE_HEADER, text, payload);
    *buf = b;
    *len = DB_REMOTE_HEADER + payload;
    rc = DB_OK;
out:
    free(text);
    json_decref(o);
    free(raw);
    return rc;
}

int db_remote_encode(int encoding, const struct db_remote_msg *m, unsigned char **buf,
                     size_t *len) {
    size_t doubles;
    if (!m || !buf || !len || !shape_ok(m->op, m->n, m->k, &doubles)) return DB_E_INVALID;
    if ((has_x(m->op) && !m->x) || (has_v(m->op) && m->k && !m->v)) return DB_E_INVALID;
    if (m->ldv && m->ldv < m->n) return DB_E_INVALID;
    if (m->op == DB_REMOTE_HELLO &&
        (m->text_len > DB_REMOTE_HELLO_MAX || (m->text_len && !m->text)))
        return DB_E_INVALID;
    return encoding == DB_REMOTE_JSON ? encode_json(m, doubles, buf, len)
                                      : encode_binary(m, doubles, buf, len);
}

/* ---- decoding ------------------------------------------------------------------------------ */

int db_remote_frame_length(const unsigned char hdr[DB_REMOTE_HEADER], size_t *len, char *err,
                           size_t errlen) {
    uint32_t l = get_u32(hdr);
    if (l > DB_REMOTE_FRAME_MAX)
        return db_fail(err, errlen, "frame of %u bytes exceeds the maximum %u", (unsigned)l,
                       (unsigned)DB_REMOTE_FRAME_MAX);
    *len = l;
    return DB_OK;
}

/* Room for the doubles of a decoded message, x and v pointed into it. */
static int own_doubles(struct db_remote_msg *m, size_t doubles) {
    m->owned = malloc((doubles ? doubles : 1) * sizeof(double));
    if (!m->owned) return DB_E_NOMEM;
    m->x = has_x(m->op) ? m->owned : NULL;
    m->v = has_v(m->op) ? m->owned + (has_x(m->op) ? m->n : 0) : NULL;
    m->ldv = m->n;
    return DB_OK;
}

/* Check a hello text (key=value lines) and keep a NUL-terminated copy in m->owned_text. */
static int own_hello_text(struct db_remote_msg *m, const char *text, size_t len, char *err,
                          size_t errlen) {
    json_t *tmp = json_object();
    if (!tmp) return DB_E_NOMEM;
    int rc = hello_members(tmp, text, len);
    json_decref(tmp);
    if (rc != DB_OK)
        return db_fail(err, errlen,
                       "hello text is not key=value lines (keys [a-z0-9_], each once, printable "
                       "values)");
    m->owned_text = malloc(len + 1);
    if (!m->owned_text) return DB_E_NOMEM;
    memcpy(m->owned_text, text, len);
    m->owned_text[len] = 0;
    m->text = m->owned_text;
    m->text_len = len;
    return DB_OK;
}

/* A JSON hello's members (other than op and protocol) as key=value lines. */
static int json_hello(json_t *o, struct db_remote_msg *m, char *err, size_t errlen) {
    json_t *pv = json_object_get(o, "protocol");
    if (!json_is_integer(pv) || json_integer_value(pv) < 0 || json_integer_value(pv) > 1000000)
        return db_fail(err, errlen, "JSON hello without an integer \"protocol\"");
    m->k = (size_t)json_integer_value(pv);
    char text[DB_REMOTE_HELLO_MAX + 1];
    size_t len = 0;
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        if (!strcmp(key, "op") || !strcmp(key, "protocol")) continue;
        char v[DB_REMOTE_HELLO_MAX + 1];
        if (json_is_integer(val))
            snprintf(v, sizeof v, "%lld", (long long)json_integer_value(val));
        else if (json_is_string(val) && json_string_length(val) < sizeof v)
            snprintf(v, sizeof v, "%s", json_string_value(val));
        else
            return db_fail(err, errlen, "JSON hello member is not a string or an integer");
        int w = snprintf(text + len, sizeof text - len, "%s=%s\n", key, v);
        if (w < 0 || (size_t)w >= sizeof text - len)
            return db_fail(err, errlen, "JSON hello longer than %u bytes",
                           (unsigned)DB_REMOTE_HELLO_MAX);
        len += (size_t)w;
    }
    return own_hello_text(m, text, len, err, errlen);
}

static int decode_binary(const unsigned char *p, size_t len, struct db_remote_msg *m, char *err,
                         size_t errlen) {
    if (len < BIN_HEAD || p[0] != 'D' || p[1] != 'B' || p[2] != '1')
        return db_fail(err, errlen, "binary payload of %zu bytes does not start with DB1", len);
    if (p[3] >= DB_REMOTE_NOPS) return db_fail(err, errlen, "unknown op %u", (unsigned)p[3]);
    m->op = (enum db_remote_op)p[3];
    size_t n = get_u32(p + 4), k = get_u32(p + 8), doubles;
    if (get_u32(p + 12) != 0) return db_fail(err, errlen, "reserved header word is not 0");
    if (m->op == DB_REMOTE_ERROR) {
        if (k != 0 || n >= sizeof m->message || len != BIN_HEAD + n)
            return db_fail(err, errlen, "malformed error message (%zu bytes)", len);
        memcpy(m->message, p + BIN_HEAD, n);
        m->message[n] = 0;
        db_visible(m->message, sizeof m->message);
        return DB_OK;
    }
    if (m->op == DB_REMOTE_HELLO) {
        if (n > DB_REMOTE_HELLO_MAX || len != BIN_HEAD + n)
            return db_fail(err, errlen, "malformed hello (%zu bytes)", len);
        m->k = k;
        return own_hello_text(m, (const char *)p + BIN_HEAD, n, err, errlen);
    }
    if (!shape_ok(m->op, n, k, &doubles))
        return db_fail(err, errlen, "%s with n=%zu k=%zu breaks the message rules", op_names[m->op],
                       n, k);
    if (m->op == DB_REMOTE_RESULT && len == BIN_HEAD + (doubles + 1) * sizeof(double)) {
        m->has_compute = 1;
        memcpy(&m->compute_s, p + BIN_HEAD + doubles * sizeof(double), sizeof(double));
        len -= sizeof(double);
    }
    if (len != BIN_HEAD + doubles * sizeof(double))
        return db_fail(err, errlen, "%s payload of %zu bytes, expected %zu", op_names[m->op], len,
                       BIN_HEAD + doubles * sizeof(double));
    m->n = n, m->k = k;
    DB_CHECK(own_doubles(m, doubles));
    memcpy(m->owned, p + BIN_HEAD, doubles * sizeof(double));
    return DB_OK;
}

/* A whole number member of o in [0, cap] (absent: 0 when allowed). */
static int json_count(json_t *o, const char *key, int required, size_t *out) {
    json_t *j = json_object_get(o, key);
    if (!j) {
        *out = 0;
        return required ? DB_E_INVALID : DB_OK;
    }
    if (!json_is_integer(j) || json_integer_value(j) < 0 ||
        (unsigned long long)json_integer_value(j) > DB_REMOTE_FRAME_MAX)
        return DB_E_INVALID;
    *out = (size_t)json_integer_value(j);
    return DB_OK;
}

/* Member key of o: base64 of exactly count doubles, into dst. */
static int json_doubles(json_t *o, const char *key, size_t count, double *dst) {
    json_t *j = json_object_get(o, key);
    if (!count) return j ? DB_E_INVALID : DB_OK;
    if (!json_is_string(j)) return DB_E_INVALID;
    return b64_decode(json_string_value(j), json_string_length(j), (unsigned char *)dst,
                      count * sizeof(double));
}

static int decode_json_object(json_t *o, struct db_remote_msg *m, char *err, size_t errlen) {
    if (!json_is_object(o)) return db_fail(err, errlen, "JSON payload is not an object");
    int op = -1;
    if (name_index(json_string_value(json_object_get(o, "op")), op_names, DB_REMOTE_NOPS, &op))
        return db_fail(err, errlen, "JSON message without a known \"op\"");
    m->op = (enum db_remote_op)op;
    if (m->op == DB_REMOTE_HELLO) return json_hello(o, m, err, errlen);
    const char *allowed = m->op == DB_REMOTE_ERROR    ? " op message "
                          : m->op == DB_REMOTE_RESULT ? " op n k v compute_s "
                                                      : " op n k x v ";
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        char probe[16];
        if (strlen(key) > 9) return db_fail(err, errlen, "unknown JSON member");
        snprintf(probe, sizeof probe, " %s ", key);
        if (!strstr(allowed, probe)) return db_fail(err, errlen, "unknown JSON member '%s'", key);
    }
    if (m->op == DB_REMOTE_ERROR) {
        json_t *s = json_object_get(o, "message");
        if (!json_is_string(s)) return db_fail(err, errlen, "error message is not a string");
        snprintf(m->message, sizeof m->message, "%s", json_string_value(s));
        db_visible(m->message, sizeof m->message);
        return DB_OK;
    }
    size_t n, k, doubles;
    int need_n = m->op != DB_REMOTE_PING, need_k = has_v(m->op);
    if (json_count(o, "n", need_n, &n) || json_count(o, "k", need_k, &k) ||
        (m->op == DB_REMOTE_PING && (json_object_get(o, "n") || json_object_get(o, "k"))) ||
        ((m->op == DB_REMOTE_EVAL || m->op == DB_REMOTE_REFERENCE) && json_object_get(o, "k")) ||
        !shape_ok(m->op, n, k, &doubles))
        return db_fail(err, errlen, "JSON %s message with bad or missing n, k", op_names[m->op]);
    json_t *cs = json_object_get(o, "compute_s");
    if (cs && !json_is_number(cs))
        return db_fail(err, errlen, "JSON result: compute_s is not a number");
    m->has_compute = cs != NULL;
    m->compute_s = cs ? json_number_value(cs) : 0;
    m->n = n, m->k = k;
    DB_CHECK(own_doubles(m, doubles));
    if (json_doubles(o, "x", has_x(m->op) ? n : 0, m->owned) != DB_OK ||
        json_doubles(o, "v", has_v(m->op) ? k * n : 0, m->owned + (has_x(m->op) ? n : 0)) != DB_OK)
        return db_fail(err, errlen, "JSON %s message: x or v is not base64 of the right length",
                       op_names[m->op]);
    return DB_OK;
}

int db_remote_decode(int encoding, const unsigned char *payload, size_t len,
                     struct db_remote_msg *m, char *err, size_t errlen) {
    memset(m, 0, sizeof *m);
    int rc;
    if (len > DB_REMOTE_FRAME_MAX)
        rc = db_fail(err, errlen, "payload of %zu bytes exceeds the maximum", len);
    else if (encoding != DB_REMOTE_JSON)
        rc = decode_binary(payload, len, m, err, errlen);
    else {
        json_error_t je;
        json_t *o = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, &je);
        rc = o ? decode_json_object(o, m, err, errlen)
               : db_fail(err, errlen, "payload is not JSON (%s)", je.text);
        json_decref(o);
    }
    if (rc != DB_OK) db_remote_msg_free(m);
    return rc;
}

void db_remote_msg_free(struct db_remote_msg *m) {
    free(m->owned);
    free(m->owned_text);
    m->owned_text = NULL;
    m->text = NULL;
    m->owned = NULL;
    m->x = m->v = NULL;
}
