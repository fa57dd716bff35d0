/* jwt - RS256 JSON Web Tokens for the OAuth 2.0 JWT bearer flow (RFC 7523),
 * as Salesforce's token endpoint takes them: header {"alg":"RS256"},
 * claims iss (client id), sub (user name), aud (login host), exp (seconds),
 * each part base64url without padding, signed with RSA PKCS#1 v1.5 over
 * SHA-256.
 *
 * A struct jwt_key owns the parsed private key; jwt_key_free releases it.
 * Error messages say what failed, never any part of the key, and this
 * module clears libcrypto's error queue before it returns.
 */
#ifndef LR_JWT_H
#define LR_JWT_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct jwt_key;

/* Parse a PEM private key (PKCS#8 or traditional RSA, not encrypted: the
 * key is never asked a passphrase).  NULL with err filled when the text is
 * not such a key or not RSA. */
struct jwt_key *jwt_key_load(const char *pem, char *err, size_t errlen);
void jwt_key_free(struct jwt_key *k);

/* The signed assertion "<header>.<claims>.<signature>" for iss/sub/aud with
 * expiry exp (seconds since the epoch).  Caller frees; NULL with err
 * filled when signing failed. */
char *jwt_assertion(const struct jwt_key *k, const char *iss, const char *sub, const char *aud,
                    int64_t exp, char *err, size_t errlen);

/* Append p[0..n) to out as base64url (RFC 4648 section 5), no padding. */
void jwt_base64url(struct buf *out, const void *p, size_t n);

/* Decode base64url text s[0..n) (no padding, no other characters) into a
 * new buffer *out of *outlen bytes (caller frees; NUL-terminated for
 * convenience).  0, or -1 when s is not base64url. */
int jwt_base64url_decode(const char *s, size_t n, unsigned char **out, size_t *outlen);

#endif
