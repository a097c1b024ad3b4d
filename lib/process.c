/* process.c: process-wide hygiene: no core dumps, private umask, libraries
 * started once. */
#include "process.h"

#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "mail.h"
#include "seal.h"

gboolean canary_process_init(GError **error)
{
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
