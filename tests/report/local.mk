# tests/report: shell tests (see the scripts' headers).
#   report-test.sh     leadroute report on a seeded database (seed.sh):
#                      the figures, --since, --html, empty and bad databases
#   conflicts-test.sh  account conflicts recorded by accounts import and
#                      accounts sync (the fake CRM), and shown by the report
#   browser-test.sh    the --html page in headless Chromium with axe-core
#                      (tests/browser/report.mjs and its node packages);
#                      screenshots in tests/report-run/
TESTS += tests/report/report-test.sh tests/report/conflicts-test.sh \
	tests/report/browser-test.sh
EXTRA_DIST += tests/report/report-test.sh tests/report/conflicts-test.sh \
	tests/report/browser-test.sh tests/report/seed.sh tests/report/sync-seed.json \
	tests/browser/report.mjs
clean-local: clean-report-run
clean-report-run:
	rm -rf tests/report-run
.PHONY: clean-report-run
