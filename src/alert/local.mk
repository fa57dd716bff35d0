# src/alert: rate-limited alerts, stored as events.
libleadroute_a_SOURCES += src/alert/alert.c src/alert/alert.h
