# tests/fuzz/local.mk - fuzz targets for every parser (.routes files, JSON
# leads, account CSV).  Each target is linked twice:
#   tests/fuzz/replay_T  always (check_PROGRAMS): replay.c's main runs the
#                        target once over tests/fuzz/corpus/T/ in `make check`
#                        (tests/fuzz/replay-test.sh), under whatever
#                        sanitizers the build has;
#   tests/fuzz/fuzz_T    only with --enable-fuzzing (CC=clang, normally with
#                        --enable-sanitizers too): a libFuzzer binary, run by
#                        tests/fuzz/run-fuzz.sh BUILDDIR SECONDS.
# See tests/fuzz/README.

check_PROGRAMS += tests/fuzz/replay_routes tests/fuzz/replay_lead tests/fuzz/replay_csv \
	tests/fuzz/replay_body
TESTS += tests/fuzz/replay-test.sh

tests_fuzz_replay_routes_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_routes.c tests/fuzz/fuzz.h
tests_fuzz_replay_routes_CFLAGS = $(AM_CFLAGS)
tests_fuzz_replay_routes_LDADD = $(LR_LIBS)
tests_fuzz_replay_lead_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_lead.c tests/fuzz/fuzz.h
tests_fuzz_replay_lead_CFLAGS = $(AM_CFLAGS)
tests_fuzz_replay_lead_LDADD = $(LR_LIBS)
tests_fuzz_replay_csv_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_csv.c tests/fuzz/fuzz.h
tests_fuzz_replay_csv_CFLAGS = $(AM_CFLAGS)
tests_fuzz_replay_csv_LDADD = $(LR_LIBS)
tests_fuzz_replay_body_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_body.c tests/fuzz/fuzz.h
tests_fuzz_replay_body_CFLAGS = $(AM_CFLAGS)
tests_fuzz_replay_body_LDADD = $(LR_LIBS)

if FUZZING
# Coverage instrumentation for everything (the library above all: without
# it libFuzzer only sees the edges of the target files).  The hooks it
# calls come from the sanitizer runtime, hence --enable-sanitizers.
AM_CFLAGS += -fsanitize=fuzzer-no-link

noinst_PROGRAMS += tests/fuzz/fuzz_routes tests/fuzz/fuzz_lead tests/fuzz/fuzz_csv \
	tests/fuzz/fuzz_body

tests_fuzz_fuzz_routes_SOURCES = tests/fuzz/fuzz_routes.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_routes_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_routes_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_routes_LDADD = $(LR_LIBS)
tests_fuzz_fuzz_lead_SOURCES = tests/fuzz/fuzz_lead.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_lead_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_lead_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_lead_LDADD = $(LR_LIBS)
tests_fuzz_fuzz_csv_SOURCES = tests/fuzz/fuzz_csv.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_csv_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_csv_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_csv_LDADD = $(LR_LIBS)
tests_fuzz_fuzz_body_SOURCES = tests/fuzz/fuzz_body.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_body_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_body_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_body_LDADD = $(LR_LIBS)
endif

EXTRA_DIST += tests/fuzz/README tests/fuzz/replay-test.sh tests/fuzz/run-fuzz.sh \
	tests/fuzz/routes.dict tests/fuzz/lead.dict tests/fuzz/csv.dict \
	tests/fuzz/corpus tests/fuzz/crashes
