/* salesforce - the Salesforce connector behind crm.h (internal to src/crm:
 * crm.c calls these; nothing else should).
 *
 * Logs in with the OAuth 2.0 JWT bearer flow when cfg->sf_jwt_key is set
 * (RS256, iss = client id, sub = cfg->sf_user, aud = the login URL, valid
 * 3 minutes), else with client credentials (cfg->sf_client_secret), at
 * <sf_login_url>/services/oauth2/token; keeps the access token and the
 * instance URL, and logs in again once when a call answers 401, retrying
 * that call once.  Leads are upserted (PATCH, 200/201/204) on the
 * external-id field (cfg->sf_external_id, default Leadroute_Id__c) holding
 * the lead id, with OwnerId set from the member's email (the active User
 * with that Email, cached for an hour; a member with no active User is
 * DEAD) and `Sforce-Auto-Assign: FALSE` so assignment rules do not move
 * it.  LastName and Company are required by Salesforce: when the buyer gave
 * none they are derived (the email's local part; the domain), and every
 * text is cut to its field's length rather than refused.
 *
 * Accounts: lookup by SOQL on Website LIKE '%<domain>%' (quotes,
 * backslashes and LIKE wildcards escaped), keeping the record whose
 * Website host, minus "www.", is the domain; sync by SystemModstamp >=
 * since, in that order, through nextRecordsUrl pages.  owner is
 * Owner.Email, lifecycle is Type, tier is not read (no standard field).
 *
 * Results follow crm.h: errors in Salesforce's words (errorCode and
 * message); the daily API cap (403 REQUEST_LIMIT_EXCEEDED) is RETRY with
 * retry_after_ms of an hour (SF_LIMIT_PARK_MS): the row is parked, not
 * dropped.  No message ever holds the client secret, the JWT key, an
 * assertion or an access token.
 *
 * The handle (void *) is a struct sf owned by the caller of sf_open and
 * freed by sf_close; it copies every setting it keeps, so cfg need not
 * outlive it.  One thread at a time.
 */
#ifndef LR_CRM_SALESFORCE_H
#define LR_CRM_SALESFORCE_H

#include <stddef.h>
#include <stdint.h>

#include "crm/crm.h"

#define SF_DEFAULT_LOGIN_URL "https://login.salesforce.com"
#define SF_DEFAULT_EXTERNAL_ID "Leadroute_Id__c"
#define SF_DEFAULT_API_VERSION "v62.0"
#define SF_LIMIT_PARK_MS (3600 * INT64_C(1000))   /* RETRY wait on the daily cap */

/* NULL with err filled when a setting is missing or malformed (client id,
 * a secret or a key + user, URLs, field and version names) or libcurl
 * cannot start.  Does not log in: the first call does. */
void *sf_open(const struct crm_config *cfg, char *err, size_t errlen);
void sf_close(void *h);

/* crm_deliver, crm_lookup_account and crm_sync_accounts for Salesforce;
 * same contracts as in crm.h. */
int sf_deliver(void *h, const char *payload, struct crm_result *res);
int sf_lookup_account(void *h, const char *domain, int timeout_ms, struct crm_account *out,
                      struct crm_result *res);
long sf_sync_accounts(void *h, int64_t since_ms, crm_account_fn fn, void *ctx,
                      struct crm_result *res);

/* The org's API usage from the last Sforce-Limit-Info header seen
 * (api-usage=used/max): 1 and both filled, 0 when none was seen yet.  The
 * outbox can slow down as used nears max. */
int sf_api_usage(const void *h, long *used, long *max);

#endif
