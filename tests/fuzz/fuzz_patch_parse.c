/*
 * libFuzzer entry point for the patch file reader.  A parsed patch is also
 * serialised and parsed again, which checks that everything the reader
 * accepts can be written back and that the round trip is stable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "patch/patch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct patch *p)
{
	struct patch again;
	uint8_t *first, *second;
	size_t first_len, second_len;
	char err[256];

	if (patch_serialize(p, &first, &first_len) != 0)
		abort(); /* the reader accepted what the writer rejects */
	if (patch_parse(first, first_len, &again, err, sizeof(err)) != 0)
		abort(); /* the writer produced what the reader rejects */
	if (patch_serialize(&again, &second, &second_len) != 0)
		abort();
	if (first_len != second_len || memcmp(first, second, first_len) != 0)
		abort(); /* serialisation is not deterministic */
	free(first);
	free(second);
	patch_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct patch p;
	char err[512];

	if (patch_parse(data, size, &p, err, sizeof(err)) != 0) {
		if (err[0] == '\0' || strchr(err, '\n'))
			abort(); /* every rejection must give a one-line reason */
		return 0;
	}
	check_round_trip(&p);
	patch_free(&p);
	return 0;
}
