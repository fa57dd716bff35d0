# tests/crm: the fake CRM (fakecrm.py: HubSpot and Salesforce REST on one
# loopback port, with a record of what it received and fault injection)
# and the proof of its fidelity: the official @hubspot/api-client and
# jsforce run leadroute's CRM operations against it (fidelity.cjs), and
# curl checks the headers, error bodies and faults (fidelity-test.sh).
# The node packages are pinned in tests/crm/package-lock.json and
# installed by tools/install-deps (npm ci).  See tests/crm/README.
TESTS += tests/crm/fidelity-test.sh
EXTRA_DIST += tests/crm/README tests/crm/fakecrm.py tests/crm/fakecrm-lib.sh \
	tests/crm/fidelity-test.sh tests/crm/fidelity.cjs tests/crm/seed.json \
	tests/crm/package.json tests/crm/package-lock.json

# make distcheck: the tarball has no node_modules; hand the checkout's down
# to the inner build (an outer value in the environment wins over ?=).
LR_CRM_NODE_MODULES ?= $(abs_top_srcdir)/tests/crm/node_modules
export LR_CRM_NODE_MODULES

clean-local: clean-crm-run
clean-crm-run:
	rm -rf tests/crm-run
.PHONY: clean-crm-run
