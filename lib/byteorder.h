/* byteorder.h: little-endian integers inside sealed records and payloads,
 * read and written through memcpy so that no pointer needs alignment. */
#ifndef CANARY_BYTEORDER_H
#define CANARY_BYTEORDER_H

#include <glib.h>
#include <string.h>

static inline void canary_put_le32(guint8 *p, guint32 v)
{
	v = GUINT32_TO_LE(v);
	memcpy(p, &v, sizeof v);
}

static inline void canary_put_le64(guint8 *p, guint64 v)
{
	v = GUINT64_TO_LE(v);
	memcpy(p, &v, sizeof v);
}

static inline guint32 canary_get_le32(const guint8 *p)
{
	guint32 v;
	memcpy(&v, p, sizeof v);
	return GUINT32_FROM_LE(v);
}

static inline guint64 canary_get_le64(const guint8 *p)
{
	guint64 v;
	memcpy(&v, p, sizeof v);
	return GUINT64_FROM_LE(v);
}

#endif
