# tests/rules/fmt.mk - `routec --fmt`: golden layouts (tests/rules/fmt/
# NAME.in.routes formats to NAME.out.routes), idempotency on those and on
# the shipped rules, and unchanged routing.  See tests/rules/fmt-test.sh.
# Only registers the test; never adds build rules.
TESTS += tests/rules/fmt-test.sh
EXTRA_DIST += tests/rules/fmt-test.sh tests/rules/fmt
