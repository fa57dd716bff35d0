# tests/unit/store.mk - unit tests for src/store (cmocka): the group-commit
# protocol across processes, and the store in group mode.
check_PROGRAMS += tests/unit/test_groupsync
TESTS += tests/unit/test_groupsync
tests_unit_test_groupsync_SOURCES = tests/unit/test_groupsync.c
tests_unit_test_groupsync_CFLAGS = $(LR_UNIT_CFLAGS)
tests_unit_test_groupsync_LDADD = $(LR_UNIT_LIBS)
