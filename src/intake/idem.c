/* idem - idempotency key format and payload fingerprint (see idem.h).
 * Must never let field order, or the fields that differ between honest
 * retries, change a fingerprint; must never accept a key it cannot store
 * or echo safely.
 */
#include "intake/idem.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "util/xalloc.h"

bool idem_key_parse(const char *in, char out[IDEM_KEY_MAX + 1])
{
	out[0] = '\0';
	size_t n = strlen(in);
	if (n >= 2 && in[0] == '"' && in[n - 1] == '"') {
		in++;
		n -= 2;
	}
	if (n < 8 || n > IDEM_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)in[i]) && in[i] != '-' && in[i] != '_')
			return false;
	memcpy(out, in, n);
	out[n] = '\0';
	return true;
}

static int kv_cmp(const void *a, const void *b)
{
	const struct lead_kv *x = *(const struct lead_kv *const *)a;
	const struct lead_kv *y = *(const struct lead_kv *const *)b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

static bool skipped(const char *name, const char *const *skip)
{
	for (; skip && *skip; skip++)
		if (**skip && strcasecmp(name, *skip) == 0)
			return true;
	return false;
}

int idem_fingerprint(const struct lead *l, const char *const *skip,
                     char out[IDEM_FINGERPRINT_LEN + 1])
{
	out[0] = '\0';
	const struct lead_kv **v = xcalloc(l->n ? l->n : 1, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		if (!skipped(l->kv[i].name, skip))
			v[n++] = &l->kv[i];
	qsort(v, n, sizeof *v, kv_cmp);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
	/* name NUL value NUL: no two different lists hash the same bytes */
	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(md, v[i]->name, strlen(v[i]->name) + 1) == 1 &&
		     EVP_DigestUpdate(md, v[i]->value, strlen(v[i]->value) + 1) == 1;
	ok = ok && EVP_DigestFinal_ex(md, d, &dl) == 1 && dl * 2 == IDEM_FINGERPRINT_LEN;
	EVP_MD_CTX_free(md);
	free(v);
	if (!ok)
		return -1;
	static const char hex[] = "0123456789abcdef";
	for (unsigned i = 0; i < dl; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[IDEM_FINGERPRINT_LEN] = '\0';
	return 0;
}
