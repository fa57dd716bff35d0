/* jwt - RS256 assertions for the OAuth JWT bearer flow (see jwt.h).
 * Must never copy the key or the signature input anywhere but into the
 * returned assertion, and must leave libcrypto's error queue empty.
 */
#include "crm/jwt.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "util/buf.h"
#include "util/xalloc.h"

struct jwt_key {
	EVP_PKEY *pkey;
};

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void jwt_base64url(struct buf *out, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i = 0;

	for (; i + 3 <= n; i += 3) {
		unsigned long v = (unsigned long)s[i] << 16 | (unsigned long)s[i + 1] << 8 | s[i + 2];
		buf_addc(out, b64url[v >> 18 & 63]);
		buf_addc(out, b64url[v >> 12 & 63]);
		buf_addc(out, b64url[v >> 6 & 63]);
		buf_addc(out, b64url[v & 63]);
	}
	if (n - i == 1) {
		unsigned long v = (unsigned long)s[i] << 16;
		buf_addc(out, b64url[v >> 18 & 63]);
		buf_addc(out, b64url[v >> 12 & 63]);
	} else if (n - i == 2) {
		unsigned long v = (unsigned long)s[i] << 16 | (unsigned long)s[i + 1] << 8;
		buf_addc(out, b64url[v >> 18 & 63]);
		buf_addc(out, b64url[v >> 12 & 63]);
		buf_addc(out, b64url[v >> 6 & 63]);
	}
}

static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int jwt_base64url_decode(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
	unsigned char *o;
	size_t k = 0;
	unsigned long acc = 0;
	int bits = 0;

	*out = NULL;
	*outlen = 0;
	if (!s || n % 4 == 1)
		return -1;
	o = xmalloc(n / 4 * 3 + 3);
	for (size_t i = 0; i < n; i++) {
		int v = b64url_value(s[i]);
		if (v < 0) {
			free(o);
			return -1;
		}
		acc = (acc << 6 | (unsigned long)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[k++] = (unsigned char)(acc >> bits & 0xff);
		}
	}
	/* the bits left over must be zero (canonical encoding) */
	if (bits && (acc & ((1ul << bits) - 1))) {
		free(o);
		return -1;
	}
	o[k] = '\0';
	*out = o;
	*outlen = k;
	return 0;
}

/* The reason libcrypto gave for the last failure (never key material),
 * and an empty queue afterwards. */
static void crypto_error(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char reason[160] = "";

	if (e)
		ERR_error_string_n(e, reason, sizeof reason);
	ERR_clear_error();
	snprintf(err, errlen, "%s%s%s", what, reason[0] ? ": " : "", reason);
}

/* Never ask for a passphrase: an encrypted key fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return 0;
}

struct jwt_key *jwt_key_load(const char *pem, char *err, size_t errlen)
{
	BIO *bio;
	EVP_PKEY *pkey;
	size_t len;

	if (!pem || !pem[0]) {
		snprintf(err, errlen, "the JWT private key is empty");
		return NULL;
	}
	len = strlen(pem);
	if (len > INT_MAX) {
		snprintf(err, errlen, "the JWT private key is too long");
		return NULL;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio) {
		crypto_error(err, errlen, "cannot read the JWT private key");
		return NULL;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!pkey) {
		crypto_error(err, errlen,
		             "the JWT private key is not an unencrypted PEM private key");
		return NULL;
	}
	if (!EVP_PKEY_is_a(pkey, "RSA")) {
		EVP_PKEY_free(pkey);
		ERR_clear_error();
		snprintf(err, errlen, "the JWT private key is not an RSA key (RS256 needs one)");
		return NULL;
	}
	ERR_clear_error();
	struct jwt_key *k = xcalloc(1, sizeof *k);
	k->pkey = pkey;
	return k;
}

void jwt_key_free(struct jwt_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

char *jwt_assertion(const struct jwt_key *k, const char *iss, const char *sub, const char *aud,
                    int64_t exp, char *err, size_t errlen)
{
	static const char header[] = "{\"alg\":\"RS256\"}";
	struct buf claims = {0}, out = {0};
	EVP_MD_CTX *ctx = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;

	if (!k || !iss || !sub || !aud) {
		snprintf(err, errlen, "a JWT needs a key, an issuer, a subject and an audience");
		return NULL;
	}
	buf_adds(&claims, "{\"iss\":");
	buf_add_json_str(&claims, iss);
	buf_adds(&claims, ",\"sub\":");
	buf_add_json_str(&claims, sub);
	buf_adds(&claims, ",\"aud\":");
	buf_add_json_str(&claims, aud);
	buf_printf(&claims, ",\"exp\":%lld}", (long long)exp);

	jwt_base64url(&out, header, sizeof header - 1);
	buf_addc(&out, '.');
	jwt_base64url(&out, claims.data, claims.len);
	buf_free(&claims);

	ctx = EVP_MD_CTX_new();
	if (!ctx) {
		crypto_error(err, errlen, "cannot sign the JWT");
		goto fail;
	}
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)out.data, out.len) != 1 ||
	    siglen == 0) {
		crypto_error(err, errlen, "cannot sign the JWT");
		goto fail;
	}
	sig = xmalloc(siglen);
	if (EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)out.data, out.len) != 1) {
		crypto_error(err, errlen, "cannot sign the JWT");
		goto fail;
	}
	EVP_MD_CTX_free(ctx);
	buf_addc(&out, '.');
	jwt_base64url(&out, sig, siglen);
	free(sig);
	ERR_clear_error();
	return buf_take(&out);

fail:
	EVP_MD_CTX_free(ctx);
	free(sig);
	buf_free(&out);
	return NULL;
}
