#include "workloads/reference.h"

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

/* pi - M_PI: the double M_PI is pi rounded down by about 1.22e-16 (this double is that
 * difference rounded to nearest); pi/2 - M_PI_2 is half of it. */
static const double pi_lo = 1.2246467991473532e-16;

/* |x - (k pi + shift)| for the nearest k, with true pi (not only the double M_PI) and
 * shift = shift_hi + shift_lo: x - shift_hi exactly as y + e (TwoSum, Higham §4.3), the
 * remainder of y by M_PI exactly, then the k (pi - M_PI) and shift_lo the doubles lose are put
 * back. Exact up to the last few roundings of a small result. */
static double distance_to_lattice(double x, double shift_hi, double shift_lo) {
    if (!isfinite(x)) return INFINITY;
    double y = x - shift_hi, z = y - x, e = (x - (y - z)) + (-shift_hi - z);
    double r = remainder(y, M_PI);
    double k = nearbyint((y - r) / M_PI);
    return fabs(((r + e) - k * pi_lo) - shift_lo);
}

void db_reference_sin_root_distance(size_t n, const double *x, double *dist) {
    for (size_t i = 0; i < n; i++)
        dist[i] = distance_to_lattice(x[i], 0.0, 0.0);
}

void db_reference_split_root_distance(size_t n, const double *x, double *dist) {
    size_t h = n / 2;
    for (size_t i = 0; i < n; i++)
        dist[i] = i < h ? distance_to_lattice(x[i], 0.0, 0.0)
                        : distance_to_lattice(x[i], M_PI_2, pi_lo / 2);
}
