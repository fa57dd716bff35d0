# tests/rules/diff.mk
