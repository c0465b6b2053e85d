# diagbench: build, deps, test, bench, plot, sanitize, clean.
CC       = gcc
CXX      = g++
PYTHON  ?= /usr/bin/python3
MARCH   ?= native
FPFLAGS ?=
BUILD   ?= build
WERROR  ?= -Werror
SANITIZE ?=

OPENBLAS_INC = /usr/include/x86_64-linux-gnu/openblas-openmp
OPENBLAS_LIB = /usr/lib/x86_64-linux-gnu/openblas-openmp

GIT_REV := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)

OPT       = -O3 -march=$(MARCH) -fno-math-errno $(FPFLAGS)
WARN      = -Wall -Wextra $(WERROR)
CPPFLAGS  = -D_GNU_SOURCE -I. -I$(OPENBLAS_INC) -MMD -MP
CFLAGS    = -std=c17 $(OPT) -fopenmp $(WARN) $(SANITIZE) -g
CXXFLAGS  = -std=c++17 $(OPT) $(WARN) $(SANITIZE) -g
# Google Benchmark has no version macro: ask pkg-config (or dpkg) at build time, for --version.
GBENCH_VERSION = $(shell pkg-config --modversion benchmark 2>/dev/null || \
                    dpkg-query -W -f='$${Version}' libbenchmark-dev 2>/dev/null || echo unknown)
VERSION_FLAGS = -DDB_GIT_REV='"$(GIT_REV)"' -DDB_CFLAGS='"$(strip $(OPT) -fopenmp $(SANITIZE))"' \
                -DDB_GBENCH_VERSION='"$(GBENCH_VERSION)"'
LDLIBS    = -L$(OPENBLAS_LIB) -Wl,-rpath,$(OPENBLAS_LIB) -llapacke -lopenblas -lhwloc -lbenchmark \
            -ljansson -lpthread -lm
LDFLAGS   = -fopenmp $(SANITIZE)

# The layers, lowest first (docs/ARCHITECTURE.md): each may include only those before it.
LAYERS = core workloads operators strategies solvers harness/env harness/bench harness/plan \
         harness/io harness/analysis harness/app
LIB_C  = $(filter-out harness/app/main.c,$(foreach d,$(LAYERS),$(wildcard $(d)/*.c)))
LIB_CC = harness/bench/gbench.cc
LIB_O  = $(LIB_C:%.c=$(BUILD)/%.o) $(LIB_CC:%.cc=$(BUILD)/%.o)
TEST_C = $(wildcard tests/*.c) tests/fuzz/fuzz_one.c
TEST_O = $(TEST_C:%.c=$(BUILD)/%.o)

DEBS = build-essential libbenchmark-dev libhwloc-dev hwloc libopenblas-openmp-dev \
       liblapacke-dev libcriterion-dev python3-matplotlib python3-pandas python3-numpy \
       python3-pytest python3-pytest-xdist clang-format clang libclang-rt-14-dev libomp-14-dev \
       libcolpack-dev python3-scipy libbenchmark-tools chromium slurm-wlm munge libjansson-dev \
       python3-torch help2man

RUN ?= $(shell date -u +%Y%m%dT%H%M%SZ)

# The top-level make checks the packages once before building or running anything (sub-makes,
# MAKELEVEL > 0, trust it). Defined before any rule: make expands a rule's prerequisites when it
# reads the rule, so a rule above this line would see it empty (and compile before installing).
# Every object depends on $(BUILD)/flags.stamp, which waits for deps; every target that runs a
# tool waits for it too. tests/test_fresh_machine.py checks the order with stub compilers.
DEPS_FIRST = $(if $(filter 0,$(MAKELEVEL)),deps)

.PHONY: FORCE all deps test test-c test-codegen test-codegen-v2 test-codegen-fma test-py bench bench-pr plot sanitize tsan fuzz clean format \
        format-check compare-colpack

all: $(BUILD)/diagbench $(BUILD)/c_worker

# Objects depend on the flags they were built with: changing SANITIZE (or OPT) rebuilds them.
$(BUILD)/flags.stamp: FORCE | $(DEPS_FIRST)
	@mkdir -p $(dir $@)
	@echo '$(CC) $(CPPFLAGS) $(CFLAGS) | $(CXX) $(CXXFLAGS) | $(LDFLAGS)' | cmp -s - $@ || \
	  echo '$(CC) $(CPPFLAGS) $(CFLAGS) | $(CXX) $(CXXFLAGS) | $(LDFLAGS)' > $@

$(BUILD)/%.o: %.c $(BUILD)/flags.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# The git revision is baked into provenance.o; the stamp changes only when the revision does.
$(BUILD)/gitrev.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(GIT_REV)' | cmp -s - $@ || echo '$(GIT_REV)' > $@

$(BUILD)/harness/env/provenance.o: harness/env/provenance.c $(BUILD)/gitrev.stamp $(BUILD)/flags.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(VERSION_FLAGS) -c $< -o $@

$(BUILD)/%.o: %.cc $(BUILD)/flags.stamp
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(BUILD)/libdiagbench.a: $(LIB_O)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/diagbench: $(BUILD)/harness/app/main.o $(BUILD)/libdiagbench.a
	$(CXX) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The C example worker (docs/workers.md): standalone, libm only.
$(BUILD)/c_worker: workloads/workers/c_worker.c | $(DEPS_FIRST)
	@mkdir -p $(@D)
	$(CC) -std=c17 -D_POSIX_C_SOURCE=200809L -O2 $(WARN) $(SANITIZE) -g $< -lm -o $@

$(BUILD)/tests/unit: $(TEST_O) $(BUILD)/libdiagbench.a
	$(CXX) $(LDFLAGS) $^ -lcriterion $(LDLIBS) -o $@

# Colouring comparison with ColPack (libcolpack-dev, C++; Debian ships only the static library).
COLPACK_LIB ?= /usr/lib/x86_64-linux-gnu/libColPack.a

$(BUILD)/tests/colpack_compare: tests/colpack_compare.cc $(BUILD)/libdiagbench.a | $(DEPS_FIRST)
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) -std=c++17 $(OPT) -fopenmp -Wall -Wextra -g $< $(BUILD)/libdiagbench.a \
	    $(COLPACK_LIB) $(LDLIBS) -o $@

compare-colpack: $(BUILD)/tests/colpack_compare
	$(BUILD)/tests/colpack_compare

# Installs the Debian packages that are missing (idempotent): one dpkg-query call when all are
# present (well under a second), apt-get update + install only when something is missing.
# `make bench`, `make test` and every build run it first (order-only, in the top-level make only),
# so both work as the first command on a fresh machine; `make deps` says what it found.
deps:
	@installed=" $$(dpkg-query -W -f='$${db:Status-Abbrev}$${Package}\n' $(DEBS) 2>/dev/null | \
	  awk '$$1 == "ii" { printf "%s ", $$2 }') "; \
	missing=""; for p in $(DEBS); do \
	  case "$$installed" in *" $$p "*) ;; *) missing="$$missing $$p";; esac; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	elif $(if $(filter deps,$(MAKECMDGOALS)),true,false); then echo "all Debian packages present"; fi


# The Criterion suite on four builds: native, two other code generations (test-codegen) and
# the sanitizers (sanitize); then pytest for plot.py.
test: test-c test-codegen test-py sanitize

# Each build's suite runs in its own scratch directory ($(BUILD)/run: the tree's tests/, examples/
# and plot.py linked in, a private build/ for the files the tests write), so the builds' suites
# can run side by side (make -j2 test) without touching each other's files.
# The builds compile $(JOBS)-wide unless make already has a job server (make -jN test).
RUN_DIR = $(abspath $(BUILD))/run
JOBS   ?= $(shell nproc)
test-c: | $(DEPS_FIRST)
	$(MAKE) $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(JOBS)) $(BUILD)/diagbench $(BUILD)/tests/unit \
	  $(BUILD)/c_worker
	@rm -rf $(RUN_DIR) && mkdir -p $(RUN_DIR)/build
	@ln -s $(CURDIR)/tests $(CURDIR)/examples $(CURDIR)/plot.py $(CURDIR)/harness $(RUN_DIR)/
	cd $(RUN_DIR) && DIAGBENCH=$(abspath $(BUILD))/diagbench DIAGBENCH_WISDOM=$(RUN_DIR)/build/wisdom.tsv \
	  $(abspath $(BUILD))/tests/unit --jobs 2

# The same suite from two other code generations, so that no result depends on one compiler's
# choices. The native build is -march=native with no contraction (-std=c17 is ISO C, where gcc
# defaults to -ffp-contract=off). codegen-v2: x86-64-v2 (SSE4.2, no AVX, no FMA): 2-wide libmvec
# variants, the kernels' plain fallback instead of AVX intrinsics. codegen-fma: x86-64-v3 (AVX2)
# with -ffp-contract=fast: every a*b+c in our code may become one fused multiply-add. Tolerances
# derive from error bounds, not from one build's observed errors, so every build must pass.
CODEGEN_V2  = BUILD=build/codegen-v2 MARCH=x86-64-v2 FPFLAGS=-ffp-contract=off
CODEGEN_FMA = BUILD=build/codegen-fma MARCH=x86-64-v3 FPFLAGS=-ffp-contract=fast
test-codegen: test-codegen-v2 test-codegen-fma
test-codegen-v2: | $(DEPS_FIRST)
	$(MAKE) $(CODEGEN_V2) test-c
test-codegen-fma: | $(DEPS_FIRST)
	$(MAKE) $(CODEGEN_FMA) test-c

# tests/test_compare.py runs build/diagbench (compare, samples_s against scipy): after test-c has
# built it, never beside a second build of the same files (make -j2 test). The tests run $(JOBS)
# at a time (pytest-xdist); each writes only under its own tmp_path.
test-py: test-c | $(DEPS_FIRST)
	DIAGBENCH=$(abspath $(BUILD))/diagbench $(PYTHON) -m pytest -q -n $(JOBS) tests/

# examples/slurm-array.sbatch on a private single-node Slurm (munged, slurmctld, slurmd started
# and stopped by tests/slurm/run.sh, by PID, state in a temporary folder): 2 shards + merge, then
# a shard interrupted by scancel --signal=TERM and resubmitted. Root only; about 2 minutes.
.PHONY: test-slurm
test-slurm: $(BUILD)/diagbench | $(DEPS_FIRST)
	DIAGBENCH=$(abspath $(BUILD))/diagbench PYTHON=$(PYTHON) bash tests/slurm/run.sh

# Runs write to $(RESULTS)/, which git ignores: a run never makes the tree dirty (a dirty tree
# would change the next build's git_rev and matrix_id). The committed example run lives apart,
# in examples/results/ (make examples).
RESULTS ?= results
bench: $(BUILD)/diagbench | $(DEPS_FIRST)
	@mkdir -p $(RESULTS)
	$(BUILD)/diagbench --matrix quick --out $(RESULTS)/$(RUN).csv
	cp $(RESULTS)/$(RUN).csv $(RESULTS)/latest.csv
	$(PYTHON) plot.py $(RESULTS)/latest.csv -o $(RESULTS)

# The seed's sweep (split 10..40000, seqsin 20..5000, fwd and bwd) with 1 and all threads.
bench-pr: $(BUILD)/diagbench | $(DEPS_FIRST)
	@mkdir -p $(RESULTS)
	$(BUILD)/diagbench --matrix pr -t 1,$(shell nproc) --out $(RESULTS)/pr-$(RUN).csv
	$(PYTHON) plot.py $(RESULTS)/pr-$(RUN).csv -o $(RESULTS)

# The seed's experiment in PyTorch through external workers (issue 22; docs/workers.md):
# torch sin and split (functorch, vectorised rule), fwd and bwd, n = 10..$(TORCH_NMAX); the slow
# primitive (a host callback, sequential rule) n = 20..5000; the C workloads beside them; one
# CSV per run in results/torch-RUN/ and the README's table (scripts/torch_table.py).
TORCH_NMAX ?= 8000
.PHONY: bench-torch
bench-torch: $(BUILD)/diagbench | $(DEPS_FIRST)
	@mkdir -p $(RESULTS)
	DIAGBENCH=$(BUILD)/diagbench PYTHON=$(PYTHON) NMAX=$(TORCH_NMAX) \
	  sh scripts/bench_torch.sh $(RESULTS)/torch-$(RUN)

plot: | $(DEPS_FIRST)
	$(PYTHON) plot.py $(RESULTS)/latest.csv -o $(RESULTS)

# make examples: regenerate the committed example run (examples/results/: the quick and pr
# matrices with 1 and all threads, their CSVs and the headline figure of each) from HEAD. It
# refuses a dirty tree, so the CSVs' git_rev is a clean revision that anyone can check out;
# commit the files afterwards: they then carry the revision of the commit BEFORE the one that
# holds them. Takes about 12 minutes on 2 cores; run it on a quiet machine.
EXAMPLES = examples/results
EX_TMP   = $(BUILD)/examples
.PHONY: examples
examples: | $(DEPS_FIRST)
	@if [ -n "$$(git status --porcelain)" ]; then \
	  echo "make examples: the tree is dirty (see git status): commit or stash first, the examples must come from HEAD" >&2; \
	  exit 2; fi
	$(MAKE) $(BUILD)/diagbench
	@if $(BUILD)/diagbench --version | head -n 1 | grep -q -- -dirty; then \
	  echo "make examples: $(BUILD)/diagbench reports a dirty revision" >&2; exit 2; fi
	rm -rf $(EX_TMP) && mkdir -p $(EX_TMP)
	$(BUILD)/diagbench --matrix quick -t 1,$(shell nproc) --out $(EX_TMP)/latest.csv
	$(BUILD)/diagbench --matrix pr -t 1,$(shell nproc) --out $(EX_TMP)/pr-example.csv
	$(PYTHON) plot.py $(EX_TMP)/latest.csv -o $(EX_TMP)
	$(PYTHON) plot.py $(EX_TMP)/pr-example.csv -o $(EX_TMP)
	@for f in latest pr-example; do [ -f $(EX_TMP)/$${f}_headline.png ] || { \
	  echo "make examples: plot.py wrote no $(EX_TMP)/$${f}_headline.png" >&2; exit 1; }; done
	git rm -q --ignore-unmatch '$(EXAMPLES)/*.csv' '$(EXAMPLES)/*.png'
	@mkdir -p $(EXAMPLES)
	cp $(EX_TMP)/latest.csv $(EX_TMP)/pr-example.csv $(EX_TMP)/latest_headline.png \
	  $(EX_TMP)/pr-example_headline.png $(EXAMPLES)/
	git add $(EXAMPLES)
	@echo "make examples: $(EXAMPLES) regenerated from $$(git rev-parse --short=12 HEAD); review and commit"

# The CSV columns (name, kind, description) as `diagbench --schema` prints them: plot.py reads
# this file; tests/test_schema.c fails when it differs from the binary's.
.PHONY: schema
schema: $(BUILD)/diagbench | $(DEPS_FIRST)
	$(BUILD)/diagbench --schema > harness/io/schema.tsv

# Man pages and bash completion, generated from what the binary prints (--help of diagbench,
# compare and merge; --list for the names), so that they cannot disagree with --help:
# help2man for the pages, scripts/gen_completion.py for the completion (tests/test_manpage.py).
MAN_PAGES  = $(BUILD)/man/diagbench.1 $(BUILD)/man/diagbench-compare.1 $(BUILD)/man/diagbench-merge.1
COMPLETION = $(BUILD)/completion/diagbench
.PHONY: man completion
man: $(MAN_PAGES)
completion: $(COMPLETION)
$(BUILD)/man/diagbench.1: $(BUILD)/diagbench | $(DEPS_FIRST)
	@mkdir -p $(dir $@)
	help2man -N -n 'how fast can we get the diagonal of a linear operator' -o $@ $(BUILD)/diagbench
$(BUILD)/man/diagbench-%.1: $(BUILD)/diagbench | $(DEPS_FIRST)
	@mkdir -p $(dir $@)
	help2man -N --help-option='$* --help' -n 'diagbench $*: see diagbench(1)' -o $@ $(BUILD)/diagbench
$(COMPLETION): $(BUILD)/diagbench scripts/gen_completion.py | $(DEPS_FIRST)
	@mkdir -p $(dir $@)
	$(PYTHON) scripts/gen_completion.py $(BUILD)/diagbench > $@.tmp && mv $@.tmp $@

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, plot.py with the column list it
# reads (beside it, as in the tree), the man pages and the bash completion. make uninstall
# removes exactly those files.
PREFIX ?= /usr/local
MANDIR  = $(DESTDIR)$(PREFIX)/share/man/man1
COMPDIR = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
INSTALLED = $(DESTDIR)$(PREFIX)/bin/diagbench $(DESTDIR)$(PREFIX)/share/diagbench/plot.py \
            $(DESTDIR)$(PREFIX)/share/diagbench/harness/io/schema.tsv \
            $(patsubst $(BUILD)/man/%,$(MANDIR)/%,$(MAN_PAGES)) $(COMPDIR)/diagbench
.PHONY: install uninstall
install: $(BUILD)/diagbench $(MAN_PAGES) $(COMPLETION) | $(DEPS_FIRST)
	install -D -m 0755 $(BUILD)/diagbench $(DESTDIR)$(PREFIX)/bin/diagbench
	install -D -m 0755 plot.py $(DESTDIR)$(PREFIX)/share/diagbench/plot.py
	install -D -m 0644 harness/io/schema.tsv $(DESTDIR)$(PREFIX)/share/diagbench/harness/io/schema.tsv
	install -d $(MANDIR) $(COMPDIR)
	install -m 0644 $(MAN_PAGES) $(MANDIR)/
	install -m 0644 $(COMPLETION) $(COMPDIR)/diagbench
uninstall:
	rm -f $(INSTALLED)

# ASan + UBSan (+ LSan) over the whole Criterion suite; the spawned build/sanitize/diagbench is
# sanitized too. Any UB aborts the run (-fno-sanitize-recover); leaks fail it. Suppressions, one
# reason per line: tests/sanitizers/lsan.supp.
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
SAN_ENV   = ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizers/lsan.supp:print_suppressions=0
sanitize: | $(DEPS_FIRST)
	$(SAN_ENV) $(MAKE) BUILD=build/sanitize SANITIZE="$(SAN_FLAGS)" test-c

# libFuzzer over every parser of untrusted text (tests/fuzz/fuzz_one.c): clang, with ASan + UBSan
# (the C++ UBSan runtime is linked too: gbench.cc's Google Benchmark lambdas carry vptr checks).
# New corpus entries go to build/fuzz/corpus; the committed seeds in tests/fuzz/corpus stay as
# they are. A crash leaves build/fuzz/crash-* and fails the target: copy it to
# tests/fuzz/regressions/ (the Criterion suite replays that directory) and fix the bug.
FUZZ_SECONDS ?= 60
# clang reports `#pragma omp simd` loops over scalar libm calls it cannot vectorise (gcc uses
# libmvec there): that is a missed optimisation in a sanitizer build, not a defect.
CLANG_WERROR = -Werror -Wno-pass-failed
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
fuzz: | $(DEPS_FIRST)
	$(MAKE) BUILD=build/fuzz CC=clang CXX=clang++ WERROR="$(CLANG_WERROR)" \
	  SANITIZE="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" build/fuzz/libdiagbench.a
	clang -std=c17 -g -O1 $(CPPFLAGS) $(WARN) $(FUZZ_SAN) -fsanitize=fuzzer -fopenmp \
	  -fsanitize-link-c++-runtime tests/fuzz/fuzz_main.c tests/fuzz/fuzz_one.c build/fuzz/libdiagbench.a $(LDLIBS) -lstdc++ \
	  -o build/fuzz/fuzz_parsers
	@mkdir -p build/fuzz/corpus
	$(SAN_ENV) build/fuzz/fuzz_parsers -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	  -dict=tests/fuzz/parsers.dict -artifact_prefix=build/fuzz/ build/fuzz/corpus tests/fuzz/corpus

# ThreadSanitizer over the threaded paths (`make tsan`; not part of `make test`). clang with
# LLVM's OpenMP runtime and its Archer tool, so TSan understands OpenMP's synchronisation;
# OpenBLAS's libgomp.so.1 is pointed at libomp (which implements the GOMP ABI), so one runtime
# runs every parallel region. Criterion cannot start under TSan (Snaipe/Criterion#274), so a
# plain driver (tests/tsan/threads.c) runs the conformance combinations with 1 and 2 threads,
# then the harness runs a -t 1,2 sweep over every workload, operator and strategy, and a
# -t 1,2 x --bind close,spread sweep over structured and downstream cells. No suppressions are
# needed.
LLVM_LIB = /usr/lib/llvm-14/lib
TSAN_ENV = LD_LIBRARY_PATH=$(CURDIR)/build/tsan/omp OMP_TOOL_LIBRARIES=$(LLVM_LIB)/libarcher.so \
           TSAN_OPTIONS="halt_on_error=1 ignore_noninstrumented_modules=1"
tsan: | $(DEPS_FIRST)
	$(MAKE) BUILD=build/tsan CC=clang CXX=clang++ WERROR="$(CLANG_WERROR)" \
	  SANITIZE="-fsanitize=thread" build/tsan/diagbench build/tsan/libdiagbench.a
	clang -std=c17 -g -O1 $(CPPFLAGS) $(WARN) -fsanitize=thread -fopenmp tests/tsan/threads.c \
	  build/tsan/libdiagbench.a $(LDLIBS) -lstdc++ -o build/tsan/threads
	@mkdir -p build/tsan/omp
	ln -sf $(LLVM_LIB)/libomp.so.5 build/tsan/omp/libgomp.so.1
	$(TSAN_ENV) build/tsan/threads
	rm -f build/tsan/sweep.csv build/tsan/sweep.csv.partial
	$(TSAN_ENV) build/tsan/diagbench -w sin,split,seqsin,nobatch \
	  -p jacobian,function,matrix,diagonal -s materialise,probe -n 7,300 -t 1,2 --reps 2 \
	  --min-time 1e-4 --call-cost-us 1 -q --out build/tsan/sweep.csv
	rm -f build/tsan/sweep2.csv build/tsan/sweep2.csv.partial
	$(TSAN_ENV) build/tsan/diagbench -w tridiag,banded,solve:sin,newton:tridiag \
	  -s probe-tridiag,probe-banded,probe+diagonal,probe-tridiag+tridiagonal,materialise+lu \
	  -n 7,300 -t 1,2 --bind close,spread --reps 2 --min-time 1e-4 -q --out build/tsan/sweep2.csv
	@echo "tsan: clean"

FORMAT_FILES = $(wildcard */*.c */*.h */*.cc */*/*.c */*/*.h */*/*.cc)
format: | $(DEPS_FIRST)
	clang-format -i $(FORMAT_FILES)

format-check: | $(DEPS_FIRST)
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD)

-include $(LIB_O:.o=.d) $(TEST_O:.o=.d) $(BUILD)/harness/app/main.d
