/* Deterministic random numbers (splitmix64): the same seed gives the same numbers on every
 * machine and thread count. Used for random sparse patterns and the checked probe's vector. */
#ifndef DB_RNG_H
#define DB_RNG_H

#include <stddef.h>
#include <stdint.h>

/* Next 64 random bits; advances *state. */
uint64_t db_rng_next(uint64_t *state);
/* Uniform double in [0, 1) (53 random bits); advances *state. */
double db_rng_uniform(uint64_t *state);
/* Fill v with n independent standard Gaussian numbers drawn from seed (Box-Muller). */
void db_rng_gaussian_fill(uint64_t seed, size_t n, double *v);

#endif
