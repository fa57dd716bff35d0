# src/outbox: delivering routed leads to the CRM until each is written once.
libleadroute_a_SOURCES += src/outbox/outbox.c src/outbox/outbox.h
