/* fuzz_config.c: libFuzzer target for the canary.conf loader: any bytes,
 * loaded as a configuration file, give a config or an error, never a crash. */
#include <stdint.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GError *error = NULL;
	struct canary_config *config =
		canary_config_load_data("fuzz.conf", (const char *)data, size, &error);
	g_assert((config == NULL) != (error == NULL));
	g_assert(config != NULL ||
		 (error->message[0] != '\0' && g_str_has_prefix(error->message, "fuzz.conf: ")));
	canary_config_free(config);
	g_clear_error(&error);
	return 0;
}
