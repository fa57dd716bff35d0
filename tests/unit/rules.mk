# tests/unit/rules.mk - unit and property tests for src/rules (cmocka).
check_PROGRAMS += tests/unit/test_tree_oracle
TESTS += tests/unit/test_tree_oracle
tests_unit_test_tree_oracle_SOURCES = tests/unit/test_tree_oracle.c
tests_unit_test_tree_oracle_CFLAGS = $(LR_UNIT_CFLAGS)
tests_unit_test_tree_oracle_LDADD = $(LR_UNIT_LIBS)
check_PROGRAMS += tests/unit/test_assign
TESTS += tests/unit/test_assign
tests_unit_test_assign_SOURCES = tests/unit/test_assign.c
tests_unit_test_assign_CFLAGS = $(LR_UNIT_CFLAGS)
tests_unit_test_assign_LDADD = $(LR_UNIT_LIBS)

