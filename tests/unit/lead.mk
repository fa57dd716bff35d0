# tests/unit/lead.mk - unit tests for src/lead (cmocka).  test_country reads
# the installed iso-codes, test_tz the installed tzdata, test_freemail the
# list named by LEADROUTE_FREEMAIL (set in tests/local.mk to data/freemail.txt).
check_PROGRAMS += tests/unit/test_country tests/unit/test_tz tests/unit/test_freemail
TESTS += tests/unit/test_country tests/unit/test_tz tests/unit/test_freemail

tests_unit_test_country_SOURCES = tests/unit/test_country.c
tests_unit_test_country_CFLAGS = $(LR_UNIT_CFLAGS)
tests_unit_test_country_LDADD = $(LR_UNIT_LIBS)

tests_unit_test_tz_SOURCES = tests/unit/test_tz.c
tests_unit_test_tz_CFLAGS = $(LR_UNIT_CFLAGS)
tests_unit_test_tz_LDADD = $(LR_UNIT_LIBS)

tests_unit_test_freemail_SOURCES = tests/unit/test_freemail.c
tests_unit_test_freemail_CFLAGS = $(LR_UNIT_CFLAGS)
tests_unit_test_freemail_LDADD = $(LR_UNIT_LIBS)
