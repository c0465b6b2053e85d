/* Exact reference derivatives with scalar libm (this file's TU has no SIMD declarations). */
#ifndef DB_REFERENCE_H
#define DB_REFERENCE_H

#include <stddef.h>

/* y = sin(x). */
void db_reference_sin(size_t n, const double *x, double *y);
/* d = cos(x). */
void db_reference_sin_deriv(size_t n, const double *x, double *d);
/* d = cos(x[:h]) ++ -sin(x[h:]), h = n/2. */
void db_reference_split_deriv(size_t n, const double *x, double *d);

#endif
