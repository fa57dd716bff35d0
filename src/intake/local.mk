# src/intake: what a submission brings in: the body (form or JSON) and the
# signed form token.
libleadroute_a_SOURCES += src/intake/body.c src/intake/body.h src/intake/token.c src/intake/token.h
