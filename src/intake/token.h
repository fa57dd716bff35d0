/* token - signed form tokens for the minimum-time-to-submit check.
 *
 * A token is "v1.<issued unix seconds>.<nonce hex>.<HMAC-SHA256 hex>" where
 * the MAC covers "v1.<issued>.<nonce>" under the server's secret
 * (LEADROUTE_SECRET).  The form carries it in a hidden field; on submit the
 * handler checks the MAC (constant-time compare) and the age.  A token says
 * only when the form was rendered; it is not a session and holds no lead
 * data.  Never logs or returns the secret.
 */
#ifndef LR_TOKEN_H
#define LR_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_MAX 128

enum token_check {
	TOKEN_OK,
	TOKEN_MISSING,     /* empty or absent */
	TOKEN_BAD,         /* malformed or wrong MAC */
	TOKEN_TOO_FAST,    /* younger than the minimum */
	TOKEN_EXPIRED,     /* older than the maximum age */
};

/* Write a new token for time now into out (TOKEN_MAX bytes).  Returns 0,
 * or -1 (out is "") when no random nonce could be had, the secret is empty
 * or now is negative. */
int token_make(const unsigned char *secret, size_t secret_len, int64_t now, char out[TOKEN_MAX]);
/* Check a token at time now: at least min_age and at most max_age seconds
 * old.  A token from the future (clock skew over 60 s) is TOKEN_BAD; one up
 * to 60 s ahead counts as 0 s old.  Only the exact form token_make writes
 * is accepted (lower-case hex, issued without sign or leading zeros); the
 * MAC is checked before the time.  An empty secret makes every token bad. */
enum token_check token_check(const unsigned char *secret, size_t secret_len, const char *token,
                             int64_t now, int64_t min_age, int64_t max_age);
const char *token_check_name(enum token_check c);

/* HMAC-SHA256 of msg under key as 64 lower-case hex digits (out: 65 bytes).
 * Returns 0, or -1 on a libcrypto failure. */
int token_hmac_hex(const unsigned char *key, size_t key_len, const void *msg, size_t msg_len,
                   char out[65]);

#endif
