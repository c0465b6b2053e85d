// The only C++ in diagbench: a C ABI over Google Benchmark 1.7.1. Every entry point catches all
// exceptions at the boundary. Times come back through our own reporter (per repetition, real
// time), never through Google Benchmark's deprecated CSV reporter.
#include "harness/bench/gbench.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include "core/status.h"

namespace {

void set_message(char *dst, std::size_t len, const std::string &s) {
    if (!dst || len == 0) return;
    std::snprintf(dst, len, "%s", s.c_str());
}

// Collects the per-repetition iteration runs of one benchmark.
class Collector : public benchmark::BenchmarkReporter {
  public:
    std::vector<double> seconds, cpu_seconds;
    long long iterations = 0;
    bool failed = false;
    std::string error;

    bool ReportContext(const Context &) override { return true; }

    void ReportRuns(const std::vector<Run> &runs) override {
        for (const Run &r : runs) {
            if (r.run_type != Run::RT_Iteration) continue;
            if (r.error_occurred) {
                failed = true;
                if (error.empty()) error = r.error_message;
                continue;
            }
            if (r.iterations <= 0) continue;
            if (seconds.empty()) iterations = static_cast<long long>(r.iterations);
            seconds.push_back(r.real_accumulated_time / static_cast<double>(r.iterations));
            cpu_seconds.push_back(r.cpu_accumulated_time / static_cast<double>(r.iterations));
        }
    }
};

struct BodyState {
    db_bench_body body;
    void *arg;
    int status = DB_OK;
};

} // namespace

extern "C" int db_gbench_init(int argc, char **argv, char *msg, unsigned long msg_len) {
    try {
        // Initialize compacts the array it is given in place (it removes the flags it knows):
        // hand it a copy, so the caller's argv (which the plan reads) stays intact.
        std::vector<char *> copy(argv, argv + argc);
        copy.push_back(nullptr);
        int n = argc;
        benchmark::Initialize(&n, copy.data());
        if (n > 1) {
            set_message(msg, msg_len,
                        std::string("unknown Google Benchmark flag '") + copy[1] + "'");
            return DB_E_INVALID;
        }
        return DB_OK;
    } catch (const std::exception &e) {
        set_message(msg, msg_len, e.what());
        return DB_E_INTERNAL;
    } catch (...) {
        set_message(msg, msg_len, "unknown exception in Google Benchmark initialisation");
        return DB_E_INTERNAL;
    }
}

extern "C" int db_gbench_run(const char *name, db_bench_body body, void *arg,
                             const struct db_bench_config *cfg, struct db_bench_result *res) {
    if (!res) return DB_E_INVALID;
    std::memset(res, 0, sizeof *res);
    if (!name || !body || !cfg || cfg->reps < 1 || (cfg->iterations <= 0 && cfg->min_time_s <= 0) ||
        cfg->warmup_s < 0) {
        res->status = DB_E_INVALID;
        set_message(res->message, sizeof res->message, "invalid benchmark configuration");
        return res->status;
    }
    try {
        BodyState st{body, arg};
        benchmark::internal::Benchmark *b =
            benchmark::RegisterBenchmark(name, [&st, cfg](benchmark::State &state) {
                if (cfg->batch > 1) {
                    const benchmark::IterationCount k = cfg->batch;
                    while (state.KeepRunningBatch(k)) {
                        int rc = DB_OK;
                        // rc is read by the loop condition and below: no DoNotOptimize (see the
                        // plain loop: its "+m,r" form is miscompiled under gcc 12 ASan+UBSan).
                        for (benchmark::IterationCount i = 0; i < k && rc == DB_OK; i++)
                            rc = st.body(st.arg);
                        benchmark::ClobberMemory();
                        if (rc != DB_OK) {
                            st.status = rc;
                            state.SkipWithError("the timed operation failed");
                            break;
                        }
                    }
                    return;
                }
                for (auto _ : state) {
                    // rc is read below, so it needs no DoNotOptimize; its read-write form
                    // ("+m,r") is miscompiled by gcc 12 with -fsanitize=address,undefined
                    // (the loaded value is garbage), which broke every cell in `make sanitize`.
                    const int rc = st.body(st.arg);
                    benchmark::ClobberMemory();
                    if (rc != DB_OK) {
                        st.status = rc;
                        state.SkipWithError("the timed operation failed");
                        break;
                    }
                }
            });
        b->UseRealTime()->Repetitions(cfg->reps);
        if (cfg->iterations > 0)
            b->Iterations(cfg->iterations);
        else
            b->MinTime(cfg->min_time_s);
        if (cfg->warmup_s > 0) b->MinWarmUpTime(cfg->warmup_s);
        Collector collector;
        benchmark::RunSpecifiedBenchmarks(&collector);
        benchmark::ClearRegisteredBenchmarks();

        if (st.status != DB_OK || collector.failed) {
            res->status = st.status != DB_OK ? st.status : DB_E_INTERNAL;
            set_message(res->message, sizeof res->message,
                        collector.error.empty() ? "benchmark failed" : collector.error);
            return res->status;
        }
        if (collector.seconds.empty()) {
            res->status = DB_E_INTERNAL;
            set_message(res->message, sizeof res->message, "Google Benchmark reported no runs");
            return res->status;
        }
        res->rep_seconds =
            static_cast<double *>(std::malloc(collector.seconds.size() * sizeof(double)));
        res->rep_cpu_seconds =
            static_cast<double *>(std::malloc(collector.seconds.size() * sizeof(double)));
        if (!res->rep_seconds || !res->rep_cpu_seconds) {
            db_bench_result_free(res);
            res->status = DB_E_NOMEM;
            set_message(res->message, sizeof res->message, "out of memory");
            return res->status;
        }
        std::memcpy(res->rep_seconds, collector.seconds.data(),
                    collector.seconds.size() * sizeof(double));
        std::memcpy(res->rep_cpu_seconds, collector.cpu_seconds.data(),
                    collector.seconds.size() * sizeof(double));
        res->reps = static_cast<int>(collector.seconds.size());
        res->iterations = collector.iterations;
        res->status = DB_OK;
        return DB_OK;
    } catch (const std::exception &e) {
        benchmark::ClearRegisteredBenchmarks();
        res->status = DB_E_INTERNAL;
        set_message(res->message, sizeof res->message, std::string("exception: ") + e.what());
        return res->status;
    } catch (...) {
        try {
            benchmark::ClearRegisteredBenchmarks();
        } catch (...) {
        }
        res->status = DB_E_INTERNAL;
        set_message(res->message, sizeof res->message, "unknown exception in Google Benchmark");
        return res->status;
    }
}

extern "C" int db_gbench_native_empty(int reps, double min_time_s, double *seconds_per_iteration) {
    if (reps < 1 || min_time_s <= 0 || !seconds_per_iteration) return DB_E_INVALID;
    try {
        benchmark::RegisterBenchmark("native_empty",
                                     [](benchmark::State &state) {
                                         for (auto _ : state)
                                             benchmark::ClobberMemory();
                                     })
            ->UseRealTime()
            ->Repetitions(reps)
            ->MinTime(min_time_s);
        Collector collector;
        benchmark::RunSpecifiedBenchmarks(&collector);
        benchmark::ClearRegisteredBenchmarks();
        if (collector.seconds.empty()) return DB_E_INTERNAL;
        std::vector<double> v = collector.seconds;
        std::sort(v.begin(), v.end());
        std::size_t m = v.size();
        *seconds_per_iteration = m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
        return DB_OK;
    } catch (...) {
        try {
            benchmark::ClearRegisteredBenchmarks();
        } catch (...) {
        }
        return DB_E_INTERNAL;
    }
}

extern "C" void db_bench_result_free(struct db_bench_result *res) {
    if (!res) return;
    std::free(res->rep_seconds);
    std::free(res->rep_cpu_seconds);
    res->rep_seconds = nullptr;
    res->rep_cpu_seconds = nullptr;
    res->reps = 0;
}

extern "C" void db_gbench_do_not_optimize(const void *p) {
    benchmark::DoNotOptimize(p);
}

extern "C" void db_gbench_clobber_memory(void) {
    benchmark::ClobberMemory();
}

extern "C" char *db_gbench_context_json(void) {
    try {
        // Google Benchmark's own JSON reporter writes the context (date, host_name, executable,
        // num_cpus, mhz_per_cpu, cpu_scaling_enabled, caches, load_avg, library_build_type),
        // then opens "benchmarks": keep the members between "context": { and its closing brace.
        std::ostringstream out, errs;
        benchmark::JSONReporter reporter;
        reporter.SetOutputStream(&out);
        reporter.SetErrorStream(&errs);
        benchmark::BenchmarkReporter::Context context;
        reporter.ReportContext(context);
        const std::string s = out.str(), open = "\"context\": {\n", close = "\n  },";
        std::size_t from = s.find(open), to = s.rfind(close);
        if (from == std::string::npos || to == std::string::npos || to < from + open.size())
            return nullptr;
        from += open.size();
        return strdup(s.substr(from, to - from).c_str());
    } catch (...) {
        return nullptr;
    }
}
