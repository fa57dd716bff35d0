/* tz - check time zone names against the system zoneinfo directory.
 *
 * A name is accepted only when it is made of plain path components, resolves
 * (after symlinks) to a regular file inside the zoneinfo directory and that
 * file starts with the TZif magic.  Must never open anything outside the
 * zoneinfo directory (no "..", absolute paths, empty components or symlinks
 * leading out such as "localtime" -> /etc/localtime), never print and never
 * keep global state.
 */
#include "lead/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/suggest.h"
#include "util/xalloc.h"

#ifndef ZONEINFO_DIR
#define ZONEINFO_DIR "/usr/share/zoneinfo"
#endif

/* Longest zone name accepted; real ones are under 40 bytes. */
#define TZ_NAME_MAX 255
/* Longest line of tzdata.zi / zone1970.tab read whole; longer ones are
 * skipped (real lines are under 100 bytes). */
#define TZ_LINE_MAX 1024

static bool is_zone_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '+' || c == '.';
}

/* Plain relative components only: no empty, "." or ".." components (no
 * component may start with '.' or '-' at all), no absolute path, and nothing
 * but letters, digits and "_-+.". */
static bool zone_name_is_plain(const char *name)
{
	size_t len = strnlen(name, TZ_NAME_MAX + 1);
	const char *p = name;

	if (len == 0 || len > TZ_NAME_MAX)
		return false;
	while (*p) {
		const char *start = p;

		if (*p == '.' || *p == '-')
			return false;
		while (*p && *p != '/') {
			if (!is_zone_name_char(*p))
				return false;
			p++;
		}
		if (p == start)
			return false;
		if (*p == '/' && *++p == '\0')
			return false;
	}
	/* The host's own zone, not a name: a symlink to /etc/localtime. */
	return strcmp(name, "localtime") != 0;
}

/* Whether resolved path lies strictly inside resolved directory root. */
static bool path_is_inside(const char *root, const char *path)
{
	size_t n = strlen(root);

	if (n == 1 && root[0] == '/')
		return path[0] == '/' && path[1] != '\0';
	return strncmp(path, root, n) == 0 && path[n] == '/' && path[n + 1] != '\0';
}

static bool file_has_tzif_magic(const char *path)
{
	struct stat st;
	char magic[4];
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return false;
	}
	do
		got = read(fd, magic, sizeof(magic));
	while (got < 0 && errno == EINTR);
	close(fd);
	return got == (ssize_t)sizeof(magic) && memcmp(magic, "TZif", 4) == 0;
}

bool tz_valid(const char *dir, const char *name)
{
	char real_dir[PATH_MAX], real_zone[PATH_MAX];
	struct buf path = { 0 };
	bool ok;

	if (!dir)
		dir = ZONEINFO_DIR;
	if (!name || !zone_name_is_plain(name))
		return false;
	if (!realpath(dir, real_dir))
		return false;
	buf_printf(&path, "%s/%s", real_dir, name);
	ok = realpath(buf_str(&path), real_zone) && path_is_inside(real_dir, real_zone) &&
	     file_has_tzif_magic(real_zone);
	buf_free(&path);
	return ok;
}

/* The best suggestion found so far while scanning a zone list. */
struct zone_match {
	char name[TZ_NAME_MAX + 1];
	size_t distance;
};

/* Consider one candidate zone name for word.  A word without '/' is also
 * compared with the candidate's last component ("New_York"), so a bare city
 * finds its zone. */
static void consider_zone(const char *dir, const char *word, const char *zone,
			  struct zone_match *best)
{
	const char *city = strrchr(zone, '/');
	size_t d;
	bool is_close;

	if (strlen(zone) > TZ_NAME_MAX)
		return;
	d = suggest_distance(word, zone);
	is_close = suggest_is_close(word, zone, d);
	if (city && !strchr(word, '/')) {
		size_t dc = suggest_distance(word, city + 1);

		if ((dc < d || !is_close) && suggest_is_close(word, city + 1, dc)) {
			d = dc;
			is_close = true;
		}
	}
	if (!is_close || d >= best->distance || !tz_valid(dir, zone))
		return;
	strcpy(best->name, zone);
	best->distance = d;
}

/* Split line in place into at most max fields separated by sep characters.
 * Returns the number of fields found. */
static size_t split_fields(char *line, const char *sep, char **fields, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *f = strtok_r(line, sep, &save); f && n < max; f = strtok_r(NULL, sep, &save))
		fields[n++] = f;
	return n;
}

/* Read the next line of f into line (at most TZ_LINE_MAX-1 bytes, newline
 * removed); over-long lines are returned empty.  False at end of file. */
static bool read_zone_line(FILE *f, char line[TZ_LINE_MAX])
{
	size_t len;

	if (!fgets(line, TZ_LINE_MAX, f))
		return false;
	len = strlen(line);
	if (len > 0 && line[len - 1] == '\n') {
		line[len - 1] = '\0';
	} else if (!feof(f)) {
		int c;

		while ((c = getc(f)) != EOF && c != '\n')
			;
		line[0] = '\0';
	}
	return true;
}

/* tzdata.zi: "Z <zone> ..." declares a zone, "L <target> <link>" a link
 * name.  Returns false when the file cannot be opened. */
static bool scan_tzdata_zi(const char *dir, const char *word, struct zone_match *best)
{
	char line[TZ_LINE_MAX];
	struct buf path = { 0 };
	FILE *f;

	buf_printf(&path, "%s/tzdata.zi", dir);
	f = fopen(buf_str(&path), "re");
	buf_free(&path);
	if (!f)
		return false;
	while (best->distance > 0 && read_zone_line(f, line)) {
		char *fields[3];
		size_t n = split_fields(line, " \t", fields, 3);

		if (n >= 2 && strcmp(fields[0], "Z") == 0)
			consider_zone(dir, word, fields[1], best);
		else if (n >= 3 && strcmp(fields[0], "L") == 0)
			consider_zone(dir, word, fields[2], best);
	}
	fclose(f);
	return true;
}

/* zone1970.tab: "<codes>\t<coordinates>\t<zone>[\t<comment>]", '#' comments. */
static bool scan_zone1970_tab(const char *dir, const char *word, struct zone_match *best)
{
	char line[TZ_LINE_MAX];
	struct buf path = { 0 };
	FILE *f;

	buf_printf(&path, "%s/zone1970.tab", dir);
	f = fopen(buf_str(&path), "re");
	buf_free(&path);
	if (!f)
		return false;
	while (best->distance > 0 && read_zone_line(f, line)) {
		char *fields[3];

		if (line[0] == '#')
			continue;
		if (split_fields(line, "\t", fields, 3) == 3)
			consider_zone(dir, word, fields[2], best);
	}
	fclose(f);
	return true;
}

char *tz_suggest(const char *dir, const char *name)
{
	char word[TZ_NAME_MAX + 1];
	struct zone_match best = { .name = "", .distance = (size_t)-1 };
	size_t len;

	if (!dir)
		dir = ZONEINFO_DIR;
	if (!name)
		return NULL;
	while (*name == ' ' || *name == '\t')
		name++;
	len = strnlen(name, TZ_NAME_MAX + 1);
	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	if (len == 0 || len > TZ_NAME_MAX)
		return NULL;
	/* People write "New York" for "New_York". */
	for (size_t i = 0; i < len; i++)
		word[i] = name[i] == ' ' ? '_' : name[i];
	word[len] = '\0';
	if (!scan_tzdata_zi(dir, word, &best))
		scan_zone1970_tab(dir, word, &best);
	return best.name[0] ? xstrdup(best.name) : NULL;
}
