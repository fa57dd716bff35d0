# tests/unit/report.mk: unit tests of src/report.
