# tests/unit/sinks.mk: unit tests of src/events.
