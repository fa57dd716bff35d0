# src/util: small shared helpers (allocation, strings, suggestions).
libleadroute_a_SOURCES += \
	src/util/xalloc.c src/util/xalloc.h \
	src/util/buf.c src/util/buf.h \
	src/util/suggest.c src/util/suggest.h
libleadroute_a_SOURCES += src/util/hmap.c src/util/hmap.h
libleadroute_a_SOURCES += src/util/clock.h
libleadroute_a_SOURCES += src/util/bootid.c src/util/bootid.h
