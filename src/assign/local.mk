# src/assign: who gets a routed lead.
libleadroute_a_SOURCES += src/assign/assign.c src/assign/assign.h
