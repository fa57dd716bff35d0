# tests/bench/local.mk - benchmarks (see tests/bench/run-bench.sh and
# doc/performance.md).  `make check` builds bench_rules so it keeps
# compiling, but never runs it: `make bench` does, on whatever build this
# is, so benchmark an optimized build without sanitizers.
check_PROGRAMS += tests/bench/bench_rules
tests_bench_bench_rules_SOURCES = tests/bench/bench_rules.c
tests_bench_bench_rules_LDADD = $(LR_LIBS)
EXTRA_DIST += tests/bench/run-bench.sh tests/bench/jre_bench.js \
	tests/bench/package.json tests/bench/package-lock.json

# The json-rules-engine baseline needs `npm ci` in tests/bench first
# (run-bench.sh says so when it is missing).
bench: tests/bench/bench_rules$(EXEEXT)
	LEADROUTE_FREEMAIL='$(abs_top_srcdir)/data/freemail.txt' \
	$(SHELL) '$(srcdir)/tests/bench/run-bench.sh' '$(abs_top_builddir)'
.PHONY: bench
