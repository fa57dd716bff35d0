# tests/unit/notify.mk: unit tests of src/notify.
