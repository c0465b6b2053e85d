#include "core/rng.h"

#include <math.h>

uint64_t db_rng_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double db_rng_uniform(uint64_t *state) {
    return (double)(db_rng_next(state) >> 11) * 0x1.0p-53;
}

void db_rng_gaussian_fill(uint64_t seed, size_t n, double *v) {
    const double two_pi = 6.283185307179586;
    uint64_t s = seed;
    for (size_t i = 0; i < n; i += 2) {
        double u1 = 1.0 - db_rng_uniform(&s); /* (0, 1]: log stays finite */
        double u2 = db_rng_uniform(&s);
        double r = sqrt(-2.0 * log(u1));
        v[i] = r * cos(two_pi * u2);
        if (i + 1 < n) v[i + 1] = r * sin(two_pi * u2);
    }
}
