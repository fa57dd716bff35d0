# src/notify: owner notices (Slack, email) and alert delivery, as event sinks
# (src/events/sink.h): the CRM link template, the notice's content, the
# Slack sinks, the sendmail runner and the email sink.
libleadroute_a_SOURCES += \
	src/notify/crmlink.c src/notify/crmlink.h \
	src/notify/notice.c src/notify/notice.h \
	src/notify/slack.c src/notify/slack.h \
	src/notify/mailer.c src/notify/mailer.h \
	src/notify/email.c src/notify/email.h
