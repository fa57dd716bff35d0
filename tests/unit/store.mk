# tests/unit/store.mk - unit tests for src/store (cmocka): the group-commit
# protocol across processes, the store in group mode, the outbox.
check_PROGRAMS += tests/unit/test_groupsync
TESTS += tests/unit/test_groupsync
tests_unit_test_groupsync_SOURCES = tests/unit/test_groupsync.c
tests_unit_test_groupsync_CFLAGS = $(LR_UNIT_CFLAGS)
tests_unit_test_groupsync_LDADD = $(LR_UNIT_LIBS)

# the outbox (src/outbox) against a connector scripted in the test
check_PROGRAMS += tests/unit/test_outbox
TESTS += tests/unit/test_outbox
tests_unit_test_outbox_SOURCES = tests/unit/test_outbox.c
tests_unit_test_outbox_CFLAGS = $(LR_UNIT_CFLAGS)
tests_unit_test_outbox_LDADD = $(LR_UNIT_LIBS)
