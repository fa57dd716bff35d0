# tests/unit/metrics.mk: unit tests of src/metrics.
# Bucket arithmetic, exact sums of atomic adds from several forked
# processes, the reset of a file from another boot and the replacement of
# one of another layout, and the exact text of a known state.
check_PROGRAMS += tests/unit/test_metrics
TESTS += tests/unit/test_metrics
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c
tests_unit_test_metrics_CFLAGS = $(LR_UNIT_CFLAGS)
tests_unit_test_metrics_LDADD = $(LR_UNIT_LIBS)
