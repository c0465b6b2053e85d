// Colouring comparison with ColPack (`make compare-colpack`): for the 5-point stencil and the
// random sparse pattern (and a band), our greedy distance-2 column colouring per ordering next
// to ColPack's BipartiteGraphPartialColoringInterface "COLUMN_PARTIAL_DISTANCE_TWO" colouring
// with the same ordering, and the lower bound (most non-zeros in a row). Both colourings are
// checked for structural orthogonality with db_colouring_check. Not part of `make test-c`.
//
// ColPack built with OpenMP (as Debian's is) colours with a speculative parallel greedy whose
// result depends on thread timing. The verdict compares with ColPack on 1 OpenMP thread (its
// deterministic sequential greedy over the same ordering); ColPack with the default thread count
// is shown for information.
#include <ColPack/ColPackHeaders.h>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "strategies/colouring.h"
#include "core/sparse.h"
extern "C" {
#include "core/status.h" // a C header without C++ guards
}

namespace {

struct Case {
    const char *label, *workload;
    size_t n;
};

double seconds(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ColPack's colour count (and validity of its colouring) for one ordering; -1 on failure.
long colpack_colours(const db_sparse &P, const char *ordering, int threads, double *secs,
                     bool *valid) {
    omp_set_num_threads(threads);
    int n = (int)P.n;
    std::vector<unsigned int *> rows((size_t)n);
    for (int i = 0; i < n; i++) { // ADOL-C row-compressed format: [count, columns...]
        size_t len = P.row_ptr[i + 1] - P.row_ptr[i];
        rows[(size_t)i] = new unsigned int[len + 1];
        rows[(size_t)i][0] = (unsigned int)len;
        for (size_t e = 0; e < len; e++)
            rows[(size_t)i][e + 1] = (unsigned int)P.col_idx[P.row_ptr[i] + e];
    }
    long k = -1;
    *valid = false;
    try {
        auto t0 = std::chrono::steady_clock::now();
        ColPack::BipartiteGraphPartialColoringInterface g(SRC_MEM_ADOLC, rows.data(), n, n);
        g.PartialDistanceTwoColoring(ordering, "COLUMN_PARTIAL_DISTANCE_TWO");
        *secs = seconds(t0);
        std::vector<int> colours;
        g.GetVertexPartialColors(colours);
        k = g.GetVertexColorCount();
        if (colours.size() == P.n) {
            std::vector<size_t> c(P.n);
            for (size_t j = 0; j < P.n; j++)
                c[j] = (size_t)colours[j];
            *valid = db_colouring_check(&P, c.data(), (size_t)k) == DB_OK;
        }
    } catch (...) {
        k = -1;
    }
    for (auto *r : rows)
        delete[] r;
    omp_set_num_threads(omp_get_num_procs());
    return k;
}

} // namespace

int main() {
    const Case cases[] = {
        {"5-point stencil 100x100", "stencil", 100 * 100},
        {"5-point stencil 1000x1000", "stencil", 1000 * 1000},
        {"random sparse", "randsparse", 10000},
        {"random sparse", "randsparse", 100000},
        {"band l=2 u=3", "banded", 100000},
    };
    const struct {
        enum db_ordering ours;
        const char *colpack;
    } orderings[] = {
        {DB_ORDER_LARGEST_FIRST, "LARGEST_FIRST"},
        {DB_ORDER_SMALLEST_LAST, "SMALLEST_LAST"},
        {DB_ORDER_INCIDENCE_DEGREE, "INCIDENCE_DEGREE"},
        {DB_ORDER_NATURAL, "NATURAL"},
    };
    std::printf("Distance-2 column colouring of J's pattern: diagbench greedy vs ColPack "
                "(BipartiteGraphPartialColoringInterface, COLUMN_PARTIAL_DISTANCE_TWO)\n");
    int threads = omp_get_max_threads();
    std::printf("colpack = ColPack on 1 OpenMP thread (deterministic); colpack_t%d = ColPack on "
                "%d threads (speculative, varies run to run); lower = most non-zeros in a row\n",
                threads, threads);
    std::printf("%-26s %8s %8s %5s  %-17s %5s %8s %8s %10s %10s %11s\n", "pattern", "n", "nnz",
                "lower", "ordering", "ours", "colpack", "ours<=cp", "ours_s", "colpack_s",
                (std::string("colpack_t") + std::to_string(threads)).c_str());
    int status = 0, worse = 0;
    for (const Case &c : cases) {
        db_sparse P;
        std::memset(&P, 0, sizeof P);
        int rc = db_workload_pattern_by_name(c.workload, c.n, &P);
        if (rc != DB_OK) {
            std::fprintf(stderr, "colpack_compare: pattern of %s n=%zu: %s\n", c.workload, c.n,
                         db_strerror(rc));
            return 1;
        }
        size_t lower = db_sparse_max_row_nnz(&P);
        std::vector<size_t> colour(P.n);
        for (const auto &o : orderings) {
            size_t k = 0;
            auto t0 = std::chrono::steady_clock::now();
            rc = db_colour_columns(&P, o.ours, colour.data(), &k);
            double ours_s = seconds(t0);
            bool ours_ok = rc == DB_OK && db_colouring_check(&P, colour.data(), k) == DB_OK;
            double cp_s = 0, mt_s = 0;
            bool cp_ok = false, mt_ok = false;
            long cp = colpack_colours(P, o.colpack, 1, &cp_s, &cp_ok);
            long mt = colpack_colours(P, o.colpack, threads, &mt_s, &mt_ok);
            const char *verdict = !ours_ok || cp < 0 || !cp_ok ? "invalid"
                                  : (long)k <= cp              ? "yes"
                                                               : "NO";
            if (!ours_ok || cp < 0 || !cp_ok || mt < 0 || !mt_ok) status = 1;
            if (ours_ok && cp >= 0 && (long)k > cp) worse++;
            std::printf("%-26s %8zu %8zu %5zu  %-17s %5zu %8ld %8s %10.3g %10.3g %11ld\n", c.label,
                        c.n, db_sparse_nnz(&P), lower, db_ordering_name(o.ours), k, cp, verdict,
                        ours_s, cp_s, mt);
        }
        db_sparse_free(&P);
    }
    std::printf("%s; %d case(s) where ours uses more colours than ColPack\n",
                status ? "SOME COLOURINGS INVALID" : "all colourings valid", worse);
    return status;
}
