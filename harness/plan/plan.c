#include "harness/plan/plan.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/env/provenance.h"
#include "harness/plan/shard.h"
#include "workloads/remote_proto.h"

/* ---- canonical flags ---------------------------------------------------------------------- */

static int plain_token(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_,./=:+-", *s)) return 0;
    return 1;
}

static void put_token(FILE *f, const char *s) {
    fputc(' ', f);
    if (plain_token(s)) {
        fputs(s, f);
        return;
    }
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    }
    fputc('\'', f);
}

static void put_list(FILE *f, const char *flag, const char *const *names, size_t count) {
    fprintf(f, " %s ", flag);
    for (size_t i = 0; i < count; i++)
        fprintf(f, "%s%s", i ? "," : "", names[i]);
}

int db_plan_matrix_string(const struct db_cli *cli, char **out) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return DB_E_NOMEM;
    if (cli->calibrate) {
        fputs(" --calibrate", f);
    } else if (cli->matrix) {
        fprintf(f, " --matrix %s", cli->matrix);
    } else {
        const struct db_selection *s = &cli->sel;
        const char *names[2 * DB_MAX_LIST];
        char tasks[DB_MAX_LIST][80], methods[DB_MAX_LIST][80];
        size_t k = 0;
        for (size_t i = 0; i < s->nworkloads; i++)
            names[k++] = s->workloads[i]->name;
        for (size_t i = 0; i < s->ntasks; i++) {
            snprintf(tasks[i], sizeof tasks[i], "%s:%s", db_cell_kind_name(s->tasks[i].kind),
                     s->tasks[i].wl->name);
            names[k++] = tasks[i];
        }
        put_list(f, "-w", names, k);
        put_list(f, "-p", s->operators, s->noperators);
        for (size_t i = 0; i < s->njacs; i++)
            names[i] = db_jac_name(s->jacs[i]);
        put_list(f, "-j", names, s->njacs);
        k = 0;
        for (size_t i = 0; i < s->nstrategies; i++)
            names[k++] = s->strategies[i]->name;
        for (size_t i = 0; i < s->nmethods; i++)
            names[k++] = db_solve_method_name(&s->methods[i], methods[i], sizeof methods[i]);
        put_list(f, "-s", names, k);
        fputs(" -n ", f);
        for (size_t i = 0; i < s->nsizes; i++)
            fprintf(f, "%s%zu", i ? "," : "", s->sizes[i]);
    }
    if (cli->nthreads) {
        fputs(" -t ", f);
        for (size_t i = 0; i < cli->nthreads; i++)
            fprintf(f, "%s%d", i ? "," : "", cli->threads[i]);
    }
    if (cli->nbinds) put_list(f, "--bind", cli->binds, cli->nbinds);
    if (cli->nplaces) {
        fputs(" --places", f);
        char *pl = NULL;
        size_t pllen = 0;
        FILE *g = open_memstream(&pl, &pllen);
        if (!g) {
            fclose(f);
            free(buf);
            return DB_E_NOMEM;
        }
        for (size_t i = 0; i < cli->nplaces; i++)
            fprintf(g, "%s%s", i ? "," : "", cli->places[i]);
        if (fclose(g) != 0 || !pl) {
            free(pl);
            fclose(f);
            free(buf);
            return DB_E_NOMEM;
        }
        put_token(f, pl);
        free(pl);
    }
    fprintf(f, " --reps %d --min-time %.15g", cli->run.reps, cli->run.min_time_s);
    if (cli->run.call_cost_s >= 0) fprintf(f, " --call-cost-us %.15g", cli->run.call_cost_s * 1e6);
    if (cli->run.plant_work_pct > 0) fprintf(f, " --plant-work-pct %.15g", cli->run.plant_work_pct);
    if (cli->run.plant_work_s > 0)
        fprintf(f, " --plant-work-ns %.15g", cli->run.plant_work_s * 1e9);
    if (cli->run.mem_budget) fprintf(f, " --mem-limit %llu", cli->run.mem_budget);
    if (cli->run.untagged) fputs(" --untagged", f);
    if (cli->lu_max_n) fprintf(f, " --lu-max-n %zu", cli->lu_max_n);
    if (cli->run.band_set) fprintf(f, " --band %zu,%zu", cli->run.band_lower, cli->run.band_upper);
    if (cli->run.on_mismatch_fallback) fputs(" --on-mismatch fallback", f);
    if (cli->run.precision_pct > 0)
        fprintf(f, " --precision %.15g --max-time-per-cell %.15g", cli->run.precision_pct,
                cli->run.max_time_per_cell_s);
    if (cli->run.remote_transport)
        fprintf(f, " --remote-transport %s", db_remote_transport_name(cli->run.remote_transport));
    if (cli->run.remote_encoding)
        fprintf(f, " --remote-encoding %s", db_remote_encoding_name(cli->run.remote_encoding));
    if (cli->run.remote_timeout_ms)
        fprintf(f, " --remote-timeout-ms %d", cli->run.remote_timeout_ms);
    if (cli->run.worker_cmd) {
        fputs(" --worker", f);
        put_token(f, cli->run.worker_cmd);
    }
    if (cli->run.worker_cpus) {
        fputs(" --worker-cpus", f);
        put_token(f, cli->run.worker_cpus);
    }
    if (cli->run.worker_threads) fprintf(f, " --worker-threads %d", cli->run.worker_threads);
    for (int i = 1; i < cli->gb_argc; i++)
        put_token(f, cli->gb_argv[i]);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return DB_E_NOMEM;
    }
    memmove(buf, buf + 1, strlen(buf)); /* drop the leading space */
    *out = buf;
    return DB_OK;
}

int db_plan_split_args(const char *s, int *argc, char ***argv) {
    size_t cap = 8, n = 0, len = strlen(s);
    char **v = calloc(cap, sizeof *v);
    char *tok = malloc(len + 1);
    int rc = v && tok ? DB_OK : DB_E_NOMEM;
    if (rc == DB_OK && !(v[n++] = strdup("diagbench"))) rc = DB_E_NOMEM;
    const char *p = s;
    while (rc == DB_OK) {
        while (*p == ' ')
            p++;
        if (!*p) break;
        size_t k = 0;
        while (*p && *p != ' ') {
            if (*p == '\'') {
                const char *q = strchr(p + 1, '\'');
                if (!q) {
                    rc = DB_E_INVALID;
                    break;
                }
                memcpy(tok + k, p + 1, (size_t)(q - p - 1));
                k += (size_t)(q - p - 1);
                p = q + 1;
            } else if (*p == '\\' && p[1]) {
                tok[k++] = p[1];
                p += 2;
            } else {
                tok[k++] = *p++;
            }
        }
        if (rc != DB_OK) break;
        tok[k] = 0;
        if (n + 1 >= cap) {
            char **grown = realloc(v, 2 * cap * sizeof *v);
            if (!grown) {
                rc = DB_E_NOMEM;
                break;
            }
            v = grown;
            cap *= 2;
        }
        if (!(v[n++] = strdup(tok))) rc = DB_E_NOMEM;
    }
    free(tok);
    if (rc != DB_OK) {
        db_plan_free_args((int)n, v);
        return rc;
    }
    v[n] = NULL;
    *argc = (int)n;
    *argv = v;
    return DB_OK;
}

void db_plan_free_args(int argc, char **argv) {
    if (!argv) return;
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
}

/* ---- fingerprint -------------------------------------------------------------------------- */

static uint64_t fnv1a(uint64_t h, const char *s) {
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t env_part(uint64_t h, const char *name) {
    const char *v = getenv(name);
    h = fnv1a(h, name);
    h = fnv1a(h, v ? "=" : " unset");
    return fnv1a(h, v ? v : "");
}

/* Everything that makes two rows of one cell comparable: the matrix and run parameters, the
 * OpenMP environment that shapes the rows (thread counts only when -t does not set them), the
 * build. */
static void matrix_id(const struct db_cli *cli, const char *matrix, char out[17]) {
    /* (OMP_* set by a sweep for its children are part of the matrix string instead.) */
    struct db_provenance prov;
    db_provenance_collect(&prov);
    uint64_t h = fnv1a(0xcbf29ce484222325ull, matrix);
    if (!cli->nthreads) {
        h = env_part(h, "OMP_NUM_THREADS");
        h = env_part(h, "OPENBLAS_NUM_THREADS");
    }
    if (!cli->nbinds) h = env_part(h, "OMP_PROC_BIND");
    if (!cli->nplaces) h = env_part(h, "OMP_PLACES");
    h = env_part(h, "OMP_WAIT_POLICY");
    h = fnv1a(fnv1a(h, "\n"), prov.git_rev);
    h = fnv1a(fnv1a(h, "\n"), prov.compiler);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* ---- cost model --------------------------------------------------------------------------- */

#define NS_PER_ELEMENT 2ull
#define CELL_OVERHEAD  1000000ull /* 1 ms: operator setup, Google Benchmark bookkeeping */
/* What a cell does once around its timings, per element of n: the operator, the reference
 * diagonal and the checks of the result (sin's probe cell at n = 10^6: 0.1 s beyond its
 * timings); a structured probe's pattern per product, and the colouring of probe-coloured on top
 * (banded at 10^6, 6 products: probe-banded 1.0 s, probe-coloured 4.4 s). Measured with
 * `diagbench --matrix quick` on the AMD EPYC VM (2026-12-05); the ETA learns each machine's rate
 * (harness/app/progress.h). */
#define SETUP_NS_PER_ELEMENT     100ull
#define PATTERN_NS_PER_ELEMENT   150ull
#define COLOURING_NS_PER_ELEMENT 550ull
/* The write ceiling timed around a cell that writes an n x n matrix (harness/bench/runner.c):
 * memset and non-temporal fills, before and after, each timed as a cell is (reps x min-time at
 * least), at about 0.5 ns per element written. */
#define CEILING_RUNS           4ull
#define CEILING_PS_PER_ELEMENT 500ull
/* The blocked kernel's timed materialise, per element of the n x n matrix and thread (split at
 * n = 10000-40000: 0.57-0.64 ns on 1 thread, 0.31-0.41 ns on 2). */
#define BLOCKED_PS_PER_ELEMENT 550ull
/* What a cell that holds an n x n matrix (materialised, or stored by the operator) spends around
 * its timings once, per element: the buffer's first touch (page faults and the kernel's zeroing,
 * in the threads that fill it) and the checks. A fixed part and a part shared by the threads: on
 * the AMD EPYC VM (2026-12-05, `make bench-pr`), split's cells at n = 4642-40000 spent 24-37 ns
 * an element beyond their timings on 1 thread and 15-25 ns on 2, seqsin's 20-27 and 13-24,
 * downstream cells as much as plain ones. */
#define FIRST_TOUCH_PS_PER_ELEMENT        12000ull
#define FIRST_TOUCH_PS_PER_ELEMENT_THREAD 18000ull
/* LU's n^3 / 3 flops at 18 GFLOP/s a thread (OpenBLAS's dgetrf inside Newton at n = 1000-2500:
 * 20 GFLOP/s on 1 thread, 33 on 2, on the AMD EPYC VM). */
#define LU_FLOPS_PER_NS 18ull
/* Newton's step limit: each step is one extraction and one solve. */
#define NEWTON_STEPS 8ull
/* Memory the model assumes without --mem-limit: cells whose n x n buffer exceeds it are costed
 * as skipped_memory. A constant, not this machine's memory, so every shard agrees. */
#define MODEL_MEMORY (64ull << 30)

/* A remote workload's call also carries its vectors through the socket and the encoding: per
 * element moved (one for each entry of x, the tangents and the result, counted as the elements an
 * extraction produces), measured with scripts/remote_figures.sh on the AMD EPYC VM (2026-11-29):
 * one JVP at n = 5000 took 159 us in binary and 6.8 ms in JSON, against empty round trips of 84
 * and 88 us. Not divided by threads: one worker serves the calls. */
#define REMOTE_NS_PER_ELEMENT_BINARY 15ull
#define REMOTE_NS_PER_ELEMENT_JSON   1340ull

/* The threads a cell runs on as the model sees them: -t, or for the OpenMP environment in force
 * (t = 0) a nominal 2, so that every machine and shard prices a plan alike. */
#define MODEL_ENV_THREADS 2u
static unsigned model_threads(int t) {
    return t > 0 ? (unsigned)t : MODEL_ENV_THREADS;
}

/* The model reads what the strategy declares (strategies/strategy.h: flags, required_tags,
 * products) and the operator kind's flags (operators/operator.h), never a name. */

/* Products of n one extraction of c applies when the workload's structure carries a tag the
 * strategy needs (0: it always materialises, or it falls back). The structure is the workload's
 * true one, the band the workload's or --band's. */
static unsigned long long structured_products(const struct db_cell *c,
                                              const struct db_run_opts *o) {
    const struct db_strategy *st = c->strategy;
    enum db_structure sx = o->untagged ? DB_STRUCT_DENSE : c->wl->structure;
    size_t lo = o->band_set ? o->band_lower : c->wl->lower;
    size_t up = o->band_set ? o->band_upper : c->wl->upper;
    if (!(db_tags_implied(db_tags_for_structure(sx)) & st->required_tags)) return 0;
    return db_strategy_products(st, lo, up);
}

/* What one extraction of c does. The write-path pre-check (db_plan_cell_writes_matrix) assumes
 * the materialise fallback unless the workload is diagonal -- for every strategy, also a
 * structured probe whose own tag is there. The costs no longer do: such a probe writes no n x n
 * buffer, and a recorded quick run showed them running at n = 10^6 (tests/test_costs.c freezes
 * the costs). */
struct extraction {
    int stores_dense;   /* the kind stores J: materialise is a view, a product a dgemv */
    int blocked;        /* the kind materialises through the workload's batching rule */
    int tagged;         /* the workload is (tagged) diagonal */
    int materialise;    /* the strategy always materialises */
    int knows_diagonal; /* the kind knows its diagonal and the strategy asks it */
    int builds_nn;      /* assumed to write an n x n buffer (see above) */
};

static struct extraction extraction_of(const struct db_cell *c, const struct db_run_opts *o) {
    unsigned kind = db_operator_kind_flags(c->op_kind);
    struct extraction e = {0};
    e.stores_dense = !!(kind & DB_OPERATOR_STORES_DENSE);
    e.blocked = !!(kind & DB_OPERATOR_BLOCKED);
    e.tagged = !o->untagged && c->wl->structure == DB_STRUCT_DIAGONAL;
    e.materialise = !!(c->strategy->flags & DB_STRATEGY_MATERIALISES);
    e.knows_diagonal = (kind & DB_OPERATOR_KNOWS_DIAGONAL) && !e.materialise;
    e.builds_nn = !e.knows_diagonal && !e.stores_dense && (e.materialise || !e.tagged);
    return e;
}

/* One plain cell's costs: *setup once around its timings, *one per extraction. Returns 0 for a
 * cell that times nothing (skipped_memory, or unsupported for want of a batching rule, both found
 * at once): *setup is then its whole cost. */
static int cell_parts(const struct db_cell *c, const struct db_run_opts *o, int t,
                      unsigned long long *setup, unsigned long long *one) {
    unsigned long long n = c->n, nn = db_cost_mul(n, n);
    struct extraction e = extraction_of(c, o);
    double cc = o->call_cost_s >= 0 ? o->call_cost_s : c->wl->default_call_cost_s;
    cc += c->wl->round_trip_s; /* a remote workload's call is also a round trip */
    unsigned long long call_ns = cc > 0 ? (unsigned long long)(cc * 1e9 + 0.5) : 0;
    unsigned long long memory = o->mem_budget ? o->mem_budget : MODEL_MEMORY;
    unsigned threads = model_threads(t);
    /* Probes: the declared products of n, each one call, when the structure they need is there
     * (a stored matrix and a kind that knows its diagonal are costed below). Such a probe
     * writes no n x n buffer, so it runs at any n. */
    unsigned long long products = structured_products(c, o);
    int structured = products && !e.stores_dense && !e.knows_diagonal;
    int holds_nn = !structured && (e.stores_dense || e.builds_nn); /* an n x n buffer */

    *setup = db_cost_add(CELL_OVERHEAD, db_cost_mul(NS_PER_ELEMENT, n));
    if (holds_nn && db_cost_mul(nn, sizeof(double)) > memory) {
        *setup = CELL_OVERHEAD; /* skipped_memory: never attempted */
        return 0;
    }
    if (e.stores_dense) *setup = db_cost_add(*setup, db_cost_mul(NS_PER_ELEMENT, nn)); /* build */
    if (!structured && e.builds_nn && e.blocked && c->wl->batch == DB_BATCH_NONE)
        return 0; /* unsupported: no batching rule, found at once */
    if (holds_nn)
        *setup = db_cost_add(
            *setup,
            nn / 1000 * (FIRST_TOUCH_PS_PER_ELEMENT + FIRST_TOUCH_PS_PER_ELEMENT_THREAD / threads));
    *setup = db_cost_add(*setup, db_cost_mul(SETUP_NS_PER_ELEMENT, n));

    unsigned long long elements, calls;
    int per_column = 0; /* a sequential rule's call per column, in the blocks' threads */
    if (structured) {
        elements = db_cost_mul(products, n);
        calls = products;
        *setup = db_cost_add(*setup, db_cost_mul(PATTERN_NS_PER_ELEMENT, elements));
        if (c->strategy->flags & DB_STRATEGY_COLOURS_PATTERN)
            *setup = db_cost_add(*setup, db_cost_mul(COLOURING_NS_PER_ELEMENT, elements));
    } else {
        if (e.knows_diagonal)
            elements = n;
        else if (e.stores_dense)
            elements = e.materialise || !e.tagged ? n : nn; /* a view / dgemv with ones */
        else if (e.builds_nn)
            elements = nn;
        else
            elements = n; /* one product with ones */
        per_column = e.builds_nn && e.blocked && c->wl->batch == DB_BATCH_SEQUENTIAL;
        calls = per_column ? n : 1;
    }
    /* the blocked kernel writes a vectorised rule's columns in well under 2 ns an element */
    int blocked_kernel =
        !structured && e.builds_nn && e.blocked && c->wl->batch == DB_BATCH_VECTORISED;
    *one = blocked_kernel ? db_cost_mul(BLOCKED_PS_PER_ELEMENT, elements) / 1000 / threads
                          : db_cost_mul(NS_PER_ELEMENT, elements) / threads;
    /* an in-process primitive's calls per column run side by side in the threads (seqsin at
     * n = 1118-2500: 12.4 us a call on 1 thread, 6.5 on 2); one worker serves a remote one's */
    unsigned long long call_total = db_cost_mul(calls, call_ns);
    if (per_column && !(c->wl->round_trip_s > 0)) call_total /= threads;
    *one = db_cost_add(*one, call_total);
    if (c->wl->round_trip_s > 0)
        *one = db_cost_add(*one, db_cost_mul(o->remote_encoding == DB_REMOTE_JSON
                                                 ? REMOTE_NS_PER_ELEMENT_JSON
                                                 : REMOTE_NS_PER_ELEMENT_BINARY,
                                             elements));
    return 1;
}

/* A timed run of one ns as Google Benchmark times it: once to start, then reps repetitions of
 * at least the minimum time each, which its growing trial runs make about 1.5 x the minimum time
 * for a short run (cells of one short extraction took 73-80 ms for 5 x 10 ms here). */
static unsigned long long timed(unsigned long long one, const struct db_run_opts *o) {
    unsigned long long min_ns = (unsigned long long)(o->min_time_s * 1.5e9 + 0.5);
    unsigned long long reps = o->reps > 0 ? (unsigned long long)o->reps : 1;
    return db_cost_add(one, db_cost_mul(reps, one > min_ns ? one : min_ns));
}

unsigned long long db_plan_cell_cost(const struct db_cell *c, const struct db_run_opts *o, int t) {
    unsigned long long setup, one;
    if (!cell_parts(c, o, t, &setup, &one)) return setup;
    unsigned long long cost = db_cost_add(setup, timed(one, o));
    if (db_plan_cell_writes_matrix(c, o)) { /* the write ceiling timed around it */
        unsigned long long nn = db_cost_mul(c->n, c->n);
        unsigned long long fill = nn / 1000 * CEILING_PS_PER_ELEMENT;
        cost = db_cost_add(cost, db_cost_mul(CEILING_RUNS, timed(fill, o)));
    }
    return cost;
}

/* The plain cell a downstream cell's extraction is (the method's diagonal strategy; materialise
 * for LU); 0 when there is none. */
static int extraction_cell(const struct db_cell *c, struct db_cell *plain) {
    const struct db_strategy *st = db_linear_solve_strategy(c->method.diag);
    if (st)
        *plain = (struct db_cell){.kind = DB_CELL_DIAGONAL,
                                  .wl = c->wl,
                                  .op_kind = c->op_kind,
                                  .jac = c->jac,
                                  .strategy = st,
                                  .n = c->n};
    return st != NULL;
}

unsigned long long db_plan_downstream_cost(const struct db_cell *c, const struct db_run_opts *o,
                                           int t) {
    unsigned long long n = c->n, nn = db_cost_mul(n, n);
    unsigned long long memory = o->mem_budget ? o->mem_budget : MODEL_MEMORY;
    unsigned threads = model_threads(t);
    int lu = c->method.solver == DB_SOLVER_LU;
    if (lu && (c->lu_max_n && c->n > c->lu_max_n)) return CELL_OVERHEAD; /* skipped_budget */
    if (lu && db_cost_mul(nn, sizeof(double)) > memory) return CELL_OVERHEAD;
    struct db_cell plain;
    unsigned long long setup, one, solve;
    if (!extraction_cell(c, &plain)) return CELL_OVERHEAD;
    if (!cell_parts(&plain, o, t, &setup, &one)) return setup;
    if (lu)
        solve = db_cost_mul(nn, n) / 3 / LU_FLOPS_PER_NS / threads;
    else if (c->method.solver == DB_SOLVER_TRIDIAGONAL)
        solve = db_cost_mul(8, n);
    else
        solve = db_cost_mul(2, n);
    one = db_cost_add(one, solve);
    if (c->kind == DB_CELL_NEWTON) one = db_cost_mul(NEWTON_STEPS, one);
    return db_cost_add(setup, timed(one, o));
}

unsigned long long db_plan_cost(const struct db_cell *c, const struct db_run_opts *o, int t) {
    return c->kind == DB_CELL_SOLVE || c->kind == DB_CELL_NEWTON ? db_plan_downstream_cost(c, o, t)
                                                                 : db_plan_cell_cost(c, o, t);
}

int db_plan_cell_writes_matrix(const struct db_cell *c, const struct db_run_opts *o) {
    const struct db_strategy *st = c->strategy;
    unsigned kind = db_operator_kind_flags(c->op_kind);
    if (!(kind & DB_OPERATOR_BLOCKED) || c->wl->batch != DB_BATCH_VECTORISED) return 0;
    if (st->flags & DB_STRATEGY_MATERIALISES) return 1;
    if (kind & DB_OPERATOR_KNOWS_DIAGONAL) return 0;
    /* the tags the cell's operator will carry (runner.c), and the strategy's fallback rule */
    unsigned tags =
        o->untagged ? 0 : db_tags_implied(db_tags_for_structure(db_workload_tag_structure(c->wl)));
    return !(tags & st->required_tags) || (o->on_mismatch_fallback && st->fallback_bytes);
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

size_t db_plan_matrix_sizes(const struct db_plan *p, const unsigned char *sel,
                            const struct db_run_opts *o, size_t *out) {
    size_t k = 0;
    for (size_t u = 0; u < p->ncells; u++) {
        if (sel && !sel[u]) continue;
        struct db_cell c = p->cells[u];
        if (c.kind != DB_CELL_DIAGONAL && !extraction_cell(&p->cells[u], &c)) continue;
        if (!db_plan_cell_writes_matrix(&c, o)) continue;
        if (o->mem_budget && db_cost_mul(db_cost_mul(c.n, c.n), sizeof(double)) > o->mem_budget)
            continue; /* skipped_memory: never written */
        out[k++] = c.n;
    }
    qsort(out, k, sizeof *out, cmp_size);
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        if (!m || out[m - 1] != out[i]) out[m++] = out[i];
    return m;
}

/* ---- the plan ----------------------------------------------------------------------------- */

/* The cell part of an item's name: "workload/operator/jac/strategy/n=N". */
static void unit_name(const struct db_plan *p, size_t u, char *buf, size_t len) {
    const struct db_cell *c = &p->cells[u];
    char w[80], s[80];
    snprintf(buf, len, "%s/%s/%s/%s/n=%zu", db_cell_workload_name(c, w, sizeof w), c->op_kind,
             db_jac_name(c->jac), db_cell_strategy_name(c, s, sizeof s), c->n);
}

void db_plan_item_name(const struct db_plan *p, size_t item, char *buf, size_t len) {
    const struct db_plan_item *it = &p->items[item];
    char u[256];
    unit_name(p, it->cell, u, sizeof u);
    snprintf(buf, len, "%s/%s", u, p->configs[it->config].name);
}

int db_plan_is_calibration(const char *workload) {
    return strcmp(workload, "_calibrate") == 0;
}

/* The configuration part of a name, from a row's fields (each only when swept). */
static void config_key(const struct db_plan *p, const char *threads, const char *bind,
                       const char *places, char *buf, size_t len) {
    int used = snprintf(buf, len, "t=%s", p->sweep_threads ? threads : "env");
    if (p->sweep_bind && used >= 0 && (size_t)used < len)
        used += snprintf(buf + used, len - (size_t)used, "/bind=%s", bind);
    if (p->sweep_places && used >= 0 && (size_t)used < len)
        snprintf(buf + used, len - (size_t)used, "/places=%s", places);
}

long db_plan_config_find(const struct db_plan *p, const char *threads, const char *proc_bind,
                         const char *places) {
    char key[256];
    config_key(p, threads, proc_bind, places, key, sizeof key);
    for (size_t i = 0; i < p->nconfigs; i++)
        if (strcmp(p->configs[i].name, key) == 0) return (long)i;
    return -1;
}

static int cmp_key(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *const *sort_names; /* qsort has no context argument */
static int cmp_name_index(const void *a, const void *b) {
    return strcmp(sort_names[*(const size_t *)a], sort_names[*(const size_t *)b]);
}

/* keys: the item names in sorted order; key_item: the item each key names. */
static int build_keys(struct db_plan *p) {
    size_t cap = p->nitems ? p->nitems : 1;
    char **names = calloc(cap, sizeof *names);
    p->keys = calloc(cap, sizeof *p->keys);
    p->key_item = calloc(cap, sizeof *p->key_item);
    int rc = names && p->keys && p->key_item ? DB_OK : DB_E_NOMEM;
    for (size_t i = 0; rc == DB_OK && i < p->nitems; i++) {
        char buf[256];
        db_plan_item_name(p, i, buf, sizeof buf);
        if (!(names[i] = strdup(buf))) rc = DB_E_NOMEM;
        p->key_item[i] = i;
    }
    if (rc == DB_OK) {
        sort_names = names;
        qsort(p->key_item, p->nitems, sizeof *p->key_item, cmp_name_index);
        for (size_t i = 0; i < p->nitems; i++)
            p->keys[i] = names[p->key_item[i]];
    } else if (names) {
        for (size_t i = 0; i < p->nitems; i++)
            free(names[i]);
    }
    free(names);
    return rc;
}

long db_plan_find(const struct db_plan *p, const char *workload, const char *op, const char *jac,
                  const char *strategy, const char *n, const char *threads, const char *proc_bind,
                  const char *places) {
    char key[768], cfg[256];
    config_key(p, threads, proc_bind, places, cfg, sizeof cfg);
    snprintf(key, sizeof key, "%s/%s/%s/%s/n=%s/%s", workload, op, jac, strategy, n, cfg);
    const char *k = key;
    char **hit = bsearch(&k, p->keys, p->nitems, sizeof *p->keys, cmp_key);
    return hit ? (long)p->key_item[hit - p->keys] : -1;
}

/* --bind names as omp_get_proc_bind() reports them (provenance.c): primary and master are one. */
static const char *bind_as_recorded(const char *b) {
    return strcmp(b, "master") == 0 ? "primary" : b;
}

/* The configurations: -t x --bind x --places, thread count major (the sweep's order). */
static int build_configs(const struct db_cli *cli, struct db_plan *p) {
    size_t nt = cli->nthreads ? cli->nthreads : 1, nb = cli->nbinds ? cli->nbinds : 1,
           np = cli->nplaces ? cli->nplaces : 1;
    p->sweep_threads = cli->nthreads > 0;
    p->sweep_bind = cli->nbinds > 0;
    p->sweep_places = cli->nplaces > 0;
    p->nconfigs = nt * nb * np;
    p->configs = calloc(p->nconfigs, sizeof *p->configs);
    if (!p->configs) return DB_E_NOMEM;
    size_t i = 0;
    for (size_t t = 0; t < nt; t++)
        for (size_t b = 0; b < nb; b++)
            for (size_t q = 0; q < np; q++, i++) {
                struct db_plan_config *c = &p->configs[i];
                c->threads = cli->nthreads ? cli->threads[t] : 0;
                if (cli->nbinds) {
                    snprintf(c->env_bind, sizeof c->env_bind, "%s", cli->binds[b]);
                    snprintf(c->bind, sizeof c->bind, "%s", bind_as_recorded(cli->binds[b]));
                }
                if (cli->nplaces) snprintf(c->places, sizeof c->places, "%s", cli->places[q]);
                char th[16];
                snprintf(th, sizeof th, "%d", c->threads);
                config_key(p, th, c->bind, c->places, c->name, sizeof c->name);
            }
    return DB_OK;
}

int db_plan_build(const struct db_cli *cli, struct db_plan *p, char *err, size_t errlen) {
    memset(p, 0, sizeof *p);
    const struct db_preset *preset = cli->matrix ? db_preset_find(cli->matrix) : NULL;
    int rc = DB_OK;
    if (cli->calibrate)
        ; /* calibration rows only: no cells */
    else if (preset) {
        rc = db_preset_cells(preset, &p->cells, &p->ncells, err, errlen);
        if (rc == DB_OK)
            rc = db_preset_downstream_cells(preset, cli->lu_max_n, &p->cells, &p->ncells, err,
                                            errlen);
    } else {
        rc = db_selection_cells(&cli->sel, &p->cells, &p->ncells);
        if (rc == DB_OK) rc = db_selection_downstream_cells(&cli->sel, &p->cells, &p->ncells);
    }
    if (rc != DB_OK) goto fail;
    p->calibrate = cli->calibrate || cli->matrix;
    if ((rc = build_configs(cli, p)) != DB_OK) goto fail;
    p->nitems = p->nconfigs * p->ncells;
    p->items = calloc(p->nitems ? p->nitems : 1, sizeof *p->items);
    unsigned long long *cost = calloc(p->nitems ? p->nitems : 1, sizeof *cost);
    unsigned *shard = calloc(p->nitems ? p->nitems : 1, sizeof *shard);
    rc = p->items && cost && shard ? DB_OK : DB_E_NOMEM;
    p->shard_k = cli->shard_n ? cli->shard_k : 1;
    p->shard_n = cli->shard_n ? cli->shard_n : 1;
    if (rc == DB_OK) {
        for (size_t k = 0; k < p->nconfigs; k++)
            for (size_t c = 0; c < p->ncells; c++) {
                struct db_plan_item *it = &p->items[k * p->ncells + c];
                it->cell = c;
                it->config = k;
                it->t = p->configs[k].threads;
                it->cost = cost[k * p->ncells + c] = db_plan_cost(&p->cells[c], &cli->run, it->t);
            }
        rc = db_shard_assign(cost, p->nitems, p->shard_n, shard);
    }
    if (rc == DB_OK)
        for (size_t i = 0; i < p->nitems; i++)
            p->items[i].shard = shard[i];
    free(cost);
    free(shard);
    if (rc == DB_OK) rc = db_plan_matrix_string(cli, &p->matrix);
    if (rc == DB_OK) rc = build_keys(p);
    if (rc != DB_OK) goto fail;
    matrix_id(cli, p->matrix, p->matrix_id);
    return DB_OK;
fail:
    if (rc != DB_E_INVALID) snprintf(err, errlen, "%s", db_strerror(rc));
    db_plan_free(p);
    return rc;
}

void db_plan_free(struct db_plan *p) {
    if (p->keys)
        for (size_t i = 0; i < p->nitems; i++)
            free(p->keys[i]);
    free(p->keys);
    free(p->key_item);
    free(p->cells);
    free(p->configs);
    free(p->items);
    free(p->matrix);
    memset(p, 0, sizeof *p);
}

/* ---- index sets --------------------------------------------------------------------------- */

int db_plan_format_indices(const unsigned char *sel, size_t count, char **out) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return DB_E_NOMEM;
    int first = 1;
    for (size_t i = 0; i < count;) {
        if (!sel[i]) {
            i++;
            continue;
        }
        size_t j = i;
        while (j + 1 < count && sel[j + 1])
            j++;
        fprintf(f, first ? "%zu" : ",%zu", i);
        if (j > i) fprintf(f, "-%zu", j);
        first = 0;
        i = j + 1;
    }
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return DB_E_NOMEM;
    }
    *out = buf;
    return DB_OK;
}

static int index_at(const char **p, size_t count, size_t *v) {
    if (!isdigit((unsigned char)**p)) return DB_E_INVALID;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(*p, &end, 10);
    if (errno || x >= count) return DB_E_INVALID;
    *p = end;
    *v = (size_t)x;
    return DB_OK;
}

int db_plan_parse_indices(const char *s, unsigned char *sel, size_t count) {
    memset(sel, 0, count);
    if (!*s) return DB_OK; /* the empty set */
    const char *p = s;
    for (;;) {
        size_t a, b;
        DB_CHECK(index_at(&p, count, &a));
        b = a;
        if (*p == '-') {
            p++;
            DB_CHECK(index_at(&p, count, &b));
            if (b < a) return DB_E_INVALID;
        }
        memset(sel + a, 1, b - a + 1);
        if (!*p) return DB_OK;
        if (*p++ != ',') return DB_E_INVALID;
    }
}
