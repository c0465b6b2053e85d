/* A minimal worker in C: sin served to diagbench over the protocol of docs/PROTOCOL.md
 * ("Version 2: external workers"), binary encoding, standalone (no diagbench header), so that a
 * user of any language can read the protocol by example (docs/workers.md).
 *
 *     make build/c_worker
 *     build/diagbench -w worker --worker build/c_worker -n 100,1000
 *
 * diagbench starts it with the connection as fd 3 (DIAGBENCH_WORKER_FD) and the encoding in
 * DIAGBENCH_WORKER_ENCODING; every message is a frame: a 4-byte little-endian length, then a
 * 16-byte header ("DB1", op, n, k, 0) and the payload. It answers the hello with what it offers
 * (a vectorised rule, a diagonal tag, an exact reference, its compute time), then serves
 * requests until end of stream. Assumes a little-endian machine, as the binary encoding's
 * doubles are the machine's own. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { PING, EVAL, JVP, VJP, RESULT, ERROR, HELLO, REFERENCE };

static int fd = 3;

static int read_all(void *p, size_t len) {
    for (char *c = p; len;) {
        ssize_t r = read(fd, c, len);
        if (r <= 0) return -1;
        c += r, len -= (size_t)r;
    }
    return 0;
}

static int write_all(const void *p, size_t len) {
    for (const char *c = p; len;) {
        ssize_t w = write(fd, c, len);
        if (w <= 0) return -1;
        c += w, len -= (size_t)w;
    }
    return 0;
}

static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8), p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* One frame: length, header (op, n, k), then body (body_len bytes) and an optional double. */
static int send_frame(int op, uint32_t n, uint32_t k, const void *body, size_t body_len,
                      const double *extra) {
    unsigned char head[20];
    size_t payload = 16 + body_len + (extra ? sizeof *extra : 0);
    put_u32(head, (uint32_t)payload);
    memcpy(head + 4, "DB1", 3);
    head[7] = (unsigned char)op;
    put_u32(head + 8, n);
    put_u32(head + 12, k);
    put_u32(head + 16, 0);
    if (write_all(head, sizeof head) || write_all(body, body_len)) return -1;
    return extra ? write_all(extra, sizeof *extra) : 0;
}

static int send_error(const char *msg) {
    return send_frame(ERROR, (uint32_t)strlen(msg), 0, msg, strlen(msg), NULL);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(void) {
    const char *e = getenv("DIAGBENCH_WORKER_FD"), *enc = getenv("DIAGBENCH_WORKER_ENCODING");
    if (e) fd = atoi(e);
    if (enc && strcmp(enc, "binary") != 0) {
        fprintf(stderr, "c_worker: encoding '%s': only binary is served\n", enc);
        return 2;
    }
    static const char hello[] = "name=c-sin\nbatching=vectorised\ntags=diagonal\nn_min=1\n"
                                "n_max=0\nvjp=1\nreference=1\ncompute_time=1\nthreads=1\n";
    for (int first = 1;; first = 0) {
        unsigned char len4[4];
        if (read_all(len4, 4)) return 0; /* end of stream: diagbench is done */
        uint32_t len = get_u32(len4);
        if (len < 16 || len > (256u << 20)) return 1;
        unsigned char *p = malloc(len);
        if (!p || read_all(p, len)) return 1;
        int op = p[3];
        uint32_t n = get_u32(p + 4), k = get_u32(p + 8);
        const double *x = (const double *)(p + 16), *v = x + n;
        uint64_t want = op == JVP || op == VJP          ? 16 + 8ull * n * (1ull + k)
                        : op == EVAL || op == REFERENCE ? 16 + 8ull * n
                                                        : len;
        int rc = 0;
        if (memcmp(p, "DB1", 3) != 0 || want != len || (first && op != HELLO)) {
            rc = send_error(first ? "expected a hello first" : "malformed request");
            free(p);
            return 1;
        }
        if (op == HELLO) {
            rc = k == 2 ? send_frame(HELLO, sizeof hello - 1, 2, hello, sizeof hello - 1, NULL)
                        : send_error("c_worker speaks protocol 2");
        } else if (op == PING) {
            rc = send_frame(RESULT, 0, 0, NULL, 0, NULL);
        } else if (op == EVAL || op == REFERENCE || op == JVP || op == VJP) {
            double t0 = now();
            uint32_t cols = op == JVP || op == VJP ? k : 1;
            double *out = malloc(sizeof *out * n * cols);
            if (!out) {
                rc = send_error("worker out of memory");
            } else {
                for (uint32_t i = 0; i < n; i++) /* J = diag(cos x): JVP and VJP agree */
                    out[i] = op == EVAL ? sin(x[i]) : cos(x[i]);
                for (uint32_t j = cols; op != EVAL && op != REFERENCE && j-- > 0;)
                    for (uint32_t i = 0; i < n; i++)
                        out[(size_t)j * n + i] = out[i] * v[(size_t)j * n + i];
                double spent = now() - t0;
                rc = send_frame(RESULT, n, cols, out, sizeof *out * n * cols, &spent);
                free(out);
            }
        } else {
            rc = send_error("unknown op");
        }
        free(p);
        if (rc) return 1;
    }
}
