/* fuzz_audit_key.c: libFuzzer target for the parser of the audit's
 * verification key file (canary_audit_key_parse()), which canary audit
 * reads from wherever the custodian keeps it. Seeds: tests/data/audit. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>

#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (sodium_init() < 0)
		abort();
	GError *error = NULL;
	struct canary_audit_key *key =
		canary_audit_key_parse((const char *)data, size, "fuzz.vkey", &error);
	/* A key or an error of ours, never both. */
	if ((key == NULL) == (error == NULL) ||
	    (error != NULL && error->domain != CANARY_AUDIT_ERROR))
		abort();
	if (key != NULL) {
		char *id = canary_audit_key_id(key);
		if (canary_audit_key_event(key) < 1 || id == NULL)
			abort();
		g_free(id);
	}
	canary_audit_key_free(key);
	g_clear_error(&error);
	return 0;
}
