# tests/unit/diag.mk - unit tests for src/rules/source.c and src/rules/diag.c
# (cmocka).  Included from Makefile.am through tests/local.mk.
check_PROGRAMS += tests/unit/test_source tests/unit/test_diag
TESTS += tests/unit/test_source tests/unit/test_diag

tests_unit_test_source_SOURCES = tests/unit/test_source.c
tests_unit_test_source_CFLAGS = $(LR_UNIT_CFLAGS)
# The stdin tests feed a pipe from a thread.
tests_unit_test_source_LDADD = $(LR_UNIT_LIBS) -lpthread

tests_unit_test_diag_SOURCES = tests/unit/test_diag.c
tests_unit_test_diag_CFLAGS = $(LR_UNIT_CFLAGS)
tests_unit_test_diag_LDADD = $(LR_UNIT_LIBS)
