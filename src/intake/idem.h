/* idem - idempotency keys: what a key may look like, and the fingerprint
 * that tells a retry from a different submission under the same key.
 *
 * A key comes from the Idempotency-Key header (an RFC 8941 sf-string, so
 * "quoted"; a bare token is accepted too) or the form's hidden
 * idempotency_key field.  A retry with the same key and the same payload
 * gets the first answer again; the same key with a different payload is
 * refused (422), as draft-ietf-httpapi-idempotency-key-header says.  The
 * fingerprint covers every submitted name and value except the ones that
 * change between honest retries of one submission (the key itself, the
 * form's time token, the honeypot), in an order that does not depend on the
 * order fields were sent in, so a form post and the same data as JSON agree.
 * Never keeps a pointer to its inputs.
 */
#ifndef LR_IDEM_H
#define LR_IDEM_H

#include <stdbool.h>
#include <stddef.h>

#include "lead/lead.h"

#define IDEM_KEY_MAX 128
#define IDEM_FINGERPRINT_LEN 64    /* hex SHA-256 */

/* Check a key from the header or the form and copy it, without an
 * sf-string's quotes, into out.  True when it is 8 to IDEM_KEY_MAX
 * letters, digits, '-' or '_'. */
bool idem_key_parse(const char *in, char out[IDEM_KEY_MAX + 1]);

/* The fingerprint of l, leaving out the names in skip (NULL-terminated;
 * compared case-insensitively, as lead names are lower-cased): hex SHA-256
 * over the sorted (name, value) pairs.  Returns 0, or -1 when the digest
 * could not be computed (out is then ""). */
int idem_fingerprint(const struct lead *l, const char *const *skip,
                     char out[IDEM_FINGERPRINT_LEN + 1]);

#endif
