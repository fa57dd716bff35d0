/* hooksig - webhook signatures (hooksig.h).  Must never compare a
 * signature in variable time, nor accept one without its timestamp. */
#include "intake/hooksig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "intake/token.h"
#include "util/buf.h"

int hooksig_sign(const char *secret, int64_t ts, const void *body, size_t body_len,
                 char out[68])
{
	struct buf msg = { 0 };
	char mac[65];

	out[0] = '\0';
	buf_printf(&msg, "%lld.", (long long)ts);
	buf_add(&msg, body, body_len);
	int rc = token_hmac_hex((const unsigned char *)secret, strlen(secret), msg.data, msg.len,
	                        mac);
	buf_free(&msg);
	if (rc != 0)
		return -1;
	snprintf(out, 68, "v1=%s", mac);
	return 0;
}

/* A decimal count of seconds, all of s up to end (or NUL): 0 with *out. */
static int seconds(const char *s, const char *end, int64_t *out)
{
	if (s == end || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *stop;
	long long v = strtoll(s, &stop, 10);
	if (errno || stop != end || v < 0)
		return -1;
	*out = v;
	return 0;
}

int hooksig_parse(const char *sig, const char *ts_header, int64_t *ts, const char **v1)
{
	if (!sig)
		return -1;
	if (strncmp(sig, "t=", 2) == 0) {
		const char *comma = strchr(sig, ',');
		if (!comma || seconds(sig + 2, comma, ts) != 0)
			return -1;
		*v1 = strstr(comma, ",v1=");
		if (!*v1)
			return -1;
		*v1 += 1;
		return 0;
	}
	if (!ts_header || strncmp(sig, "v1=", 3) != 0 ||
	    seconds(ts_header, ts_header + strlen(ts_header), ts) != 0)
		return -1;
	*v1 = sig;
	return 0;
}

int hooksig_verify(const char *secret, const char *sig, const char *ts_header,
                   const void *body, size_t body_len, int64_t now_s, const char **why)
{
	int64_t ts;
	const char *v1;
	if (!sig || !*sig) {
		*why = "the request is not signed (Leadroute-Signature)";
		return -1;
	}
	if (hooksig_parse(sig, ts_header, &ts, &v1) != 0) {
		*why = "the signature header is malformed (want v1=HEX with Leadroute-Timestamp)";
		return -1;
	}
	if (ts < now_s - HOOKSIG_MAX_SKEW_S || ts > now_s + HOOKSIG_MAX_SKEW_S) {
		*why = "the signature's timestamp is more than 5 minutes off";
		return -1;
	}
	char want[68];
	if (hooksig_sign(secret, ts, body, body_len, want) != 0) {
		*why = "the signature cannot be computed";
		return -1;
	}
	size_t n = strlen(want);
	if (strnlen(v1, n) < n || CRYPTO_memcmp(v1, want, n) != 0 || (v1[n] && v1[n] != ',')) {
		*why = "the signature does not match";
		return -1;
	}
	return 0;
}
