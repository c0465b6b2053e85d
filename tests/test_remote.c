/* The remote workloads (workloads/remote.h) and their protocol (workloads/remote_proto.h): frames
 * and both encodings round-trip; every transport x encoding answers what sin's reference says;
 * each batching rule makes the round trips it promises; and a worker that dies, is killed, hangs,
 * or sends a truncated, oversized or undecodable frame makes the call fail with a one-line reason
 * within the timeout -- and the worker is reaped (no child left), also when the cell runs whole
 * and when the process that started the worker dies without stopping it. The conformance suite
 * (test_conformance.c) checks the remote workloads like every registered one. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/bench/runner.h"
#include "harness/plan/presets.h"
#include "tests/helpers.h"
#include "workloads/remote.h"

static void free_buf(void *p) {
    free(p);
}

static struct db_instance *remote_instance(const char *name, size_t n, int transport, int encoding,
                                           int timeout_ms) {
    struct db_workload_params p = {.remote_transport = transport,
                                   .remote_encoding = encoding,
                                   .remote_timeout_ms = timeout_ms};
    return th_instance_with(db_workload_find(name), n, &p);
}

static pid_t worker_of(const struct db_instance *in) {
    struct db_remote_info info;
    cr_assert_eq(db_remote_info(in, &info), DB_OK);
    return info.worker;
}

/* The process is gone: reaped by us (ESRCH), or a zombie of someone else's. */
static int gone(pid_t pid) {
    if (kill(pid, 0) != 0) return errno == ESRCH;
    char path[64], buf[256] = "";
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 1;
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[got] = 0;
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] == 'Z';
}

/* No child of this process remains, running or unreaped. */
static void assert_no_child(void) {
    errno = 0;
    cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1, "a child process remains");
    cr_assert_eq(errno, ECHILD);
}

/* ---- protocol -------------------------------------------------------------------------------- */

/* Encode, check the frame header, decode: the message comes back bit for bit. */
static void round_trip_msg(int enc, const struct db_remote_msg *m) {
    unsigned char *buf;
    size_t len, plen;
    char err[256];
    cr_assert_eq(db_remote_encode(enc, m, &buf, &len), DB_OK, "%s", db_remote_op_name(m->op));
    th_own(buf, free_buf);
    cr_assert_eq(db_remote_frame_length(buf, &plen, err, sizeof err), DB_OK);
    cr_assert_eq(plen + DB_REMOTE_HEADER, len);
    struct db_remote_msg d;
    cr_assert_eq(db_remote_decode(enc, buf + DB_REMOTE_HEADER, plen, &d, err, sizeof err), DB_OK,
                 "%s %s: %s", db_remote_encoding_name(enc), db_remote_op_name(m->op), err);
    cr_assert_eq(d.op, m->op);
    if (m->op == DB_REMOTE_ERROR) {
        cr_assert_str_eq(d.message, m->message);
    } else {
        cr_assert_eq(d.n, m->n);
        cr_assert_eq(d.k, m->k);
        if (m->x) cr_assert_eq(memcmp(d.x, m->x, m->n * sizeof(double)), 0);
        size_t ld = m->ldv ? m->ldv : m->n;
        for (size_t j = 0; m->v && j < m->k; j++)
            cr_assert_eq(memcmp(d.v + j * d.ldv, m->v + j * ld, m->n * sizeof(double)), 0);
    }
    db_remote_msg_free(&d);
    th_free(buf);
}

Test(remote, messages_round_trip_in_both_encodings) {
    /* values that text would not keep: -0, a subnormal, an infinity, a NaN; 3 columns, ldv 8 */
    double x[7] = {-0.0, 5e-324, INFINITY, NAN, 1.0 / 3, -2.5, 1e300};
    double v[24];
    for (int i = 0; i < 24; i++)
        v[i] = (i % 8 < 7) ? (double)i / 7 - 1 : 9999; /* row 8 of each column is padding */
    for (int enc = DB_REMOTE_BINARY; enc <= DB_REMOTE_JSON; enc++)
        for (size_t n = 1; n <= 7; n += 3) { /* base64 of 8, 32, 56 bytes: each padding case */
            round_trip_msg(enc, &(struct db_remote_msg){.op = DB_REMOTE_PING});
            round_trip_msg(enc, &(struct db_remote_msg){.op = DB_REMOTE_EVAL, .n = n, .x = x});
            round_trip_msg(enc, &(struct db_remote_msg){
                                    .op = DB_REMOTE_JVP, .n = n, .k = 3, .x = x, .v = v, .ldv = 8});
            round_trip_msg(
                enc, &(struct db_remote_msg){.op = DB_REMOTE_VJP, .n = n, .k = 1, .x = x, .v = v});
            round_trip_msg(enc,
                           &(struct db_remote_msg){.op = DB_REMOTE_RESULT, .n = n, .k = 2, .v = v});
            round_trip_msg(enc, &(struct db_remote_msg){.op = DB_REMOTE_RESULT});
            round_trip_msg(enc, &(struct db_remote_msg){.op = DB_REMOTE_ERROR, .message = "bad x"});
        }
}

/* Version 2 (external workers): the hello's text and protocol, the reference request, and a
 * result's compute_s, in both encodings; hello texts that break the rules are refused. */
Test(remote, version_2_messages_round_trip_in_both_encodings) {
    static const char text[] = "name=t-sin\nbatching=vectorised\nn_min=1\nthreads=4\n";
    double x[3] = {0.5, -1.0, 2.0}, v[3] = {1, 2, 3};
    char err[256];
    for (int enc = DB_REMOTE_BINARY; enc <= DB_REMOTE_JSON; enc++) {
        const struct db_remote_msg ms[] = {
            {.op = DB_REMOTE_HELLO, .k = 2, .text = text, .text_len = sizeof text - 1},
            {.op = DB_REMOTE_REFERENCE, .n = 3, .x = x},
            {.op = DB_REMOTE_RESULT, .n = 3, .k = 1, .v = v, .has_compute = 1, .compute_s = 1.5e-4},
            {.op = DB_REMOTE_RESULT, .n = 3, .k = 1, .v = v},
        };
        for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
            unsigned char *buf;
            size_t len, plen;
            cr_assert_eq(db_remote_encode(enc, &ms[i], &buf, &len), DB_OK, "message %zu", i);
            th_own(buf, free_buf);
            cr_assert_eq(db_remote_frame_length(buf, &plen, err, sizeof err), DB_OK);
            struct db_remote_msg d;
            cr_assert_eq(db_remote_decode(enc, buf + DB_REMOTE_HEADER, plen, &d, err, sizeof err),
                         DB_OK, "%s message %zu: %s", db_remote_encoding_name(enc), i, err);
            cr_assert_eq(d.op, ms[i].op);
            cr_assert_eq(d.k, ms[i].k);
            cr_assert_eq(d.has_compute, ms[i].has_compute);
            cr_assert_eq(d.compute_s, ms[i].compute_s);
            if (ms[i].op == DB_REMOTE_HELLO) /* JSON keeps the members, in order */
                cr_assert_str_eq(d.text, text);
            else
                cr_assert_eq(memcmp(ms[i].x ? d.x : d.v, ms[i].x ? x : v, sizeof x), 0);
            db_remote_msg_free(&d);
            th_free(buf);
        }
    }
    static const char *const bad_text[] = {"name", "name=a\nname=b\n", "Name=a\n",
                                           "a=b",  "op=x\n",           "a=\x01\n"};
    for (size_t i = 0; i < sizeof bad_text / sizeof bad_text[0]; i++) {
        unsigned char *buf;
        size_t len;
        struct db_remote_msg m = {
            .op = DB_REMOTE_HELLO, .k = 2, .text = bad_text[i], .text_len = strlen(bad_text[i])};
        cr_assert_eq(db_remote_encode(DB_REMOTE_JSON, &m, &buf, &len), DB_E_INVALID, "%zu", i);
        unsigned char p[64] = {'D', 'B', '1', DB_REMOTE_HELLO, (unsigned char)m.text_len, 0,
                               0,   0,   2};
        memcpy(p + 16, bad_text[i], m.text_len);
        struct db_remote_msg d;
        cr_assert_eq(db_remote_decode(DB_REMOTE_BINARY, p, 16 + m.text_len, &d, err, sizeof err),
                     DB_E_INVALID, "%zu", i);
    }
    static const char *const bad_json[] = {
        "{\"op\":\"hello\"}",                          /* no protocol */
        "{\"op\":\"hello\",\"protocol\":2,\"a\":[1]}", /* not a string or an integer */
        "{\"op\":\"reference\",\"n\":1,\"k\":0,\"x\":\"AAAAAAAAAAA=\"}",
        "{\"op\":\"result\",\"n\":1,\"k\":1,\"v\":\"AAAAAAAAAAA=\",\"compute_s\":\"1\"}",
    };
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        struct db_remote_msg d;
        cr_assert_eq(db_remote_decode(DB_REMOTE_JSON, (const unsigned char *)bad_json[i],
                                      strlen(bad_json[i]), &d, err, sizeof err),
                     DB_E_INVALID, "%s", bad_json[i]);
    }
}

Test(remote, malformed_payloads_are_refused_with_one_line) {
    static const char *const json[] = {
        "",
        "[]",
        "{\"op\":\"jvp\"}",
        "{\"op\":\"frobnicate\"}",
        "{\"op\":\"ping\",\"n\":1}",
        "{\"op\":\"eval\",\"n\":1,\"k\":0,\"x\":\"AAAAAAAAAAA=\"}",
        "{\"op\":\"eval\",\"n\":1,\"x\":\"AAAAAAAAAA==\"}", /* 7 bytes, not 8 */
        "{\"op\":\"eval\",\"n\":1,\"x\":\"AAAAAAAAAAB=\"}", /* non-canonical padding bits */
        "{\"op\":\"eval\",\"n\":1,\"x\":\"AAAAAAAAAAA=\",\"y\":1}",
        "{\"op\":\"eval\",\"n\":-1,\"x\":\"\"}",
        "{\"op\":\"result\",\"n\":0,\"k\":1}",
        "{\"op\":\"ping\",\"op\":\"ping\"}",
    };
    char err[256];
    struct db_remote_msg m;
    for (size_t i = 0; i < sizeof json / sizeof json[0]; i++) {
        cr_assert_eq(db_remote_decode(DB_REMOTE_JSON, (const unsigned char *)json[i],
                                      strlen(json[i]), &m, err, sizeof err),
                     DB_E_INVALID, "%s", json[i]);
        cr_assert(err[0] && !strchr(err, '\n'), "%s", json[i]);
    }
    unsigned char bin[16 + 8] = {'D', 'B', '1', DB_REMOTE_EVAL, 1, 0, 0, 0};
    cr_assert_eq(db_remote_decode(DB_REMOTE_BINARY, bin, sizeof bin, &m, err, sizeof err), DB_OK);
    db_remote_msg_free(&m);
    cr_assert_eq(db_remote_decode(DB_REMOTE_BINARY, bin, sizeof bin - 1, &m, err, sizeof err),
                 DB_E_INVALID, "short by a byte");
    bin[3] = DB_REMOTE_NOPS;
    cr_assert_eq(db_remote_decode(DB_REMOTE_BINARY, bin, sizeof bin, &m, err, sizeof err),
                 DB_E_INVALID, "unknown op");
    unsigned char hdr[4] = {0x01, 0x00, 0x00, 0x10}; /* 256 MiB + 1 */
    size_t len;
    cr_assert_eq(db_remote_frame_length(hdr, &len, err, sizeof err), DB_E_INVALID);
    cr_assert(strstr(err, "exceeds the maximum"), "%s", err);
    hdr[3] = 0x10, hdr[0] = 0;
    cr_assert_eq(db_remote_frame_length(hdr, &len, err, sizeof err), DB_OK);
    cr_assert_eq(len, DB_REMOTE_FRAME_MAX);
}

/* ---- the workloads ----------------------------------------------------------------------------
 */

/* out = J v against the exact reference: each is one rounded product of the same libm cos value
 * (the worker and reference.c use scalar cos), so |out - d v| <= u |d v| (Higham (2.4)). */
static void assert_jv(const struct db_instance *in, const double *v, const double *out) {
    double *d = th_alloc(in->n * sizeof *d);
    cr_assert_eq(db_instance_reference_diagonal(in, d), DB_OK);
    for (size_t i = 0; i < in->n; i++)
        cr_assert_leq(fabs(out[i] - d[i] * v[i]), TH_U * fabs(d[i] * v[i]), "row %zu", i);
    th_free(d);
}

Test(remote, every_transport_and_encoding_answers_and_times_a_round_trip) {
    enum { N = 37 };
    for (int t = DB_REMOTE_UNIX; t <= DB_REMOTE_TCP; t++)
        for (int e = DB_REMOTE_BINARY; e <= DB_REMOTE_JSON; e++) {
            struct db_instance *in = remote_instance("remote", N, t, e, 0);
            struct db_remote_info info;
            cr_assert_eq(db_remote_info(in, &info), DB_OK);
            cr_assert_eq(info.transport, t);
            cr_assert_eq(info.encoding, e);
            cr_assert(info.round_trip_s > 0 && isfinite(info.round_trip_s), "%s/%s: %s",
                      db_remote_transport_name(t), db_remote_encoding_name(e),
                      db_instance_error(in));
            cr_assert_gt(info.worker, 0);
            double *v = th_alloc(N * sizeof *v), *out = th_alloc(N * sizeof *out);
            for (size_t i = 0; i < N; i++)
                v[i] = 1.0 - (double)i / N;
            cr_assert_eq(db_instance_jvp(in, in->x, v, out), DB_OK, "%s", db_instance_error(in));
            assert_jv(in, v, out);
            cr_assert_eq(db_instance_eval(in, in->x, out), DB_OK);
            for (size_t i = 0; i < N; i++) /* sin in the worker, sin here: the same libm call */
                cr_assert_eq(out[i], sin(in->x[i]));
            cr_assert_eq(db_instance_calls(in), 2);
            pid_t w = info.worker;
            th_free(in);
            cr_assert(gone(w), "the worker is reaped with its instance");
            th_free(v);
            th_free(out);
        }
    assert_no_child();
}

/* k tangents: remote makes k round trips, remote-vec one, remote-nobatch none (unsupported);
 * the ldv/ldo strides are honoured. */
Test(remote, batching_rules_count_round_trips) {
    enum { N = 10, K = 4, LD = 13 };
    const char *names[] = {"remote", "remote-vec", "remote-nobatch"};
    const unsigned long long calls[] = {K, 1, 0};
    for (int w = 0; w < 3; w++) {
        struct db_instance *in = remote_instance(names[w], N, DB_REMOTE_UNIX, DB_REMOTE_BINARY, 0);
        double *V = th_alloc(LD * K * sizeof *V), *O = th_calloc(LD * K, sizeof *O);
        for (size_t i = 0; i < LD * K; i++)
            V[i] = (double)(i % LD) - 3.5;
        int rc = db_instance_jvp_batch(in, in->x, V, LD, K, O, LD);
        cr_assert_eq(rc, w == 2 ? DB_E_UNSUPPORTED : DB_OK, "%s: %s", names[w],
                     db_instance_error(in));
        cr_assert_eq(db_instance_calls(in), calls[w], "%s", names[w]);
        for (size_t j = 0; w < 2 && j < K; j++) {
            assert_jv(in, V + j * LD, O + j * LD);
            for (size_t i = N; i < LD; i++)
                cr_assert_eq(O[j * LD + i], 0.0, "%s: padding rows untouched", names[w]);
        }
        rc = db_instance_vjp_batch(in, in->x, V, LD, K, O, LD);
        cr_assert_eq(db_instance_calls(in), 2 * calls[w], "%s", names[w]);
        th_free(in);
        th_free(V);
        th_free(O);
    }
    assert_no_child();
}

/* ---- faults ------------------------------------------------------------------------------------
 */

struct fault_case {
    const char *mode;   /* DIAGBENCH_WORKER_FAULT */
    const char *reason; /* in the one-line reason */
};

static const struct fault_case faults[] = {
    {"die-after:2", "exited with status 3 without answering a jvp request"},
    {"sleep-after:2", "did not answer within 200 ms (--remote-timeout-ms)"},
    {"truncate-after:2", "truncated frame"},
    {"oversize-after:2", "exceeds the maximum 268435456"},
    {"garbage-after:2", "undecodable answer"},
};

/* Two calls answer, the third fails with the reason within the timeout, and the worker is gone
 * by the time it returns; later calls fail at once with the same reason. */
Test(remote, faulty_workers_fail_the_call_with_a_reason_and_are_reaped) {
    enum { N = 16 };
    for (size_t f = 0; f < sizeof faults / sizeof faults[0]; f++)
        for (int e = DB_REMOTE_BINARY; e <= DB_REMOTE_JSON; e++) {
            setenv(DB_REMOTE_FAULT_ENV, faults[f].mode, 1);
            struct db_instance *in = remote_instance("remote", N, DB_REMOTE_UNIX, e, 200);
            unsetenv(DB_REMOTE_FAULT_ENV);
            pid_t w = worker_of(in);
            double *v = th_alloc(N * sizeof *v), *out = th_alloc(N * sizeof *out);
            for (size_t i = 0; i < N; i++)
                v[i] = 1;
            for (int c = 0; c < 2; c++)
                cr_assert_eq(db_instance_jvp(in, in->x, v, out), DB_OK, "%s", faults[f].mode);
            cr_assert_eq(db_instance_jvp(in, in->x, v, out), DB_E_IO, "%s", faults[f].mode);
            const char *why = db_instance_error(in);
            cr_assert(strstr(why, faults[f].reason), "%s/%s: %s", faults[f].mode,
                      db_remote_encoding_name(e), why);
            cr_assert(!strchr(why, '\n'));
            cr_assert(gone(w), "%s: the worker is killed and reaped at once", faults[f].mode);
            cr_assert_eq(worker_of(in), 0);
            cr_assert_eq(db_instance_jvp(in, in->x, v, out), DB_E_IO);
            cr_assert_str_eq(db_instance_error(in), why, "the first reason stays");
            th_free(in);
            th_free(v);
            th_free(out);
        }
    assert_no_child();
}

Test(remote, a_worker_killed_mid_cell_fails_the_next_call) {
    struct db_instance *in = remote_instance("remote-vec", 8, DB_REMOTE_TCP, DB_REMOTE_BINARY, 0);
    double v[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[8];
    cr_assert_eq(db_instance_jvp(in, in->x, v, out), DB_OK);
    cr_assert_eq(kill(worker_of(in), SIGKILL), 0);
    cr_assert_eq(db_instance_vjp(in, in->x, v, out), DB_E_IO);
    cr_assert(strstr(db_instance_error(in), "was killed by signal 9"), "%s", db_instance_error(in));
    th_free(in);
    assert_no_child();
}

/* A whole cell: the worker dies during the untimed extraction; the row is an error with the
 * reason, and no child is left. */
Test(remote, a_cell_whose_worker_dies_is_an_error_row) {
    struct db_cell c = {.kind = DB_CELL_DIAGONAL,
                        .wl = db_workload_find("remote"),
                        .op_kind = "jacobian",
                        .jac = DB_JAC_FWD,
                        .strategy = db_strategy_find("materialise"),
                        .n = 50};
    struct db_run_opts o = {.reps = 2, .min_time_s = 1e-4, .call_cost_s = -1};
    struct db_cell_result *r = th_calloc(1, sizeof *r);
    setenv(DB_REMOTE_FAULT_ENV, "die-after:7", 1);
    cr_assert_eq(db_diagonal_cell_run(&c, &o, r), DB_OK);
    unsetenv(DB_REMOTE_FAULT_ENV);
    cr_assert_str_eq(r->status, "error");
    cr_assert(strstr(r->note, "remote worker: exited with status 3"), "%s", r->note);
    cr_assert_str_eq(r->remote_transport, "unix");
    cr_assert_str_eq(r->remote_encoding, "binary");
    assert_no_child();
    /* and a healthy cell: ok, one round trip per column, a measured round trip */
    cr_assert_eq(db_diagonal_cell_run(&c, &o, r), DB_OK);
    cr_assert_str_eq(r->status, "ok", "%s", r->note);
    cr_assert_eq(r->primitive_calls, 50);
    cr_assert_eq(r->max_abs_err, 0.0, "one rounded product of the reference's own cos: exact");
    cr_assert_gt(r->round_trip_s, 0);
    assert_no_child();
}

/* The process that started a worker dies without stopping it: the worker dies too
 * (PR_SET_PDEATHSIG), it does not linger as an orphan. */
Test(remote, the_worker_dies_with_its_parent) {
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t child = fork();
    cr_assert_geq(child, 0);
    if (child == 0) {
        struct db_instance *in;
        if (db_instance_create(db_workload_find("remote"), 4, -1, &in) != DB_OK) _exit(1);
        struct db_remote_info info;
        pid_t w = db_remote_info(in, &info) == DB_OK ? info.worker : 0;
        if (write(fds[1], &w, sizeof w) != sizeof w) _exit(1);
        _exit(0); /* no teardown */
    }
    close(fds[1]);
    pid_t w = 0;
    cr_assert_eq(read(fds[0], &w, sizeof w), (ssize_t)sizeof w);
    close(fds[0]);
    cr_assert_eq(waitpid(child, NULL, 0), child);
    cr_assert_gt(w, 0);
    int dead = 0;
    for (int i = 0; i < 2000 && !dead; i++) { /* the kernel signals at once; allow 2 s */
        dead = gone(w);
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    cr_assert(dead, "worker %d outlived its parent", (int)w);
}

/* The quick and pr matrices run remote (sequential) and remote-vec (vectorised), materialise and
 * probe, over the seed's sizes n = 20 ... 5,000. */
Test(remote, quick_and_pr_run_both_batching_rules_at_the_seeds_sizes) {
    const char *matrices[] = {"quick", "pr"};
    for (int m = 0; m < 2; m++) {
        const struct db_preset *p = db_preset_find(matrices[m]);
        cr_assert_not_null(p);
        int found = 0;
        for (size_t b = 0; b < p->nblocks; b++) {
            const struct db_preset_block *k = &p->blocks[b];
            char sizes[128];
            snprintf(sizes, sizeof sizes, ",%s,", k->sizes);
            found |= strcmp(k->workloads, "remote,remote-vec") == 0 &&
                     strstr(k->strategies, "materialise") && strstr(k->strategies, "probe") &&
                     strstr(sizes, ",20,") && strstr(sizes, ",5000,");
        }
        cr_assert(found, "%s", matrices[m]);
    }
}
