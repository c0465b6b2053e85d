/* The remote workload's wire protocol (docs/PROTOCOL.md): length-prefixed frames carrying one
 * message each, encoded as raw binary doubles or as JSON (jansson) with base64-encoded arrays.
 * Encoding and decoding are pure functions of bytes, so the parser is fuzzed like the others
 * (tests/fuzz/fuzz_one.c). */
#ifndef DB_REMOTE_PROTO_H
#define DB_REMOTE_PROTO_H

#include <stddef.h>

enum db_remote_transport { DB_REMOTE_UNIX, DB_REMOTE_TCP };
enum db_remote_encoding { DB_REMOTE_BINARY, DB_REMOTE_JSON };

/* Frame: a 4-byte little-endian payload length, then the payload. A length above
 * DB_REMOTE_FRAME_MAX is refused before anything is allocated. */
#define DB_REMOTE_HEADER    4u
#define DB_REMOTE_FRAME_MAX (256u << 20)

enum db_remote_op {
    DB_REMOTE_PING,      /* request: nothing; answered by an empty result */
    DB_REMOTE_EVAL,      /* request: x (n); result: y = f(x) as k = 1 column */
    DB_REMOTE_JVP,       /* request: x (n), v (k columns of n); result: k columns J v */
    DB_REMOTE_VJP,       /* request: x (n), w (k columns of n); result: k columns J^T w */
    DB_REMOTE_RESULT,    /* response: k columns of n */
    DB_REMOTE_ERROR,     /* response: message */
    DB_REMOTE_HELLO,     /* version 2 (external workers): request and response; key=value text */
    DB_REMOTE_REFERENCE, /* version 2 request: x (n); result: the exact diagonal as k = 1 */
    DB_REMOTE_NOPS
};

struct db_remote_msg {
    enum db_remote_op op;
    size_t n, k;
    const double *x; /* n values: eval/jvp/vjp requests (NULL otherwise) */
    const double *v; /* k columns of n values, column j at v + j * ldv */
    size_t ldv;      /* leading dimension of v (0: n) */
    char message[160];
    double *owned; /* what db_remote_decode allocated for x and v (db_remote_msg_free) */
    /* hello: k is the protocol version; text holds text_len bytes of `key=value` lines (encode:
     * the caller's; decode: owned, NUL-terminated, freed by db_remote_msg_free) */
    const char *text;
    size_t text_len;
    char *owned_text;
    /* result (version 2): the worker's own compute seconds, the payload's last double (binary) or
     * "compute_s" (JSON); has_compute says whether it was (or is to be) sent */
    int has_compute;
    double compute_s;
};

/* Default per-call timeout (--remote-timeout-ms): a call that has not completed by then is an
 * error and the worker is killed. */
#define DB_REMOTE_TIMEOUT_MS_DEFAULT 10000
#define DB_REMOTE_TIMEOUT_MS_MAX     3600000

/* The longest hello text (bytes). */
#define DB_REMOTE_HELLO_MAX 4096u

const char *db_remote_transport_name(int t);
const char *db_remote_encoding_name(int e);
const char *db_remote_op_name(int op);
/* "unix"/"tcp", "binary"/"json": DB_OK and *out, or DB_E_INVALID. */
int db_remote_transport_parse(const char *s, int *out);
int db_remote_encoding_parse(const char *s, int *out);

/* The frame of m (header and payload) in a new buffer (*buf, *len; free()). DB_E_INVALID when m
 * breaks the message rules or the payload would exceed DB_REMOTE_FRAME_MAX. */
int db_remote_encode(int encoding, const struct db_remote_msg *m, unsigned char **buf, size_t *len);
/* The payload length a frame header announces; DB_E_INVALID (one line in err) above the maximum. */
int db_remote_frame_length(const unsigned char hdr[DB_REMOTE_HEADER], size_t *len, char *err,
                           size_t errlen);
/* Decode one payload into m (x and v point into m->owned, ldv = n). DB_E_INVALID with a one-line
 * reason in err for anything that breaks the rules (docs/PROTOCOL.md). */
int db_remote_decode(int encoding, const unsigned char *payload, size_t len,
                     struct db_remote_msg *m, char *err, size_t errlen);
void db_remote_msg_free(struct db_remote_msg *m);

#endif
