# tests/unit/crm.mk - tests of src/crm's HubSpot and webhook connectors,
# driven through crm.h by tests/crm/hubspot-drive (one connector per run,
# commands on standard input, one JSON result a line):
#   hubspot-test.sh  against the fake CRM (tests/crm/fakecrm.py, seeded with
#                    hubspot-seed.json): contacts, owners and their cache,
#                    associations, lost answers, rate limits, faults,
#                    errors, the token kept out of messages, lookups within
#                    a timeout, sync paging past the search window
#   webhook-test.sh  against webhook-receiver.py, which verifies signatures
#                    as doc/crm.md tells receivers to: signing, the
#                    idempotency key, classification, timeouts, redirects
# Nothing here reaches a real CRM: every server is local to the test.
check_PROGRAMS += tests/crm/hubspot-drive
tests_crm_hubspot_drive_SOURCES = tests/crm/hubspot-drive.c
tests_crm_hubspot_drive_CFLAGS = $(LR_UNIT_CFLAGS)
tests_crm_hubspot_drive_LDADD = $(LR_UNIT_LIBS)

TESTS += tests/crm/hubspot-test.sh tests/crm/webhook-test.sh tests/crm/sync-test.sh tests/crm/secrets-test.sh
EXTRA_DIST += tests/crm/sync-test.sh tests/crm/secrets-test.sh tests/crm/hubspot-test.sh tests/crm/hubspot-lib.sh tests/crm/hubspot-seed.json \
	tests/crm/webhook-test.sh tests/crm/webhook-receiver.py
