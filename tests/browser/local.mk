# tests/browser: the pages in headless Chromium (playwright-core, axe-core).
TESTS += tests/browser/browser-test.sh
EXTRA_DIST += tests/browser/browser-test.sh tests/browser/a11y.mjs \
	tests/browser/package.json tests/browser/package-lock.json www
clean-local: clean-browser-run
clean-browser-run:
	rm -rf tests/browser-run
