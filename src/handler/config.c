/* config - settings from the environment, with _FILE variants for secrets.
 * Must never fall back silently from a bad value, and never print a secret. */
#include "handler/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/xalloc.h"

char *config_get(const char *name, char *err, size_t errlen, bool *failed)
{
	*failed = false;
	const char *v = getenv(name);
	char fname[128];
	snprintf(fname, sizeof fname, "%s_FILE", name);
	const char *path = getenv(fname);
	if (v && path) {
		snprintf(err, errlen, "both %s and %s are set; keep one", name, fname);
		*failed = true;
		return NULL;
	}
	if (v)
		return xstrdup(v);
	if (!path)
		return NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: cannot read '%s': %s", fname, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		*failed = true;
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) || st.st_size > 65536) {
		snprintf(err, errlen, "%s: '%s' must be a regular file of at most 64 KiB readable "
		         "only by its owner (chmod 600)", fname, path);
		close(fd);
		*failed = true;
		return NULL;
	}
	struct buf b = {0};
	char chunk[4096];
	ssize_t got;
	while ((got = read(fd, chunk, sizeof chunk)) > 0)
		buf_add(&b, chunk, (size_t)got);
	close(fd);
	if (got < 0) {
		snprintf(err, errlen, "%s: cannot read '%s': %s", fname, path, strerror(errno));
		buf_free(&b);
		*failed = true;
		return NULL;
	}
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.data[--b.len] = '\0';
	return buf_take(&b);
}

static int get_int(const char *name, int64_t def, int64_t min, int64_t max, int64_t *out,
                   char *err, size_t errlen)
{
	bool failed;
	char *v = config_get(name, err, errlen, &failed);
	if (failed)
		return -1;
	if (!v) {
		*out = def;
		return 0;
	}
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	bool ok = *v && !*end && errno == 0 && x >= min && x <= max;
	if (!ok)
		snprintf(err, errlen, "%s must be a whole number from %lld to %lld, not '%.40s'", name,
		         (long long)min, (long long)max, v);
	else
		*out = x;
	free(v);
	return ok ? 0 : -1;
}

static int get_str(const char *name, const char *def, char **out, char *err, size_t errlen)
{
	bool failed;
	char *v = config_get(name, err, errlen, &failed);
	if (failed)
		return -1;
	*out = v ? v : def ? xstrdup(def) : NULL;
	return 0;
}

int config_sync_parse(const char *v, enum store_sync *out, char *err, size_t errlen)
{
	if (!v || strcmp(v, "group") == 0)
		*out = STORE_SYNC_GROUP;
	else if (strcmp(v, "full") == 0)
		*out = STORE_SYNC_FULL;
	else if (strcmp(v, "normal") == 0)
		*out = STORE_SYNC_NORMAL;
	else {
		snprintf(err, errlen, "LEADROUTE_SYNC must be group, full or normal, not '%.40s'", v);
		return -1;
	}
	return 0;
}

int config_load(struct config *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	int64_t max_body, min_seconds, rate, dry_run;
	char *secret = NULL, *sync = NULL;
	if (get_str("LEADROUTE_RULES", NULL, &c->rules, err, errlen) ||
	    get_str("LEADROUTE_DB", NULL, &c->db, err, errlen) ||
	    get_str("LEADROUTE_CRM", "local", &c->crm, err, errlen) ||
	    get_str("LEADROUTE_WWW", PKGDATADIR "/www", &c->www, err, errlen) ||
	    get_str("LEADROUTE_SECRET", NULL, &secret, err, errlen) ||
	    get_str("LEADROUTE_SPAM_HONEYPOT", "hp_website2", &c->honeypot, err, errlen) ||
	    get_str("LEADROUTE_SYNC", "group", &sync, err, errlen) ||
	    get_str("LEADROUTE_LOG", NULL, &c->log_file, err, errlen) ||
	    get_int("LEADROUTE_MAX_BODY", 65536, 1024, 16 * 1024 * 1024, &max_body, err, errlen) ||
	    get_int("LEADROUTE_SPAM_MIN_SECONDS", 3, 0, 3600, &min_seconds, err, errlen) ||
	    get_int("LEADROUTE_RATE_LIMIT", 10, 0, 100000, &rate, err, errlen) ||
	    get_int("LEADROUTE_DRY_RUN", 0, 0, 1, &dry_run, err, errlen))
		goto fail;
	c->max_body = (size_t)max_body;
	c->min_seconds = min_seconds;
	c->rate_limit = rate;
	c->dry_run = dry_run == 1;
	if (!c->rules) {
		snprintf(err, errlen, "LEADROUTE_RULES is not set: name the .routes file to route with");
		goto fail;
	}
	if (!c->db) {
		snprintf(err, errlen, "LEADROUTE_DB is not set: name the SQLite file leads are stored in");
		goto fail;
	}
	if (strcmp(c->crm, "local") != 0) {
		snprintf(err, errlen, "LEADROUTE_CRM '%.40s' is not available in this build; use local",
		         c->crm);
		goto fail;
	}
	if (config_sync_parse(sync, &c->sync, err, errlen) != 0)
		goto fail;
	if (secret) {
		c->secret_len = strlen(secret);
		c->secret = (unsigned char *)secret;
		secret = NULL;
		if (c->secret_len < 16) {
			snprintf(err, errlen, "LEADROUTE_SECRET must be at least 16 characters");
			goto fail;
		}
	} else if (c->min_seconds > 0) {
		snprintf(err, errlen, "LEADROUTE_SECRET is not set: it signs the form's time token "
		         "(or set LEADROUTE_SPAM_MIN_SECONDS=0 to turn that check off)");
		goto fail;
	}
	free(sync);
	return 0;
fail:
	free(secret);
	free(sync);
	config_free(c);
	return -1;
}

void config_free(struct config *c)
{
	free(c->rules);
	free(c->db);
	free(c->crm);
	free(c->www);
	if (c->secret) {
		memset(c->secret, 0, c->secret_len);
		free(c->secret);
	}
	free(c->honeypot);
	free(c->log_file);
	memset(c, 0, sizeof *c);
}
