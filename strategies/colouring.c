/* Distance-2 column colouring: optimised kernels (neighbourhoods walked through the pattern and
 * its transpose with a stamp array, dynamic orderings with a lazy binary heap) and the plain
 * reference kernels (an explicit n x n adjacency matrix and O(n^2) selection loops). */
#include "strategies/colouring.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

const char *db_ordering_name(enum db_ordering o) {
    switch (o) {
    case DB_ORDER_LARGEST_FIRST:
        return "largest-first";
    case DB_ORDER_SMALLEST_LAST:
        return "smallest-last";
    case DB_ORDER_INCIDENCE_DEGREE:
        return "incidence-degree";
    case DB_ORDER_NATURAL:
        return "natural";
    }
    return "?";
}

/* ---- optimised ----------------------------------------------------------------------------- */

/* The column intersection graph of P, walked on the fly. */
struct d2 {
    const struct db_sparse *P;
    struct db_sparse PT; /* column j of P = row j of PT */
    size_t *mark;        /* stamp per column */
    size_t stamp;
    size_t *buf; /* neighbours of the last query */
};

static void d2_free(struct d2 *g) {
    db_sparse_free(&g->PT);
    free(g->mark);
    free(g->buf);
}

static int d2_init(struct d2 *g, const struct db_sparse *P) {
    memset(g, 0, sizeof *g);
    g->P = P;
    DB_CHECK(db_sparse_transpose(P, &g->PT));
    size_t n = P->n, width = 1;
    for (size_t j = 0; j < n; j++) { /* most column visits any one query can make */
        size_t w = 0;
        for (size_t e = g->PT.row_ptr[j]; e < g->PT.row_ptr[j + 1]; e++) {
            size_t i = g->PT.col_idx[e];
            w += P->row_ptr[i + 1] - P->row_ptr[i];
        }
        width = w > width ? w : width;
    }
    g->mark = malloc((n ? n : 1) * sizeof *g->mark);
    g->buf = malloc(width * sizeof *g->buf);
    if (!g->mark || !g->buf) {
        d2_free(g);
        return DB_E_NOMEM;
    }
    for (size_t j = 0; j < n; j++)
        g->mark[j] = DB_SPARSE_NONE;
    return DB_OK;
}

/* Distinct columns other than j that share a row with j, into g->buf; returns their number. */
static size_t d2_neighbours(struct d2 *g, size_t j) {
    const struct db_sparse *P = g->P;
    size_t s = g->stamp++, k = 0;
    g->mark[j] = s;
    for (size_t e = g->PT.row_ptr[j]; e < g->PT.row_ptr[j + 1]; e++) {
        size_t i = g->PT.col_idx[e];
        for (size_t f = P->row_ptr[i]; f < P->row_ptr[i + 1]; f++) {
            size_t u = P->col_idx[f];
            if (g->mark[u] != s) {
                g->mark[u] = s;
                g->buf[k++] = u;
            }
        }
    }
    return k;
}

/* A binary heap of (priority, stamp, column): smallest priority first, then the largest stamp
 * (the most recently updated column). */
struct entry {
    size_t prio, stamp, col;
};

struct heap {
    struct entry *a;
    size_t len, cap;
};

static int before(const struct entry *x, const struct entry *y) {
    return x->prio < y->prio || (x->prio == y->prio && x->stamp > y->stamp);
}

static int heap_push(struct heap *h, struct entry e) {
    if (h->len == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 1024;
        struct entry *a = realloc(h->a, cap * sizeof *a);
        if (!a) return DB_E_NOMEM;
        h->a = a;
        h->cap = cap;
    }
    size_t i = h->len++;
    while (i > 0 && before(&e, &h->a[(i - 1) / 2])) {
        h->a[i] = h->a[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->a[i] = e;
    return DB_OK;
}

static struct entry heap_pop(struct heap *h) {
    struct entry top = h->a[0], last = h->a[--h->len];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->len) break;
        if (c + 1 < h->len && before(&h->a[c + 1], &h->a[c])) c++;
        if (!before(&h->a[c], &last)) break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->len) h->a[i] = last;
    return top;
}

static int order_largest_first(struct d2 *g, size_t *order) {
    size_t n = g->P->n, maxd = 0;
    size_t *deg = malloc(n * sizeof *deg), *count = NULL;
    if (!deg) return DB_E_NOMEM;
    for (size_t j = 0; j < n; j++) {
        deg[j] = d2_neighbours(g, j);
        maxd = deg[j] > maxd ? deg[j] : maxd;
    }
    count = calloc(maxd + 2, sizeof *count);
    if (!count) {
        free(deg);
        return DB_E_NOMEM;
    }
    for (size_t j = 0; j < n; j++) /* start of degree d's block: columns of larger degree */
        count[maxd - deg[j] + 1]++;
    for (size_t d = 1; d <= maxd + 1; d++)
        count[d] += count[d - 1];
    for (size_t j = 0; j < n; j++) /* stable: ascending index within a degree */
        order[count[maxd - deg[j]]++] = j;
    free(count);
    free(deg);
    return DB_OK;
}

/* Dynamic orderings. Smallest-last: repeatedly remove a column of least degree in the graph of
 * the columns not yet removed; colour in reverse removal order. Incidence-degree: repeatedly take
 * the column with the most already-taken neighbours. Ties go to the most recently updated column
 * (a stamp set when its degree or incidence last changed; initially its index), as bucket-list
 * implementations (LIFO buckets) do: this keeps the sweep spatially coherent on meshes. */
static int order_dynamic(struct d2 *g, size_t *order, int smallest_last) {
    size_t n = g->P->n, next_stamp = n;
    size_t *val = malloc(n * sizeof *val), *stamp = malloc(n * sizeof *stamp);
    unsigned char *done = calloc(n, 1);
    struct heap h = {0};
    int rc = val && stamp && done ? DB_OK : DB_E_NOMEM;
    const size_t top = n; /* incidence-degree priority: n - incidence (incidence < n) */
    for (size_t j = 0; rc == DB_OK && j < n; j++) {
        val[j] = smallest_last ? d2_neighbours(g, j) : 0; /* degree, or incidence */
        stamp[j] = j;
    }
#define PRIO(u) (smallest_last ? val[u] : top - val[u])
    for (size_t j = 0; rc == DB_OK && j < n; j++)
        rc = heap_push(&h, (struct entry){PRIO(j), stamp[j], j});
    for (size_t t = 0; rc == DB_OK && t < n;) {
        struct entry e = heap_pop(&h);
        size_t j = e.col;
        if (done[j] || e.stamp != stamp[j]) continue; /* stale */
        done[j] = 1;
        order[smallest_last ? n - 1 - t : t] = j;
        t++;
        size_t m = d2_neighbours(g, j);
        for (size_t a = 0; rc == DB_OK && a < m; a++) {
            size_t u = g->buf[a];
            if (done[u]) continue;
            if (smallest_last)
                val[u]--;
            else
                val[u]++;
            stamp[u] = next_stamp++;
            rc = heap_push(&h, (struct entry){PRIO(u), stamp[u], u});
        }
    }
#undef PRIO
    free(h.a);
    free(done);
    free(stamp);
    free(val);
    return rc;
}

int db_column_ordering(const struct db_sparse *P, enum db_ordering o, size_t *order) {
    if (o == DB_ORDER_NATURAL) {
        for (size_t j = 0; j < P->n; j++)
            order[j] = j;
        return DB_OK;
    }
    struct d2 g;
    DB_CHECK(d2_init(&g, P));
    int rc;
    switch (o) {
    case DB_ORDER_LARGEST_FIRST:
        rc = order_largest_first(&g, order);
        break;
    case DB_ORDER_SMALLEST_LAST:
        rc = order_dynamic(&g, order, 1);
        break;
    case DB_ORDER_INCIDENCE_DEGREE:
        rc = order_dynamic(&g, order, 0);
        break;
    default:
        rc = DB_E_INVALID;
    }
    d2_free(&g);
    return rc;
}

int db_colour_greedy(const struct db_sparse *P, const size_t *order, size_t *colour,
                     size_t *ncolours) {
    size_t n = P->n, k = 0;
    struct d2 g;
    DB_CHECK(d2_init(&g, P));
    size_t *forbidden = malloc((n + 1) * sizeof *forbidden);
    if (!forbidden) {
        d2_free(&g);
        return DB_E_NOMEM;
    }
    for (size_t c = 0; c <= n; c++)
        forbidden[c] = DB_SPARSE_NONE;
    for (size_t j = 0; j < n; j++)
        colour[j] = DB_SPARSE_NONE;
    for (size_t t = 0; t < n; t++) {
        size_t j = order[t], m = d2_neighbours(&g, j);
        for (size_t a = 0; a < m; a++) {
            size_t c = colour[g.buf[a]];
            if (c != DB_SPARSE_NONE) forbidden[c] = t;
        }
        size_t c = 0;
        while (forbidden[c] == t)
            c++;
        colour[j] = c;
        k = c + 1 > k ? c + 1 : k;
    }
    free(forbidden);
    d2_free(&g);
    *ncolours = k;
    return DB_OK;
}

int db_colour_columns(const struct db_sparse *P, enum db_ordering o, size_t *colour,
                      size_t *ncolours) {
    size_t *order = malloc((P->n ? P->n : 1) * sizeof *order);
    if (!order) return DB_E_NOMEM;
    int rc = db_column_ordering(P, o, order);
    if (rc == DB_OK) rc = db_colour_greedy(P, order, colour, ncolours);
    free(order);
    return rc;
}

int db_colour_columns_best(const struct db_sparse *P, size_t *colour, size_t *ncolours,
                           enum db_ordering *chosen, size_t counts[DB_ORDERING_COUNT]) {
    size_t n = P->n, best = DB_SPARSE_NONE;
    size_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (!tmp) return DB_E_NOMEM;
    int rc = DB_OK;
    for (int o = 0; o < DB_ORDERING_COUNT && rc == DB_OK; o++) {
        size_t k;
        rc = db_colour_columns(P, (enum db_ordering)o, tmp, &k);
        if (rc != DB_OK) break;
        if (counts) counts[o] = k;
        if (k < best) {
            best = k;
            memcpy(colour, tmp, n * sizeof *tmp);
            if (chosen) *chosen = (enum db_ordering)o;
        }
    }
    free(tmp);
    if (rc == DB_OK) *ncolours = best;
    return rc;
}

int db_colouring_check(const struct db_sparse *P, const size_t *colour, size_t ncolours) {
    size_t n = P->n;
    for (size_t j = 0; j < n; j++)
        if (colour[j] >= ncolours) return DB_E_INVALID;
    size_t *seen = malloc((ncolours ? ncolours : 1) * sizeof *seen);
    if (!seen) return DB_E_NOMEM;
    for (size_t c = 0; c < ncolours; c++)
        seen[c] = DB_SPARSE_NONE;
    int rc = DB_OK;
    for (size_t i = 0; i < n && rc == DB_OK; i++)
        for (size_t e = P->row_ptr[i]; e < P->row_ptr[i + 1]; e++) {
            size_t c = colour[P->col_idx[e]];
            if (seen[c] == i) {
                rc = DB_E_INVALID;
                break;
            }
            seen[c] = i;
        }
    free(seen);
    return rc;
}

/* ---- plain reference ----------------------------------------------------------------------- */

/* adj[a*n + b] = 1 when columns a != b share a row. */
static unsigned char *reference_adjacency(const struct db_sparse *P) {
    size_t n = P->n;
    if (n > DB_COLOURING_REFERENCE_MAX) return NULL;
    unsigned char *adj = calloc(n * n + 1, 1);
    if (!adj) return NULL;
    for (size_t i = 0; i < n; i++)
        for (size_t e = P->row_ptr[i]; e < P->row_ptr[i + 1]; e++)
            for (size_t f = P->row_ptr[i]; f < P->row_ptr[i + 1]; f++)
                if (e != f) adj[P->col_idx[e] * n + P->col_idx[f]] = 1;
    return adj;
}

int db_column_ordering_reference(const struct db_sparse *P, enum db_ordering o, size_t *order) {
    size_t n = P->n, next_stamp = n;
    unsigned char *adj = reference_adjacency(P);
    size_t *val = calloc(n, sizeof *val), *stamp = calloc(n, sizeof *stamp);
    size_t *seen = calloc(n, sizeof *seen); /* t + 1 when visited for the t-th pick */
    unsigned char *done = calloc(n, 1);
    if (!adj || !val || !stamp || !seen || !done) {
        free(adj), free(val), free(stamp), free(seen), free(done);
        return n > DB_COLOURING_REFERENCE_MAX ? DB_E_UNSUPPORTED : DB_E_NOMEM;
    }
    for (size_t a = 0; a < n; a++) {
        stamp[a] = a;
        if (o == DB_ORDER_LARGEST_FIRST || o == DB_ORDER_SMALLEST_LAST)
            for (size_t b = 0; b < n; b++)
                val[a] += adj[a * n + b];
    }
    for (size_t t = 0; t < n; t++) {
        size_t pick = DB_SPARSE_NONE;
        for (size_t j = 0; j < n; j++) {
            if (done[j]) continue;
            int better;
            if (pick == DB_SPARSE_NONE)
                better = 1;
            else if (o == DB_ORDER_LARGEST_FIRST) /* static: ties keep the smaller index */
                better = val[j] > val[pick];
            else if (o == DB_ORDER_SMALLEST_LAST) /* ties: the most recently updated */
                better = val[j] < val[pick] || (val[j] == val[pick] && stamp[j] > stamp[pick]);
            else if (o == DB_ORDER_INCIDENCE_DEGREE)
                better = val[j] > val[pick] || (val[j] == val[pick] && stamp[j] > stamp[pick]);
            else
                better = 0; /* natural */
            if (better) pick = j;
        }
        done[pick] = 1;
        order[o == DB_ORDER_SMALLEST_LAST ? n - 1 - t : t] = pick;
        if (o != DB_ORDER_SMALLEST_LAST && o != DB_ORDER_INCIDENCE_DEGREE) continue;
        /* Update the neighbours in the order the optimised kernel visits them (rows holding
         * pick ascending, the columns of each row ascending, first visit only), so that both
         * kernels give the same stamps. */
        for (size_t i = 0; i < n; i++) {
            size_t e0 = P->row_ptr[i], e1 = P->row_ptr[i + 1];
            int has = 0;
            for (size_t e = e0; e < e1; e++)
                has |= P->col_idx[e] == pick;
            for (size_t e = e0; has && e < e1; e++) {
                size_t u = P->col_idx[e];
                if (u == pick || seen[u] == t + 1) continue;
                seen[u] = t + 1;
                if (done[u]) continue;
                if (o == DB_ORDER_SMALLEST_LAST)
                    val[u]--;
                else
                    val[u]++;
                stamp[u] = next_stamp++;
            }
        }
    }
    free(adj), free(val), free(stamp), free(done), free(seen);
    return DB_OK;
}

int db_colour_greedy_reference(const struct db_sparse *P, const size_t *order, size_t *colour,
                               size_t *ncolours) {
    size_t n = P->n, k = 0;
    unsigned char *adj = reference_adjacency(P);
    unsigned char *used = malloc(n + 1);
    if (!adj || !used) {
        free(adj), free(used);
        return n > DB_COLOURING_REFERENCE_MAX ? DB_E_UNSUPPORTED : DB_E_NOMEM;
    }
    for (size_t j = 0; j < n; j++)
        colour[j] = DB_SPARSE_NONE;
    for (size_t t = 0; t < n; t++) {
        size_t j = order[t];
        memset(used, 0, n + 1);
        for (size_t u = 0; u < n; u++)
            if (adj[j * n + u] && colour[u] != DB_SPARSE_NONE) used[colour[u]] = 1;
        size_t c = 0;
        while (used[c])
            c++;
        colour[j] = c;
        k = c + 1 > k ? c + 1 : k;
    }
    free(adj), free(used);
    *ncolours = k;
    return DB_OK;
}
