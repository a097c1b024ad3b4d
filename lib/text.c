/* text.c: see text.h. */
#include "text.h"

gboolean canary_text_is_unspaced(gunichar c)
{
	switch (g_unichar_get_script(c)) {
	case G_UNICODE_SCRIPT_HAN:
	case G_UNICODE_SCRIPT_HIRAGANA:
	case G_UNICODE_SCRIPT_KATAKANA:
	case G_UNICODE_SCRIPT_HANGUL:
	case G_UNICODE_SCRIPT_BOPOMOFO:
	case G_UNICODE_SCRIPT_THAI:
	case G_UNICODE_SCRIPT_LAO:
	case G_UNICODE_SCRIPT_KHMER:
	case G_UNICODE_SCRIPT_MYANMAR:
		return TRUE;
	default:
		return FALSE;
	}
}
