# src/replay: the what-if: stored leads through new rules (leadroute replay).
libleadroute_a_SOURCES += src/replay/replay.c src/replay/replay.h
