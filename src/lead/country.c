/* country - ISO 3166-1 lookups over Debian's iso-codes iso_3166-1.json.
 *
 * Loads the file once into a table of countries plus a sorted index of
 * normalized spellings (codes, names, a few aliases) searched with bsearch.
 * Must never print, never keep global state, and never allocate on a lookup:
 * country_find and country_suggest normalize into a stack buffer.
 */
#include "lead/country.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/suggest.h"
#include "util/xalloc.h"

#ifndef ISO_CODES_DIR
#define ISO_CODES_DIR "/usr/share/iso-codes/json"
#endif

#define COUNTRY_FILE_NAME "iso_3166-1.json"
/* iso_3166-1.json is about 50 KiB; anything this big is not that file. */
#define COUNTRY_FILE_MAX (16u * 1024 * 1024)
/* Longest normalized spelling accepted; the longest official name is ~60. */
#define COUNTRY_KEY_MAX 256

/* Spellings people use that iso-codes does not carry.  Each maps to an
 * alpha-2 code; an alias whose code is missing from the data is ignored. */
static const struct {
	const char *spelling;
	const char *alpha2;
} country_aliases[] = {
	{ "UK", "GB" },
	{ "Great Britain", "GB" },
	{ "South Korea", "KR" },
	{ "North Korea", "KP" },
	{ "Russia", "RU" },
	{ "Holland", "NL" },
	{ "Czech Republic", "CZ" },
	{ "Ivory Coast", "CI" },
	{ "Vatican", "VA" },
	{ "Turkey", "TR" },
};

struct country_key {
	char *key;          /* normalized spelling, owned */
	size_t country;     /* index into countries */
	size_t order;       /* insertion order, for a stable sort */
};

struct country_db {
	struct country *countries;   /* names owned */
	size_t ncountries;
	struct country_key *keys;    /* sorted by key, no duplicate keys */
	size_t nkeys;
};

static void set_error(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ASCII letters for the Latin-1 block U+00C0..U+00FF, 0 where there is no
 * single-letter equivalent (Æ, ×, Þ, ß, ...), so "Côte" matches "Cote". */
static const char latin1_fold[64] = {
	'a', 'a', 'a', 'a', 'a', 'a', 0, 'c', 'e', 'e', 'e', 'e', 'i', 'i', 'i', 'i',
	'd', 'n', 'o', 'o', 'o', 'o', 'o', 0, 'o', 'u', 'u', 'u', 'u', 'y', 0, 0,
	'a', 'a', 'a', 'a', 'a', 'a', 0, 'c', 'e', 'e', 'e', 'e', 'i', 'i', 'i', 'i',
	'd', 'n', 'o', 'o', 'o', 'o', 'o', 0, 'o', 'u', 'u', 'u', 'u', 'y', 0, 'y',
};

static bool is_ascii_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * Write the comparison form of s into out: surrounding white space dropped,
 * inner runs of white space made one space, ASCII lower-cased, Latin-1
 * accented letters folded to their base letter, '.' dropped ("U.S.A." =
 * "USA").  Returns false when the result does not fit in outlen bytes.
 */
static bool normalize_spelling(const char *s, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;
	bool pending_space = false;

	while (*p) {
		unsigned char c = *p++;

		if (is_ascii_space(c)) {
			pending_space = n > 0;
			continue;
		}
		if (c == '.')
			continue;
		if (c == 0xc3 && *p >= 0x80 && *p <= 0xbf && latin1_fold[*p - 0x80]) {
			c = (unsigned char)latin1_fold[*p - 0x80];
			p++;
		} else if (c >= 'A' && c <= 'Z') {
			c = (unsigned char)(c - 'A' + 'a');
		}
		if (n + (pending_space ? 2 : 1) >= outlen)
			return false;
		if (pending_space)
			out[n++] = ' ';
		pending_space = false;
		out[n++] = (char)c;
	}
	if (outlen == 0)
		return false;
	out[n] = '\0';
	return true;
}

/* Read all of path into b.  Returns false with err filled on failure. */
static bool read_country_file(const char *path, struct buf *b, char *err, size_t errlen)
{
	struct stat st;
	char chunk[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		set_error(err, errlen, "cannot read '%s': %s (apt-get install iso-codes)",
			  path, strerror(errno));
		return false;
	}
	if (fstat(fd, &st) != 0) {
		set_error(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		close(fd);
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		set_error(err, errlen, "cannot read '%s': not a regular file (expected "
			  "iso-codes' " COUNTRY_FILE_NAME ")", path);
		close(fd);
		return false;
	}
	for (;;) {
		ssize_t got = read(fd, chunk, sizeof(chunk));

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			set_error(err, errlen, "cannot read '%s': %s", path, strerror(errno));
			close(fd);
			return false;
		}
		if (got == 0)
			break;
		if (b->len + (size_t)got > COUNTRY_FILE_MAX) {
			set_error(err, errlen, "'%s' is larger than %u bytes; it is not "
				  "iso-codes' " COUNTRY_FILE_NAME, path, COUNTRY_FILE_MAX);
			close(fd);
			return false;
		}
		buf_add(b, chunk, (size_t)got);
	}
	close(fd);
	return true;
}

static const char *json_string_member(struct json_object *obj, const char *name)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool is_upper_code(const char *s, size_t len)
{
	if (!s || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return false;
	return true;
}

/* Add spelling s for country index ci to the unsorted key list. */
static bool add_key(struct country_db *db, size_t *cap, const char *s, size_t ci,
		    const char *path, char *err, size_t errlen)
{
	char norm[COUNTRY_KEY_MAX];

	if (!normalize_spelling(s, norm, sizeof(norm))) {
		set_error(err, errlen, "'%s': country name '%.40s...' is longer than %d bytes",
			  path, s, COUNTRY_KEY_MAX - 1);
		return false;
	}
	if (norm[0] == '\0')
		return true;
	db->keys = xgrow(db->keys, cap, db->nkeys + 1, sizeof(*db->keys));
	db->keys[db->nkeys].key = xstrdup(norm);
	db->keys[db->nkeys].country = ci;
	db->keys[db->nkeys].order = db->nkeys;
	db->nkeys++;
	return true;
}

static int compare_keys(const void *a, const void *b)
{
	const struct country_key *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Sort the index and drop repeated spellings, keeping the first added. */
static void sort_and_dedupe_keys(struct country_db *db)
{
	size_t out = 0;

	qsort(db->keys, db->nkeys, sizeof(*db->keys), compare_keys);
	for (size_t i = 0; i < db->nkeys; i++) {
		if (out > 0 && strcmp(db->keys[out - 1].key, db->keys[i].key) == 0) {
			free(db->keys[i].key);
			continue;
		}
		db->keys[out++] = db->keys[i];
	}
	db->nkeys = out;
}

static const struct country *find_by_alpha2(const struct country_db *db, const char *a2)
{
	for (size_t i = 0; i < db->ncountries; i++)
		if (strcmp(db->countries[i].alpha2, a2) == 0)
			return &db->countries[i];
	return NULL;
}

static bool load_countries(struct country_db *db, struct json_object *list,
			   const char *path, char *err, size_t errlen)
{
	size_t n = json_object_array_length(list);
	size_t key_cap = 0;

	db->countries = xcalloc(n ? n : 1, sizeof(*db->countries));
	for (size_t i = 0; i < n; i++) {
		struct json_object *entry = json_object_array_get_idx(list, i);
		const char *a2 = json_string_member(entry, "alpha_2");
		const char *a3 = json_string_member(entry, "alpha_3");
		const char *name = json_string_member(entry, "name");
		const char *spellings[3];
		struct country *c = &db->countries[db->ncountries];

		if (!is_upper_code(a2, 2) || !is_upper_code(a3, 3) || !name || !*name) {
			set_error(err, errlen, "'%s': entry %zu lacks a valid alpha_2, alpha_3 "
				  "or name; reinstall iso-codes (apt-get install --reinstall "
				  "iso-codes)", path, i + 1);
			return false;
		}
		memcpy(c->alpha2, a2, 3);
		memcpy(c->alpha3, a3, 4);
		c->name = xstrdup(name);
		db->ncountries++;

		spellings[0] = name;
		spellings[1] = json_string_member(entry, "common_name");
		spellings[2] = json_string_member(entry, "official_name");
		if (!add_key(db, &key_cap, a2, i, path, err, errlen) ||
		    !add_key(db, &key_cap, a3, i, path, err, errlen))
			return false;
		for (size_t k = 0; k < 3; k++)
			if (spellings[k] &&
			    !add_key(db, &key_cap, spellings[k], i, path, err, errlen))
				return false;
	}
	for (size_t i = 0; i < sizeof(country_aliases) / sizeof(country_aliases[0]); i++) {
		const struct country *c = find_by_alpha2(db, country_aliases[i].alpha2);

		if (c && !add_key(db, &key_cap, country_aliases[i].spelling,
				  (size_t)(c - db->countries), path, err, errlen))
			return false;
	}
	sort_and_dedupe_keys(db);
	return true;
}

static struct json_object *parse_country_json(const char *path, const struct buf *text,
					      char *err, size_t errlen)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *root;
	enum json_tokener_error jerr;

	if (!tok) {
		set_error(err, errlen, "cannot parse '%s': out of memory", path);
		return NULL;
	}
	root = json_tokener_parse_ex(tok, buf_str(text), (int)text->len);
	jerr = json_tokener_get_error(tok);
	if (!root || jerr != json_tokener_success) {
		set_error(err, errlen, "cannot parse '%s' near byte %zu: %s (reinstall "
			  "iso-codes: apt-get install --reinstall iso-codes)", path,
			  json_tokener_get_parse_end(tok),
			  jerr == json_tokener_continue ? "unexpected end of file"
							: json_tokener_error_desc(jerr));
		json_object_put(root);
		root = NULL;
	}
	json_tokener_free(tok);
	return root;
}

struct country_db *country_db_load(const char *path, char *err, size_t errlen)
{
	struct buf text = { 0 };
	struct json_object *root, *list;
	struct country_db *db;

	if (!path)
		path = ISO_CODES_DIR "/" COUNTRY_FILE_NAME;
	if (!read_country_file(path, &text, err, errlen)) {
		buf_free(&text);
		return NULL;
	}
	root = parse_country_json(path, &text, err, errlen);
	buf_free(&text);
	if (!root)
		return NULL;
	if (!json_object_object_get_ex(root, "3166-1", &list) ||
	    !json_object_is_type(list, json_type_array) ||
	    json_object_array_length(list) == 0) {
		set_error(err, errlen, "'%s' has no \"3166-1\" list of countries; is it "
			  "iso-codes' " COUNTRY_FILE_NAME "?", path);
		json_object_put(root);
		return NULL;
	}
	db = xcalloc(1, sizeof(*db));
	if (!load_countries(db, list, path, err, errlen)) {
		json_object_put(root);
		country_db_free(db);
		return NULL;
	}
	json_object_put(root);
	return db;
}

void country_db_free(struct country_db *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->ncountries; i++)
		free((char *)db->countries[i].name);
	for (size_t i = 0; i < db->nkeys; i++)
		free(db->keys[i].key);
	free(db->countries);
	free(db->keys);
	free(db);
}

static int compare_key_to_entry(const void *key, const void *entry)
{
	return strcmp(key, ((const struct country_key *)entry)->key);
}

const struct country *country_find(const struct country_db *db, const char *s)
{
	char norm[COUNTRY_KEY_MAX];
	const struct country_key *hit;

	if (!db || !s || !normalize_spelling(s, norm, sizeof(norm)) || norm[0] == '\0')
		return NULL;
	hit = bsearch(norm, db->keys, db->nkeys, sizeof(*db->keys), compare_key_to_entry);
	return hit ? &db->countries[hit->country] : NULL;
}

const struct country *country_suggest(const struct country_db *db, const char *s)
{
	char norm[COUNTRY_KEY_MAX];
	size_t len, limit, best_distance = (size_t)-1;
	const struct country_key *best = NULL;
	bool best_same_first = false;

	if (!db || !s || !normalize_spelling(s, norm, sizeof(norm)))
		return NULL;
	len = strlen(norm);
	/* One wrong letter in a 2-letter code could be any of a dozen codes. */
	if (len <= 2)
		return NULL;
	limit = len / 3 > 2 ? len / 3 : 2;
	/* A distance equal to the length would replace the whole input. */
	if (limit >= len)
		limit = len - 1;
	for (size_t i = 0; i < db->nkeys; i++) {
		const char *key = db->keys[i].key;
		bool same_first = key[0] == norm[0];
		size_t d;

		/* A 3-letter code with a wrong first letter is a different code. */
		if (len == 3 && !same_first)
			continue;
		d = suggest_distance(norm, key);
		/* On a tie, a spelling that starts like the input wins. */
		if (d < best_distance || (d == best_distance && same_first && !best_same_first)) {
			best_distance = d;
			best = &db->keys[i];
			best_same_first = same_first;
		}
	}
	if (!best || best_distance > limit)
		return NULL;
	return &db->countries[best->country];
}

size_t country_count(const struct country_db *db)
{
	return db ? db->ncountries : 0;
}

const struct country *country_at(const struct country_db *db, size_t i)
{
	if (!db || i >= db->ncountries)
		return NULL;
	return &db->countries[i];
}
