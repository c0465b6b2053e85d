/* The one whole-number parser (core/parse.h) and every caller's conventions around it: what each
 * flag and environment variable accepts (leading zeros, blanks, signs, range) and the exact
 * message when it does not. */
#include <criterion/criterion.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/limits.h"
#include "core/parse.h"
#include "core/status.h"
#include "tests/helpers.h"
#include "harness/env/omp_env.h"
#include "harness/plan/cli.h"
#include "harness/plan/shard.h"

/* Strict mode: s must be the number and nothing else. */
static int strict(const char *s, unsigned long long max, unsigned long long *v) {
    return db_parse_whole(s, NULL, max, v);
}

Test(parse_whole, strict_accepts_digits_up_to_max) {
    unsigned long long v;
    cr_assert_eq(strict("0", 10, &v), DB_OK);
    cr_assert_eq(v, 0);
    cr_assert_eq(strict("10", 10, &v), DB_OK);
    cr_assert_eq(v, 10);
    cr_assert_eq(strict("007", 10, &v), DB_OK, "leading zeros are allowed");
    cr_assert_eq(v, 7);
    cr_assert_eq(strict("00000000000000000000000000000042", 100, &v), DB_OK);
    cr_assert_eq(v, 42);
    cr_assert_eq(strict("0", 0, &v), DB_OK);
    cr_assert_eq(strict("000", 0, &v), DB_OK);
    cr_assert_eq(v, 0);
}

Test(parse_whole, strict_rejects_everything_else) {
    const char *bad[] = {"",    "-1",  "+1",  " 1",  "1 ",  "1a", "a1", "1.5",
                         "1e3", "0x1", "1,2", "\t1", "1\n", "١",  "１", "1/2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned long long v = 99;
        cr_assert_eq(strict(bad[i], ULLONG_MAX, &v), DB_E_INVALID, "'%s'", bad[i]);
        cr_assert_eq(v, 99, "'%s': *out untouched on failure", bad[i]);
    }
    unsigned long long v = 99;
    cr_assert_eq(db_parse_whole(NULL, NULL, 10, &v), DB_E_INVALID);
    cr_assert_eq(v, 99);
}

Test(parse_whole, range_and_overflow) {
    unsigned long long v;
    cr_assert_eq(strict("100", 100, &v), DB_OK);
    cr_assert_eq(strict("101", 100, &v), DB_E_INVALID);
    cr_assert_eq(strict("1", 0, &v), DB_E_INVALID);
    cr_assert_eq(strict("9", 8, &v), DB_E_INVALID, "a single digit above max");
    cr_assert_eq(strict("18446744073709551615", ULLONG_MAX, &v), DB_OK);
    cr_assert_eq(v, ULLONG_MAX);
    cr_assert_eq(strict("18446744073709551616", ULLONG_MAX, &v), DB_E_INVALID, "would wrap");
    cr_assert_eq(strict("99999999999999999999999", ULLONG_MAX, &v), DB_E_INVALID);
    cr_assert_eq(strict("18446744073709551614", ULLONG_MAX - 1, &v), DB_OK);
    cr_assert_eq(strict("18446744073709551615", ULLONG_MAX - 1, &v), DB_E_INVALID);
    cr_assert_eq(strict("100000000", DB_MAX_N, &v), DB_OK);
    cr_assert_eq(strict("100000001", DB_MAX_N, &v), DB_E_INVALID);
    char many[300];
    memset(many, '9', sizeof many - 1);
    many[sizeof many - 1] = 0;
    cr_assert_eq(strict(many, ULLONG_MAX, &v), DB_E_INVALID);
}

Test(parse_whole, prefix_mode_stops_at_the_first_non_digit) {
    unsigned long long v;
    const char *s = "12/34", *end = NULL;
    cr_assert_eq(db_parse_whole(s, &end, 100, &v), DB_OK);
    cr_assert_eq(v, 12);
    cr_assert_eq(end, s + 2);
    s = "7";
    cr_assert_eq(db_parse_whole(s, &end, 100, &v), DB_OK);
    cr_assert_eq(end, s + 1);
    s = "0012 ";
    cr_assert_eq(db_parse_whole(s, &end, 100, &v), DB_OK);
    cr_assert_eq(v, 12);
    cr_assert_eq(end, s + 4);
}

Test(parse_whole, prefix_mode_failure_positions) {
    unsigned long long v = 99;
    const char *s, *end = NULL;
    const char *none[] = {"", " 1", "-1", "+1", "x", "/1"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        s = none[i];
        cr_assert_eq(db_parse_whole(s, &end, 100, &v), DB_E_INVALID, "'%s'", s);
        cr_assert_eq(end, s, "'%s': no digit, *end at s", s);
    }
    s = "65536}";
    cr_assert_eq(db_parse_whole(s, &end, 65535, &v), DB_E_INVALID);
    cr_assert_eq(end, s + 4, "*end at the digit that took the value past max");
    s = "9";
    cr_assert_eq(db_parse_whole(s, &end, 8, &v), DB_E_INVALID);
    cr_assert_eq(end, s);
    cr_assert_eq(db_parse_whole(NULL, &end, 8, &v), DB_E_INVALID);
    cr_assert_null(end);
    cr_assert_eq(v, 99);
}

/* ---- each caller's conventions ---------------------------------------------------------- */

static char err[1024];

/* One caller, driven with one value: returns its status and leaves its message in e. */
typedef int (*caller_fn)(const char *value, char *e, size_t elen);

static int sizes_list(const char *v, char *e, size_t elen) {
    size_t out[DB_MAX_LIST], count;
    return db_parse_sizes(v, "-n", out, &count, e, elen);
}

static int shard(const char *v, char *e, size_t elen) {
    unsigned k, n;
    return db_shard_parse(v, &k, &n, e, elen);
}

static int band(const char *v, char *e, size_t elen) {
    struct db_cli cli;
    char *a[] = {"diagbench", "--band", (char *)v, "-n", "10", NULL};
    return db_cli_parse(5, a, &cli, e, elen);
}

static int omp_num_threads(const char *v, char *e, size_t elen) {
    int first;
    return db_omp_num_threads_parse(v, &first, e, elen);
}

static int openblas_num_threads(const char *v, char *e, size_t elen) {
    int n;
    return db_openblas_num_threads_parse(v, &n, e, elen);
}

/* Every value in bad is rejected with exactly the message fmt makes of it (one %s). */
static void expect_rejected(caller_fn parse, const char *const *bad, size_t count,
                            const char *fmt) {
    for (size_t i = 0; i < count; i++) {
        cr_assert_eq(parse(bad[i], err, sizeof err), DB_E_INVALID, "'%s'", bad[i]);
        char want[512];
        snprintf(want, sizeof want, fmt, bad[i]);
        cr_assert_str_eq(err, want);
    }
}

#define REJECTED(parse, fmt, ...)                                                                  \
    do {                                                                                           \
        const char *const bad_[] = {__VA_ARGS__};                                                  \
        expect_rejected(parse, bad_, sizeof bad_ / sizeof bad_[0], fmt);                           \
    } while (0)

Test(parse_callers, sizes) {
    size_t s[DB_MAX_LIST], n;
    cr_assert_eq(db_parse_sizes("010,0020", "-n", s, &n, err, sizeof err), DB_OK, "%s", err);
    cr_assert(n == 2 && s[0] == 10 && s[1] == 20, "leading zeros");
    cr_assert_eq(db_parse_sizes("1,10,100000000", "-n", s, &n, err, sizeof err), DB_OK);
    cr_assert(n == 3 && s[2] == 100000000);
    cr_assert_eq(db_parse_sizes("10,010", "-n", s, &n, err, sizeof err), DB_E_INVALID);
    cr_assert_str_eq(err, "-n: size 010 given twice");
    REJECTED(sizes_list,
             "invalid size '%s' in -n: expected a whole number from 1 to 100000000, or a range "
             "LO:HI:geom:K, LO:HI:lin:K, LO:HI:+STEP, LO:HI:*MULT",
             "0", "-5", "+5", " 5", "5 ", "1e3", "0x10", "a", "100000001", "18446744073709551617",
             "99999999999999999999999");
    REJECTED(sizes_list, "-n: empty item in list '%s'", "1,", ",1");
}

Test(parse_callers, ints) {
    int t[DB_MAX_LIST];
    size_t n;
    cr_assert_eq(db_parse_ints("01,4096", "-t", 1, DB_MAX_THREADS, t, &n, err, sizeof err), DB_OK);
    cr_assert(n == 2 && t[0] == 1 && t[1] == 4096);
    cr_assert_eq(db_parse_ints("1,2,8", "-t", 1, 64, t, &n, err, sizeof err), DB_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(db_parse_ints("65", "-t", 1, 64, t, &n, err, sizeof err), DB_E_INVALID);
    cr_assert_str_eq(err, "invalid value '65' in -t: expected a whole number from 1 to 64");
    cr_assert_eq(db_parse_ints("0", "--reps", 1, 1000, t, &n, err, sizeof err), DB_E_INVALID);
    cr_assert_str_eq(err, "invalid value '0' in --reps: expected a whole number from 1 to 1000");
}

Test(parse_callers, band) {
    struct db_cli cli;
    char *ok[] = {"diagbench", "--band", "00,256", "-n", "10", NULL};
    cr_assert_eq(db_cli_parse(5, ok, &cli, err, sizeof err), DB_OK, "%s", err);
    cr_assert(cli.run.band_set && cli.run.band_lower == 0 && cli.run.band_upper == 256);
    REJECTED(band,
             "invalid --band '%s': expected L,U (lower and upper bandwidth), whole numbers from 0 "
             "to 256",
             "1", "1,257", "-1,2", "1, 2", "1,2,3", "+1,2", ",2", "1,");
}

Test(parse_callers, shard) {
    unsigned k, n;
    cr_assert_eq(db_shard_parse("01/0002", &k, &n, err, sizeof err), DB_OK, "leading zeros");
    cr_assert(k == 1 && n == 2);
    cr_assert_eq(db_shard_parse("10000/10000", &k, &n, err, sizeof err), DB_OK);
    REJECTED(shard, "invalid --shard '%s': expected K/N with whole numbers 1 <= K <= N <= 10000",
             "0/1", "1/10001", "+1/2", "1/ 2", "1/2 ", "00/1");
}

Test(parse_callers, omp_num_threads) {
    int first = 0;
    cr_assert_eq(db_omp_num_threads_parse(" 04 , 2 ", &first, err, sizeof err), DB_OK, "blanks");
    cr_assert_eq(first, 4);
    REJECTED(omp_num_threads,
             "invalid OMP_NUM_THREADS '%s': expected whole numbers from 1 to 4096, one per "
             "nesting level (e.g. 2 or 4,2)",
             "0", "+2", "-2", "4097", "2,", "2 2", "", "99999999999999999999");
}

Test(parse_callers, openblas_num_threads) {
    int n = 0;
    cr_assert_eq(db_openblas_num_threads_parse(" 007 ", &n, err, sizeof err), DB_OK);
    cr_assert_eq(n, 7);
    REJECTED(openblas_num_threads,
             "invalid OPENBLAS_NUM_THREADS '%s': expected a whole number from 1 to 4096", "0", "+2",
             "4097", "2,2", "");
}

/* OMP_PLACES quotes where parsing stopped: an over-large number stops at its offending digit. */
Test(parse_callers, omp_places_positions) {
    static const struct {
        const char *value, *what, *at;
    } cases[] = {
        {"{65536}", "expected a CPU number", "6}"},
        {"65536", "CPU number out of range", "6"},
        {"{0:65537}", "expected a positive count", "7}"},
        {"{0:0}", "expected a positive count", "}"},
        {"{0:2:65536}", "expected a number", "6}"},
        {"{0:2:-x}", "expected a number", "x}"},
        {"{0}:4097", "expected a positive length", "7"},
        {"cores(4097)", "expected a count from 1 to 4096", "7)"},
        {"cores(0)", "expected a count from 1 to 4096", ")"},
        {"cores( 2 ", "expected ')'", "the end"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct db_places p;
        cr_assert_eq(db_omp_places_parse(cases[i].value, &p, err, sizeof err), DB_E_INVALID, "%s",
                     cases[i].value);
        db_omp_places_free(&p);
        char want[512];
        snprintf(want, sizeof want,
                 "invalid OMP_PLACES '%s': %s at '%s'; expected threads, cores, ll_caches, "
                 "numa_domains or sockets (optionally with (count)), or places such as "
                 "{0,1},{2,3} or {0:4}:2:4",
                 cases[i].value, cases[i].what, cases[i].at);
        cr_assert_str_eq(err, want);
    }
    struct db_places p;
    cr_assert_eq(db_omp_places_parse("{00:2:+1}, 65535", &p, err, sizeof err), DB_OK, "%s", err);
    cr_assert_eq(p.nplaces, 2);
    db_omp_places_free(&p);
}

/* Size ranges in -n: LO:HI:geom:K, LO:HI:lin:K, LO:HI:+STEP, LO:HI:*MULT, mixed with numbers. */
static void expect_sizes(const char *v, const size_t *want, size_t nwant) {
    size_t s[DB_MAX_LIST], n = 0;
    cr_assert_eq(db_parse_sizes(v, "-n", s, &n, err, sizeof err), DB_OK, "'%s': %s", v, err);
    cr_assert_eq(n, nwant, "'%s' gives %zu sizes, want %zu", v, n, nwant);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(s[i], want[i], "'%s' size %zu: %zu, want %zu", v, i, s[i], want[i]);
}
#define SIZES(v, ...)                                                                              \
    do {                                                                                           \
        const size_t want_[] = {__VA_ARGS__};                                                      \
        expect_sizes(v, want_, sizeof want_ / sizeof want_[0]);                                    \
    } while (0)

Test(parse_callers, size_ranges) {
    SIZES("100:1000:lin:10", 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000);
    SIZES("100:1000:+100", 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000);
    SIZES("5:14:+4", 5, 9, 13);           /* HI is not a step away: the steps stop before it */
    SIZES("1:2:lin:3", 1, 2);             /* 1.5 rounds half up to 2, which HI gives again */
    SIZES("10:20:lin:4", 10, 13, 17, 20); /* 13.33, 16.67 */
    SIZES("8:8192:*8", 8, 64, 512, 4096, 8192); /* as Range(8, 8<<10) with RangeMultiplier(8) */
    SIZES("2:10:*3", 2, 6, 10);                 /* HI closes the range, as in Google Benchmark */
    SIZES("1:4:geom:8", 1, 2, 3, 4);            /* rounding repeats small sizes: dropped */
    /* 10 * 4000^(i/7) = 10, 32.70, 106.9, 349.7, 1143.7, 3740.2, 12231.5(08), 40000 */
    SIZES("10:40000:geom:8", 10, 33, 107, 350, 1144, 3740, 12232, 40000);
    SIZES("20,100:1000:geom:4", 20, 100, 215, 464, 1000);           /* mixed with a plain list */
    SIZES("10:100:geom:3,100:1000:geom:3", 10, 32, 100, 316, 1000); /* overlap kept once */
    SIZES("007:010:+01", 7, 8, 9, 10);                              /* leading zeros */
    SIZES("99999999:100000000:lin:2", 99999999, 100000000);
}

/* Every geometric range, whatever LO, HI and K: both ends exact, strictly increasing, each size
 * the nearest whole number to LO (HI/LO)^(i/(K-1)). The sizes come from exp(log LO + t log(HI/LO))
 * with |argument| <= log(1e8) < 19: relative error at most (4*19 + 2) u (a few roundings of the
 * argument, amplified by |argument|, plus exp's and the final rounding), so each size is within
 * 0.5 + g * 78u of the exact g, and within 0.5 of it when g is not that close to a tie. */
Test(parse_callers, size_ranges_geometric_bounds) {
    const unsigned long long los[] = {1, 7, 10, 1000, 99999};
    const unsigned long long his[] = {2, 100, 40000, 100000000};
    const unsigned ks[] = {2, 3, 8, 17, 64};
    for (size_t a = 0; a < sizeof los / sizeof los[0]; a++)
        for (size_t b = 0; b < sizeof his / sizeof his[0]; b++)
            for (size_t c = 0; c < sizeof ks / sizeof ks[0]; c++) {
                if (his[b] <= los[a]) continue;
                char v[64];
                snprintf(v, sizeof v, "%llu:%llu:geom:%u", los[a], his[b], ks[c]);
                size_t s[DB_MAX_LIST], n = 0;
                cr_assert_eq(db_parse_sizes(v, "-n", s, &n, err, sizeof err), DB_OK, "%s", err);
                cr_assert(n >= 2 && n <= ks[c], "'%s': %zu sizes", v, n);
                cr_assert(s[0] == los[a] && s[n - 1] == his[b], "'%s': ends exact", v);
                size_t j = 0; /* walk the exact sequence alongside the deduplicated one */
                for (unsigned i = 0; i < ks[c]; i++) {
                    long double g = (long double)los[a] * powl((long double)his[b] / los[a],
                                                               (long double)i / (ks[c] - 1));
                    while (j < n && (long double)s[j] < g - 0.5L - g * 78 * TH_U)
                        j++;
                    cr_assert(j < n && fabsl((long double)s[j] - g) <= 0.5L + g * 78 * TH_U,
                              "'%s': no size near %Lg", v, g);
                }
                for (size_t i = 1; i < n; i++)
                    cr_assert(s[i] > s[i - 1], "'%s' increases", v);
            }
}

static const char range_msg[] =
    "; expected N, LO:HI:geom:K, LO:HI:lin:K, LO:HI:+STEP or LO:HI:*MULT (see --help)";

static void expect_range_rejected(const char *v, const char *why) {
    size_t s[DB_MAX_LIST], n;
    cr_assert_eq(db_parse_sizes(v, "-n", s, &n, err, sizeof err), DB_E_INVALID, "'%s'", v);
    char want[512];
    snprintf(want, sizeof want, "invalid size range '%s' in -n: %s%s", v, why, range_msg);
    cr_assert_str_eq(err, want);
}

Test(parse_callers, size_ranges_rejected) {
    const char *lo = "LO must be a whole number from 1 to 100000000";
    const char *hi = "HI must be a whole number from 1 to 100000000";
    const char *k = "K must be a whole number from 2 to 64";
    expect_range_rejected("0:10:lin:2", lo);
    expect_range_rejected(":10:lin:2", lo);
    expect_range_rejected("-1:10:lin:2", lo);
    expect_range_rejected("1e3:1e4:geom:4", lo);
    expect_range_rejected("100000001:100000002:lin:2", lo);
    expect_range_rejected("10:", hi);
    expect_range_rejected("10:100", "the form is missing after LO:HI (e.g. 10:100:geom:5)");
    expect_range_rejected("10:40:+40",
                          "STEP passes HI at once (a range of LO alone): at most HI - LO");
    expect_range_rejected("10:100000001:lin:2", hi);
    expect_range_rejected("10: 20:lin:2", hi);
    expect_range_rejected("10:10:lin:2", "HI must be larger than LO");
    expect_range_rejected("20:10:geom:3", "HI must be larger than LO");
    expect_range_rejected("10:20:lin:1", k);
    expect_range_rejected("10:20:geom:65", k);
    expect_range_rejected("10:20:geom:", k);
    expect_range_rejected("10:20:lin:4x", k);
    expect_range_rejected("10:20:+0", "STEP must be a whole number from 1 to 100000000");
    expect_range_rejected("10:20:+-1", "STEP must be a whole number from 1 to 100000000");
    expect_range_rejected("10:20:*1", "MULT must be a whole number from 2 to 100000000");
    expect_range_rejected("10:20:*1.5", "MULT must be a whole number from 2 to 100000000");
    expect_range_rejected("10:20:log:3", "unknown form after LO:HI:");
    expect_range_rejected("10:20:", "unknown form after LO:HI:");
    size_t s[DB_MAX_LIST], n;
    cr_assert_eq(db_parse_sizes("1:1000:+10", "-n", s, &n, err, sizeof err), DB_E_INVALID);
    cr_assert_str_eq(err, "-n: '1:1000:+10' takes the list past 64 sizes");
    /* a plain size a range also gives is kept once, in either order (issue 24 item 14) */
    size_t t[DB_MAX_LIST], m;
    cr_assert_eq(db_parse_sizes("10:100:lin:4,40", "-n", s, &n, err, sizeof err), DB_OK);
    cr_assert_eq(db_parse_sizes("40,10:100:lin:4", "-n", t, &m, err, sizeof err), DB_OK);
    cr_assert_eq(n, 4);
    cr_assert_eq(m, 4);
    cr_assert_eq(db_parse_sizes("40,10:100:lin:4,40", "-n", s, &n, err, sizeof err), DB_E_INVALID);
    cr_assert_str_eq(err, "-n: size 40 given twice", "a plain size given twice still is an error");
}
