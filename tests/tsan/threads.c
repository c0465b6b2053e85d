/* `make tsan`: the threaded paths of the conformance suite under ThreadSanitizer, in a plain
 * driver because Criterion's sandbox cannot start under TSan (Snaipe/Criterion#274, open).
 * Every workload x operator x jac x strategy runs with 1 and 2 OpenMP threads at sizes that take
 * the parallel paths (materialise over column blocks, the dense matrix build, OpenBLAS dgemv,
 * the diagonal operator), and must give the reference diagonal, identical for both counts.
 * Exit status: 0 clean, 1 a wrong answer (TSan itself exits 66 on a race). */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strategies/strategy.h"
#include "workloads/workload.h"

static int failures;

static void check(const struct db_workload *wl, const char *kind, enum db_jac jac,
                  const struct db_strategy *st, size_t n, int tagged) {
    double *d[2] = {NULL, NULL};
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        struct db_instance *in;
        struct db_operator *op;
        int crc = db_instance_create(wl, n, 0, &in);
        if (crc == DB_E_INVALID || crc == DB_E_UNSUPPORTED) { /* stencil: squares only */
            free(d[0]);
            return;
        }
        if (crc != DB_OK) {
            fprintf(stderr, "%s n=%zu: %s\n", wl->name, n, db_strerror(crc));
            failures++;
            free(d[0]);
            return;
        }
        unsigned tags = tagged ? db_tags_for_structure(wl->structure) : 0;
        if (db_operator_create(kind, jac, in, tags, &op) != DB_OK) {
            db_instance_destroy(in);
            return; /* this kind cannot represent the workload */
        }
        double *ref = malloc(n * sizeof *ref);
        d[t] = malloc(n * sizeof *d[t]);
        struct db_strategy_ctx ctx = {0};
        int rc = db_instance_reference_diagonal(in, ref);
        if (rc == DB_OK) rc = st->run(op, d[t], &ctx);
        if (rc == DB_OK) {
            /* th_entry_rel() of tests/helpers.c (not linked here: it needs Criterion): the
             * kernels' libmvec (<= 4 ulp) against scalar libm (<= 1 ulp), one rounding each */
            const double eta = 12 * (DBL_EPSILON / 2) / (1 - 12 * (DBL_EPSILON / 2));
            for (size_t i = 0; i < n; i++)
                if (!(fabs(d[t][i] - ref[i]) <= eta * fabs(ref[i]))) {
                    fprintf(stderr, "%s/%s/%s/%s n=%zu t=%d: diag[%zu] = %g, reference %g\n",
                            wl->name, kind, db_jac_name(jac), st->name, n, t + 1, i, d[t][i],
                            ref[i]);
                    failures++;
                    break;
                }
        } else if (rc != DB_E_UNSUPPORTED) {
            fprintf(stderr, "%s/%s/%s/%s n=%zu: %s\n", wl->name, kind, db_jac_name(jac), st->name,
                    n, db_strerror(rc));
            failures++;
        }
        db_strategy_ctx_free(&ctx);
        free(ref);
        db_operator_destroy(op);
        db_instance_destroy(in);
        if (rc != DB_OK) {
            free(d[t]);
            d[t] = NULL;
        }
    }
    if (d[0] && d[1] && memcmp(d[0], d[1], n * sizeof(double)) != 0) {
        fprintf(stderr, "%s/%s/%s/%s n=%zu: 1 and 2 threads differ\n", wl->name, kind,
                db_jac_name(jac), st->name, n);
        failures++;
    }
    free(d[0]);
    free(d[1]);
}

int main(void) {
    const char *kinds[] = {"jacobian", "jacobian", "function", "matrix", "diagonal"};
    enum db_jac jacs[] = {DB_JAC_FWD, DB_JAC_BWD, DB_JAC_NONE, DB_JAC_NONE, DB_JAC_NONE};
    size_t sizes[] = {1, 67, 513, 529}; /* 529 = 23^2 for stencil */
    int combos = 0;
    for (size_t w = 0; w < db_workload_count; w++)
        for (size_t k = 0; k < 5; k++)
            for (size_t s = 0; s < db_strategy_count; s++)
                for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++)
                    for (int tagged = 0; tagged < 2; tagged++) {
                        check(db_workloads[w], kinds[k], jacs[k], db_strategies[s], sizes[z],
                              tagged);
                        combos++;
                    }
    printf("tsan threads: %d combinations, %d failures\n", combos, failures);
    return failures ? 1 : 0;
}
