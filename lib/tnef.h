/* tnef.h: winmail.dat (application/ms-tnef, from Outlook and Exchange) ->
 * the body text and the files inside it, with Debian's libytnef. The bytes
 * are outside input: sizes and counts are capped. */
#ifndef CANARY_TNEF_H
#define CANARY_TNEF_H

#include <glib.h>

/* At most this many files are taken from one winmail.dat. */
#define CANARY_TNEF_MAX_FILES 256

struct canary_tnef_file {
	char *name;   /* UTF-8, as the sender gave it (never a path to use as is); NULL if none */
	GBytes *data; /* the file's bytes; wiped when freed */
};

struct canary_tnef {
	char *body;	/* the plain text body as UTF-8; NULL if none */
	GPtrArray *files; /* struct canary_tnef_file * */
	guint skipped;	/* files left out (over the count or size cap, or empty) */
};

/* Reads the LEN bytes of a winmail.dat at DATA, taking at most MAX_BYTES of
 * file data in all. Returns NULL when the bytes are not well-formed TNEF
 * (attribute lengths and checksums are checked first) or libytnef cannot
 * read them; else a new struct, freed with canary_tnef_free(). */
struct canary_tnef *canary_tnef_read(const guint8 *data, gsize len, guint64 max_bytes);

/* Wipes and frees TNEF; NULL is fine. */
void canary_tnef_free(struct canary_tnef *tnef);
typedef struct canary_tnef canary_tnef;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_tnef, canary_tnef_free)

#endif
