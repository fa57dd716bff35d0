/* body - parse a submitted body into a raw lead, within hard limits.
 *
 * Two encodings: application/x-www-form-urlencoded (the plain HTML form)
 * and application/json (fetch).  Both fill a struct lead (lead.h) with
 * names and values as sent; nothing is normalized here.  Limits: at most
 * LEAD_MAX_FIELDS names, each name at most BODY_MAX_NAME bytes, each value
 * at most BODY_MAX_VALUE bytes (the per-field limits of lead.h apply later),
 * valid UTF-8 only, no NUL bytes, no name given twice, JSON nested at most
 * one object deep ("account" is not accepted from a browser) with string,
 * number, boolean or null values only.  Names are 1 to BODY_MAX_NAME bytes
 * of [A-Za-z0-9_.-]; "given twice" is decided case-insensitively, as
 * lead_set folds case.  More than LEAD_MAX_FIELDS names is BODY_TOO_MANY,
 * found before anything is stored.
 *
 * Form: pairs split on '&' (empty pairs skipped), name and value on the
 * first '=' (no '=': an empty value), both decoded by body_url_decode.
 * JSON: one object and nothing after it but white space; null values are
 * absent; integers print as %lld, other numbers as %.15g (integers at or
 * beyond the int64 limits, which json-c clamps, and NaN and infinities are
 * refused); booleans as "true" and "false".
 *
 * On failure the lead may hold some fields; callers discard it.  The error
 * message names the problem and, where there is one, the field; it never
 * echoes more than 40 bytes of input and never echoes control characters.
 * Never reads past len bytes; body need not be NUL-terminated.
 */
#ifndef LR_BODY_H
#define LR_BODY_H

#include <stddef.h>

#include "lead/lead.h"

#define BODY_MAX_NAME 64
#define BODY_MAX_VALUE 8192

enum body_status {
	BODY_OK = 0,
	BODY_BAD,          /* malformed: answer 400 */
	BODY_TOO_MANY,     /* too many fields: answer 413 */
};

/* Content types: the media type before any ';' parameter, compared
 * case-insensitively; a charset other than utf-8 is refused.  Returns
 * BODY_FORM, BODY_JSON or BODY_UNSUPPORTED (answer 415). */
enum body_kind { BODY_FORM, BODY_JSON, BODY_UNSUPPORTED };
enum body_kind body_kind_of(const char *content_type);

enum body_status body_parse_form(const char *body, size_t len, struct lead *out,
                                 char *err, size_t errlen);
enum body_status body_parse_json(const char *body, size_t len, struct lead *out,
                                 char *err, size_t errlen);

/* Decode one application/x-www-form-urlencoded component ('+' is a space,
 * %XX a byte) into out (at most outlen-1 bytes, NUL-terminated).  Returns
 * the decoded length, or -1 (out is "" when outlen > 0) for a bad escape,
 * a NUL byte (raw or %00), or overflow.  Does not check UTF-8. */
long body_url_decode(const char *in, size_t len, char *out, size_t outlen);

#endif
