/* token - make and check the signed form tokens of token.h
 * ("v1.<issued>.<nonce hex>.<HMAC-SHA256 hex>").
 * Must never log, copy out or compare the secret, never compare a MAC in
 * time that depends on where it differs (CRYPTO_memcmp only), and never
 * look at a token's time before its MAC has been verified.
 */
#include "intake/token.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define NONCE_BYTES 8
#define NONCE_HEX (2 * NONCE_BYTES)
#define MAC_HEX 64
#define MAX_SKEW 60   /* seconds a token may come from the future */

static void to_hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/* n lower-case hex digits at s (the form token_make writes; anything else,
 * upper case included, is not a token it made). */
static bool lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int token_hmac_hex(const unsigned char *key, size_t key_len, const void *msg, size_t msg_len,
                   char out[65])
{
	static const unsigned char empty[1];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	out[0] = '\0';
	if ((!key && key_len) || (!msg && msg_len) || key_len > INT_MAX)
		return -1;
	if (!HMAC(EVP_sha256(), key ? key : empty, (int)key_len,
	          msg ? msg : empty, msg_len, md, &md_len) || md_len != MAC_HEX / 2)
		return -1;
	to_hex(md, md_len, out);
	OPENSSL_cleanse(md, sizeof md);
	return 0;
}

int token_make(const unsigned char *secret, size_t secret_len, int64_t now, char out[TOKEN_MAX])
{
	unsigned char nonce[NONCE_BYTES];
	char nonce_hex[NONCE_HEX + 1];
	char mac[MAC_HEX + 1];

	out[0] = '\0';
	if (!secret || secret_len == 0 || now < 0)
		return -1;
	if (RAND_bytes(nonce, sizeof nonce) != 1)
		return -1;
	to_hex(nonce, sizeof nonce, nonce_hex);
	int n = snprintf(out, TOKEN_MAX, "v1.%lld.%s", (long long)now, nonce_hex);
	if (n < 0 || (size_t)n + 1 + MAC_HEX >= TOKEN_MAX ||
	    token_hmac_hex(secret, secret_len, out, (size_t)n, mac) != 0) {
		out[0] = '\0';
		return -1;
	}
	snprintf(out + n, TOKEN_MAX - (size_t)n, ".%s", mac);
	return 0;
}

enum token_check token_check(const unsigned char *secret, size_t secret_len, const char *token,
                             int64_t now, int64_t min_age, int64_t max_age)
{
	char expect[MAC_HEX + 1];
	int64_t issued = 0, age;
	size_t len, i, digits;

	if (!token || !token[0])
		return TOKEN_MISSING;
	if (!secret || secret_len == 0)
		return TOKEN_BAD;
	len = strnlen(token, TOKEN_MAX);
	if (len >= TOKEN_MAX || strncmp(token, "v1.", 3) != 0)
		return TOKEN_BAD;

	/* issued: decimal, no sign, no leading zero, fits int64 */
	for (i = 3; i < len && token[i] >= '0' && token[i] <= '9'; i++) {
		int d = token[i] - '0';
		if (issued > (INT64_MAX - d) / 10)
			return TOKEN_BAD;
		issued = issued * 10 + d;
	}
	digits = i - 3;
	if (digits == 0 || (digits > 1 && token[3] == '0') || token[i] != '.')
		return TOKEN_BAD;
	i++;
	/* nonce, then the MAC and the end */
	if (len - i != NONCE_HEX + 1 + MAC_HEX || !lower_hex(token + i, NONCE_HEX) ||
	    token[i + NONCE_HEX] != '.' || !lower_hex(token + i + NONCE_HEX + 1, MAC_HEX))
		return TOKEN_BAD;
	i += NONCE_HEX + 1;

	if (token_hmac_hex(secret, secret_len, token, i - 1, expect) != 0)
		return TOKEN_BAD;
	if (CRYPTO_memcmp(expect, token + i, MAC_HEX) != 0)
		return TOKEN_BAD;

	if (issued > now) {
		if (now <= INT64_MAX - MAX_SKEW && issued > now + MAX_SKEW)
			return TOKEN_BAD;
		age = 0;
	} else {
		age = now - issued;   /* issued >= 0, so this cannot overflow */
	}
	if (age < min_age)
		return TOKEN_TOO_FAST;
	if (age > max_age)
		return TOKEN_EXPIRED;
	return TOKEN_OK;
}

const char *token_check_name(enum token_check c)
{
	switch (c) {
	case TOKEN_OK:
		return "ok";
	case TOKEN_MISSING:
		return "missing";
	case TOKEN_BAD:
		return "bad";
	case TOKEN_TOO_FAST:
		return "too-fast";
	case TOKEN_EXPIRED:
		return "expired";
	}
	return "bad";
}
