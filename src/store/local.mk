# src/store: durable state (SQLite) behind one interface.
libleadroute_a_SOURCES += src/store/store.c src/store/store.h \
	src/store/groupsync.c src/store/groupsync.h
