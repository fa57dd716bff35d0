# tests/unit/report.mk: unit tests of src/report: the routing review's
# figures from a database filled with known events, and their rendering.
check_PROGRAMS += tests/unit/test_report
TESTS += tests/unit/test_report
tests_unit_test_report_SOURCES = tests/unit/test_report.c
tests_unit_test_report_CFLAGS = $(LR_UNIT_CFLAGS)
tests_unit_test_report_LDADD = $(LR_UNIT_LIBS)
