# tests/unit/util.mk - unit tests for src/util (cmocka).
check_PROGRAMS += tests/unit/test_suggest
TESTS += tests/unit/test_suggest
tests_unit_test_suggest_SOURCES = tests/unit/test_suggest.c
tests_unit_test_suggest_CFLAGS = $(LR_UNIT_CFLAGS)
tests_unit_test_suggest_LDADD = $(LR_UNIT_LIBS)
