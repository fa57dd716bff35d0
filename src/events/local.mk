# src/events: the event log's consumers: the sink runner, the JSON-lines file, analytics forwarding.
libleadroute_a_SOURCES += src/events/sink.h src/events/sinks.c src/events/sinks.h \
	src/events/jsonl.c src/events/jsonl.h src/events/forward.c src/events/forward.h
