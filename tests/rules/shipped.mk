# tests/rules/shipped.mk
