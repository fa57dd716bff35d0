/* hubspot - the HubSpot connector behind crm.h (internal to src/crm:
 * crm.c calls these; nothing else should).
 *
 * Speaks CRM v3/v4 with a private-app token (Authorization: Bearer).
 * A lead becomes a contact through POST /crm/v3/objects/contacts/batch/upsert
 * with idProperty=email: a lead delivered twice (a retry after a lost
 * answer, the same buyer again) updates the one contact, never makes a
 * second.  Properties: email, firstname, lastname, company, website,
 * country, hubspot_owner_id and the lead id (cfg->hubspot_lead_property,
 * default leadroute_id; "" sends none).  The owner is the member's email
 * turned into an owner id by GET /crm/v3/owners/?email= and cached for an
 * hour; a member HubSpot does not know is DEAD, naming the member, so
 * RevOps can fix the rules or HubSpot's users.  When the payload names a
 * HubSpot company (a numeric account_id) the contact is associated with it
 * (PUT .../associations/default/companies/<id>); an association HubSpot
 * refuses (the company is gone) leaves the lead DONE with a warning.
 *
 * 429: Retry-After when HubSpot sends it, else the official SDK's rules
 * (policy TEN_SECONDLY_ROLLING: 10 s; "secondly limit", the search limit:
 * 1 s; DAILY: an hour).  401 is DEAD with a message meant for an alert (the
 * token was revoked or rotated).  Other 4xx are DEAD with HubSpot's
 * message, category and correlationId.
 *
 * Accounts are companies: lookup by POST /crm/v3/objects/companies/search
 * (domain EQ), sync by the same search on hs_lastmodifieddate GTE since,
 * ascending, paged with `after`, re-sliced on the last modification time
 * before the search's 10,000-result window ends.  owner is the owner's
 * email, lifecycle lifecyclestage, tier hs_ideal_customer_profile.
 *
 * Never puts the token in a message; one thread at a time.
 */
#ifndef LR_CRM_HUBSPOT_H
#define LR_CRM_HUBSPOT_H

#include <stddef.h>
#include <stdint.h>

#include "crm/crm.h"

#define HUBSPOT_DEFAULT_URL "https://api.hubapi.com"
#define HUBSPOT_DEFAULT_LEAD_PROPERTY "leadroute_id"
#define HUBSPOT_SEARCH_WINDOW 10000      /* results one search can page through */
#define HUBSPOT_OWNER_TTL_MS (3600 * INT64_C(1000))

struct hubspot;

/* NULL with err filled when the token is missing, the URL is not http(s)
 * or libcurl cannot start.  Copies what it keeps from cfg. */
struct hubspot *hubspot_open(const struct crm_config *cfg, char *err, size_t errlen);
void hubspot_close(struct hubspot *h);

int hubspot_deliver(struct hubspot *h, const char *payload_json, struct crm_result *res);
int hubspot_lookup_account(struct hubspot *h, const char *domain, int timeout_ms,
                           struct crm_account *out, struct crm_result *res);
long hubspot_sync_accounts(struct hubspot *h, int64_t since_ms, crm_account_fn fn, void *ctx,
                           struct crm_result *res);

#endif
