# tests/rules/diff.mk - routec --diff on OLD/NEW pairs (tests/rules/diff/).
TESTS += tests/rules/diff-test.sh
EXTRA_DIST += tests/rules/diff-test.sh tests/rules/diff
