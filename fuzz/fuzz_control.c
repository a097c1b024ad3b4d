/* fuzz_control.c: libFuzzer target for the control protocol's parser: any
 * bytes, read from a descriptor as canaryd reads a connection, give frames
 * (JSON objects) and requests checked for version, op and args, or a clear
 * protocol error; never a crash. No op runs: that needs a store. Seeds:
 * tests/data/control/. By hand:
 *   clang -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ilib \
 *     fuzz/fuzz_control.c build/lib/libcanary.a ... (scripts/fuzz does it) */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An error, when there is one, is ours and says something. */
static void check_error(const GError *error)
{
	if (error != NULL && (error->domain != CANARY_CONTROL_ERROR || error->message[0] == '\0'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-control", MFD_CLOEXEC);
	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size) ||
	    lseek(fd, 0, SEEK_SET) != 0)
		abort();
	for (;;) {
		GError *error = NULL;
		gboolean eof = FALSE;
		JsonObject *frame =
			canary_control_read_frame(fd, CANARY_CONTROL_REQUEST_MAX, -1, &eof, &error);
		check_error(error);
		if (frame == NULL) {
			if (eof == (error != NULL))
				abort(); /* exactly one of the two */
			g_clear_error(&error);
			break;
		}
		JsonObject *args = NULL;
		const struct canary_control_op *op =
			canary_control_check_request(frame, &args, &error);
		if ((op == NULL) != (error != NULL) || (op != NULL && args == NULL))
			abort();
		check_error(error);
		g_clear_error(&error);
		if (args != NULL)
			json_object_unref(args);
		json_object_unref(frame);
	}
	close(fd);
	return 0;
}
