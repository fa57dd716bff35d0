# src/events: the event log's consumers: the sink runner, the JSON-lines file, analytics forwarding.
libleadroute_a_SOURCES += src/events/sink.h
