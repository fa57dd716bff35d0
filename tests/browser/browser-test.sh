#!/bin/sh
# browser-test - the form and outcome pages in headless Chromium: axe-core
# accessibility, the form's contract with and without JavaScript, and
# screenshots (tests/browser/a11y.mjs).  Runs from the checkout's
# node_modules (tools/install-deps runs npm ci there); from a tarball, whose
# source tree is read-only and has no node_modules, it installs the pinned
# packages into the build tree first.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
here="$top_srcdir/tests/browser"
if [ -d "$here/node_modules/playwright-core" ]; then
	exec node "$here/a11y.mjs"
fi
run="$top_builddir/tests/browser-run"
mkdir -p "$run"
cp "$here/package.json" "$here/package-lock.json" "$here/a11y.mjs" "$run/"
(cd "$run" && npm ci --no-audit --no-fund --loglevel=error)
WWW_DIR="$top_srcdir/www" exec node "$run/a11y.mjs"
