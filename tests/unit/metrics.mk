# tests/unit/metrics.mk: unit tests of src/metrics.
