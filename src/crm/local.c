/* local - the embedded CRM: deliveries upserted into the store by lead id,
 * lookups from the store's account index (local.h).
 * Must never open a transaction of its own (the caller's store_begin, if
 * any, covers the write) and never write anything but the CRM record.
 */
#include "crm/local.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "util/clock.h"
#include "util/xalloc.h"

struct local_crm {
	struct store *store;   /* borrowed */
};

struct local_crm *local_crm_open(struct store *store, char *err, size_t errlen)
{
	if (!store) {
		snprintf(err, errlen, "the local CRM needs the database (LEADROUTE_DB)");
		return NULL;
	}
	struct local_crm *l = xcalloc(1, sizeof *l);
	l->store = store;
	return l;
}

void local_crm_close(struct local_crm *l)
{
	free(l);
}

int local_crm_deliver(struct local_crm *l, const char *payload_json, struct crm_result *res)
{
	struct crm_lead lead;
	char err[256];

	if (crm_lead_parse(payload_json, &lead, err, sizeof err) != 0)
		return crm_result_set(res, CRM_DEAD, "local: %s", err);
	int rc = store_crm_local_put(l->store, lead.lead_id, payload_json, clock_wall_ms());
	if (rc != 0) {
		crm_lead_free(&lead);
		return crm_result_set(res, CRM_RETRY, "local: %s", store_error(l->store));
	}
	snprintf(res->record_id, sizeof res->record_id, "%s", lead.lead_id);
	crm_lead_free(&lead);
	return crm_result_set(res, CRM_DONE, "%s", "");
}

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

int local_crm_lookup_account(struct local_crm *l, const char *domain, struct crm_account *out,
                             struct crm_result *res)
{
	struct store_account a;
	int rc = store_account_get(l->store, domain, &a);
	if (rc < 0) {
		crm_result_set(res, CRM_RETRY, "local: %s", store_error(l->store));
		return -1;
	}
	if (rc == 0)
		return 0;
	copy(out->domain, sizeof out->domain, a.domain);
	copy(out->id, sizeof out->id, a.id);
	copy(out->owner, sizeof out->owner, a.owner);
	copy(out->lifecycle, sizeof out->lifecycle, a.lifecycle);
	copy(out->tier, sizeof out->tier, a.tier);
	return 1;
}
