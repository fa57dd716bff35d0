# tests/rules/replay.mk: leadroute replay against a database the real handler filled.
# replay-test.sh fills a database through leadroute.fcgi and replays changed
# rules over it; test_replay (cmocka) is the module alone (src/replay).
TESTS += tests/rules/replay-test.sh
EXTRA_DIST += tests/rules/replay-test.sh
check_PROGRAMS += tests/unit/test_replay
TESTS += tests/unit/test_replay
tests_unit_test_replay_SOURCES = tests/unit/test_replay.c
tests_unit_test_replay_CFLAGS = $(LR_UNIT_CFLAGS)
tests_unit_test_replay_LDADD = $(LR_UNIT_LIBS)
