#!/bin/bash
# browser-test.sh - the HTML page of `leadroute report --html` in headless
# Chromium (playwright-core and axe-core: tests/browser/report.mjs): the
# page of a seeded database (tests/report/seed.sh) and of an empty one.
# Runs from the checkout's tests/browser/node_modules (tools/install-deps
# runs npm ci there); from a tarball, which has none, it installs the pinned
# packages (tests/browser/package-lock.json) into tests/report-run/ first.
# Screenshots go to tests/report-run/ in the build tree.  Skips (77) only
# when there is no Chromium.  Under LEADROUTE_VALGRIND the command runs in
# valgrind.
# (run as `sh script` by tools/valgrind-wrap: go on in bash)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/report/seed.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
	echo "report browser-test: SKIP: no Chromium at $CHROMIUM (tools/install-deps installs Debian's chromium)"
	exit 77
fi
export CHROMIUM
for c in node sqlite3; do
	command -v "$c" > /dev/null || { echo "report browser-test: FAIL: '$c' is not installed (tools/install-deps)"; exit 1; }
done
LR=$top_builddir/src/cmd/leadroute
[ -x "$LR" ] || { echo "report browser-test: ERROR: $LR is not built"; exit 99; }
run_lr=("$LR")
if [ -n "${LEADROUTE_VALGRIND:-}" ]; then
	run_lr=(valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite
	        "$LR")
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/lr-report-browser.XXXXXX") || exit 99
NODE_PID=
# the browser's processes: their command lines name files under $T/browser/
browser_pids() {
	local p
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = $$ ] && continue
		tr '\0' ' ' 2>/dev/null < "$p/cmdline" | grep -qF -- "$T/browser/" && echo "${p#/proc/}"
	done
	return 0
}
cleanup() {
	local p
	if [ -n "$NODE_PID" ]; then
		kill -TERM -- "-$NODE_PID" 2>/dev/null
		sleep 1
		kill -KILL -- "-$NODE_PID" 2>/dev/null
		wait "$NODE_PID" 2>/dev/null
	fi
	for p in $(browser_pids); do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

# ---- the node packages ----

here=$top_srcdir/tests/browser
run=$top_builddir/tests/report-run
mkdir -p "$run"
rm -f "$run"/*.png
if [ -d "$here/node_modules/playwright-core" ] && [ -d "$here/node_modules/axe-core" ]; then
	script=$here/report.mjs
else
	cp "$here/package.json" "$here/package-lock.json" "$here/report.mjs" "$run/"
	chmod u+w "$run"/*
	if ! (cd "$run" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error); then
		echo "report browser-test: FAIL: npm ci of tests/browser/package-lock.json"
		exit 1
	fi
	script=$run/report.mjs
fi

# ---- the pages ----

report_seed run_lr "$T/leads.db" || { echo "report browser-test: FAIL: seeding"; exit 1; }
report_seed_rules "$T/r.routes"
LEADROUTE_DB=$T/leads.db LEADROUTE_RULES=$T/r.routes "${run_lr[@]}" report --html "$T/report.html" \
	> /dev/null || { echo "report browser-test: FAIL: leadroute report --html"; exit 1; }
LEADROUTE_DB=$T/empty.db "${run_lr[@]}" leads list > /dev/null
LEADROUTE_DB=$T/empty.db "${run_lr[@]}" report --html "$T/empty.html" > /dev/null ||
	{ echo "report browser-test: FAIL: leadroute report --html on an empty database"; exit 1; }

# ---- the browser, in its own session ----

mkdir -p "$T/browser"
routes=$(IFS=,; echo "${REPORT_SEED_ROUTES[*]}")
LR_REPORT_HTML=$T/report.html LR_REPORT_EMPTY_HTML=$T/empty.html LR_REPORT_ROUTES=$routes \
	LR_BROWSER_TMP=$T/browser TMPDIR=$T/browser SHOTS_DIR=$run \
	setsid node "$script" < /dev/null &
NODE_PID=$!
wait "$NODE_PID"
rc=$?
NODE_PID=
sleep 0.5
left=$(browser_pids | tr '\n' ' ')
if [ -n "$left" ]; then
	echo "FAIL - a browser process was left after the run: $left"
	rc=1
fi
echo "report browser-test: screenshots in $run"
exit "$rc"
