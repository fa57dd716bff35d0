# src/cmd: the thin mains over the library.
bin_PROGRAMS += src/cmd/routec
src_cmd_routec_SOURCES = src/cmd/routec.c
src_cmd_routec_LDADD = $(LR_LIBS)
