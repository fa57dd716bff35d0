/* tz - time zone names checked against the system tz database.
 *
 * A name is valid when it is a relative path of plain name components under
 * the zoneinfo directory (ZONEINFO_DIR from configure, /usr/share/zoneinfo)
 * naming a regular file that starts with the TZif magic.  "UTC" and
 * "Etc/..." count.  Never follows "..", absolute paths or empty components,
 * nor symlinks that resolve outside the directory ("localtime" is refused:
 * it is the host's zone, not a name).  Never writes to stdout/stderr.
 */
#ifndef LR_TZ_H
#define LR_TZ_H

#include <stdbool.h>
#include <stddef.h>

/* dir NULL means ZONEINFO_DIR. */
bool tz_valid(const char *dir, const char *name);
/* The closest valid zone name from the database's zone list (tzdata.zi,
 * else zone1970.tab), case-insensitive edit distance with suggest_is_close's
 * threshold, for "did you mean".  Spaces count as '_', and a name without '/'
 * is also compared with each zone's last component ("new york" ->
 * "America/New_York").  Returns a newly allocated string the caller frees,
 * or NULL when nothing is close or the zone list cannot be read. */
char *tz_suggest(const char *dir, const char *name);

#endif
