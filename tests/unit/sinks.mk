# tests/unit/sinks.mk: unit tests of src/events: the sink runner against a
# scripted sink, the JSON-lines sink on a real file, dedup ids.
check_PROGRAMS += tests/unit/test_sinks
TESTS += tests/unit/test_sinks
tests_unit_test_sinks_SOURCES = tests/unit/test_sinks.c
tests_unit_test_sinks_CFLAGS = $(LR_UNIT_CFLAGS)
tests_unit_test_sinks_LDADD = $(LR_UNIT_LIBS)
