# tests/rules/golden.mk - golden diagnostics of `routec --check`: one small
# bad file per diagnostic code (tests/rules/golden/CODE.routes) and the exact
# output expected from it (CODE.err), plus format, exit status, size,
# nesting and random-input checks.  See tests/rules/golden-test.sh.
TESTS += tests/rules/golden-test.sh
EXTRA_DIST += tests/rules/golden-test.sh tests/rules/golden
