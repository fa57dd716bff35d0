# tests/bench/local.mk - benchmarks (see tests/bench/run-bench.sh and
# doc/performance.md).  `make check` builds bench_rules so it keeps
# compiling, but never runs it: `make bench` does, on whatever build this
# is, so benchmark an optimized build without sanitizers.
check_PROGRAMS += tests/bench/bench_rules
tests_bench_bench_rules_SOURCES = tests/bench/bench_rules.c
tests_bench_bench_rules_LDADD = $(LR_LIBS)
EXTRA_DIST += tests/bench/run-bench.sh tests/bench/jre_bench.js \
	tests/bench/package.json tests/bench/package-lock.json

# The HTTP benchmark (tests/bench/http-bench.sh, `make bench-http`):
# leadroute.fcgi against noop_fcgi, a do-nothing libfcgi responder, under
# the same lighttpd (deploy/lighttpd.conf) and wrk.  `make check` builds
# noop_fcgi so it keeps compiling, and never runs it.
check_PROGRAMS += tests/bench/noop_fcgi
tests_bench_noop_fcgi_SOURCES = tests/bench/noop_fcgi.c
tests_bench_noop_fcgi_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS)
tests_bench_noop_fcgi_LDADD = $(FCGI_LIBS)
EXTRA_DIST += tests/bench/http-bench.sh tests/bench/http-bench.lua

# The json-rules-engine baseline needs `npm ci` in tests/bench first
# (run-bench.sh says so when it is missing).
bench: tests/bench/bench_rules$(EXEEXT)
	LEADROUTE_FREEMAIL='$(abs_top_srcdir)/data/freemail.txt' \
	$(SHELL) '$(srcdir)/tests/bench/run-bench.sh' '$(abs_top_builddir)'

# Builds what it runs (the handler, the operator command, noop_fcgi); takes
# about 5 minutes with the defaults (see tests/bench/http-bench.sh for the
# settings, e.g. HTTP_BENCH_MEMORY_REQUESTS=0 to leave out the long run).
bench-http: src/cmd/leadroute.fcgi$(EXEEXT) src/cmd/leadroute$(EXEEXT) \
		tests/bench/noop_fcgi$(EXEEXT)
	bash '$(srcdir)/tests/bench/http-bench.sh' '$(abs_top_builddir)'
.PHONY: bench bench-http

# The CRM latency benchmark (tests/bench/crm-bench.sh, `make bench-crm`):
# submit -> answered and submit -> CRM confirmed with the fake CRM slowed
# down, leadroute's outbox against the seed design's inline CRM calls.
# `make check` builds crm-bench so it keeps compiling, and never runs it.
check_PROGRAMS += tests/bench/crm-bench
tests_bench_crm_bench_SOURCES = tests/bench/crm-bench.c
tests_bench_crm_bench_LDADD = $(LR_LIBS)
EXTRA_DIST += tests/bench/crm-bench.sh

# Builds what it runs (crm-bench, the operator command for the accounts
# sync); about 4 minutes with the defaults (settings: tests/bench/crm-bench.sh).
bench-crm: tests/bench/crm-bench$(EXEEXT) src/cmd/leadroute$(EXEEXT)
	bash '$(srcdir)/tests/bench/crm-bench.sh' '$(abs_top_builddir)'
.PHONY: bench-crm
