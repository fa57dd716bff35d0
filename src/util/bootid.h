/* bootid - the kernel's boot id, which tells files mapped by processes of
 * this boot from ones a reboot left behind (group commit, metrics).
 * Never caches it: a process may outlive nothing but its boot anyway.
 */
#ifndef LR_BOOTID_H
#define LR_BOOTID_H

#include <stddef.h>

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

/* Read it into out (NUL-padded, at most 39 characters).  0, or -1 with
 * err saying why (the file cannot be read, or is empty). */
int boot_id_read(char out[40], char *err, size_t errlen);

#endif
