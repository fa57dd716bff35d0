# tests/unit/crm-sf.mk - tests of the Salesforce connector:
#   test_jwt              RS256 JWT assertions and base64url (cmocka, with an
#                         RSA key made at test time)
#   salesforce-test.sh    the connector against the fake CRM
#                         (tests/crm/fakecrm.py) through tests/crm/sf_drive:
#                         both logins, upserts, owners, refresh, limits,
#                         errors, faults, lookups and sync paging
check_PROGRAMS += tests/unit/test_jwt tests/crm/sf_drive
TESTS += tests/unit/test_jwt tests/crm/salesforce-test.sh
EXTRA_DIST += tests/crm/salesforce-test.sh tests/crm/salesforce-seed.json
tests_unit_test_jwt_SOURCES = tests/unit/test_jwt.c
tests_unit_test_jwt_CFLAGS = $(LR_UNIT_CFLAGS)
tests_unit_test_jwt_LDADD = $(LR_UNIT_LIBS)
tests_crm_sf_drive_SOURCES = tests/crm/sf_drive.c
tests_crm_sf_drive_LDADD = $(LR_LIBS)
