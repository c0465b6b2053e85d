/* Distance-2 column colouring of a sparsity pattern (Curtis-Powell-Reid; Gebremedhin, Manne and
 * Pothen, "What color is your Jacobian?", 2005): columns that share a row get different colours,
 * so the columns of one colour are structurally orthogonal and one product with their sum
 * recovers all their entries. Greedy first-fit over an ordering; orderings compare by the
 * distance-2 degree (number of other columns sharing a row). Ties are broken by the smaller
 * column index, so the optimised kernels and the plain reference kernels (O(n^2), small n only)
 * give identical colourings. Plain C with C linkage (the ColPack comparison includes it). */
#ifndef DB_COLOURING_H
#define DB_COLOURING_H

#include <stddef.h>

#include "core/sparse.h"

#ifdef __cplusplus
extern "C" {
#endif

enum db_ordering {
    DB_ORDER_LARGEST_FIRST,    /* static: distance-2 degree, largest first */
    DB_ORDER_SMALLEST_LAST,    /* dynamic: repeatedly remove a column of least remaining degree;
                                  colour in reverse removal order */
    DB_ORDER_INCIDENCE_DEGREE, /* dynamic: next is a column with the most already-ordered
                                  distance-2 neighbours */
    DB_ORDER_NATURAL,          /* column index order */
};
#define DB_ORDERING_COUNT 4

/* "largest-first", "smallest-last", "incidence-degree", "natural". */
const char *db_ordering_name(enum db_ordering o);

/* Largest plain-reference size (the reference kernels keep an n x n adjacency matrix). */
#define DB_COLOURING_REFERENCE_MAX 4096

/* The order (a permutation of the n columns of P) in which greedy colours the columns. */
int db_column_ordering(const struct db_sparse *P, enum db_ordering o, size_t *order);
int db_column_ordering_reference(const struct db_sparse *P, enum db_ordering o, size_t *order);

/* Greedy first-fit distance-2 colouring of P's columns in the given order: colour[j] in
 * [0, *ncolours). */
int db_colour_greedy(const struct db_sparse *P, const size_t *order, size_t *colour,
                     size_t *ncolours);
int db_colour_greedy_reference(const struct db_sparse *P, const size_t *order, size_t *colour,
                               size_t *ncolours);

/* Ordering + greedy in one call. */
int db_colour_columns(const struct db_sparse *P, enum db_ordering o, size_t *colour,
                      size_t *ncolours);

/* The colouring with the fewest colours over all orderings (ties: enum order). counts, if not
 * NULL, receives each ordering's colour count (indexed by enum db_ordering). */
int db_colour_columns_best(const struct db_sparse *P, size_t *colour, size_t *ncolours,
                           enum db_ordering *chosen, size_t counts[DB_ORDERING_COUNT]);

/* DB_OK when colour is a valid distance-2 colouring with colours < ncolours: no two columns of
 * one colour share a row; DB_E_INVALID otherwise. */
int db_colouring_check(const struct db_sparse *P, const size_t *colour, size_t ncolours);

#ifdef __cplusplus
}
#endif

#endif
