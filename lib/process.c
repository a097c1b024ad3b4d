/* process.c: process-wide hygiene: no core dumps, private umask, libraries
 * started once. */
#include "process.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "mail.h"
#include "seal.h"

/* glibc serves blocks past its mmap threshold with mmap(), and raises the
 * threshold to the largest such block freed (up to 32 MiB): after the
 * first large message every message-sized buffer comes from the heap, and
 * the holes they leave add up over a long pass (bench/memory: 10,000
 * messages peaked 15% above 1,000). Fixed thresholds keep blocks of 1 MiB
 * and more out of the heap, and return its top once 8 MiB are free; the
 * same pass runs as fast and peaks about 5 MB lower. */
static void set_allocator_thresholds(void)
{
#ifdef __GLIBC__
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	mallopt(M_TRIM_THRESHOLD, 8 << 20);
#endif
}

gboolean canary_process_init(GError **error)
{
	set_allocator_thresholds();
	/* A core dump would hold every plaintext buffer of the moment. */
	struct rlimit none = { 0, 0 };
	if (setrlimit(RLIMIT_CORE, &none) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot disable core dumps: %s", g_strerror(errno));
		return FALSE;
	}
	umask(077);
	if (!canary_seal_init(error))
		return FALSE;
	canary_mail_init();
	return TRUE;
}

void canary_process_shutdown(void)
{
	canary_mail_shutdown();
}
