# tests/rules/fmt.mk
