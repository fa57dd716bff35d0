# tests/unit/notify.mk: unit tests of src/notify (cmocka): mrkdwn escaping,
# the exact Slack messages and mail for a known lead, header injection,
# the CRM link template, value cleaning, notices loaded from a store.
check_PROGRAMS += tests/unit/test_notify
TESTS += tests/unit/test_notify
tests_unit_test_notify_SOURCES = tests/unit/test_notify.c
tests_unit_test_notify_CFLAGS = $(LR_UNIT_CFLAGS)
tests_unit_test_notify_LDADD = $(LR_UNIT_LIBS)
