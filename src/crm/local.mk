# src/crm: the CRM of record behind one interface (crm.h): the dispatcher,
# the libcurl layer the connectors share, and the connectors (hubspot,
# salesforce, webhook, local).  Only src/crm's files belong here.
libleadroute_a_SOURCES += \
	src/crm/crm.c src/crm/crm.h \
	src/crm/http.c src/crm/http.h \
	src/crm/hubspot.c src/crm/hubspot.h \
	src/crm/webhook.c src/crm/webhook.h \
	src/crm/local.c src/crm/local.h \
	src/crm/jwt.c src/crm/jwt.h \
	src/crm/salesforce.c src/crm/salesforce.h
