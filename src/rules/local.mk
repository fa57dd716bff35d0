# src/rules: the .routes language - source, diagnostics, AST, checks,
# decision tree, evaluation, lints.
libleadroute_a_SOURCES += \
	src/rules/source.c src/rules/source.h \
	src/rules/diag.c src/rules/diag.h
libleadroute_a_SOURCES += \
	src/rules/ast.c src/rules/ast.h \
	src/rules/parse.c src/rules/parse.h
libleadroute_a_SOURCES += \
	src/rules/facts.h \
	src/rules/check.c src/rules/check.h \
	src/rules/eval.c src/rules/eval.h \
	src/rules/tree.c src/rules/tree.h
libleadroute_a_SOURCES += \
	src/rules/route.c src/rules/route.h \
	src/rules/lint.c src/rules/lint.h
libleadroute_a_SOURCES += src/rules/ruleset.c src/rules/ruleset.h
libleadroute_a_SOURCES += \
	src/rules/explain.c src/rules/explain.h \
	src/rules/fmt.c src/rules/fmt.h \
	src/rules/diff.c src/rules/diff.h
