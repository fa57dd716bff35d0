# src/cmd: the thin mains over the library.
bin_PROGRAMS += src/cmd/routec
src_cmd_routec_SOURCES = src/cmd/routec.c
src_cmd_routec_LDADD = $(LR_LIBS)
bin_PROGRAMS += src/cmd/leadroute
src_cmd_leadroute_SOURCES = src/cmd/leadroute.c
src_cmd_leadroute_LDADD = $(LR_LIBS)
