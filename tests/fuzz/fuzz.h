/* fuzz - what the fuzz targets and the replay driver share.
 *
 * Each target (fuzz_routes.c, fuzz_lead.c, fuzz_csv.c) defines the two
 * libFuzzer entry points below.  It is linked twice: with -fsanitize=fuzzer
 * (libFuzzer's own main, built only with --enable-fuzzing) and with
 * replay.c (a plain main that runs every input of a corpus once; built by
 * `make check` under whatever sanitizers the build has).
 *
 * A target aborts on any broken invariant (the decision tree disagreeing
 * with the sequential evaluator, a normalized value that is not normal),
 * so the sanitizer or libFuzzer turns it into a reported crash.
 */
#ifndef LR_FUZZ_H
#define LR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Report a broken invariant and abort (a crash for libFuzzer). */
#define FUZZ_CHECK(cond, ...)                                               \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: fuzz check failed: %s: ",   \
			        __FILE__, __LINE__, #cond);                 \
			fprintf(stderr, __VA_ARGS__);                       \
			fputc('\n', stderr);                                \
			abort();                                            \
		}                                                           \
	} while (0)

#endif
