# src/lead: what a lead is and how its values are normalized.
libleadroute_a_SOURCES += \
	src/lead/country.c src/lead/country.h \
	src/lead/tz.c src/lead/tz.h \
	src/lead/freemail.c src/lead/freemail.h
dist_pkgdata_DATA += data/freemail.txt
EXTRA_DIST += data/README tools/update-freemail
libleadroute_a_SOURCES += \
	src/lead/normalize.c src/lead/normalize.h \
	src/lead/lead.c src/lead/lead.h \
	src/lead/accounts.c src/lead/accounts.h
libleadroute_a_SOURCES += src/lead/refdata.c src/lead/refdata.h
