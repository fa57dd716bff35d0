# src/cmd: the thin mains over the library.
bin_PROGRAMS += src/cmd/routec
src_cmd_routec_SOURCES = src/cmd/routec.c
src_cmd_routec_LDADD = $(LR_LIBS)
bin_PROGRAMS += src/cmd/leadroute
src_cmd_leadroute_SOURCES = src/cmd/leadroute.c src/cmd/leadroute_outbox.c src/cmd/leadroute_cmd.h \
	src/cmd/leadroute_report.c
src_cmd_leadroute_SOURCES += src/cmd/leadroute_replay.c
src_cmd_leadroute_LDADD = $(LR_LIBS)
bin_PROGRAMS += src/cmd/leadroute.fcgi
src_cmd_leadroute_fcgi_SOURCES = src/cmd/leadroute_fcgi.c
src_cmd_leadroute_fcgi_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS)
src_cmd_leadroute_fcgi_LDADD = $(LR_LIBS) $(FCGI_LIBS)
