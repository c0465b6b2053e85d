#include "reference.h"

#include <math.h>

void db_reference_sin(size_t n, const double *x, double *y) {
    for (size_t i = 0; i < n; i++)
        y[i] = sin(x[i]);
}

void db_reference_sin_deriv(size_t n, const double *x, double *d) {
    for (size_t i = 0; i < n; i++)
        d[i] = cos(x[i]);
}

void db_reference_split_deriv(size_t n, const double *x, double *d) {
    size_t h = n / 2;
    for (size_t i = 0; i < n; i++)
        d[i] = i < h ? cos(x[i]) : -sin(x[i]);
}
