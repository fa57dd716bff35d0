# src/report: the routing review (leadroute report).
libleadroute_a_SOURCES += \
	src/report/report.c src/report/report.h \
	src/report/report_text.c src/report/report_html.c
