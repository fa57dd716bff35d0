/* fmt - placeholder until the formatter lands: refuses loudly. */
#include "rules/fmt.h"
void fmt_program(const struct program *p, const struct source *src, FILE *out)
{
	(void)p; (void)src; (void)out;
	fprintf(stderr, "routec: --fmt is not built yet\n");
}
