# tests: unit tests (cmocka, one program per module), rule-file tests,
# integration tests and fuzz-corpus replays.  Everything here runs in
# `make check`; see tests/README.
LR_UNIT_LIBS = $(LR_LIBS) $(CMOCKA_LIBS)
LR_UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
AM_TESTS_ENVIRONMENT = \
	ROUTEC='$(abs_top_builddir)/src/cmd/routec'; export ROUTEC; \
	LEADROUTE_FREEMAIL='$(abs_top_srcdir)/data/freemail.txt'; \
	export LEADROUTE_FREEMAIL; \
	top_srcdir='$(abs_top_srcdir)'; top_builddir='$(abs_top_builddir)'; \
	export top_srcdir top_builddir; \
	if test -n "$$LEADROUTE_VALGRIND"; then \
	  ROUTEC='$(abs_top_srcdir)/tools/valgrind-routec'; export ROUTEC; fi;

include $(srcdir)/tests/unit/util.mk
include $(srcdir)/tests/unit/lead.mk
include $(srcdir)/tests/unit/diag.mk
include $(srcdir)/tests/unit/rules.mk
include $(srcdir)/tests/unit/intake.mk
include $(srcdir)/tests/unit/store.mk
include $(srcdir)/tests/unit/crm-sf.mk
include $(srcdir)/tests/unit/crm.mk
include $(srcdir)/tests/unit/metrics.mk
include $(srcdir)/tests/unit/sinks.mk
include $(srcdir)/tests/unit/notify.mk
include $(srcdir)/tests/unit/report.mk
include $(srcdir)/tests/rules/fmt.mk
include $(srcdir)/tests/rules/diff.mk
include $(srcdir)/tests/rules/golden.mk
include $(srcdir)/tests/rules/shipped.mk
include $(srcdir)/tests/rules/replay.mk
include $(srcdir)/tests/fuzz/local.mk
include $(srcdir)/tests/bench/local.mk
include $(srcdir)/tests/browser/local.mk
include $(srcdir)/tests/integration/local.mk
include $(srcdir)/tests/report/local.mk
include $(srcdir)/tests/sinks/local.mk
include $(srcdir)/tests/notify/local.mk
include $(srcdir)/tests/crm/local.mk
