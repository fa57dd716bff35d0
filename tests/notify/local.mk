# tests/notify: the notice and alert sinks (src/notify) end to end.
# notify-test.sh drives them through notify-drive (a store with known leads
# and events, one sink of each kind) against fakeslack.py (Slack's incoming
# webhooks, Python standard library) and fake-sendmail.sh; see the
# script's header.  Nothing here leaves loopback.
check_PROGRAMS += tests/notify/notify-drive
tests_notify_notify_drive_SOURCES = tests/notify/notify-drive.c
tests_notify_notify_drive_CFLAGS = $(LR_UNIT_CFLAGS)
tests_notify_notify_drive_LDADD = $(LR_UNIT_LIBS)

TESTS += tests/notify/notify-test.sh
EXTRA_DIST += tests/notify/notify-test.sh tests/notify/fakeslack.py tests/notify/fake-sendmail.sh
