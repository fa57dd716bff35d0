# src/intake: what a submission brings in: the body (form or JSON), the
# signed form token, and the idempotency key with its payload fingerprint.
libleadroute_a_SOURCES += src/intake/body.c src/intake/body.h src/intake/token.c src/intake/token.h \
	src/intake/idem.c src/intake/idem.h src/intake/hooksig.c src/intake/hooksig.h
