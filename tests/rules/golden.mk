# tests/rules/golden.mk
