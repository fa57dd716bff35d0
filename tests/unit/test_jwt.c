/* test_jwt - unit tests for crm/jwt: base64url against RFC 4648, and RS256
 * assertions signed with an RSA key made at test time, checked with
 * libcrypto (signature, header, claims), plus the keys it must refuse.
 * No key is kept anywhere but in this process's memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "crm/jwt.h"
#include "crm/salesforce.h"
#include "util/buf.h"

struct keys {
	EVP_PKEY *pkey;     /* the key pair */
	char *pem;          /* its private half as PKCS#8 PEM */
	char *pem_trad;     /* ... as "BEGIN RSA PRIVATE KEY" */
};

static char *bio_text(BIO *bio)
{
	char *p = NULL;
	long n = BIO_get_mem_data(bio, &p);
	assert_true(n > 0);
	char *s = malloc((size_t)n + 1);
	assert_non_null(s);
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	return s;
}

static int setup(void **state)
{
	struct keys *k = calloc(1, sizeof *k);
	BIO *bio;

	assert_non_null(k);
	k->pkey = EVP_RSA_gen(2048);
	assert_non_null(k->pkey);
	bio = BIO_new(BIO_s_mem());
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL), 1);
	k->pem = bio_text(bio);
	BIO_free(bio);
	bio = BIO_new(BIO_s_mem());
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, k->pkey, NULL, NULL, 0,
	                                                      NULL, NULL), 1);
	k->pem_trad = bio_text(bio);
	BIO_free(bio);
	*state = k;
	return 0;
}

static int teardown(void **state)
{
	struct keys *k = *state;
	EVP_PKEY_free(k->pkey);
	free(k->pem);
	free(k->pem_trad);
	free(k);
	return 0;
}

static char *enc(const char *s, size_t n)
{
	struct buf b = {0};
	jwt_base64url(&b, s, n);
	return buf_take(&b);
}

static void test_base64url_rfc4648(void **state)
{
	static const char *const vec[][2] = {
		{"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"},
		{"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		char *e = enc(vec[i][0], strlen(vec[i][0]));
		assert_string_equal(e ? e : "", vec[i][1]);
		free(e);
		unsigned char *d = NULL;
		size_t dn = 99;
		assert_int_equal(jwt_base64url_decode(vec[i][1], strlen(vec[i][1]), &d, &dn), 0);
		assert_int_equal(dn, strlen(vec[i][0]));
		assert_memory_equal(d, vec[i][0], dn);
		free(d);
	}
	/* the two characters that differ from base64, and no padding */
	const char bytes[] = {(char)0xfb, (char)0xff};
	char *e = enc(bytes, 2);
	assert_string_equal(e, "-_8");
	free(e);
	const char more[] = {(char)0xfb, (char)0xef, (char)0xbe};
	e = enc(more, 3);
	assert_string_equal(e, "----");
	free(e);
}

static void test_base64url_decode_refuses(void **state)
{
	static const char *const bad[] = {
		"a",        /* a length no encoding has */
		"Zm9v=",    /* padding */
		"Zm9vYg==", /* padding */
		"+/8",      /* base64, not base64url */
		"Zh",       /* bits left over that are not zero */
		"Zm 9v",    /* a space */
	};
	(void)state;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		unsigned char *d = (unsigned char *)"x";
		size_t dn = 5;
		assert_int_equal(jwt_base64url_decode(bad[i], strlen(bad[i]), &d, &dn), -1);
		assert_null(d);
		assert_int_equal(dn, 0);
	}
}

/* Split a compact JWS into its three parts; check each is base64url with
 * no padding. */
static void split(const char *jwt, char **h, char **c, unsigned char **sig, size_t *siglen)
{
	const char *d1 = strchr(jwt, '.');
	assert_non_null(d1);
	const char *d2 = strchr(d1 + 1, '.');
	assert_non_null(d2);
	assert_null(strchr(d2 + 1, '.'));
	assert_null(strchr(jwt, '='));
	assert_null(strchr(jwt, '+'));
	assert_null(strchr(jwt, '/'));
	size_t n;
	assert_int_equal(jwt_base64url_decode(jwt, (size_t)(d1 - jwt), (unsigned char **)h, &n), 0);
	assert_int_equal(jwt_base64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), (unsigned char **)c, &n), 0);
	assert_int_equal(jwt_base64url_decode(d2 + 1, strlen(d2 + 1), sig, siglen), 0);
}

static int verify(EVP_PKEY *pub, const char *jwt)
{
	const char *dot = strrchr(jwt, '.');
	unsigned char *sig;
	size_t siglen;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	assert_non_null(ctx);
	assert_int_equal(jwt_base64url_decode(dot + 1, strlen(dot + 1), &sig, &siglen), 0);
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub), 1);
	ok = EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)jwt, (size_t)(dot - jwt));
	EVP_MD_CTX_free(ctx);
	free(sig);
	ERR_clear_error();
	return ok;
}

static void check_assertion(struct keys *k, const char *pem)
{
	char err[256] = "";
	struct jwt_key *key = jwt_key_load(pem, err, sizeof err);
	assert_non_null(key);

	char *jwt = jwt_assertion(key, "3MVG9client", "rep@example.com",
	                          SF_DEFAULT_LOGIN_URL, 1700000180, err, sizeof err);
	assert_non_null(jwt);
	char *h, *c;
	unsigned char *sig;
	size_t siglen;
	split(jwt, &h, &c, &sig, &siglen);
	assert_string_equal(h, "{\"alg\":\"RS256\"}");
	assert_int_equal(siglen, 256);   /* 2048-bit RSA */

	json_object *claims = json_tokener_parse(c);
	assert_non_null(claims);
	assert_int_equal(json_object_object_length(claims), 4);
	json_object *v;
	assert_true(json_object_object_get_ex(claims, "iss", &v));
	assert_string_equal(json_object_get_string(v), "3MVG9client");
	assert_true(json_object_object_get_ex(claims, "sub", &v));
	assert_string_equal(json_object_get_string(v), "rep@example.com");
	assert_true(json_object_object_get_ex(claims, "aud", &v));
	assert_string_equal(json_object_get_string(v), SF_DEFAULT_LOGIN_URL);
	assert_true(json_object_object_get_ex(claims, "exp", &v));
	assert_true(json_object_is_type(v, json_type_int));
	assert_int_equal(json_object_get_int64(v), 1700000180);
	json_object_put(claims);

	/* the signature verifies with the public key, and not once changed */
	assert_int_equal(verify(k->pkey, jwt), 1);
	char *dot = strrchr(jwt, '.');
	char was = dot[5];
	dot[5] = was == 'A' ? 'B' : 'A';
	assert_int_not_equal(verify(k->pkey, jwt), 1);
	dot[5] = was;
	assert_int_equal(verify(k->pkey, jwt), 1);
	/* a changed claim does not verify either */
	char *c1 = strchr(jwt, '.') + 1;
	c1[3] = c1[3] == 'x' ? 'y' : 'x';
	assert_int_not_equal(verify(k->pkey, jwt), 1);

	free(h);
	free(c);
	free(sig);
	free(jwt);
	jwt_key_free(key);
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_sign_pkcs8(void **state)
{
	struct keys *k = *state;
	check_assertion(k, k->pem);
}

static void test_sign_traditional(void **state)
{
	struct keys *k = *state;
	check_assertion(k, k->pem_trad);
}

static void test_claims_escaped(void **state)
{
	struct keys *k = *state;
	char err[256];
	struct jwt_key *key = jwt_key_load(k->pem, err, sizeof err);
	assert_non_null(key);
	char *jwt = jwt_assertion(key, "a\"b\\c", "x\ny", "http://127.0.0.1:8443", 1, err,
	                          sizeof err);
	assert_non_null(jwt);
	char *h, *c;
	unsigned char *sig;
	size_t siglen;
	split(jwt, &h, &c, &sig, &siglen);
	json_object *claims = json_tokener_parse(c);
	assert_non_null(claims);
	json_object *v;
	assert_true(json_object_object_get_ex(claims, "iss", &v));
	assert_string_equal(json_object_get_string(v), "a\"b\\c");
	assert_true(json_object_object_get_ex(claims, "sub", &v));
	assert_string_equal(json_object_get_string(v), "x\ny");
	json_object_put(claims);
	assert_int_equal(verify(k->pkey, jwt), 1);
	free(h);
	free(c);
	free(sig);
	free(jwt);
	jwt_key_free(key);
}

static void test_refused_keys(void **state)
{
	struct keys *k = *state;
	char err[256];
	(void)k;

	err[0] = '\0';
	assert_null(jwt_key_load("", err, sizeof err));
	assert_true(err[0]);
	err[0] = '\0';
	assert_null(jwt_key_load("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
	                         err, sizeof err));
	assert_true(err[0]);
	assert_int_equal(ERR_peek_error(), 0);

	/* an EC key cannot sign RS256 */
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	assert_non_null(ec);
	BIO *bio = BIO_new(BIO_s_mem());
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, ec, NULL, NULL, 0, NULL, NULL), 1);
	char *pem = bio_text(bio);
	BIO_free(bio);
	EVP_PKEY_free(ec);
	err[0] = '\0';
	assert_null(jwt_key_load(pem, err, sizeof err));
	assert_non_null(strstr(err, "not an RSA key"));
	free(pem);

	/* an encrypted key is refused, never a prompt for its passphrase */
	bio = BIO_new(BIO_s_mem());
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, k->pkey, EVP_aes_128_cbc(),
	                                          (const unsigned char *)"pw", 2, NULL, NULL), 1);
	pem = bio_text(bio);
	BIO_free(bio);
	err[0] = '\0';
	assert_null(jwt_key_load(pem, err, sizeof err));
	assert_true(err[0]);
	/* the message never quotes the key */
	assert_null(strstr(err, "BEGIN"));
	free(pem);

	assert_null(jwt_assertion(NULL, "a", "b", "c", 1, err, sizeof err));
	assert_int_equal(ERR_peek_error(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64url_rfc4648),
		cmocka_unit_test(test_base64url_decode_refuses),
		cmocka_unit_test(test_sign_pkcs8),
		cmocka_unit_test(test_sign_traditional),
		cmocka_unit_test(test_claims_escaped),
		cmocka_unit_test(test_refused_keys),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
