# tests/browser: the form and the outcome pages in headless Chromium
# (playwright-core, axe-core) through the real leadroute.fcgi behind
# lighttpd (tests/integration/lib.sh, deploy/lighttpd.conf,
# rules/example.routes).  Screenshots and, from a tarball, the node
# packages go to tests/browser-run/.
TESTS += tests/browser/browser-test.sh
EXTRA_DIST += tests/browser/browser-test.sh tests/browser/a11y.mjs \
	tests/browser/package.json tests/browser/package-lock.json \
	tests/integration/lib.sh www
clean-local: clean-browser-run
clean-browser-run:
	rm -rf tests/browser-run
