# tests/unit/rules.mk
