# grammar: flex scanner and bison parser of .routes (generated C is a build
# product, never edited by hand).
libleadroute_a_SOURCES += grammar/routes_parse.y grammar/routes_scan.l grammar/parse_ctx.h
BUILT_SOURCES += grammar/routes_parse.h
