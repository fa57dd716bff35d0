# tests/unit/intake.mk - unit tests for src/intake (cmocka): body parsing
# and content types, form tokens, idempotency keys.
check_PROGRAMS += tests/unit/test_body tests/unit/test_token tests/unit/test_idem
TESTS += tests/unit/test_body tests/unit/test_token tests/unit/test_idem

tests_unit_test_body_SOURCES = tests/unit/test_body.c
tests_unit_test_body_CFLAGS = $(LR_UNIT_CFLAGS)
tests_unit_test_body_LDADD = $(LR_UNIT_LIBS)

tests_unit_test_token_SOURCES = tests/unit/test_token.c
tests_unit_test_token_CFLAGS = $(LR_UNIT_CFLAGS)
tests_unit_test_token_LDADD = $(LR_UNIT_LIBS)

tests_unit_test_idem_SOURCES = tests/unit/test_idem.c
tests_unit_test_idem_CFLAGS = $(LR_UNIT_CFLAGS)
tests_unit_test_idem_LDADD = $(LR_UNIT_LIBS)
