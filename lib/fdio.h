/* fdio.h: writing a whole buffer to a file descriptor. */
#ifndef CANARY_FDIO_H
#define CANARY_FDIO_H

#include <glib.h>

/* Writes the LEN bytes at DATA to FD, going on where a signal or a short
 * write stopped. FALSE with errno set on failure. */
gboolean canary_write_all(int fd, const void *data, gsize len);

#endif
