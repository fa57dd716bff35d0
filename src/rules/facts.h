/* facts - the values of one lead as the rules see them.
 *
 * One entry per field of a program (indexed by field id), already
 * normalized (normalize.h): text lower-case (countries as alpha-2), numbers
 * parsed.  `email personal` is the field F_EMAIL_PERSONAL, present when the
 * address is free-mail; `domain owned` reads F_ACCOUNT_OWNER.  The facts
 * borrow their strings from whoever filled them (lead.c or a test); they
 * never own or free them.
 */
#ifndef LR_FACTS_H
#define LR_FACTS_H

#include <stdbool.h>
#include <stddef.h>

struct fact {
	const char *text;   /* normalized text; NULL when missing */
	const char *raw;    /* the value as given, trimmed (owner ids keep their case) */
	double num;         /* number fields: the value */
	bool present;       /* false: missing (absent, or empty after cleaning) */
};

struct facts {
	struct fact *v;     /* n entries, owned by the caller */
	size_t n;
};

#endif
