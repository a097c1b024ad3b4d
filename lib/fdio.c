/* fdio.c: see fdio.h. */
#include "fdio.h"

#include <errno.h>
#include <unistd.h>

gboolean canary_write_all(int fd, const void *data, gsize len)
{
	const guint8 *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return FALSE;
		if (n == 0) {
			errno = EIO; /* a write of nothing would loop for ever */
			return FALSE;
		}
		p += n;
		len -= (gsize)n;
	}
	return TRUE;
}
