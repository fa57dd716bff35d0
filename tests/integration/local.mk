# tests/integration: leadroute.fcgi behind real web servers, through the
# shipped deploy/ configurations, on free loopback ports in temporary
# directories (tests/integration/lib.sh):
#   servers-test.sh  lighttpd, Apache mod_fcgid, Apache mod_proxy_fcgi,
#                    nginx + spawn-fcgi, and plain CGI: every rule of
#                    rules/example.routes, form and JSON posts, idempotency,
#                    the form token, /healthz, /metrics, the static pages
#   hostile-test.sh  hostile and malformed requests through lighttpd; none
#                    may store a lead
#   kill-test.sh     2,000 leads while handler processes are SIGKILLed; every
#                    acknowledged lead stored exactly once
TESTS += tests/integration/servers-test.sh tests/integration/hostile-test.sh \
	tests/integration/kill-test.sh
EXTRA_DIST += tests/integration/servers-test.sh tests/integration/hostile-test.sh \
	tests/integration/kill-test.sh tests/integration/lib.sh \
	tests/integration/rawhttp.py tests/integration/loadclient.py \
	deploy tools/run data/sample-accounts.csv www
# sigterm-test.sh  SIGTERM to leadroute.fcgi --listen in the middle of a
#                  request's body (FastCGI spoken directly, fcgiclient.py) and
#                  to lighttpd while a slow client sends a lead (slowpost.py)
# reload-test.sh   the rules file renamed over, rewritten in place, broken and
#                  fixed under a running lighttpd: routing and /healthz follow
TESTS += tests/integration/sigterm-test.sh tests/integration/reload-test.sh
EXTRA_DIST += tests/integration/sigterm-test.sh tests/integration/reload-test.sh \
	tests/integration/fcgiclient.py tests/integration/slowpost.py
# crm-chaos-test.sh  1,000 leads a CRM through lighttpd to a fake HubSpot and
#                    a fake Salesforce (tests/crm/fakecrm.py) that go down,
#                    flap, rate-limit, answer slowly and expire sessions,
#                    while the outbox worker is SIGKILLed and restarted;
#                    every answered lead ends in the CRM exactly once with
#                    the owner the rules chose, and only the injected
#                    permanent errors are dead-lettered (crm-chaos-drive.py
#                    drives, crm-chaos-check.py judges)
TESTS += tests/integration/crm-chaos-test.sh
EXTRA_DIST += tests/integration/crm-chaos-test.sh tests/integration/crm-chaos-drive.py \
	tests/integration/crm-chaos-check.py tests/integration/crm-chaos-seed.json

# alerts raised by the handler (CGI, a real SQLite file)
TESTS += tests/integration/alerts-test.sh
EXTRA_DIST += tests/integration/alerts-test.sh

# the signed webhooks: /booked and /owner-changed (CGI, a real SQLite file)
TESTS += tests/integration/webhooks-test.sh
EXTRA_DIST += tests/integration/webhooks-test.sh
# metrics-test.sh  /metrics under lighttpd with three handler processes:
#                  `promtool check metrics` is satisfied, and request counts
#                  and histogram counts are exactly the traffic sent; the
#                  outbox's CRM-call and submit-to-confirmed histograms with
#                  a webhook receiver, the handler as CGI and the worker
TESTS += tests/integration/metrics-test.sh
EXTRA_DIST += tests/integration/metrics-test.sh
