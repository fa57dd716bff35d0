# src/handler: the intake path of leadroute.fcgi, independent of FastCGI.
libleadroute_a_SOURCES += \
	src/handler/config.c src/handler/config.h \
	src/handler/handler.c src/handler/handler.h
