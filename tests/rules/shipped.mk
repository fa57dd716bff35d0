# tests/rules/shipped.mk - the rules files we ship (rules/*.routes) must pass
# `routec --check --strict` and `routec --test` with every rule reached by a
# case; tests/rules/cases/NAME.jsonl adds JSON-lines cases to rules/NAME.routes.
TESTS += tests/rules/shipped-test.sh
EXTRA_DIST += tests/rules/shipped-test.sh tests/rules/cases rules
TESTS += tests/rules/cli-test.sh
EXTRA_DIST += tests/rules/cli-test.sh
