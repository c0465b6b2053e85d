#include "tests/fuzz/fuzz_one.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/env/omp_env.h"
#include "harness/env/memory.h"
#include "harness/plan/cli.h"
#include "harness/io/csv_write.h"
#include "harness/io/merge.h"
#include "harness/plan/plan.h"
#include "harness/plan/shard.h"
#include "harness/io/csv_read.h"
#include "harness/bench/wisdom.h"
#include "workloads/remote_proto.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz postcondition failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

enum {
    M_ARGV,     /* db_cli_parse over argv split at NULs */
    M_SIZES,    /* db_parse_sizes */
    M_INTS,     /* db_parse_ints with fuzzed bounds */
    M_BYTES,    /* db_parse_bytes (--mem-limit) */
    M_SHARD,    /* db_shard_parse */
    M_INDICES,  /* db_plan_parse_indices / format */
    M_SPLIT,    /* db_plan_split_args + db_cli_parse (the matrix column, as merge reads it) */
    M_TABLE,    /* db_table_parse + db_table_check_diagbench (--resume, merge inputs) */
    M_MERGE,    /* db_merge_parse */
    M_CSV_TRIP, /* db_csv_write_row then db_table_parse: the fields come back unchanged */
    M_OLD_COUNT,
    M_OMP = M_OLD_COUNT, /* OMP_* / OPENBLAS_NUM_THREADS parsers (harness/affinity.h) */
    M_METHOD,            /* solve methods (S+solver) and solve:W / newton:W names */
    M_WISDOM,            /* write paths and wisdom-file lines (harness/wisdom.h) */
    M_REMOTE,            /* the remote workload's frames and payloads (workloads/remote_proto.h) */
    M_COUNT
};

/* The input as a NUL-terminated string (an embedded NUL ends it). */
static char *cstr(const unsigned char *d, size_t n) {
    char *s = malloc(n + 1);
    CHECK(s);
    memcpy(s, d, n);
    s[n] = 0;
    return s;
}

/* An error message is one line. */
static void one_line(const char *err) {
    CHECK(err[0] != 0);
    CHECK(!strchr(err, '\n'));
}

/* Split at NULs into separately allocated strings (so ASan sees each one's bounds). */
static int split_nul(const unsigned char *d, size_t n, char **argv, int max) {
    int argc = 0;
    argv[argc++] = cstr((const unsigned char *)"diagbench", 9);
    size_t start = 0;
    for (size_t i = 0; i <= n && argc < max; i++)
        if (i == n || d[i] == 0) {
            argv[argc++] = cstr(d + start, i - start);
            start = i + 1;
        }
    argv[argc] = NULL;
    return argc;
}

static int points_into(const char *p, char **argv, int argc) {
    if (!p) return 1;
    for (int i = 0; i < argc; i++)
        if (p >= argv[i] && p <= argv[i] + strlen(argv[i])) return 1;
    return 0;
}

/* The canonical matrix string parses back to itself. */
static void matrix_round_trip(const struct db_cli *cli) {
    char *m;
    CHECK(db_plan_matrix_string(cli, &m) == DB_OK);
    int argc;
    char **argv;
    CHECK(db_plan_split_args(m, &argc, &argv) == DB_OK);
    struct db_cli again;
    char err[1024];
    int rc = db_cli_parse(argc, argv, &again, err, sizeof err);
    if (rc != DB_OK) fprintf(stderr, "matrix '%s' does not parse: %s\n", m, err);
    CHECK(rc == DB_OK);
    char *m2;
    CHECK(db_plan_matrix_string(&again, &m2) == DB_OK);
    if (strcmp(m, m2) != 0) fprintf(stderr, "'%s' became '%s'\n", m, m2);
    CHECK(strcmp(m, m2) == 0);
    free(m2);
    db_plan_free_args(argc, argv);
    free(m);
}

static void check_cli(const struct db_cli *cli, char **argv, int argc) {
    const struct db_selection *s = &cli->sel;
    for (size_t i = 0; i < s->nsizes; i++) {
        CHECK(s->sizes[i] >= 1 && s->sizes[i] <= DB_MAX_N);
        for (size_t j = 0; j < i; j++)
            CHECK(s->sizes[i] != s->sizes[j]);
    }
    for (size_t i = 0; i < cli->nthreads; i++) {
        CHECK(cli->threads[i] >= 1 && cli->threads[i] <= DB_MAX_THREADS);
        for (size_t j = 0; j < i; j++)
            CHECK(cli->threads[i] != cli->threads[j]);
    }
    CHECK(cli->run.reps >= 1 && cli->run.reps <= DB_MAX_REPS);
    CHECK(cli->run.min_time_s >= 1e-6 && cli->run.min_time_s <= 60);
    CHECK(cli->shard_n == 0 || (cli->shard_k >= 1 && cli->shard_k <= cli->shard_n));
    /* Everything cli keeps points into argv (or is a static name). */
    CHECK(points_into(cli->out, argv, argc));
    CHECK(points_into(cli->resume, argv, argc));
    CHECK(points_into(cli->child, argv, argc));
    CHECK(points_into(cli->cells, argv, argc));
    CHECK(points_into(cli->matrix, argv, argc));
    for (int i = 0; i < cli->gb_argc; i++)
        CHECK(points_into(cli->gb_argv[i], argv, argc));
    if (cli->flags_from_resume) CHECK(cli->resume && !cli->matrix && !cli->have_selection);
    CHECK(!cli->run.band_set ||
          (cli->run.band_lower <= DB_MAX_BAND && cli->run.band_upper <= DB_MAX_BAND));
    CHECK(cli->lu_max_n <= DB_MAX_N);
    for (size_t i = 0; i < cli->nbinds; i++) {
        size_t k = 0;
        while (k < db_omp_bind_name_count && cli->binds[i] != db_omp_bind_names[k])
            k++;
        CHECK(k < db_omp_bind_name_count);
    }
    for (size_t i = 0; i < cli->nplaces; i++) {
        struct db_places p;
        char err[512];
        CHECK(db_omp_places_parse(cli->places[i], &p, err, sizeof err) == DB_OK && p.abstract[0]);
        db_omp_places_free(&p);
    }
    if (!cli->help && !cli->list && !cli->version && !cli->env && !cli->schema && cli->calibrate)
        CHECK(!cli->matrix && !cli->have_selection && !cli->shard_n && !cli->resume);
    if (!cli->help && !cli->list && !cli->version && !cli->env && !cli->schema &&
        !cli->flags_from_resume) {
        CHECK(cli->calibrate || cli->matrix || s->nsizes > 0);
        CHECK(cli->calibrate || cli->matrix || s->nworkloads + s->ntasks > 0);
        if (!cli->matrix && !cli->calibrate) {
            /* Every workload has a strategy of its kind and the other way round. */
            CHECK(!s->nworkloads == !s->nstrategies);
            CHECK(!s->ntasks == !s->nmethods);
        }
        matrix_round_trip(cli);
    }
}

static void fuzz_argv(const unsigned char *d, size_t n) {
    char *argv[66];
    int argc = split_nul(d, n, argv, 65);
    struct db_cli cli;
    char err[1024];
    if (db_cli_parse(argc, argv, &cli, err, sizeof err) == DB_OK)
        check_cli(&cli, argv, argc);
    else
        one_line(err);
    for (int i = 0; i < argc; i++)
        free(argv[i]);
}

static void fuzz_sizes(const char *s) {
    size_t v[DB_MAX_LIST], count = 0;
    char err[512];
    if (db_parse_sizes(s, "-n", v, &count, err, sizeof err) != DB_OK) {
        one_line(err);
        return;
    }
    CHECK(count >= 1 && count <= DB_MAX_LIST);
    for (size_t i = 0; i < count; i++) {
        CHECK(v[i] >= 1 && v[i] <= DB_MAX_N);
        for (size_t j = 0; j < i; j++)
            CHECK(v[i] != v[j]);
    }
    /* The expanded list (what the matrix column records for ranges) parses back to itself. */
    char canon[DB_MAX_LIST * 11];
    size_t used = 0;
    for (size_t i = 0; i < count; i++)
        used += (size_t)snprintf(canon + used, sizeof canon - used, "%s%zu", i ? "," : "", v[i]);
    size_t w[DB_MAX_LIST], wcount = 0;
    CHECK(db_parse_sizes(canon, "-n", w, &wcount, err, sizeof err) == DB_OK);
    CHECK(wcount == count && memcmp(v, w, count * sizeof v[0]) == 0);
}

static void fuzz_ints(const unsigned char *d, size_t n) {
    if (n < 2) return;
    int lo = d[0], hi = d[0] + d[1] * 37;
    char *s = cstr(d + 2, n - 2);
    int v[DB_MAX_LIST];
    size_t count = 0;
    char err[512];
    if (db_parse_ints(s, "-t", lo, hi, v, &count, err, sizeof err) == DB_OK) {
        CHECK(count >= 1 && count <= DB_MAX_LIST);
        for (size_t i = 0; i < count; i++) {
            if (v[i] < lo || v[i] > hi)
                fprintf(stderr, "'%s' in [%d, %d] gave %d\n", s, lo, hi, v[i]);
            CHECK(v[i] >= lo && v[i] <= hi);
            for (size_t j = 0; j < i; j++)
                CHECK(v[i] != v[j]);
        }
    } else {
        one_line(err);
    }
    free(s);
}

static void fuzz_bytes(const char *s) {
    unsigned long long b;
    if (db_parse_bytes(s, &b) == DB_OK) CHECK(b >= 1 && b <= 1000000000000000000ull);
}

static void fuzz_shard(const char *s) {
    unsigned k, n;
    char err[512];
    if (db_shard_parse(s, &k, &n, err, sizeof err) != DB_OK) {
        one_line(err);
        return;
    }
    CHECK(k >= 1 && k <= n && n <= DB_MAX_SHARDS);
    char back[32], err2[512];
    unsigned k2, n2;
    snprintf(back, sizeof back, "%u/%u", k, n);
    CHECK(db_shard_parse(back, &k2, &n2, err2, sizeof err2) == DB_OK && k2 == k && n2 == n);
}

static void fuzz_indices(const unsigned char *d, size_t n) {
    if (n < 1) return;
    size_t count = d[0];
    char *s = cstr(d + 1, n - 1);
    unsigned char sel[256], again[256];
    if (db_plan_parse_indices(s, sel, count) == DB_OK) {
        char *f;
        CHECK(db_plan_format_indices(sel, count, &f) == DB_OK);
        CHECK(db_plan_parse_indices(f, again, count) == DB_OK);
        CHECK(count == 0 || memcmp(sel, again, count) == 0);
        free(f);
    }
    free(s);
}

static void fuzz_split(const char *s) {
    int argc;
    char **argv;
    if (db_plan_split_args(s, &argc, &argv) != DB_OK) return;
    CHECK(argc >= 1 && argv[argc] == NULL);
    struct db_cli cli;
    char err[1024];
    if (db_cli_parse(argc, argv, &cli, err, sizeof err) == DB_OK)
        check_cli(&cli, argv, argc);
    else
        one_line(err);
    db_plan_free_args(argc, argv);
}

static void fuzz_table(const unsigned char *d, size_t n) {
    struct db_table t;
    char err[512];
    if (db_table_parse((const char *)d, n, &t, err, sizeof err) != DB_OK) {
        one_line(err);
        return;
    }
    CHECK(t.complete_len <= n);
    CHECK(t.torn == (t.complete_len < n));
    size_t at = 0;
    for (size_t i = 0; i < t.nrec; i++) {
        CHECK(t.rec[i].offset == at);
        CHECK(t.rec[i].length >= 1 && t.text[at + t.rec[i].length - 1] == '\n');
        CHECK(t.rec[i].nfields >= 1);
        at += t.rec[i].length;
    }
    CHECK(at == t.complete_len);
    if (db_table_check_diagbench(&t, err, sizeof err) != DB_OK) one_line(err);
    if (t.torn) {
        /* A torn tail is a record cut short, never a malformed one: closed with a newline (and
         * a quote if one is open) it parses. */
        size_t rest = n - t.complete_len;
        char *tail = malloc(rest + 2);
        CHECK(tail);
        memcpy(tail, d + t.complete_len, rest);
        struct db_table a, b;
        int ok = 0;
        tail[rest] = '\n';
        if (db_table_parse(tail, rest + 1, &a, err, sizeof err) == DB_OK) {
            ok |= !a.torn;
            db_table_free(&a);
        }
        tail[rest] = '"';
        tail[rest + 1] = '\n';
        if (db_table_parse(tail, rest + 2, &b, err, sizeof err) == DB_OK) {
            ok |= !b.torn;
            db_table_free(&b);
        }
        CHECK(ok);
        free(tail);
    }
    db_table_free(&t);
}

static void fuzz_merge_args(const unsigned char *d, size_t n) {
    char *argv[66];
    int argc = split_nul(d, n, argv, 65);
    char *copy[66];
    memcpy(copy, argv, sizeof copy); /* db_merge_parse compacts its argv */
    struct db_merge_args a;
    char err[512];
    int rc = db_merge_parse(argc - 1, copy + 1, &a, err, sizeof err);
    if (rc == DB_OK && a.help) {
        CHECK(a.nfiles >= 0); /* --help: the rest is not checked */
    } else if (rc == DB_OK) {
        CHECK(a.out && *a.out && a.nfiles >= 1);
        for (int i = 0; i < a.nfiles; i++)
            CHECK(points_into(a.files[i], argv, argc));
    } else {
        one_line(err);
    }
    for (int i = 0; i < argc; i++)
        free(argv[i]);
}

/* Strings written by the CSV writer read back unchanged. */
static void fuzz_csv_trip(const unsigned char *d, size_t n) {
    char *f[8];
    int k = split_nul(d, n, f, 7); /* f[0] is "diagbench" */
    for (int i = k; i < 8; i++)
        f[i] = cstr((const unsigned char *)"", 0);
    struct db_row r = {.run_id = f[1],
                       .timestamp = "t",
                       .workload = f[2],
                       .operator_kind = "o",
                       .jac = "fwd",
                       .strategy = f[3],
                       .n = 7,
                       .threads = 2,
                       .proc_bind = f[4],
                       .places = f[5],
                       .status = "error",
                       .host = f[6],
                       .cpu_model = "c",
                       .compiler = "g",
                       .git_rev = "r",
                       .call_cost_s = -1,
                       .note = f[7],
                       .shard = "1/1",
                       .matrix = f[0],
                       .matrix_id = "0"};
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    CHECK(mem);
    CHECK(db_csv_write_row(mem, &r) == DB_OK);
    CHECK(fclose(mem) == 0);
    struct db_table t;
    char err[512];
    CHECK(db_table_parse(buf, len, &t, err, sizeof err) == DB_OK);
    CHECK(!t.torn && t.nrec == 1 && t.rec[0].nfields == db_csv_column_count());
    char **g = t.rec[0].field;
    CHECK(strcmp(g[0], f[1]) == 0 && strcmp(g[2], f[2]) == 0 && strcmp(g[5], f[3]) == 0);
    CHECK(strcmp(g[8], f[4]) == 0 && strcmp(g[9], f[5]) == 0 && strcmp(g[22], f[6]) == 0);
    CHECK(strcmp(g[27], f[7]) == 0);
    db_table_free(&t);
    free(buf);
    for (int i = 0; i < 8; i++)
        free(f[i]);
}

/* The OpenMP environment parsers: accepted values are in range, errors are one line. */
static void fuzz_omp(const unsigned char *d, size_t n) {
    if (n < 1) return;
    char *s = cstr(d + 1, n - 1);
    char err[1024], buf[64];
    int v = 0, rc;
    switch (d[0] % 5) {
    case 0:
        rc = db_omp_num_threads_parse(s, &v, err, sizeof err);
        if (rc == DB_OK) CHECK(v >= 1 && v <= DB_MAX_THREADS);
        break;
    case 1:
        rc = db_omp_proc_bind_parse(s, buf, sizeof buf, err, sizeof err);
        if (rc == DB_OK) CHECK(strlen(buf) < sizeof buf);
        break;
    case 2:
        rc = db_omp_wait_policy_parse(s, buf, sizeof buf, err, sizeof err);
        if (rc == DB_OK) CHECK(strcmp(buf, "active") == 0 || strcmp(buf, "passive") == 0);
        break;
    case 3:
        rc = db_openblas_num_threads_parse(s, &v, err, sizeof err);
        if (rc == DB_OK) CHECK(v >= 1 && v <= DB_MAX_THREADS);
        break;
    default: {
        struct db_places p;
        rc = db_omp_places_parse(s, &p, err, sizeof err);
        if (rc == DB_OK) {
            CHECK(p.abstract[0] || p.nplaces > 0);
            CHECK(p.count >= 0);
            db_omp_places_free(&p);
        }
        break;
    }
    }
    if (rc != DB_OK && rc != DB_E_NOMEM) one_line(err);
    free(s);
}

/* Solve-method and downstream-workload names: what parses has a name that parses back to it. */
static void fuzz_method(const char *s) {
    struct db_solve_method m;
    if (db_solve_method_parse(s, &m) == DB_OK) {
        char name[128];
        db_solve_method_name(&m, name, sizeof name);
        struct db_solve_method again;
        CHECK(db_solve_method_parse(name, &again) == DB_OK);
        CHECK(again.diag == m.diag && again.solver == m.solver);
        CHECK(m.solver != DB_SOLVER_LU || m.diag == NULL);
    }
    enum db_cell_kind task;
    const struct db_workload *wl;
    if (db_task_workload_parse(s, &task, &wl) == DB_OK) {
        CHECK(wl && db_workload_find(wl->name) == wl);
        char name[128];
        snprintf(name, sizeof name, "%s:%s", db_cell_kind_name(task), wl->name);
        enum db_cell_kind t2;
        const struct db_workload *w2;
        CHECK(db_task_workload_parse(name, &t2, &w2) == DB_OK && t2 == task && w2 == wl);
    }
}

/* A write path or a wisdom line that parses is written back as the same value. */
static void fuzz_wisdom(const char *s) {
    struct db_write_path wp;
    if (db_write_path_parse(s, &wp) == DB_OK) {
        char back[32];
        db_write_path_format(wp, back, sizeof back);
        CHECK(strcmp(back, s) == 0);
    }
    char *line = strdup(s);
    CHECK(line);
    struct db_wisdom_line l;
    if (db_wisdom_parse_line(line, &l)) {
        CHECK(l.n >= 1 && l.key.threads >= 1 && l.wp.block_cols >= 1 && l.wp.block_cols <= l.n);
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        CHECK(f);
        db_wisdom_format_line(f, &l);
        fclose(f);
        CHECK(len && text[len - 1] == '\n');
        text[len - 1] = '\0';
        struct db_wisdom_line again;
        CHECK(db_wisdom_parse_line(text, &again));
        CHECK(again.n == l.n && again.key.threads == l.key.threads &&
              again.wp.store == l.wp.store && again.wp.block_cols == l.wp.block_cols &&
              !strcmp(again.key.cpu_model, l.key.cpu_model) &&
              !strcmp(again.key.build, l.key.build) && !strcmp(again.planned_at, l.planned_at));
        free(text);
    }
    free(line);
}

/* A frame header and a payload of the remote protocol (the first byte picks the encoding): what
 * decodes keeps the message rules and encodes to a frame that decodes to the same message; what
 * does not is refused with one line. */
static void fuzz_remote(const unsigned char *d, size_t n) {
    if (n < 1) return;
    int enc = d[0] & 1 ? DB_REMOTE_JSON : DB_REMOTE_BINARY;
    const unsigned char *p = d + 1;
    size_t len = n - 1, flen;
    char err[512];
    if (len >= DB_REMOTE_HEADER) {
        if (db_remote_frame_length(p, &flen, err, sizeof err) == DB_OK)
            CHECK(flen <= DB_REMOTE_FRAME_MAX);
        else
            one_line(err);
    }
    struct db_remote_msg m, again;
    if (db_remote_decode(enc, p, len, &m, err, sizeof err) != DB_OK) {
        one_line(err);
        return;
    }
    CHECK(m.op < DB_REMOTE_NOPS && !strchr(m.message, '\n'));
    CHECK(m.op == DB_REMOTE_ERROR || m.op == DB_REMOTE_PING || m.op == DB_REMOTE_RESULT ||
          m.n >= 1);
    CHECK((m.x != NULL) ==
          (m.op == DB_REMOTE_EVAL || m.op == DB_REMOTE_JVP || m.op == DB_REMOTE_VJP));
    unsigned char *buf;
    size_t blen;
    CHECK(db_remote_encode(enc, &m, &buf, &blen) == DB_OK);
    CHECK(blen >= DB_REMOTE_HEADER && db_remote_frame_length(buf, &flen, err, sizeof err) == DB_OK);
    CHECK(flen == blen - DB_REMOTE_HEADER);
    CHECK(db_remote_decode(enc, buf + DB_REMOTE_HEADER, flen, &again, err, sizeof err) == DB_OK);
    CHECK(again.op == m.op);
    if (m.op != DB_REMOTE_ERROR) {
        CHECK(again.n == m.n && again.k == m.k);
        if (m.x) CHECK(memcmp(again.x, m.x, m.n * sizeof(double)) == 0);
        if (m.v) CHECK(memcmp(again.v, m.v, m.k * m.n * sizeof(double)) == 0);
    }
    db_remote_msg_free(&again);
    db_remote_msg_free(&m);
    free(buf);
}

int db_fuzz_one(const unsigned char *data, size_t size) {
    if (size < 1 || size > 4096) return 0;
    const unsigned char *d = data + 1;
    size_t n = size - 1;
    char *s = cstr(d, n);
    /* Modes added later take the bytes M_OLD_COUNT.. M_COUNT - 1, so the inputs saved before
     * keep their meaning. */
    switch (data[0] < M_COUNT ? data[0] : data[0] % M_OLD_COUNT) {
    case M_ARGV:
        fuzz_argv(d, n);
        break;
    case M_SIZES:
        fuzz_sizes(s);
        break;
    case M_INTS:
        fuzz_ints(d, n);
        break;
    case M_BYTES:
        fuzz_bytes(s);
        break;
    case M_SHARD:
        fuzz_shard(s);
        break;
    case M_INDICES:
        fuzz_indices(d, n);
        break;
    case M_SPLIT:
        fuzz_split(s);
        break;
    case M_TABLE:
        fuzz_table(d, n);
        break;
    case M_MERGE:
        fuzz_merge_args(d, n);
        break;
    case M_CSV_TRIP:
        fuzz_csv_trip(d, n);
        break;
    case M_OMP:
        fuzz_omp(d, n);
        break;
    case M_METHOD:
        fuzz_method(s);
        break;
    case M_WISDOM:
        fuzz_wisdom(s);
        break;
    case M_REMOTE:
        fuzz_remote(d, n);
        break;
    }
    free(s);
    return 0;
}
