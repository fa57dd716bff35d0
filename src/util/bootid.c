/* bootid - the kernel's boot id (bootid.h).  Must never hand out a
 * partial or unterminated id. */
#include "util/bootid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int boot_id_read(char out[40], char *err, size_t errlen)
{
	memset(out, 0, 40);
	FILE *f = fopen(BOOT_ID_PATH, "re");
	if (!f) {
		snprintf(err, errlen, "cannot read the kernel's boot id (%s): %s", BOOT_ID_PATH,
		         strerror(errno));
		return -1;
	}
	size_t n = fread(out, 1, 39, f);
	fclose(f);
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	if (n < 8) {
		memset(out, 0, 40);
		snprintf(err, errlen, "the kernel's boot id (%s) is empty", BOOT_ID_PATH);
		return -1;
	}
	return 0;
}
