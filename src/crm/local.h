/* local - the embedded CRM of record (LEADROUTE_CRM=local) behind crm.h
 * (internal to src/crm: crm.c calls these; nothing else should).
 *
 * A delivery is store_crm_local_put: an upsert keyed on the lead id, so a
 * repeat never makes a second record; the record id is the lead id.  A
 * store error is RETRY (the database may be busy or full), a payload that
 * is not a lead is DEAD.  Account lookups read the store's account index;
 * there is nothing to sync (the index is the store).  The store is
 * borrowed and must outlive the connector; this module never closes it
 * and never writes anything but the CRM record.
 */
#ifndef LR_CRM_LOCAL_H
#define LR_CRM_LOCAL_H

#include <stddef.h>

#include "crm/crm.h"

struct local_crm;

/* NULL with err filled when store is NULL. */
struct local_crm *local_crm_open(struct store *store, char *err, size_t errlen);
void local_crm_close(struct local_crm *l);
int local_crm_deliver(struct local_crm *l, const char *payload_json, struct crm_result *res);
/* 1 and *out when the index has domain, 0 when not, -1 with res filled. */
int local_crm_lookup_account(struct local_crm *l, const char *domain, struct crm_account *out,
                             struct crm_result *res);

#endif
