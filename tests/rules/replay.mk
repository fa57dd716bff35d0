# tests/rules/replay.mk: leadroute replay against a database the real handler filled.
